-- depends_on: {{ ref('decisioning_config') }}
-- One row per logged decision made before as_of (and per imported historical decision,
-- decision_group 'historical'), joined to what followed its send inside the attribution
-- window. A window still open at as_of is pending: outcomes and reward are null, never zero.
{%- set cfg = decisioning_config() %}
{%- set reward = cfg['reward'] %}
{%- set weights = reward['weights'] %}
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
        {{ add_hours('send_at_utc', reward['attribution_window_hours']) }} as window_end_at
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
        {{ add_hours('decided_at', reward['attribution_window_hours']) }} as window_end_at
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
        and message_events.occurred_at < decisions.window_end_at
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
        and conversion_events.occurred_at < decisions.window_end_at
    group by decisions.decision_id
),

joined as (
    select
        decisions.*,
        decisions.window_end_at <= {{ as_of }} as is_final,
        coalesce(message_outcomes.delivered, 0) as delivered,
        coalesce(message_outcomes.opened, 0) as opened,
        coalesce(message_outcomes.clicked, 0) as clicked,
        case when coalesce(conversions.conversions, 0) > 0 then 1 else 0 end as converted,
        coalesce(message_outcomes.unsubscribed, 0) as unsubscribed
    from decisions
    left join message_outcomes on decisions.decision_id = message_outcomes.decision_id
    left join conversions on decisions.decision_id = conversions.decision_id
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
        case
            when is_final then
                {{ weights['open'] }} * opened
                + {{ weights['click'] }} * clicked
                + {{ weights['conversion'] }} * converted
                + {{ weights['unsubscribe'] }} * unsubscribed
        end as reward
    from joined
)

select * from final
