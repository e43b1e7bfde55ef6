-- depends_on: {{ ref('decisioning_config') }}
-- depends_on: {{ ref('stg_decisioning__customers') }}
-- depends_on: {{ ref('recommendation_items') }}
-- depends_on: {{ ref('recommendation_interactions') }}
-- depends_on: {{ ref('customer_recommendations') }}
-- What delegation joins: for every customer and every item strategy among
-- recommendations.strategies, the item that strategy recommends (null when it has none):
--   personalized     rank 1 of customer_recommendations (popular for customers without
--                    history), with its score;
--   popular          the most popular item the customer did not do within
--                    exclude_recent_days;
--   new_in_category  the newest item (created_at, else its first product event) created
--                    within new_item_days in the customer's most-done category (most
--                    events; ties: done most recently, then by name), else the newest
--                    item of the catalog; not done within exclude_recent_days.
-- Only active items created before as_of. Empty without a catalog (or item strategy).
{%- set r = decisioning_config()['recommendations'] %}
{%- set strategies = r['strategies'] | reject('equalto', 'none') | list %}
{%- if recommending() and strategies %}
{%- set as_of = as_of_timestamp() %}

with
{{ recommendation_key_ctes('', as_of) }},

interactions as (
    select * from {{ ref('recommendation_interactions') }}
),

recent as (
    select
        customer_key,
        item_key
    from interactions
    where last_at >= {{ add_hours(as_of, -24 * r['exclude_recent_days']) }}
),

-- At most 1 + n_recent items of any ranked list need looking at to find one not done.
customer_limits as (
    select
        customers.customer_key,
        customers.customer_id,
        coalesce(counts.n_recent, 0) as n_recent
    from customers
    left join (
        select customer_key, count(*) as n_recent
        from recent
        group by customer_key
    ) as counts on counts.customer_key = customers.customer_key
),
{%- if 'popular' in strategies %}

{{ recommendation_popularity_cte('', 'interactions') }},

popular_candidates as (
    {{- first_items_not_done_recently('popularity', 'popularity_rank') }}
),
{%- endif %}
{%- if 'new_in_category' in strategies %}

category_activity as (
    select
        interactions.customer_key,
        items.category,
        sum(interactions.n_events) as n_events,
        max(interactions.last_at) as last_at
    from interactions
    inner join items on items.item_key = interactions.item_key
    where items.category is not null
    group by interactions.customer_key, items.category
),

favourite_categories as (
    select customer_key, category
    from (
        select
            customer_key,
            category,
            row_number() over (
                partition by customer_key order by n_events desc, last_at desc, category
            ) as preference
        from category_activity
    ) as ranked
    where preference = 1
),

new_items as (
    select
        item_key,
        category,
        row_number() over (
            partition by category order by created_at desc, item_key
        ) as newness_rank
    from items
    where is_recommendable
        and created_at >= {{ add_hours(as_of, -24 * r['new_item_days']) }}
),

newest_items as (
    select
        item_key,
        row_number() over (order by created_at desc nulls last, item_key) as newness_rank
    from items
    where is_recommendable
),

category_candidates as (
    {{- first_items_not_done_recently(
        'new_items',
        'newness_rank',
        join='inner join favourite_categories as favourite '
            ~ 'on favourite.customer_key = limits.customer_key',
        condition='new_items.category = favourite.category'
    ) }}
),

overall_candidates as (
    {{- first_items_not_done_recently('newest_items', 'newness_rank') }}
),

new_picks as (
    select
        limits.customer_key,
        coalesce(category_picks.item_key, overall_picks.item_key) as item_key
    from customer_limits as limits
    left join category_candidates as category_picks
        on category_picks.customer_key = limits.customer_key
        and category_picks.pick = 1
    left join overall_candidates as overall_picks
        on overall_picks.customer_key = limits.customer_key
        and overall_picks.pick = 1
),
{%- endif %}

strategy_items as (
    {%- for strategy in strategies %}
    {%- if strategy == 'personalized' %}
    select
        limits.customer_id,
        'personalized' as strategy,
        picks.item_id,
        picks.item_name,
        picks.category,
        picks.score
    from customer_limits as limits
    left join {{ ref('customer_recommendations') }} as picks
        on picks.customer_id = limits.customer_id
        and picks.rank = 1
    {%- else %}
    select
        limits.customer_id,
        '{{ strategy }}' as strategy,
        items.item_id,
        items.item_name,
        items.category,
        cast(null as double) as score
    from customer_limits as limits
    {%- if strategy == 'popular' %}
    left join popular_candidates as picks
        on picks.customer_key = limits.customer_key
        and picks.pick = 1
    {%- else %}
    left join new_picks as picks
        on picks.customer_key = limits.customer_key
    {%- endif %}
    left join items on items.item_key = picks.item_key
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    cast(customer_id as varchar) as customer_id,
    cast(strategy as varchar) as strategy,
    cast(item_id as varchar) as item_id,
    cast(item_name as varchar) as item_name,
    cast(category as varchar) as category,
    cast(score as double) as score
from strategy_items
{%- else %}
select
    cast(null as varchar) as customer_id,
    cast(null as varchar) as strategy,
    cast(null as varchar) as item_id,
    cast(null as varchar) as item_name,
    cast(null as varchar) as category,
    cast(null as double) as score
where 1 = 0
{%- endif %}
