-- Off-policy estimates (python/decisioning/evaluation.py), typed for dashboards: one row
-- per logs, policy and estimator. logs 'decision_log': other policies on the campaign's
-- own logged decisions; 'historical_decisions': candidate policies on the imported
-- history, before launch.

with estimates as (
    select * from {{ ref('policy_estimates') }}
    union all
    select * from {{ ref('historical_policy_estimates') }}
),

final as (
    select
        cast(campaign_id as varchar) as campaign_id,
        cast(as_of as date) as as_of,
        cast(logs as varchar) as logs,
        cast(policy as varchar) as policy,
        cast(description as varchar) as description,
        cast(estimator as varchar) as estimator,
        cast(estimate as double) as estimate,
        cast(standard_error as double) as standard_error,
        cast(ci_low as double) as ci_low,
        cast(ci_high as double) as ci_high,
        cast(decisions as bigint) as decisions,
        cast(matching_decisions as bigint) as matching_decisions,
        cast(effective_sample_size as double) as effective_sample_size,
        cast(is_supported as boolean) as is_supported,
        cast(case when is_supported then 'evaluable' else 'not evaluable' end as varchar) as verdict,
        cast(warning as varchar) as warning,
        cast(evaluated_from as date) as evaluated_from,
        cast(evaluated_to as date) as evaluated_to,
        cast(trained_to as date) as trained_to,
        cast(decisions_without_propensity as bigint) as decisions_without_propensity
    from estimates
)

select * from final
