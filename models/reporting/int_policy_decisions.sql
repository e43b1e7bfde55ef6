{{ config(materialized='view') }}
-- depends_on: {{ ref('decisioning_config') }}
-- The campaign's finalized policy-group decisions with what off-policy evaluation needs:
-- the action, its logged propensities, what the guardrails allowed, the reward and the
-- features the decision was made with.
{%- set cfg = decisioning_config() %}

with decisions as (
    select * from {{ ref('decision_log') }}
    where campaign_id = '{{ cfg["campaign_id"] }}'
        and decision_group = 'policy'
),

rewards as (
    select decision_id, reward from {{ ref('rewards') }}
    where is_final
),

contexts as (
    select * from {{ ref('decision_contexts') }}
),

final as (
    select
        decisions.decision_id,
        decisions.decision_date,
        {%- for field in decision_fields() %}
        decisions.{{ field }},
        decisions.{{ field }}_propensity,
        {%- endfor %}
        decisions.propensity,
        decisions.eligible_sends,
        -- The cross-fitting half of off-policy evaluation.
        cast({{ hash_to_unit_interval("'fold|' || decisions.decision_id") }} >= 0.5 as integer) as fold,
        rewards.reward,
        {%- for name in feature_names() %}
        contexts.{{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from decisions
    inner join rewards on decisions.decision_id = rewards.decision_id
    inner join contexts on decisions.decision_id = contexts.decision_id
)

select * from final
