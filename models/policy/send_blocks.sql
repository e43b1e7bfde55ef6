-- depends_on: {{ ref('decisioning_config') }}
-- Send slots (per channel, or for every channel when channel is null) that today's
-- audience customers may not be sent at, because a frequency cap would be broken: at most
-- max_messages in any days x 24 hours, counting every campaign in the decision log.
--
-- A message counts at its 'sent' event's time, or at its scheduled send_at_utc until that
-- event arrives (a decision not yet sent). A holdout decision counts as a message too
-- (at as_of 00:00 UTC, for the caps over every channel), so that caps skip holdout
-- customers as often as treated ones and the groups stay comparable. A new message at t breaks a cap of N per D
-- when some window (u - D, u] with t <= u < t + D already holds N messages; the count
-- only rises at messages, so u = t and the message times in (t, t + D) are the windows
-- to check. Only customers with at least N messages within D of today can be blocked.
{%- set caps = decisioning_config()['guardrails']['frequency_caps'] %}

with audience as (
    select decision_id, customer_id, timezone from {{ ref('audience') }}
),

send_times as (
    select timezone, send_slot, send_at_utc from {{ ref('send_times') }}
),

sent as (
    select decision_id, min(occurred_at) as sent_at
    from {{ ref('stg_decisioning__message_events') }}
    where event_type = 'sent' and occurred_at < {{ as_of_timestamp() }}
    group by decision_id
),

messages as (
    select
        log.customer_id,
        log.channel,
        coalesce(sent.sent_at, log.send_at_utc) as sent_at
    from {{ decision_log_history() }} as log
    left join sent on log.decision_id = sent.decision_id
    where log.channel != 'none' or log.is_holdout
),

{%- for cap in caps %}
{%- set days = cap['days'] | int %}
{%- set n = cap['max_messages'] | int %}

cap_{{ loop.index }}_messages as (
    select customer_id, sent_at
    from messages
    where sent_at > {{ add_hours(as_of_timestamp(), -24 * days) }}
        and sent_at < {{ add_hours(as_of_timestamp(), 24 * (days + 1)) }}
        and channel {{ "= '" ~ cap['channel'] ~ "'" if cap.get('channel') else "is not null" }}
),

cap_{{ loop.index }}_candidates as (
    select audience.decision_id, audience.customer_id, send_times.send_slot, send_times.send_at_utc as t
    from audience
    inner join send_times on audience.timezone = send_times.timezone
    where audience.customer_id in (
        select customer_id from cap_{{ loop.index }}_messages group by customer_id having count(*) >= {{ n }}
    )
),

cap_{{ loop.index }}_window_ends as (
    select decision_id, customer_id, send_slot, t as window_end
    from cap_{{ loop.index }}_candidates
    union
    select candidates.decision_id, candidates.customer_id, candidates.send_slot, messages.sent_at
    from cap_{{ loop.index }}_candidates as candidates
    inner join cap_{{ loop.index }}_messages as messages
        on candidates.customer_id = messages.customer_id
        and messages.sent_at > candidates.t
        and messages.sent_at < {{ add_hours('candidates.t', 24 * days) }}
),

cap_{{ loop.index }}_blocked as (
    select distinct
        ends.decision_id,
        ends.customer_id,
        {{ "'" ~ cap['channel'] ~ "'" if cap.get('channel') else 'cast(null as varchar)' }} as channel,
        ends.send_slot,
        'at most {{ n }} per {{ days }} days{{ " by " ~ cap["channel"] if cap.get("channel") }}' as detail
    from cap_{{ loop.index }}_window_ends as ends
    inner join cap_{{ loop.index }}_messages as messages
        on ends.customer_id = messages.customer_id
        and messages.sent_at > {{ add_hours('ends.window_end', -24 * days) }}
        and messages.sent_at <= ends.window_end
    group by ends.decision_id, ends.customer_id, ends.send_slot, ends.window_end
    having count(*) >= {{ n }}
),
{%- endfor %}

final as (
    {%- for cap in caps %}
    select * from cap_{{ loop.index }}_blocked
    {{ 'union all' if not loop.last }}
    {%- else %}
    select
        cast(null as varchar) as decision_id,
        cast(null as varchar) as customer_id,
        cast(null as varchar) as channel,
        cast(null as varchar) as send_slot,
        cast(null as varchar) as detail
    where 1 = 0
    {%- endfor %}
)

select * from final
