{{ config(pre_hook=recommender_session_settings(), post_hook=recommender_session_reset()) }}
-- depends_on: {{ ref('decisioning_config') }}
-- depends_on: {{ ref('stg_decisioning__customers') }}
-- depends_on: {{ ref('stg_decisioning__product_events') }}
-- depends_on: {{ ref('recommendation_items') }}
-- depends_on: {{ ref('int_recommendation_training_interactions') }}
-- How well the recommender predicts what customers do next, offline, by a time split:
-- trained on the events before cutoff = as_of - evaluation_days (the same macros as
-- customer_recommendations, so the shipped recommender is the one evaluated), tested on
-- the recommendable items each customer did in [cutoff, as_of) and had never done before
-- the cutoff. Per method (co_occurrence: customer_recommendations' ranking;
-- popularity: the most popular items not done recently) and k (1, 5, top_k): the
-- customers evaluated (those with a test item), the hit rate (share with a test item in
-- their top k) with a 95% normal-approximation interval, and the recall (mean share of
-- their test items in their top k). Empty without a catalog.
{%- if recommending() %}
{%- set r = decisioning_config()['recommendations'] %}
{%- set as_of = as_of_timestamp() %}
{%- set cutoff = add_hours(as_of, -24 * r['evaluation_days']) %}
{%- set ks = [1, 5, r['top_k']] | select('le', r['top_k']) | unique | sort | list %}

with
{{ recommendation_key_ctes('train_', cutoff) }},

{{ item_similarity_ctes('train_', ref('int_recommendation_training_interactions')) }},

test_events as (
    select distinct
        customer_id,
        item_id
    from {{ ref('stg_decisioning__product_events') }}
    where item_id is not null
        and occurred_at >= {{ cutoff }}
        and occurred_at < {{ as_of }}
        {%- if r['events'] %}
        and event_name in ('{{ r["events"] | join("', '") }}')
        {%- endif %}
),

-- Done before the cutoff, at any time (not only in the lookback).
done_before as (
    select distinct
        earlier.customer_id,
        earlier.item_id
    from {{ ref('stg_decisioning__product_events') }} as earlier
    inner join test_events
        on test_events.customer_id = earlier.customer_id
        and test_events.item_id = earlier.item_id
    where earlier.occurred_at < {{ cutoff }}
        {%- if r['events'] %}
        and earlier.event_name in ('{{ r["events"] | join("', '") }}')
        {%- endif %}
),

test_items as (
    select
        customers.customer_key,
        items.item_key
    from test_events
    inner join train_customers as customers on customers.customer_id = test_events.customer_id
    inner join train_items as items on items.item_id = test_events.item_id
    left join done_before
        on done_before.customer_id = test_events.customer_id
        and done_before.item_id = test_events.item_id
    where items.is_recommendable
        and done_before.customer_id is null
),

evaluated as (
    select
        customer_key,
        count(*) as n_test
    from test_items
    group by customer_key
),

{{ customer_recommendation_ctes(
    'train_', cutoff, ref('int_recommendation_training_interactions'), 'train_item_similarity',
    only_customers='evaluated') }},

{{ popular_fill_ctes('train_', 'popular', 'evaluated') }},

method_items as (
    select 'co_occurrence' as method, customer_key, item_key, rank
    from train_recommendations
    union all
    select 'popularity' as method, customer_key, item_key, rank
    from train_popular
),

methods as (
    select 'co_occurrence' as method
    union all
    select 'popularity' as method
),

ks as (
    {%- for k in ks %}
    select {{ k }} as k{{ ' union all' if not loop.last }}
    {%- endfor %}
),

hits as (
    select
        method_items.method,
        ks.k,
        method_items.customer_key,
        count(*) as hits
    from method_items
    inner join ks on method_items.rank <= ks.k
    inner join test_items
        on test_items.customer_key = method_items.customer_key
        and test_items.item_key = method_items.item_key
    group by method_items.method, ks.k, method_items.customer_key
),

per_customer as (
    select
        methods.method,
        ks.k,
        evaluated.n_test,
        coalesce(hits.hits, 0) as hits
    from evaluated
    cross join methods
    cross join ks
    left join hits
        on hits.method = methods.method
        and hits.k = ks.k
        and hits.customer_key = evaluated.customer_key
),

summary as (
    select
        method,
        k,
        count(*) as customers,
        sum(n_test) as test_items,
        sum(case when hits > 0 then 1 else 0 end) as customers_hit,
        {{ float_average('case when hits > 0 then 1.0 else 0.0 end') }} as hit_rate,
        {{ float_average('cast(hits as double) / n_test') }} as recall
    from per_customer
    group by method, k
),

final as (
    select
        methods.method,
        ks.k,
        coalesce(summary.customers, 0) as customers,
        coalesce(summary.test_items, 0) as test_items,
        coalesce(summary.customers_hit, 0) as customers_hit,
        summary.hit_rate,
        summary.hit_rate - 1.959963984540054
            * sqrt(summary.hit_rate * (1 - summary.hit_rate) / summary.customers) as ci_low,
        summary.hit_rate + 1.959963984540054
            * sqrt(summary.hit_rate * (1 - summary.hit_rate) / summary.customers) as ci_high,
        summary.recall
    from methods
    cross join ks
    left join summary
        on summary.method = methods.method
        and summary.k = ks.k
)

select
    cast(method as varchar) as method,
    cast(k as integer) as k,
    cast(customers as bigint) as customers,
    cast(test_items as bigint) as test_items,
    cast(customers_hit as bigint) as customers_hit,
    cast(hit_rate as double) as hit_rate,
    cast(case when ci_low < 0 then 0.0 else ci_low end as double) as hit_rate_ci_low,
    cast(case when ci_high > 1 then 1.0 else ci_high end as double) as hit_rate_ci_high,
    cast(recall as double) as recall,
    {{ cutoff }} as trained_to,
    {{ as_of }} as evaluated_to
from final
{%- else %}
select
    cast(null as varchar) as method,
    cast(null as integer) as k,
    cast(null as bigint) as customers,
    cast(null as bigint) as test_items,
    cast(null as bigint) as customers_hit,
    cast(null as double) as hit_rate,
    cast(null as double) as hit_rate_ci_low,
    cast(null as double) as hit_rate_ci_high,
    cast(null as double) as recall,
    cast(null as timestamp) as trained_to,
    cast(null as timestamp) as evaluated_to
where 1 = 0
{%- endif %}
