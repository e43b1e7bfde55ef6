-- depends_on: {{ ref('decision_log') }}
-- Today's sends fall outside the campaign's quiet hours and each channel's own.
{%- set guardrails = decisioning_config()['guardrails'] %}
{%- set checks = [] %}
{%- if guardrails['quiet_hours'] %}
  {%- do checks.append((guardrails['quiet_hours'], none)) %}
{%- endif %}
{%- for channel, rules in guardrails['channels'].items() if (rules or {}).get('quiet_hours') %}
  {%- do checks.append((rules['quiet_hours'], channel)) %}
{%- endfor %}
{%- for hours, channel in checks %}
select decision_id, customer_id, channel, send_at_utc, timezone, violation from (
    {{ test_outside_quiet_hours(guardrail_checked_table(), hours['start'], hours['end'], channel, where=guardrail_checked_rows()) }}
) as check_{{ loop.index }}
{{ 'union all' if not loop.last }}
{%- else %}
select 1 as no_quiet_hours where 1 = 0
{%- endfor %}
