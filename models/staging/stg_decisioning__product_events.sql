with source as (
    select * from {{ decisioning_source('product_events') }}
),

renamed as (
    select
        cast({{ source_column('product_events', 'customer_id') }} as varchar) as customer_id,
        cast({{ source_column('product_events', 'event_name') }} as varchar) as event_name,
        cast({{ source_column('product_events', 'occurred_at') }} as timestamp) as occurred_at,
        cast({{ source_column('product_events', 'value') }} as double) as value
    from source
)

select * from renamed
