-- depends_on: {{ ref('decisioning_config') }}
-- depends_on: {{ ref('stg_decisioning__customers') }}
-- depends_on: {{ ref('stg_decisioning__product_events') }}
-- depends_on: {{ ref('recommendation_items') }}
-- What each customer did with catalog items over the recommender's lookback: one row per
-- customer and item (macros/recommendations.sql). Empty without a catalog.
{%- if recommending() %}
{%- set as_of = as_of_timestamp() %}

with
{{ recommendation_key_ctes('', as_of) }},

{{ recommendation_interaction_ctes('', as_of) }}

select
    customers.customer_id,
    items.item_id,
    cast(interactions.n_events as bigint) as n_events,
    interactions.last_at,
    cast(interactions.recency_rank as integer) as recency_rank,
    cast(interactions.customer_items as integer) as customer_items,
    cast(interactions.customer_key as bigint) as customer_key,
    cast(interactions.item_key as integer) as item_key
from interactions
inner join customers on customers.customer_key = interactions.customer_key
inner join items on items.item_key = interactions.item_key
{%- else %}
select
    cast(null as varchar) as customer_id,
    cast(null as varchar) as item_id,
    cast(null as bigint) as n_events,
    cast(null as timestamp) as last_at,
    cast(null as integer) as recency_rank,
    cast(null as integer) as customer_items,
    cast(null as bigint) as customer_key,
    cast(null as integer) as item_key
where 1 = 0
{%- endif %}
