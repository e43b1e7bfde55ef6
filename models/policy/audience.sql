-- depends_on: {{ ref('decisioning_config') }}
-- Today's audience: who the campaign decides for, with a decision id, holdout assignment,
-- channel eligibility and the feature vector.
{%- set cfg = decisioning_config() %}
{%- set audience = cfg['audience'] %}

with features as (
    select * from {{ ref('customer_features') }}
),

active_opt_ins as (
    select
        {%- for column in opt_in_columns() %}
        coalesce(max(case when opt_in_column = '{{ column }}' then 1 end), 0) = 1 as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('stg_catalog__channels') }}
    where is_active
),

recently_decided as (
    select distinct customer_id
    from {{ decision_log_history() }}
    where campaign_id = '{{ cfg["campaign_id"] }}'
        and decision_date < {{ as_of_date() }}
        and decision_date > {{ as_of_date() }} - {{ audience['recontact_days'] | int }}
),

targeted as (
    select features.*
    from features
    where features.customer_id not in (select customer_id from recently_decided)
    {%- if audience['inactive_days'] is not none %}
        and features.days_since_last_event >= {{ audience['inactive_days'] }}
    {%- endif %}
),

identified as (
    select
        md5('{{ cfg["campaign_id"] }}|' || targeted.customer_id || '|{{ cfg["as_of"] }}') as decision_id,
        '{{ cfg["campaign_id"] }}' as campaign_id,
        targeted.customer_id,
        {{ as_of_date() }} as decision_date,
        {{ hash_to_unit_interval("'" ~ cfg['holdout']['salt'] ~ "|' || targeted.customer_id") }}
            < {{ cfg['holdout']['share'] }} as is_holdout,
        {%- for column in opt_in_columns() %}
        targeted.{{ column }} and active_opt_ins.{{ column }} as {{ column }},
        {%- endfor %}
        ({% for column in opt_in_columns() %}(targeted.{{ column }} and active_opt_ins.{{ column }}){{ ' or ' if not loop.last }}{% endfor %}) as has_eligible_channel,
        targeted.timezone,
        {%- for name in feature_names() %}
        targeted.{{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from targeted
    cross join active_opt_ins
),

final as (
    select * from identified
    {%- if audience['max_per_day'] is not none %}
    -- A random subset of at most max_per_day, stable for the day (ranked by decision id).
    qualify row_number() over (order by md5(decision_id)) <= {{ audience['max_per_day'] | int }}
    {%- endif %}
)

select * from final
