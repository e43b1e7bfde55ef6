-- Lift of a treatment group over a control group per campaign, decision date, period
-- ('day' | 'to_date') and metric, with 95% Welch t intervals clustered by customer
-- (method: macros/lift_statistics.sql). A row needs finalized decisions of both groups in
-- the period: a comparison with a group missing (e.g. no business_as_usual configured, or
-- a day without holdout decisions) has no row.

with moments as (
    select * from {{ ref('int_lift_moments') }}
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

paired as (
    select
        treatment.campaign_id,
        treatment.decision_date,
        treatment.period,
        comparisons.treatment_group,
        comparisons.control_group,
        treatment.metric,
        treatment.customers as treatment_customers,
        control.customers as control_customers,
        treatment.decisions as treatment_decisions,
        control.decisions as control_decisions,
        treatment.nonzero_customers as treatment_nonzero_customers,
        control.nonzero_customers as control_nonzero_customers,
        {{ lift_mean('treatment.sum_y', 'treatment.decisions') }} as treatment_mean,
        {{ lift_mean('control.sum_y', 'control.decisions') }} as control_mean,
        {{ lift_clustered_variance(
            'treatment.customers', 'treatment.decisions', 'treatment.sum_y',
            'treatment.sum_y_squared', 'treatment.sum_n_y', 'treatment.sum_n_squared') }}
            as treatment_variance,
        {{ lift_clustered_variance(
            'control.customers', 'control.decisions', 'control.sum_y',
            'control.sum_y_squared', 'control.sum_n_y', 'control.sum_n_squared') }}
            as control_variance
    from comparisons
    inner join moments as treatment
        on comparisons.treatment_group = treatment.decision_group
    inner join moments as control
        on comparisons.control_group = control.decision_group
        and treatment.campaign_id = control.campaign_id
        and treatment.decision_date = control.decision_date
        and treatment.period = control.period
        and treatment.metric = control.metric
),

with_degrees_of_freedom as (
    select
        *,
        treatment_mean - control_mean as lift,
        sqrt(treatment_variance + control_variance) as lift_standard_error,
        {{ lift_log_ratio_standard_error(
            'treatment_mean', 'control_mean', 'treatment_variance', 'control_variance') }}
            as log_ratio_standard_error,
        {{ lift_welch_degrees_of_freedom(
            'treatment_variance', 'control_variance', 'treatment_customers',
            'control_customers') }} as degrees_of_freedom
    from paired
),

with_quantile as (
    select
        *,
        case
            when lift_standard_error is not null
                then {{ t_quantile_975('degrees_of_freedom') }}
        end as t_quantile
    from with_degrees_of_freedom
),

intervals as (
    select
        *,
        lift - t_quantile * lift_standard_error as lift_ci_low,
        lift + t_quantile * lift_standard_error as lift_ci_high,
        {{ lift_relative('treatment_mean', 'control_mean', 't_quantile',
                         'log_ratio_standard_error') }} as relative_lift,
        {{ lift_relative('treatment_mean', 'control_mean', 't_quantile',
                         'log_ratio_standard_error', -1) }} as relative_lift_ci_low,
        {{ lift_relative('treatment_mean', 'control_mean', 't_quantile',
                         'log_ratio_standard_error', 1) }} as relative_lift_ci_high
    from with_quantile
),

final as (
    select
        cast(campaign_id as varchar) as campaign_id,
        cast(decision_date as date) as decision_date,
        cast(period as varchar) as period,
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
        cast(lift_ci_low > 0 or lift_ci_high < 0 as boolean) as is_significant,
        cast({{ lift_normal_approximation_ok(
            'treatment_customers', 'control_customers', 'treatment_nonzero_customers',
            'control_nonzero_customers') }} as boolean) as normal_approximation_ok,
        cast('{{ lift_ci_method() }}' as varchar) as ci_method
    from intervals
)

select * from final
