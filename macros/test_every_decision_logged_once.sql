{#- Every decision made today (decisions, skipped customers aside) is in the log exactly
    once: returns the decision ids missing or repeated. A rebuild of the same day decides
    only customers earlier builds did not; their decisions stay as logged. -#}
{% test every_decision_logged_once(model) %}
with expected as (
    select decision_id from {{ ref('decisions') }} where skip_reason is null
),

actual as (
    select decision_id, count(*) as n_decisions
    from {{ model }}
    where decision_date = {{ as_of_date() }}
        and campaign_id = '{{ decisioning_config()["campaign_id"] }}'
    group by decision_id
)

select
    coalesce(expected.decision_id, actual.decision_id) as decision_id,
    coalesce(actual.n_decisions, 0) as n_decisions
from expected
full outer join actual on expected.decision_id = actual.decision_id
where (expected.decision_id is not null and coalesce(actual.n_decisions, 0) <> 1)
    or actual.n_decisions > 1
{% endtest %}
