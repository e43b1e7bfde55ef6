{#- Every audience customer with an eligible channel has exactly one decision for as_of:
    returns the customers with none or several. A rebuild of the same day may find a
    customer no longer decidable (say, unsubscribed since); the decision already logged
    for them stays, and is not a failure. -#}
{% test every_decidable_customer_decided(model) %}
with expected as (
    select decision_id from {{ ref('audience') }} where has_eligible_channel
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
