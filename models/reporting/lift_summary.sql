-- Lift per campaign, comparison and metric over every finalized decision: lift_daily's
-- 'to_date' row at the campaign's last finalized decision date, plus the decisions of the
-- two groups still pending (reward window open). A comparison has a row as soon as
-- both groups have a logged decision; until both have finalized ones its statistics are
-- null and its counts 0 (the first days of a campaign).

with rewards as (
    select * from {{ ref('rewards') }}
),

moments as (
    select * from {{ ref('int_lift_moments') }}
),

lift_daily as (
    select * from {{ ref('lift_daily') }}
),

comparisons as (
    {%- for treatment, control in lift_comparisons() %}
    select
        '{{ treatment }}' as treatment_group,
        '{{ control }}' as control_group
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

metrics as (
    {%- for metric, column in lift_metrics() %}
    select
        '{{ metric }}' as metric
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

group_decisions as (
    select
        campaign_id,
        decision_group,
        sum(case when is_final then 0 else 1 end) as pending_decisions
    from rewards
    group by
        campaign_id,
        decision_group
),

group_dates as (
    select
        campaign_id,
        decision_group,
        min(decision_date) as first_decision_date,
        max(decision_date) as last_decision_date
    from moments
    where period = 'day'
    group by
        campaign_id,
        decision_group
),

campaign_last_dates as (
    select
        campaign_id,
        max(decision_date) as last_decision_date
    from moments
    group by
        campaign_id
),

comparison_rows as (
    select
        treatment.campaign_id,
        comparisons.treatment_group,
        comparisons.control_group,
        metrics.metric,
        treatment.pending_decisions + control.pending_decisions as pending_decisions
    from comparisons
    inner join group_decisions as treatment
        on comparisons.treatment_group = treatment.decision_group
    inner join group_decisions as control
        on comparisons.control_group = control.decision_group
        and treatment.campaign_id = control.campaign_id
    cross join metrics
),

comparison_dates as (
    select
        comparison_rows.campaign_id,
        comparison_rows.treatment_group,
        comparison_rows.control_group,
        comparison_rows.metric,
        comparison_rows.pending_decisions,
        case
            when treatment_dates.first_decision_date < control_dates.first_decision_date
                then treatment_dates.first_decision_date
            else control_dates.first_decision_date
        end as first_decision_date,
        case
            when treatment_dates.last_decision_date > control_dates.last_decision_date
                then treatment_dates.last_decision_date
            else control_dates.last_decision_date
        end as last_decision_date,
        campaign_last_dates.last_decision_date as campaign_last_decision_date
    from comparison_rows
    left join group_dates as treatment_dates
        on comparison_rows.campaign_id = treatment_dates.campaign_id
        and comparison_rows.treatment_group = treatment_dates.decision_group
    left join group_dates as control_dates
        on comparison_rows.campaign_id = control_dates.campaign_id
        and comparison_rows.control_group = control_dates.decision_group
    left join campaign_last_dates
        on comparison_rows.campaign_id = campaign_last_dates.campaign_id
),

joined as (
    select
        comparison_dates.campaign_id,
        case when lift_daily.campaign_id is not null then comparison_dates.first_decision_date end
            as first_decision_date,
        case when lift_daily.campaign_id is not null then comparison_dates.last_decision_date end
            as last_decision_date,
        comparison_dates.treatment_group,
        comparison_dates.control_group,
        comparison_dates.metric,
        coalesce(lift_daily.treatment_customers, 0) as treatment_customers,
        coalesce(lift_daily.control_customers, 0) as control_customers,
        coalesce(lift_daily.treatment_decisions, 0) as treatment_decisions,
        coalesce(lift_daily.control_decisions, 0) as control_decisions,
        lift_daily.treatment_mean,
        lift_daily.control_mean,
        lift_daily.lift,
        lift_daily.lift_ci_low,
        lift_daily.lift_ci_high,
        lift_daily.relative_lift,
        lift_daily.relative_lift_ci_low,
        lift_daily.relative_lift_ci_high,
        lift_daily.degrees_of_freedom,
        lift_daily.is_significant,
        coalesce(lift_daily.normal_approximation_ok, false) as normal_approximation_ok,
        '{{ lift_ci_method() }}' as ci_method,
        comparison_dates.pending_decisions
    from comparison_dates
    left join lift_daily
        on comparison_dates.campaign_id = lift_daily.campaign_id
        and comparison_dates.treatment_group = lift_daily.treatment_group
        and comparison_dates.control_group = lift_daily.control_group
        and comparison_dates.metric = lift_daily.metric
        and comparison_dates.campaign_last_decision_date = lift_daily.decision_date
        and lift_daily.period = 'to_date'
),

final as (
    select
        cast(campaign_id as varchar) as campaign_id,
        cast(first_decision_date as date) as first_decision_date,
        cast(last_decision_date as date) as last_decision_date,
        cast(treatment_group as varchar) as treatment_group,
        cast(control_group as varchar) as control_group,
        cast(metric as varchar) as metric,
        cast(treatment_customers as bigint) as treatment_customers,
        cast(control_customers as bigint) as control_customers,
        cast(treatment_decisions as bigint) as treatment_decisions,
        cast(control_decisions as bigint) as control_decisions,
        cast(treatment_mean as double) as treatment_mean,
        cast(control_mean as double) as control_mean,
        cast(lift as double) as lift,
        cast(lift_ci_low as double) as lift_ci_low,
        cast(lift_ci_high as double) as lift_ci_high,
        cast(relative_lift as double) as relative_lift,
        cast(relative_lift_ci_low as double) as relative_lift_ci_low,
        cast(relative_lift_ci_high as double) as relative_lift_ci_high,
        cast(degrees_of_freedom as double) as degrees_of_freedom,
        cast(is_significant as boolean) as is_significant,
        cast(normal_approximation_ok as boolean) as normal_approximation_ok,
        cast(ci_method as varchar) as ci_method,
        cast(pending_decisions as bigint) as pending_decisions
    from joined
)

select * from final
