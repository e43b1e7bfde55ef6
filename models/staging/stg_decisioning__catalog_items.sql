-- depends_on: {{ ref('decisioning_config') }}
-- The items the recommender may pick from (decisioning.sources.catalog_items), typed and
-- renamed to the contract: is_active false unless the source says true, created_at null
-- when the source has no such column (the first product event with the item then stands
-- in). Empty unless decisioning.sources.catalog_items.table names a table.
{%- set spec = decisioning_config()['sources']['catalog_items'] %}

{%- if spec['table'] %}
{%- set source_relation = decisioning_source('catalog_items') %}
{%- set present = source_columns_present('catalog_items') %}

with source as (
    select * from {{ source_relation }}
),

renamed as (
    select
        cast({{ source_column('catalog_items', 'item_id') }} as varchar) as item_id,
        cast({{ source_column('catalog_items', 'name') }} as varchar) as name,
        cast({{ source_column('catalog_items', 'category') }} as varchar) as category,
        coalesce(cast({{ source_column('catalog_items', 'active') }} as boolean), false) as is_active,
        {%- if source_column('catalog_items', 'created_at') | lower in present %}
        cast({{ source_column('catalog_items', 'created_at') }} as timestamp) as created_at
        {%- else %}
        cast(null as timestamp) as created_at
        {%- endif %}
    from source
)

select * from renamed
{%- else %}
select
    cast(null as varchar) as item_id,
    cast(null as varchar) as name,
    cast(null as varchar) as category,
    cast(null as boolean) as is_active,
    cast(null as timestamp) as created_at
where 1 = 0
{%- endif %}
