-- depends_on: {{ ref('decision_log') }}
-- Today's messages break no frequency cap, counting every campaign's messages.
{%- set caps = decisioning_config()['guardrails']['frequency_caps'] %}
{%- for cap in caps %}
select * from (
    {{ test_frequency_cap(guardrail_checked_table(), cap['max_messages'], cap['days'], cap.get('channel'), where=guardrail_checked_rows()) }}
) as cap_{{ loop.index }}
{{ 'union all' if not loop.last }}
{%- else %}
select 1 as no_caps where 1 = 0
{%- endfor %}
