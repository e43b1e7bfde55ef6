-- depends_on: {{ ref('decisioning_config') }}
-- depends_on: {{ ref('stg_decisioning__customers') }}
-- depends_on: {{ ref('recommendation_items') }}
-- depends_on: {{ ref('recommendation_interactions') }}
-- depends_on: {{ ref('item_similarity') }}
-- Every customer's top_k catalog items (macros/recommendations.sql): personalized by
-- co-occurrence with what they did, popular items filling the ranks co-occurrence leaves
-- empty (all of them for customers without history). Empty without a catalog.
{%- if recommending() %}
{%- set as_of = as_of_timestamp() %}

with
{{ recommendation_key_ctes('', as_of) }},

{{ customer_recommendation_ctes(
    '', as_of, ref('recommendation_interactions'), ref('item_similarity')) }}

select
    customers.customer_id,
    cast(recommendations.rank as integer) as rank,
    items.item_id,
    items.item_name,
    items.category,
    cast(recommendations.score as double) as score,
    cast(recommendations.source as varchar) as source
from recommendations
inner join customers on customers.customer_key = recommendations.customer_key
inner join items on items.item_key = recommendations.item_key
{%- else %}
select
    cast(null as varchar) as customer_id,
    cast(null as integer) as rank,
    cast(null as varchar) as item_id,
    cast(null as varchar) as item_name,
    cast(null as varchar) as category,
    cast(null as double) as score,
    cast(null as varchar) as source
where 1 = 0
{%- endif %}
