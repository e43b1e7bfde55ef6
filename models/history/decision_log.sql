{{ config(unique_key='decision_id', incremental_strategy='append', on_schema_change='append_new_columns', contract={'enforced': decision_contract_enforced()}) }}
-- Every decision ever made, append-only. A rerun of the same as_of adds nothing; neither
-- --full-refresh nor a rebuild of upstream models removes history. Skipped customers are
-- in decision_skips instead. The contract (history.yml) holds while the message fields are
-- those it lists (macros/contracts.sql).

with decisions as (
    select * from {{ ref('decisions') }}
    where skip_reason is null
),

final as (
    select
        decision_id,
        campaign_id,
        customer_id,
        cast(decision_date as date) as decision_date,
        decision_group,
        is_holdout,
        {%- for field in decision_fields() %}
        {{ field }},
        {%- endfor %}
        timezone,
        -- The slot's local hour in the customer's time zone, as UTC; when nothing is sent,
        -- as_of 00:00 UTC, where the window of organic conversions starts.
        cast(send_at_utc as timestamp) as send_at_utc,
        {%- for field in decision_fields() %}
        {{ field }}_propensity,
        {%- endfor %}
        propensity,
        expected_reward,
        is_exploration,
        algorithm,
        model_version,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as logged_at,
        eligible_sends
    from decisions
)

select * from final
{%- if is_incremental() %}
where decision_id not in (select decision_id from {{ this }})
{%- endif %}
