{{ config(materialized='incremental', unique_key='decision_id', incremental_strategy='append', full_refresh=false) }}
-- Audience customers who got no decision, and why, append-only like decision_log: reason
-- is one of suppressed, no_eligible_channel, unknown_timezone, quiet_hours, frequency_cap,
-- budget_exhausted (decisioning.guardrails.SKIP_REASONS); detail says more where known
-- (the suppression's reason).

select
    decision_id,
    campaign_id,
    customer_id,
    cast(decision_date as date) as decision_date,
    decision_group,
    skip_reason as reason,
    skip_detail as detail,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as logged_at
from {{ ref('decisions') }}
where skip_reason is not null
{%- if is_incremental() %}
    and decision_id not in (select decision_id from {{ this }})
{%- endif %}
