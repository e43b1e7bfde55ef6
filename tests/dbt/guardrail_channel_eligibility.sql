-- depends_on: {{ ref('decision_log') }}
-- Today's messages go only to opted-in channels that have every column they require.
{%- set requires = {} %}
{%- for channel, rules in decisioning_config()['guardrails']['channels'].items() if (rules or {}).get('requires') %}
  {%- do requires.update({channel: rules['requires']}) %}
{%- endfor %}
{{ test_channel_opted_in(guardrail_checked_table(), ref('customer_features'), ref('stg_catalog__channels'), requires, where=guardrail_checked_rows()) }}
