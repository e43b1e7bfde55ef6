{{ config(unique_key='decision_id', incremental_strategy='append') }}
-- Every decision ever made, append-only. A rerun of the same as_of adds nothing; neither
-- --full-refresh nor a rebuild of upstream models removes history.
{%- set cfg = decisioning_config() %}

with decisions as (
    select * from {{ ref('decisions') }}
),

audience as (
    select decision_id, timezone from {{ ref('audience') }}
),

send_slots as (
    select send_slot, local_hour from {{ ref('stg_catalog__send_slots') }}
),

localized as (
    select
        decisions.*,
        {{ utc_to_local(as_of_timestamp(), 'audience.timezone') }} as local_start,
        audience.timezone,
        send_slots.local_hour
    from decisions
    inner join audience on decisions.decision_id = audience.decision_id
    left join send_slots on decisions.send_slot = send_slots.send_slot
),

scheduled as (
    -- The first time the slot's local hour comes round at or after as_of (midnight UTC).
    select
        *,
        {{ add_hours('cast(cast(local_start as date) as timestamp)', 'local_hour') }} as slot_today
    from localized
),

final as (
    select
        decision_id,
        campaign_id,
        customer_id,
        cast(decision_date as date) as decision_date,
        is_holdout,
        {%- for field in decision_fields() %}
        {{ field }},
        {%- endfor %}
        -- Send nothing: no send; its attribution window starts at as_of (00:00 UTC).
        case
            when channel = 'none' then {{ as_of_timestamp() }}
            else {{ local_to_utc(
                'case when slot_today < local_start then ' ~ add_hours('slot_today', 24) ~ ' else slot_today end',
                'timezone') }}
        end as send_at_utc,
        propensity,
        expected_reward,
        algorithm,
        model_version,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as logged_at
    from scheduled
)

select * from final
{%- if is_incremental() %}
where decision_id not in (select decision_id from {{ this }})
{%- endif %}
