-- depends_on: {{ ref('decision_log') }}
-- Today's groups follow the salted hash and the holdout is sent nothing; among customers
-- the campaign meets for the first time today (decided or skipped: their selection cannot
-- depend on the campaign's treatment), each group's share is within binomial bounds.
{%- set cfg = decisioning_config() %}
{%- set holdout = cfg['holdout'] %}
{%- set own_table = var('decisioning_guardrail_table', none) %}
{%- set audience -%}
(
    select customer_id, decision_group, channel, decision_date, campaign_id
    from {{ guardrail_checked_table() }}
    {%- if not own_table %}
    union all
    select customer_id, decision_group, 'none', decision_date, campaign_id
    from {{ ref('decision_skips') }}
    {%- endif %}
)
{%- endset %}
{%- set first_met -%}
(
    select * from {{ audience }} as today
    {%- if not own_table %}
    where customer_id not in (
        select customer_id from {{ ref('decision_log') }}
        where campaign_id = '{{ cfg["campaign_id"] }}' and decision_date < {{ as_of_date() }}
        union all
        select customer_id from {{ ref('decision_skips') }}
        where campaign_id = '{{ cfg["campaign_id"] }}' and decision_date < {{ as_of_date() }}
    )
    {%- endif %}
)
{%- endset %}
select * from (
    {{ test_holdout_integrity(audience, holdout['salt'], holdout['share'], holdout['business_as_usual_share'], z=none, where=guardrail_checked_rows()) }}
) as assignment
union all
select * from (
    {{ test_holdout_integrity(first_met, holdout['salt'], holdout['share'], holdout['business_as_usual_share'], where=guardrail_checked_rows()) }}
) as shares
