-- depends_on: {{ ref('decisioning_config') }}
-- depends_on: {{ ref('stg_decisioning__message_events') }}
-- The campaign's decisions from the system used before this one, typed like the decision
-- log: a column per decided field (null where the log has none), the propensity (null:
-- unknown) and each field's (<field>_propensity, null unless logged), the sends it allowed (eligible_sends, 'channel@slot,...'; null: unknown, all
-- allowed), x_intercept = 1 and the features the old system saw (null where the log has
-- none), plus any other x_* context columns it logged, which only offline evaluation uses.
-- Checked before anything reads it (macro check_historical_decisions). Empty unless
-- decisioning.sources.historical_decisions.table names a table.
{%- set cfg = decisioning_config() %}
{%- set spec = cfg['sources']['historical_decisions'] %}
{%- set as_of = as_of_timestamp() %}

{%- if spec['table'] %}
{%- set source_relation = decisioning_source('historical_decisions') %}
{%- set present = source_columns_present('historical_decisions') %}
{%- set logged_fields = [] %}
{%- for field in decision_fields() if source_column('historical_decisions', field) | lower in present %}
    {%- do logged_fields.append(field) %}
{%- endfor %}
{%- set contexts = [] %}
{%- for name in historical_context_names(present) if name != 'x_intercept' %}
    {%- do contexts.append(name) %}
{%- endfor %}
{%- do check_historical_decisions(source_relation, logged_fields) %}

with source as (
    select * from {{ source_relation }}
),

renamed as (
    select
        cast({{ source_column('historical_decisions', 'decision_id') }} as varchar) as decision_id,
        '{{ cfg["campaign_id"] }}' as campaign_id,
        cast({{ source_column('historical_decisions', 'customer_id') }} as varchar) as customer_id,
        cast({{ source_column('historical_decisions', 'decided_at') }} as timestamp) as decided_at,
        {%- for field in decision_fields() %}
        {{ optional_historical_column(field, 'varchar', present) }},
        {%- endfor %}
        {%- for field in decision_fields() %}
        {{ optional_historical_column(field ~ '_propensity', 'double', present) }},
        {%- endfor %}
        cast({{ source_column('historical_decisions', 'propensity') }} as double) as propensity,
        {{ optional_historical_column('eligible_sends', 'varchar', present) }},
        1.0 as x_intercept,
        {%- for name in contexts %}
        {{ optional_historical_column(name, 'double', present) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source
),

final as (
    select
        decision_id,
        campaign_id,
        customer_id,
        cast(decided_at as date) as decision_date,
        * exclude (decision_id, campaign_id, customer_id)
    from renamed
    where decided_at < {{ as_of }}
)

select * from final
{%- else %}
select
    cast(null as varchar) as decision_id,
    cast(null as varchar) as campaign_id,
    cast(null as varchar) as customer_id,
    cast(null as date) as decision_date,
    cast(null as timestamp) as decided_at,
    {%- for field in decision_fields() %}
    cast(null as varchar) as {{ field }},
    {%- endfor %}
    {%- for field in decision_fields() %}
    cast(null as double) as {{ field }}_propensity,
    {%- endfor %}
    cast(null as double) as propensity,
    cast(null as varchar) as eligible_sends,
    {%- for name in feature_names() %}
    cast(null as double) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
where 1 = 0
{%- endif %}
