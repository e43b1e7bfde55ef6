-- depends_on: {{ ref('decisioning_config') }}
-- Per field value, the campaign's policy-group traffic (all days and today) and its
-- measured reward over finalized decisions.
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

outcomes as (
    select
        decisions.*,
        rewards.reward
    from decisions
    left join rewards on decisions.decision_id = rewards.decision_id
),

per_value as (
    {%- for field in decision_fields() %}
    select
        '{{ field }}' as field,
        {{ field }} as value_id,
        count(*) as sends,
        count(case when decision_date = {{ as_of_date() }} then 1 end) as sends_today,
        count(reward) as rewards,
        {{ float_average('reward') }} as mean_reward
    from outcomes
    where {{ field }} is not null
    group by {{ field }}
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
)

select * from per_value
