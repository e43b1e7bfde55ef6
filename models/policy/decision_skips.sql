-- Audience customers left with no eligible action: no decision is made for them.
select
    decision_id,
    campaign_id,
    customer_id,
    decision_date,
    'no_eligible_channel' as reason
from {{ ref('audience') }}
where not has_eligible_channel
