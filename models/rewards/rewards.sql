-- depends_on: {{ ref('decisioning_config') }}
-- One row per logged decision made before as_of (and per imported historical decision,
-- decision_group 'historical'), joined to what followed its send: message outcomes and
-- conversions inside the attribution window, each goal's product events inside the goal's
-- own window (reward.goals). The decision's window ends when the longest of them does; a
-- window still open at as_of is pending: outcomes, goals and reward are null, never zero.
{%- set cfg = decisioning_config() %}
{%- set reward = cfg['reward'] %}
{%- set weights = reward['weights'] %}
{%- set goals = reward['goals'] %}
{%- set window_hours = reward_window_hours() %}
{%- set as_of = as_of_timestamp() %}

with decisions as (
    select
        decision_id,
        campaign_id,
        customer_id,
        decision_date,
        coalesce(decision_group, case when is_holdout then 'holdout' else 'policy' end) as decision_group,
        is_holdout,
        send_at_utc,
        {{ add_hours('send_at_utc', reward['attribution_window_hours']) }} as attribution_end_at,
        {{ add_hours('send_at_utc', window_hours) }} as window_end_at
    from {{ decision_log_history() }}
    where decision_date < {{ as_of_date() }}
    union all
    -- The imported history (decisioning.sources.historical_decisions): sent when decided.
    select
        decision_id,
        campaign_id,
        customer_id,
        decision_date,
        'historical' as decision_group,
        false as is_holdout,
        decided_at as send_at_utc,
        {{ add_hours('decided_at', reward['attribution_window_hours']) }} as attribution_end_at,
        {{ add_hours('decided_at', window_hours) }} as window_end_at
    from {{ ref('stg_decisioning__historical_decisions') }}
),

message_events as (
    select * from {{ ref('stg_decisioning__message_events') }}
    where occurred_at < {{ as_of }}
),

conversion_events as (
    select * from {{ ref('stg_decisioning__product_events') }}
    where occurred_at < {{ as_of }}
        and event_name in ({{ "'" ~ (reward['conversion_events'] + ['']) | join("', '") ~ "'" }})
),

message_outcomes as (
    select
        decisions.decision_id,
        max(case when message_events.event_type = 'delivered' then 1 else 0 end) as delivered,
        max(case when message_events.event_type = 'open' then 1 else 0 end) as opened,
        max(case when message_events.event_type = 'click' then 1 else 0 end) as clicked,
        max(case when message_events.event_type in ('unsubscribe', 'complaint') then 1 else 0 end) as unsubscribed
    from decisions
    inner join message_events
        on message_events.decision_id = decisions.decision_id
        and message_events.occurred_at >= decisions.send_at_utc
        and message_events.occurred_at < decisions.attribution_end_at
    group by decisions.decision_id
),

conversions as (
    select
        decisions.decision_id,
        count(*) as conversions
    from decisions
    inner join conversion_events
        on conversion_events.customer_id = decisions.customer_id
        and conversion_events.occurred_at >= decisions.send_at_utc
        and conversion_events.occurred_at < decisions.attribution_end_at
    group by decisions.decision_id
),
{%- if goals %}

goal_events as (
    select customer_id, event_name, occurred_at
    from {{ ref('stg_decisioning__product_events') }}
    where occurred_at < {{ as_of }}
        and event_name in ({{ "'" ~ (goals | map(attribute='event') | map('replace', "'", "''") | unique | join("', '")) ~ "'" }})
),

-- One join to every goal's events (up to the longest goal window), counted per goal.
goal_counts as (
    select
        decisions.decision_id
        {%- for goal in goals %},
        sum(
            case
                when goal_events.event_name = '{{ goal['event'] | replace("'", "''") }}'
                    and goal_events.occurred_at < {{ add_hours('decisions.send_at_utc', goal['within_days'] * 24) }}
                    then 1
                else 0
            end
        ) as goal_{{ goal['name'] }}_events
        {%- endfor %}
    from decisions
    inner join goal_events
        on goal_events.customer_id = decisions.customer_id
        and goal_events.occurred_at >= decisions.send_at_utc
        and goal_events.occurred_at < {{ add_hours('decisions.send_at_utc', goals | map(attribute='within_days') | max * 24) }}
    group by decisions.decision_id
),
{%- endif %}

joined as (
    select
        decisions.*,
        decisions.window_end_at <= {{ as_of }} as is_final,
        coalesce(message_outcomes.delivered, 0) as delivered,
        coalesce(message_outcomes.opened, 0) as opened,
        coalesce(message_outcomes.clicked, 0) as clicked,
        case when coalesce(conversions.conversions, 0) > 0 then 1 else 0 end as converted,
        coalesce(message_outcomes.unsubscribed, 0) as unsubscribed
        {%- for goal in goals %},
        case
            when coalesce(goal_counts.goal_{{ goal['name'] }}_events, 0) >= {{ goal['at_least'] }} then 1
            else 0
        end as goal_{{ goal['name'] }}
        {%- endfor %}
    from decisions
    left join message_outcomes on decisions.decision_id = message_outcomes.decision_id
    left join conversions on decisions.decision_id = conversions.decision_id
    {%- if goals %}
    left join goal_counts on decisions.decision_id = goal_counts.decision_id
    {%- endif %}
),

final as (
    select
        decision_id,
        campaign_id,
        customer_id,
        decision_date,
        decision_group,
        is_holdout,
        send_at_utc,
        window_end_at,
        is_final,
        case when is_final then delivered end as delivered,
        case when is_final then opened end as opened,
        case when is_final then clicked end as clicked,
        case when is_final then converted end as converted,
        case when is_final then unsubscribed end as unsubscribed,
        {%- for goal in goals %}
        case when is_final then goal_{{ goal['name'] }} end as goal_{{ goal['name'] }},
        {%- endfor %}
        case
            when is_final then
                {{ weights['open'] }} * opened
                + {{ weights['click'] }} * clicked
                + {{ weights['conversion'] }} * converted
                + {{ weights['unsubscribe'] }} * unsubscribed
                {%- for goal in goals %}
                + {{ goal['weight'] }} * goal_{{ goal['name'] }}
                {%- endfor %}
        end as reward
    from joined
)

select * from final
