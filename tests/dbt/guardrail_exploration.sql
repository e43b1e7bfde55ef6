-- depends_on: {{ ref('decision_log') }}
-- Today's policy decisions: every field's probability at least policy.propensity_floor,
-- and no more explorations than guardrails.max_exploration_share allows.
{%- set cfg = decisioning_config() %}
{%- set ceiling = cfg['guardrails']['max_exploration_share'] %}
{%- for field in decision_fields() %}
select decision_id, '{{ field }}' as field, violation from (
    {{ test_propensity_at_least(guardrail_checked_table(), field ~ '_propensity', cfg['policy']['propensity_floor'] - 1e-12, where=guardrail_checked_rows() ~ " and decision_group = 'policy'") }}
) as floor_{{ loop.index }}
union all
{%- endfor %}
{%- if ceiling is not none %}
select cast(day as varchar), 'is_exploration', violation from (
    {{ test_exploration_share_at_most(guardrail_checked_table(), ceiling, where=guardrail_checked_rows()) }}
) as ceiling
{%- else %}
select null, null, null where 1 = 0
{%- endif %}
