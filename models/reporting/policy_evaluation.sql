-- Off-policy estimates of other policies (python/decisioning/evaluation.py), typed for
-- dashboards: one row per policy and estimator.

select
    cast(campaign_id as varchar) as campaign_id,
    cast(as_of as date) as as_of,
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
    cast(warning as varchar) as warning
from {{ ref('policy_estimates') }}
