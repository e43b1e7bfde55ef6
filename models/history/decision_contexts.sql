{{ config(unique_key='decision_id', incremental_strategy='append', on_schema_change='append_new_columns') }}
-- The feature vector each logged decision was made with, append-only: the model learns
-- from what was known at decision time, never from features computed later.

with audience as (
    select * from {{ ref('audience') }}
),

decisions as (
    select decision_id from {{ ref('decision_log') }}
    where decision_date = {{ as_of_date() }}
),

final as (
    select
        audience.decision_id,
        audience.decision_date,
        {%- for name in feature_names() %}
        audience.{{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from audience
    inner join decisions on audience.decision_id = decisions.decision_id
)

select * from final
{%- if is_incremental() %}
where decision_id not in (select decision_id from {{ this }})
{%- endif %}
