{{ config(contract={'enforced': decision_contract_enforced()}) }}
-- The reverse-ETL table: today's messages, one row per customer to message, with the
-- content of each chosen field. Built from the log after today's decisions passed their
-- tests, so it is never partial. The recommendation field (recommendations.field) carries
-- the strategy as <field>_id, and the item the recommender picked for the customer under
-- that strategy as <field> (its name) and <field>_item_id; null for the strategy none, or
-- when the recommender has no item for the customer. The contract (marts.yml) holds while
-- the message fields are those it lists (macros/contracts.sql).
{%- set cfg = decisioning_config() %}
{%- set recommendation_field = cfg['recommendations']['field'] %}

with decisions as (
    select * from {{ ref('decision_log') }}
    where decision_date = {{ as_of_date() }}
        and campaign_id = '{{ cfg["campaign_id"] }}'
        and channel != 'none'  -- send nothing: logged, never synced
),

catalog as (
    select * from {{ ref('action_catalog') }}
),
{%- if recommendation_field %}

strategy_items as (
    select * from {{ ref('customer_strategy_items') }}
),
{%- endif %}

final as (
    select
        decisions.decision_id,
        decisions.campaign_id,
        decisions.customer_id,
        decisions.decision_date,
        decisions.is_holdout,
        decisions.channel,
        decisions.send_slot,
        decisions.send_at_utc,
        {%- for field in cfg['message_fields'] %}
        decisions.{{ field }} as {{ field }}_id,
        {%- if field == recommendation_field %}
        cast({{ field }}_items.item_name as varchar) as {{ field }},
        cast({{ field }}_items.item_id as varchar) as {{ field }}_item_id,
        {%- else %}
        {{ field }}_catalog.content as {{ field }},
        {%- endif %}
        {%- endfor %}
        decisions.model_version
    from decisions
    {%- for field in cfg['message_fields'] %}
    {%- if field == recommendation_field %}
    left join strategy_items as {{ field }}_items
        on {{ field }}_items.customer_id = decisions.customer_id
        and {{ field }}_items.strategy = decisions.{{ field }}
    {%- else %}
    left join catalog as {{ field }}_catalog
        on {{ field }}_catalog.field = '{{ field }}'
        and decisions.{{ field }} = {{ field }}_catalog.value_id
    {%- endif %}
    {%- endfor %}
)

select * from final
