-- depends_on: {{ ref('decisioning_config') }}
-- One row: how long the campaign has been deciding (A/B-then-commit's clock).
-- days_running is 0 on the first day of decisions.
{%- set cfg = decisioning_config() %}

with history as (
    select decision_date from {{ decision_log_history() }}
    where campaign_id = '{{ cfg["campaign_id"] }}'
        and decision_date < {{ as_of_date() }}
),

final as (
    select
        '{{ cfg["campaign_id"] }}' as campaign_id,
        min(decision_date) as first_decision_date,
        {{ as_of_date() }} as as_of,
        cast(coalesce({{ days_between("min(decision_date)", as_of_date()) }}, 0) as integer) as days_running
    from history
)

select * from final
