-- item_id: the catalog item the event was about, from the optional item_id column (or
-- the column mapped in decisioning.sources.product_events.columns); null without it.
{%- set present = source_columns_present('product_events') %}

with source as (
    select * from {{ decisioning_source('product_events') }}
),

renamed as (
    select
        cast({{ source_column('product_events', 'customer_id') }} as varchar) as customer_id,
        cast({{ source_column('product_events', 'event_name') }} as varchar) as event_name,
        cast({{ source_column('product_events', 'occurred_at') }} as timestamp) as occurred_at,
        cast({{ source_column('product_events', 'value') }} as double) as value,
        {%- if source_column('product_events', 'item_id') | lower in present %}
        cast({{ source_column('product_events', 'item_id') }} as varchar) as item_id
        {%- else %}
        cast(null as varchar) as item_id
        {%- endif %}
    from source
)

select * from renamed
