{#- The catalog recommender: item-to-item co-occurrence in SQL. Each macro writes common
    table expressions named <prefix><name>, parameterized by the cutoff (a SQL timestamp):
    the models call them with the build's as_of, recommendation_quality with
    as_of - evaluation_days, so the recommender it evaluates is the one that ships.

    Customers and items get dense integer keys (row numbers over their ids, stable within
    a build) and a customer-item pair the single key customer_key * 2^32 + item_key: the
    joins and aggregations over tens of millions of pairs run on integers. -#}

{#- Fixed bounds of the work per customer, so the cost grows with customers, not with
    how much the most active ones did:
    - similarity_items: a customer's most recent items counted in item_similarity (the
      self-join makes at most 50 x 49 / 2 item pairs per customer);
    - seed_items, pairs: a customer's scores come from their 10 most recent items (the
      seeds), each with its ceil(50 / seeds) most similar items (at most `neighbors`):
      50 neighbors of a customer's only item, 5 of each of 10 items; at most about 50
      (seed, neighbor) pairs per customer;
    - score_item_factor: ranks sort on one integer, score_units * 2^28 + (2^28 - 1 -
      item_key): a score is at most 10 x 10^9 units (34 bits), item keys below 2^28. -#}
{% macro recommendation_bounds() %}
  {{ return({'similarity_items': 50, 'seed_items': 10, 'pairs': 50,
             'key_base': 4294967296, 'score_item_factor': 268435456}) }}
{% endmacro %}

