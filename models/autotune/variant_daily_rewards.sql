-- depends_on: {{ ref('decisioning_config') }}
-- Per field value and decision date, the policy group's finalized rewards: what
-- `decisioning autotune` reads to detect a plateau. A view: always current, never stored.
{%- set cfg = decisioning_config() %}

with outcomes as (
    select
        log.*,
        rewards.reward
    from {{ ref('decision_log') }} as log
    inner join {{ ref('rewards') }} as rewards
        on rewards.decision_id = log.decision_id
    where log.campaign_id = '{{ cfg["campaign_id"] }}'
        and log.decision_group = 'policy'
        and rewards.is_final
),

per_value as (
    {%- for field in cfg['message_fields'] %}
    select
        '{{ field }}' as field,
        {{ field }} as value_id,
        decision_date,
        count(*) as rewards,
        sum(reward) as reward_sum,
        sum(reward * reward) as reward_sum_squares
    from outcomes
    where {{ field }} is not null
    group by {{ field }}, decision_date
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
)

select
    '{{ cfg["campaign_id"] }}' as campaign_id,
    *
from per_value
