-- Per field and value: traffic, measured reward and the model's posterior
-- (python/decisioning/variants.py), typed for dashboards.

select
    cast(campaign_id as varchar) as campaign_id,
    cast(as_of as date) as as_of,
    cast(field as varchar) as field,
    cast(value_id as varchar) as value_id,
    cast(sends as bigint) as sends,
    cast(sends_today as bigint) as sends_today,
    cast(rewards as bigint) as rewards,
    cast(mean_reward as double) as mean_reward,
    cast(posterior_mean as double) as posterior_mean,
    cast(posterior_ci_low as double) as posterior_ci_low,
    cast(posterior_ci_high as double) as posterior_ci_high,
    cast(probability_best as double) as probability_best,
    cast(traffic_share_today as double) as traffic_share_today,
    cast(model_version as varchar) as model_version
from {{ ref('variant_posteriors') }}
