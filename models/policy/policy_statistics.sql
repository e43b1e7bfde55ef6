-- Sufficient statistics of each field value's Bayesian linear reward model, from finalized
-- rewards of the policy group, each weighted by w = 0.5 ^ (age in days / half-life):
--   n = sum(w), sum_reward = sum(w r), sum_reward_sq = sum(w r^2),
--   xtx_i_j = sum(w x_i x_j) (i <= j), xty_i = sum(w x_i r)
-- where x is the feature vector logged with the decision (decision_contexts).
{%- set cfg = decisioning_config() %}
{%- set half_life = cfg['policy']['half_life_days'] %}
{%- set features = feature_names() %}

with rewards as (
    select
        decision_id,
        reward,
        {%- if half_life is none %}
        1.0 as weight
        {%- else %}
        power(0.5, ({{ as_of_date() }} - decision_date) / {{ half_life }}) as weight
        {%- endif %}
    from {{ ref('rewards') }}
    where is_final
        and not is_holdout
        and campaign_id = '{{ cfg["campaign_id"] }}'
),

history as (
    select * from {{ decision_log_history() }}
),

actions as (
    {%- for field in decision_fields() %}
    select decision_id, '{{ field }}' as field, {{ field }} as value_id from history
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

contexts as (
    select
        decision_id,
        {%- for name in features %}
        coalesce({{ name }}, 0.0) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ decision_context_history() }}
),

observations as (
    select
        actions.field,
        actions.value_id,
        rewards.weight,
        rewards.reward,
        contexts.*
    from rewards
    inner join actions on rewards.decision_id = actions.decision_id
    inner join contexts on rewards.decision_id = contexts.decision_id
),

final as (
    select
        field,
        value_id,
        '{{ features | join(",") }}' as feature_names,
        count(*) as n_rewards,
        sum(weight) as n,
        sum(weight * reward) as sum_reward,
        sum(weight * reward * reward) as sum_reward_sq,
        {%- for i in range(features | length) %}
        sum(weight * {{ features[i] }} * reward) as xty_{{ i }},
        {%- endfor %}
        {%- for i in range(features | length) %}
        {%- for j in range(i, features | length) %}
        sum(weight * {{ features[i] }} * {{ features[j] }}) as xtx_{{ i }}_{{ j }}{{ ',' if not (loop.last and i == (features | length) - 1) }}
        {%- endfor %}
        {%- endfor %}
    from observations
    group by field, value_id
)

select * from final
