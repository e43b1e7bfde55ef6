-- When each active send slot falls today in each time zone of today's audience: the first
-- time the slot's local hour comes round at or after as_of (00:00 UTC), as a UTC instant,
-- and the local wall-clock time it is then (an hour later than the slot's across a
-- daylight-saving gap). Quiet hours are checked against that local time. A zone the
-- database does not know gets no send times: its customers are skipped (unknown_timezone).

with zones as (
    select distinct timezone from {{ ref('audience') }}
    where timezone is not null and {{ is_known_timezone('timezone') }}
),

slots as (
    select send_slot, local_hour from {{ ref('stg_catalog__send_slots') }} where is_active
),

localized as (
    select
        zones.timezone,
        slots.send_slot,
        slots.local_hour,
        {{ utc_to_local(as_of_timestamp(), 'zones.timezone') }} as local_start
    from zones
    cross join slots
),

scheduled as (
    select
        *,
        {{ add_hours('cast(cast(local_start as date) as timestamp)', 'local_hour') }} as slot_today
    from localized
),

timed as (
    select
        timezone,
        send_slot,
        {{ local_to_utc(
            'case when slot_today < local_start then ' ~ add_hours('slot_today', 24) ~ ' else slot_today end',
            'timezone') }} as send_at_utc
    from scheduled
)

select
    timezone,
    send_slot,
    send_at_utc,
    {{ utc_to_local('send_at_utc', 'timezone') }} as local_send_at
from timed
