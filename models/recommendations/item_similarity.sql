{{ config(pre_hook=recommender_session_settings(), post_hook=recommender_session_reset()) }}
-- depends_on: {{ ref('decisioning_config') }}
-- depends_on: {{ ref('stg_decisioning__customers') }}
-- depends_on: {{ ref('recommendation_items') }}
-- depends_on: {{ ref('recommendation_interactions') }}
-- Per catalog item, its `neighbors` most similar recommendable items by co-occurrence
-- (cosine on which customers did them; macros/recommendations.sql). Empty without a
-- catalog.
{%- if recommending() %}

with
{{ recommendation_key_ctes('', as_of_timestamp()) }},

{{ item_similarity_ctes('', ref('recommendation_interactions')) }}

select
    items.item_id,
    similar_items.item_id as similar_item_id,
    cast(item_similarity.rank as integer) as rank,
    cast(item_similarity.co_customers as bigint) as co_customers,
    cast(item_similarity.item_customers as bigint) as item_customers,
    cast(item_similarity.similar_item_customers as bigint) as similar_item_customers,
    cast(item_similarity.similarity as double) as similarity,
    cast(item_similarity.item_key as integer) as item_key,
    cast(item_similarity.similar_item_key as integer) as similar_item_key
from item_similarity
inner join items on items.item_key = item_similarity.item_key
inner join items as similar_items on similar_items.item_key = item_similarity.similar_item_key
{%- else %}
select
    cast(null as varchar) as item_id,
    cast(null as varchar) as similar_item_id,
    cast(null as integer) as rank,
    cast(null as bigint) as co_customers,
    cast(null as bigint) as item_customers,
    cast(null as bigint) as similar_item_customers,
    cast(null as double) as similarity,
    cast(null as integer) as item_key,
    cast(null as integer) as similar_item_key
where 1 = 0
{%- endif %}
