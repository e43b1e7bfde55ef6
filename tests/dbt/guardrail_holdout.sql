-- depends_on: {{ ref('decision_log') }}
-- Today's groups follow the salted hash, the holdout is sent nothing, and each group's
-- share of the day's audience (decided and skipped customers) is within binomial bounds.
{%- set holdout = decisioning_config()['holdout'] %}
{%- set audience -%}
(
    select customer_id, decision_group, channel, decision_date, campaign_id
    from {{ guardrail_checked_table() }}
    {%- if not var('decisioning_guardrail_table', none) %}
    union all
    select customer_id, decision_group, 'none', decision_date, campaign_id
    from {{ ref('decision_skips') }}
    {%- endif %}
)
{%- endset %}
{{ test_holdout_integrity(audience, holdout['salt'], holdout['share'], holdout['business_as_usual_share'], where=guardrail_checked_rows()) }}