{#- Whether a catalog is configured (sources.catalog_items.table); without one every
    recommendation model is an empty typed relation. -#}
{% macro recommending() %}
  {{ return(decisioning_config()['sources']['catalog_items']['table'] is not none
            and decisioning_config()['sources']['catalog_items']['table'] != '') }}
{% endmacro %}

{#- DuckDB aggregates item pairs (two item keys, up to 2^13 each) in a perfect hash
    table, an array indexed by the keys, when their range fits this many bits: 3 to 4
    times faster than hashing for catalogs up to 8,191 items. Nothing on Snowflake. -#}
{% macro recommender_session_settings() %}
  {{ return('set perfect_ht_threshold = 26' if target.type == 'duckdb' else '') }}
{% endmacro %}

{% macro recommender_session_reset() %}
  {{ return('reset perfect_ht_threshold' if target.type == 'duckdb' else '') }}
{% endmacro %}

{#- <prefix>customers (customer_id, customer_key): customers created before the cutoff;
    <prefix>items (recommendation_items' columns and is_recommendable): every catalog item,
    recommendable when active and created (else first done) before the cutoff. -#}
{% macro recommendation_key_ctes(prefix, cutoff) %}
{{ prefix }}customers as (
    select
        customer_id,
        row_number() over (order by customer_id) as customer_key
    from {{ ref('stg_decisioning__customers') }}
    where created_at < {{ cutoff }}
),

{{ prefix }}items as (
    select
        item_id,
        item_key,
        item_name,
        category,
        created_at,
        is_active and (created_at is null or created_at < {{ cutoff }}) as is_recommendable
    from {{ ref('recommendation_items') }}
)
{%- endmacro %}

{#- <prefix>interactions (customer_key, item_key, interaction_key, n_events, last_at,
    recency_rank, customer_items): each customer's distinct catalog items from the product
    events with an item in [cutoff - lookback_days, cutoff) (only recommendations.events,
    when listed), with how many events and the last one; recency_rank 1 is the most
    recently done (ties: item_id); customer_items counts the customer's items.
    Needs <prefix>customers and <prefix>items. -#}
{% macro recommendation_interaction_ctes(prefix, cutoff) %}
{%- set r = decisioning_config()['recommendations'] %}
{%- set base = recommendation_bounds()['key_base'] %}
{{ prefix }}item_events as (
    select
        customer_id,
        item_id,
        occurred_at
    from {{ ref('stg_decisioning__product_events') }}
    where item_id is not null
        and occurred_at >= {{ add_hours(cutoff, -24 * r['lookback_days']) }}
        and occurred_at < {{ cutoff }}
        {%- if r['events'] %}
        and event_name in ('{{ r["events"] | join("', '") }}')
        {%- endif %}
),

{{ prefix }}interaction_counts as (
    select
        customers.customer_key * {{ base }} + items.item_key as interaction_key,
        count(*) as n_events,
        max(item_events.occurred_at) as last_at
    from {{ prefix }}item_events as item_events
    inner join {{ prefix }}customers as customers
        on customers.customer_id = item_events.customer_id
    inner join {{ prefix }}items as items
        on items.item_id = item_events.item_id
    group by customers.customer_key * {{ base }} + items.item_key
),

{{ prefix }}interactions as (
    select
        cast((interaction_key - mod(interaction_key, {{ base }})) / {{ base }} as bigint) as customer_key,
        cast(mod(interaction_key, {{ base }}) as integer) as item_key,
        interaction_key,
        n_events,
        last_at,
        row_number() over (
            partition by interaction_key - mod(interaction_key, {{ base }})
            order by last_at desc, interaction_key
        ) as recency_rank,
        count(*) over (
            partition by interaction_key - mod(interaction_key, {{ base }})
        ) as customer_items
    from {{ prefix }}interaction_counts
)
{%- endmacro %}

{#- <prefix>item_similarity (item_key, similar_item_key, co_customers, item_customers,
    similar_item_customers, similarity, rank): for every two items done by the same
    customers (each customer's 50 most recent items), the cosine similarity of their
    binary customer vectors, co / sqrt(n_a * n_b); per item its `neighbors` most similar
    recommendable items (rank 1 the most similar; ties, to 1e-9: item_id). Needs
    <prefix>items. `interactions` is a table (recommendation_interactions or
    int_recommendation_training_interactions): DuckDB knows the stored range of its
    item_key (1 to the catalog's size) and counts the pairs in a perfect hash table, which
    it cannot for keys computed in a CTE. -#}
{% macro item_similarity_ctes(prefix, interactions) %}
{%- set r = decisioning_config()['recommendations'] %}
{{ prefix }}capped as (
    select
        customer_key,
        item_key
    from {{ interactions }}
    where recency_rank <= {{ recommendation_bounds()['similarity_items'] }}
),

{{ prefix }}item_customers as (
    select
        item_key,
        count(*) as n_customers
    from {{ prefix }}capped
    group by item_key
),

{{ prefix }}co_customers as (
    select
        first_items.item_key as item_a,
        second_items.item_key as item_b,
        count(*) as co_customers
    from {{ prefix }}capped as first_items
    inner join {{ prefix }}capped as second_items
        on second_items.customer_key = first_items.customer_key
        and second_items.item_key > first_items.item_key
    group by first_items.item_key, second_items.item_key
),

{{ prefix }}item_pairs as (
    select item_a as item_key, item_b as similar_item_key, co_customers
    from {{ prefix }}co_customers
    union all
    select item_b as item_key, item_a as similar_item_key, co_customers
    from {{ prefix }}co_customers
),

{{ prefix }}scored_pairs as (
    select
        pairs.item_key,
        pairs.similar_item_key,
        pairs.co_customers,
        first_counts.n_customers as item_customers,
        second_counts.n_customers as similar_item_customers,
        pairs.co_customers
            / sqrt(cast(first_counts.n_customers as double) * second_counts.n_customers)
            as similarity
    from {{ prefix }}item_pairs as pairs
    inner join {{ prefix }}item_customers as first_counts
        on first_counts.item_key = pairs.item_key
    inner join {{ prefix }}item_customers as second_counts
        on second_counts.item_key = pairs.similar_item_key
    inner join {{ prefix }}items as similar_items
        on similar_items.item_key = pairs.similar_item_key
    where similar_items.is_recommendable
),

{{ prefix }}ranked_pairs as (
    select
        *,
        row_number() over (
            partition by item_key
            order by
                cast(round(similarity * 1000000000) as bigint) * {{ recommendation_bounds()['key_base'] }}
                    + ({{ recommendation_bounds()['key_base'] - 1 }} - similar_item_key) desc
        ) as rank
    from {{ prefix }}scored_pairs
),

{{ prefix }}item_similarity as (
    select * from {{ prefix }}ranked_pairs
    where rank <= {{ r['neighbors'] }}
)
{%- endmacro %}

{#- <prefix>popularity (item_key, n_customers, popularity_rank): every recommendable
    item, by how many customers did it in the interactions (ties: item_id). -#}
{% macro recommendation_popularity_cte(prefix, interactions) %}
{{ prefix }}popularity as (
    select
        items.item_key,
        coalesce(counts.n_customers, 0) as n_customers,
        row_number() over (
            order by coalesce(counts.n_customers, 0) desc, items.item_key
        ) as popularity_rank
    from {{ prefix }}items as items
    left join (
        select item_key, count(*) as n_customers
        from {{ interactions }}
        group by item_key
    ) as counts on counts.item_key = items.item_key
    where items.is_recommendable
)
{%- endmacro %}

{#- <prefix><name> (customer_key, item_key, rank): for each customer of `customers`
    (customer_key), the most popular items (<prefix>popularity) that are neither done
    within exclude_recent_days (<prefix>recent) nor already chosen (`chosen`:
    customer_key, item_key, rank 1..n, or none), ranked after the chosen ones up to
    top_k. An item's popularity rank is at most top_k plus the customer's excluded items,
    so only those ranks are joined. -#}
{% macro popular_fill_ctes(prefix, name, customers, chosen=none) %}
{%- set top_k = decisioning_config()['recommendations']['top_k'] %}
{{ prefix }}{{ name }}_customers as (
    select customers.customer_key
    from {{ customers }} as customers
    {%- if chosen %}
    where not exists (
        select 1
        from {{ chosen }} as chosen
        where chosen.customer_key = customers.customer_key
            and chosen.rank = {{ top_k }}
    )
    {%- endif %}
),

{{ prefix }}{{ name }}_excluded as (
    select recent.customer_key, recent.item_key, 0 as is_chosen
    from {{ prefix }}recent as recent
    inner join {{ prefix }}{{ name }}_customers as customers
        on customers.customer_key = recent.customer_key
    {%- if chosen %}
    union all
    select chosen.customer_key, chosen.item_key, 1 as is_chosen
    from {{ chosen }} as chosen
    inner join {{ prefix }}{{ name }}_customers as customers
        on customers.customer_key = chosen.customer_key
    {%- endif %}
),

{{ prefix }}{{ name }}_limits as (
    select
        customers.customer_key,
        count(excluded.item_key) as n_excluded,
        coalesce(sum(excluded.is_chosen), 0) as n_chosen
    from {{ prefix }}{{ name }}_customers as customers
    left join {{ prefix }}{{ name }}_excluded as excluded
        on excluded.customer_key = customers.customer_key
    group by customers.customer_key
),

{{ prefix }}{{ name }}_candidates as (
    select
        limits.customer_key,
        popularity.item_key,
        limits.n_chosen + row_number() over (
            partition by limits.customer_key order by popularity.popularity_rank
        ) as rank
    from {{ prefix }}{{ name }}_limits as limits
    inner join {{ prefix }}popularity as popularity
        on popularity.popularity_rank <= {{ top_k }} + limits.n_excluded
    where limits.n_chosen < {{ top_k }}
        and not exists (
            select 1
            from {{ prefix }}{{ name }}_excluded as excluded
            where excluded.customer_key = limits.customer_key
                and excluded.item_key = popularity.item_key
        )
),

{{ prefix }}{{ name }} as (
    select customer_key, item_key, rank
    from {{ prefix }}{{ name }}_candidates
    where rank <= {{ top_k }}
)
{%- endmacro %}

{#- <prefix>recommendations (customer_key, item_key, rank, score, source): top_k items
    per customer of <prefix>customers, or of `only_customers` (a relation or CTE with
    customer_key) when given. Personalized first: the score of an item is the sum of its
    similarities (each rounded to 1e-9, so sums and ties are exact in any order) to the
    customer's seeds (recommendation_bounds) among whose most similar items it is; items
    done within exclude_recent_days before the cutoff are left out (items done longer ago
    may come back), ties go to the smaller item_id. Then, when fewer than top_k items scored
    (no history, or no neighbors left), the most popular items not done recently fill the
    remaining ranks (source popular, score null). Also writes <prefix>recent and
    <prefix>popularity. Needs <prefix>customers and <prefix>items. -#}
{% macro customer_recommendation_ctes(prefix, cutoff, interactions, similarity, only_customers=none) %}
{%- set r = decisioning_config()['recommendations'] %}
{%- set bounds = recommendation_bounds() %}
{%- set base = bounds['key_base'] %}
{%- set customers = only_customers or prefix ~ 'customers' %}
{{ prefix }}recent as (
    select
        customer_key,
        item_key,
        customer_key * {{ base }} + item_key as interaction_key
    from {{ interactions }}
    where last_at >= {{ add_hours(cutoff, -24 * r['exclude_recent_days']) }}
),

{{ prefix }}seeds as (
    select
        seeds.customer_key,
        seeds.item_key,
        case
            when seeds.customer_items < {{ bounds['seed_items'] }} then seeds.customer_items
            else {{ bounds['seed_items'] }}
        end as n_seeds
    from {{ interactions }} as seeds
    {%- if only_customers %}
    inner join {{ only_customers }} as only_customers
        on only_customers.customer_key = seeds.customer_key
    {%- endif %}
    where seeds.recency_rank <= {{ bounds['seed_items'] }}
),

-- Each neighbor once per number of seeds it is used with: rank <= ceil(pairs / n_seeds).
{{ prefix }}neighbors as (
    select
        similarity.item_key,
        seed_counts.n_seeds,
        similarity.similar_item_key,
        cast(round(similarity.similarity * 1000000000) as bigint) as similarity_units
    from {{ similarity }} as similarity
    inner join (
        {%- for n_seeds in range(1, bounds['seed_items'] + 1) %}
        select {{ n_seeds }} as n_seeds, {{ (bounds['pairs'] + n_seeds - 1) // n_seeds }} as max_rank
        {{- ' union all' if not loop.last }}
        {%- endfor %}
    ) as seed_counts on similarity.rank <= seed_counts.max_rank
),

{{ prefix }}scores as (
    select
        seeds.customer_key * {{ base }} + neighbors.similar_item_key as interaction_key,
        cast(sum(neighbors.similarity_units) as bigint) as score_units
    from {{ prefix }}seeds as seeds
    inner join {{ prefix }}neighbors as neighbors
        on neighbors.item_key = seeds.item_key
        and neighbors.n_seeds = seeds.n_seeds
    group by seeds.customer_key * {{ base }} + neighbors.similar_item_key
),

{{ prefix }}personalized as (
    select
        cast((interaction_key - mod(interaction_key, {{ base }})) / {{ base }} as bigint) as customer_key,
        cast(mod(interaction_key, {{ base }}) as integer) as item_key,
        rank,
        score_units
    from (
        select
            interaction_key,
            score_units,
            row_number() over (
                partition by interaction_key - mod(interaction_key, {{ base }})
                order by
                    score_units * {{ bounds['score_item_factor'] }}
                        + ({{ bounds['score_item_factor'] - 1 }} - mod(interaction_key, {{ base }})) desc
            ) as rank
        from {{ prefix }}scores as scores
        where not exists (
            select 1
            from {{ prefix }}recent as recent
            where recent.interaction_key = scores.interaction_key
        )
    ) as ranked
    where rank <= {{ r['top_k'] }}
),

{{ recommendation_popularity_cte(prefix, interactions) }},

{{ popular_fill_ctes(prefix, 'filled', customers, prefix ~ 'personalized') }},

{{ prefix }}recommendations as (
    select
        customer_key,
        item_key,
        rank,
        cast(score_units as double) / 1000000000.0 as score,
        'personalized' as source
    from {{ prefix }}personalized
    union all
    select
        customer_key,
        item_key,
        rank,
        cast(null as double) as score,
        'popular' as source
    from {{ prefix }}filled
)
{%- endmacro %}

{#- customer_strategy_items: exactly one row per customer created before as_of and item
    strategy. Returns the (customer, strategy) pairs with another number of rows. -#}
{% test one_row_per_customer_and_strategy(model) %}
{%- set strategies = decisioning_config()['recommendations']['strategies']
                     | reject('equalto', 'none') | list %}
{%- if recommending() and strategies %}
with expected as (
    select customers.customer_id, strategies.strategy
    from {{ ref('stg_decisioning__customers') }} as customers
    cross join (
        {%- for strategy in strategies %}
        select '{{ strategy }}' as strategy{{ ' union all' if not loop.last }}
        {%- endfor %}
    ) as strategies
    where customers.created_at < {{ as_of_timestamp() }}
),

actual as (
    select customer_id, strategy, count(*) as n_rows
    from {{ model }}
    group by customer_id, strategy
)

select
    coalesce(expected.customer_id, actual.customer_id) as customer_id,
    coalesce(expected.strategy, actual.strategy) as strategy,
    coalesce(actual.n_rows, 0) as n_rows
from expected
full outer join actual
    on actual.customer_id = expected.customer_id
    and actual.strategy = expected.strategy
where coalesce(actual.n_rows, 0) != 1 or expected.customer_id is null
{%- else %}
select * from {{ model }} where 1 = 0
{%- endif %}
{% endtest %}

{#- Per customer of customer_limits, the items of the ranked list `ranked` (a CTE with
    item_key and `rank_column`) the customer did not do recently (CTE recent), numbered
    in list order as `pick`: pick 1 is the strategy's item. Only the first 1 + n_recent of
    the list can hold it. `join` adds a join between customer_limits and the list and
    `condition` restricts the list per customer (e.g. to their favourite category). -#}
{% macro first_items_not_done_recently(ranked, rank_column, join='', condition='true') %}
    select
        limits.customer_key,
        {{ ranked }}.item_key,
        row_number() over (
            partition by limits.customer_key order by {{ ranked }}.{{ rank_column }}
        ) as pick
    from customer_limits as limits
    {{ join }}
    inner join {{ ranked }}
        on {{ condition }}
        and {{ ranked }}.{{ rank_column }} <= 1 + limits.n_recent
    where not exists (
        select 1
        from recent
        where recent.customer_key = limits.customer_key
            and recent.item_key = {{ ranked }}.item_key
    )
{% endmacro %}
