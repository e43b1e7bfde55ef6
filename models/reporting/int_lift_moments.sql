-- Per campaign x decision group x metric x decision date x period, the moments a
-- customer-clustered variance of the group's mean needs (macros/lift_statistics.sql), from
-- finalized rewards only. i runs over customers, n_i is customer i's decisions in the
-- period and y_i the sum of the metric over them:
--   customers = G, decisions = N = sum n_i, sum_y = Y = sum y_i, sum_y_squared = YY =
--   sum y_i^2, sum_n_y = NY = sum n_i y_i, sum_n_squared = NN = sum n_i^2,
--   nonzero_customers = customers with at least one decision with a nonzero value.
-- period 'day' covers that date's decisions; 'to_date' every finalized decision up to and
-- including that date, with a row for every date the campaign has finalized decisions on
-- (from the group's first one), carried forward over days the group had none.
--
-- to_date is linear in rows: per customer and date, running sums cn, cy of the customer's
-- decisions and metric (window functions); on that date the customer's contribution to YY
-- grows by cy^2 - (cy - y)^2 (likewise NY by cn cy - (cn - n)(cy - y), NN by
-- cn^2 - (cn - n)^2, G by 1 on the customer's first date, nonzero_customers by 1 on the
-- first date with a nonzero value), and the increments are summed per date and cumulated
-- over dates. No date is joined to every earlier decision.

{%- set metrics = lift_metrics() %}
{%- set customer_window -%}
partition by campaign_id, decision_group, customer_id
            order by decision_date
{%- endset %}

with rewards as (
    select * from {{ ref('rewards') }}
    where decision_group <> 'historical'
),

-- Wide (one column per metric) until the moments are per date: the per-customer windows
-- then run once over customer-days, not once per metric.
customer_days as (
    select
        campaign_id,
        decision_group,
        customer_id,
        decision_date,
        count(*) as decisions,
        {%- for metric, column in metrics %}
        sum(cast({{ column }} as double)) as {{ metric }}_y,
        max(case when {{ column }} <> 0 then 1 else 0 end) as {{ metric }}_nonzero{{ ',' if not loop.last }}
        {%- endfor %}
    from rewards
    where is_final
    group by
        campaign_id,
        decision_group,
        customer_id,
        decision_date
),

day_moments as (
    select
        campaign_id,
        decision_group,
        decision_date,
        count(*) as customers,
        sum(decisions) as decisions,
        sum(decisions * decisions) as sum_n_squared,
        {%- for metric, column in metrics %}
        sum({{ metric }}_y) as {{ metric }}_sum_y,
        sum({{ metric }}_y * {{ metric }}_y) as {{ metric }}_sum_y_squared,
        sum(decisions * {{ metric }}_y) as {{ metric }}_sum_n_y,
        sum({{ metric }}_nonzero) as {{ metric }}_nonzero_customers{{ ',' if not loop.last }}
        {%- endfor %}
    from customer_days
    group by
        campaign_id,
        decision_group,
        decision_date
),

-- The customer's running totals up to and including each of their dates, and the first
-- date they had a nonzero value.
customer_running as (
    select
        campaign_id,
        decision_group,
        decision_date,
        decisions,
        row_number() over (
            {{ customer_window }}
        ) as customer_date_number,
        sum(decisions) over (
            {{ customer_window }}
            rows between unbounded preceding and current row
        ) as running_decisions,
        {%- for metric, column in metrics %}
        {{ metric }}_y,
        sum({{ metric }}_y) over (
            {{ customer_window }}
            rows between unbounded preceding and current row
        ) as {{ metric }}_running_y,
        min(case when {{ metric }}_nonzero = 1 then decision_date end) over (
            partition by campaign_id, decision_group, customer_id
        ) as {{ metric }}_first_nonzero_date{{ ',' if not loop.last }}
        {%- endfor %}
    from customer_days
),

-- What each customer adds to the to-date moments on each of their dates, summed per date.
date_increments as (
    select
        campaign_id,
        decision_group,
        decision_date,
        sum(case when customer_date_number = 1 then 1 else 0 end) as added_customers,
        sum(decisions) as added_decisions,
        sum(
            running_decisions * running_decisions
            - (running_decisions - decisions) * (running_decisions - decisions)
        ) as added_n_squared,
        {%- for metric, column in metrics %}
        sum({{ metric }}_y) as {{ metric }}_added_y,
        sum(
            {{ metric }}_running_y * {{ metric }}_running_y
            - ({{ metric }}_running_y - {{ metric }}_y) * ({{ metric }}_running_y - {{ metric }}_y)
        ) as {{ metric }}_added_y_squared,
        sum(
            running_decisions * {{ metric }}_running_y
            - (running_decisions - decisions) * ({{ metric }}_running_y - {{ metric }}_y)
        ) as {{ metric }}_added_n_y,
        sum(case when decision_date = {{ metric }}_first_nonzero_date then 1 else 0 end)
            as {{ metric }}_added_nonzero_customers{{ ',' if not loop.last }}
        {%- endfor %}
    from customer_running
    group by
        campaign_id,
        decision_group,
        decision_date
),

campaign_dates as (
    select distinct
        campaign_id,
        decision_date
    from date_increments
),

campaign_groups as (
    select distinct
        campaign_id,
        decision_group
    from date_increments
),

-- Every campaign date for every group: dates x groups rows.
date_spine as (
    select
        campaign_groups.campaign_id,
        campaign_groups.decision_group,
        campaign_dates.decision_date
    from campaign_groups
    inner join campaign_dates
        on campaign_groups.campaign_id = campaign_dates.campaign_id
),

{%- set increments = ['added_customers', 'added_decisions', 'added_n_squared'] %}
{%- for metric, column in metrics %}
{%- do increments.extend([
    metric ~ '_added_y', metric ~ '_added_y_squared', metric ~ '_added_n_y',
    metric ~ '_added_nonzero_customers']) %}
{%- endfor %}

to_date_moments as (
    select
        date_spine.campaign_id,
        date_spine.decision_group,
        date_spine.decision_date,
        {%- for increment in increments %}
        sum(coalesce(date_increments.{{ increment }}, 0)) over (
            partition by date_spine.campaign_id, date_spine.decision_group
            order by date_spine.decision_date
            rows between unbounded preceding and current row
        ) as {{ increment | replace('added_', 'running_') }}{{ ',' if not loop.last }}
        {%- endfor %}
    from date_spine
    left join date_increments
        on date_spine.campaign_id = date_increments.campaign_id
        and date_spine.decision_group = date_increments.decision_group
        and date_spine.decision_date = date_increments.decision_date
),

-- Long format: one row per metric.
moments as (
    {%- for metric, column in metrics %}
    select
        campaign_id,
        decision_group,
        '{{ metric }}' as metric,
        decision_date,
        'day' as period,
        customers,
        decisions,
        {{ metric }}_sum_y as sum_y,
        {{ metric }}_sum_y_squared as sum_y_squared,
        {{ metric }}_sum_n_y as sum_n_y,
        sum_n_squared,
        {{ metric }}_nonzero_customers as nonzero_customers
    from day_moments
    union all
    select
        campaign_id,
        decision_group,
        '{{ metric }}' as metric,
        decision_date,
        'to_date' as period,
        running_customers as customers,
        running_decisions as decisions,
        {{ metric }}_running_y as sum_y,
        {{ metric }}_running_y_squared as sum_y_squared,
        {{ metric }}_running_n_y as sum_n_y,
        running_n_squared as sum_n_squared,
        {{ metric }}_running_nonzero_customers as nonzero_customers
    from to_date_moments
    -- Dates before the group's first finalized decision.
    where running_customers > 0
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        cast(campaign_id as varchar) as campaign_id,
        cast(decision_group as varchar) as decision_group,
        cast(metric as varchar) as metric,
        cast(decision_date as date) as decision_date,
        cast(period as varchar) as period,
        cast(customers as bigint) as customers,
        cast(decisions as bigint) as decisions,
        cast(sum_y as double) as sum_y,
        cast(sum_y_squared as double) as sum_y_squared,
        cast(sum_n_y as double) as sum_n_y,
        cast(sum_n_squared as bigint) as sum_n_squared,
        cast(nonzero_customers as bigint) as nonzero_customers
    from moments
)

select * from final
