-- The reverse-ETL table: today's messages, one row per customer to message, with the
-- content of each chosen field. Built from the log after today's decisions passed their
-- tests, so it is never partial.
{%- set cfg = decisioning_config() %}

with decisions as (
    select * from {{ ref('decision_log') }}
    where decision_date = {{ as_of_date() }}
        and campaign_id = '{{ cfg["campaign_id"] }}'
        and channel != 'none'  -- send nothing: logged, never synced
),

catalog as (
    select * from {{ ref('action_catalog') }}
),

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
        {{ field }}_catalog.content as {{ field }},
        {%- endfor %}
        decisions.model_version
    from decisions
    {%- for field in cfg['message_fields'] %}
    left join catalog as {{ field }}_catalog
        on {{ field }}_catalog.field = '{{ field }}'
        and decisions.{{ field }} = {{ field }}_catalog.value_id
    {%- endfor %}
)

select * from final
