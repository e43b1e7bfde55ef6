-- depends_on: {{ ref('decisioning_config') }}
-- depends_on: {{ ref('stg_decisioning__customers') }}
-- depends_on: {{ ref('stg_decisioning__product_events') }}
-- depends_on: {{ ref('recommendation_items') }}
-- recommendation_interactions as they were at the quality cutoff, as_of -
-- recommendations.evaluation_days (the same macro): what recommendation_quality trains
-- on. A table, so the item pairs are counted from stored keys. Empty without a catalog.
{%- if recommending() %}
{%- set cutoff = add_hours(as_of_timestamp(), -24 * decisioning_config()['recommendations']['evaluation_days']) %}

with
{{ recommendation_key_ctes('', cutoff) }},

{{ recommendation_interaction_ctes('', cutoff) }}

select
    cast(customer_key as bigint) as customer_key,
    cast(item_key as integer) as item_key,
    cast(n_events as bigint) as n_events,
    last_at,
    cast(recency_rank as integer) as recency_rank,
    cast(customer_items as integer) as customer_items
from interactions
{%- else %}
select
    cast(null as bigint) as customer_key,
    cast(null as integer) as item_key,
    cast(null as bigint) as n_events,
    cast(null as timestamp) as last_at,
    cast(null as integer) as recency_rank,
    cast(null as integer) as customer_items
where 1 = 0
{%- endif %}
