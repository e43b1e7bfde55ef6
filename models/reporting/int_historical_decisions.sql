{{ config(materialized='view') }}
-- The imported history's decisions (historical_decisions) whose reward is final, shaped as
-- off-policy evaluation reads logged decisions: the action, the whole action's propensity
-- (null: unknown; such decisions train but are not evaluated), the reward and the
-- features the old system saw.

with history as (
    select * from {{ ref('stg_decisioning__historical_decisions') }}
),

rewards as (
    select decision_id, reward from {{ ref('rewards') }}
    where is_final
        and decision_group = 'historical'
),

final as (
    select
        history.* exclude (campaign_id, customer_id, decided_at),
        0 as fold,
        rewards.reward
    from history
    inner join rewards on history.decision_id = rewards.decision_id
)

select * from final
