-- Customers who must not be messaged, with why and until when (null: never expires).
-- Empty unless decisioning.sources.suppressions.table names a table.
{%- set table = decisioning_config()['sources']['suppressions']['table'] %}

{%- if table %}
with source as (
    select * from {{ decisioning_source('suppressions') }}
),

renamed as (
    select
        cast({{ source_column('suppressions', 'customer_id') }} as varchar) as customer_id,
        cast({{ source_column('suppressions', 'reason') }} as varchar) as reason,
        cast({{ source_column('suppressions', 'expires_at') }} as timestamp) as expires_at
    from source
)

select * from renamed
{%- else %}
select
    cast(null as varchar) as customer_id,
    cast(null as varchar) as reason,
    cast(null as timestamp) as expires_at
where 1 = 0
{%- endif %}
