-- depends_on: {{ ref('decisioning_config') }}
-- Does recommending help, and whom? Per recommendation strategy (the values of
-- recommendations.field) and kind of customer at decision time (decision_contexts):
-- 'no item history' (no item done in the lookback), 'focused' (at least
-- focused_share of their item events in one category) or 'varied': the policy group's
-- finalized decisions, their mean reward and its 95% normal-approximation interval
-- mean +/- 1.96 sqrt(var / n). Empty unless recommendations.field is set.
{%- set cfg = decisioning_config() %}
{%- set field = cfg['recommendations']['field'] %}
{%- set focused_share = 0.6 %}

{%- if field %}
with decisions as (
    select
        log.decision_id,
        log.{{ field }} as strategy,
        case
            when contexts.x_items_done = 0 then 'no item history'
            when contexts.x_top_category_share >= {{ focused_share }} then 'focused'
            else 'varied'
        end as customer_kind
    from {{ ref('decision_log') }} as log
    inner join {{ ref('decision_contexts') }} as contexts
        on contexts.decision_id = log.decision_id
    where log.campaign_id = '{{ cfg["campaign_id"] }}'
        and log.decision_group = 'policy'
        and log.{{ field }} is not null
),

outcomes as (
    select
        decisions.strategy,
        decisions.customer_kind,
        count(*) as decisions,
        avg(rewards.reward) as mean_reward,
        var_samp(rewards.reward) as reward_variance
    from decisions
    inner join {{ ref('rewards') }} as rewards
        on rewards.decision_id = decisions.decision_id
    where rewards.is_final
    group by decisions.strategy, decisions.customer_kind
)

select
    cast('{{ cfg["campaign_id"] }}' as varchar) as campaign_id,
    {{ as_of_date() }} as as_of,
    cast(strategy as varchar) as strategy,
    cast(customer_kind as varchar) as customer_kind,
    cast(decisions as bigint) as decisions,
    cast(mean_reward as double) as mean_reward,
    cast(mean_reward - 1.96 * sqrt(reward_variance / decisions) as double) as ci_low,
    cast(mean_reward + 1.96 * sqrt(reward_variance / decisions) as double) as ci_high
from outcomes
{%- else %}
select
    cast(null as varchar) as campaign_id,
    cast(null as date) as as_of,
    cast(null as varchar) as strategy,
    cast(null as varchar) as customer_kind,
    cast(null as bigint) as decisions,
    cast(null as double) as mean_reward,
    cast(null as double) as ci_low,
    cast(null as double) as ci_high
where false
{%- endif %}
