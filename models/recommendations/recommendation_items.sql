-- depends_on: {{ ref('decisioning_config') }}
-- depends_on: {{ ref('stg_decisioning__catalog_items') }}
-- depends_on: {{ ref('stg_decisioning__product_events') }}
-- The catalog as the recommender uses it: a dense integer key per item (row number over
-- item_id) and created_at, the catalog's own, else the item's first product event before
-- as_of (any event). Empty without a catalog.
{%- if recommending() %}

with catalog as (
    select * from {{ ref('stg_decisioning__catalog_items') }}
),

first_events as (
    select
        item_id,
        min(occurred_at) as first_event_at
    from {{ ref('stg_decisioning__product_events') }}
    where item_id in (select item_id from catalog where created_at is null)
        and occurred_at < {{ as_of_timestamp() }}
    group by item_id
)

select
    catalog.item_id,
    cast(row_number() over (order by catalog.item_id) as integer) as item_key,
    catalog.name as item_name,
    catalog.category,
    catalog.is_active,
    coalesce(catalog.created_at, first_events.first_event_at) as created_at,
    catalog.created_at is null and first_events.first_event_at is not null
        as created_at_is_first_event
from catalog
left join first_events on first_events.item_id = catalog.item_id
{%- else %}
select
    cast(null as varchar) as item_id,
    cast(null as integer) as item_key,
    cast(null as varchar) as item_name,
    cast(null as varchar) as category,
    cast(null as boolean) as is_active,
    cast(null as timestamp) as created_at,
    cast(null as boolean) as created_at_is_first_event
where 1 = 0
{%- endif %}
