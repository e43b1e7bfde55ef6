-- depends_on: {{ ref('decisioning_config') }}
-- Today's audience: who the campaign decides for, with a decision id, the decision group
-- (by a salted hash of the customer id: stable across days and builds), any active
-- suppression, the flags channel eligibility needs, the time zone and the feature vector.
{%- set cfg = decisioning_config() %}
{%- set audience = cfg['audience'] %}
{%- set holdout = cfg['holdout'] %}
{%- set group_hash = hash_to_unit_interval("'" ~ holdout['salt'] ~ "|' || targeted.customer_id") %}

with features as (
    select * from {{ ref('customer_features') }}
),

decided as (
    -- Decided by this campaign within recontact_days, today included: a rebuild of the
    -- same day decides only the customers its earlier builds did not.
    select customer_id, decision_date
    from {{ decision_log_history() }}
    where campaign_id = '{{ cfg["campaign_id"] }}'
        and decision_date <= {{ as_of_date() }}
        and decision_date > {{ add_days(as_of_date(), -(audience['recontact_days'] | int)) }}
),

suppressed as (
    select customer_id, min(reason) as suppression_reason
    from {{ ref('stg_decisioning__suppressions') }}
    where expires_at is null or expires_at > {{ as_of_timestamp() }}
    group by customer_id
),

targeted as (
    select features.*
    from features
    where features.customer_id not in (select customer_id from decided)
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
        case
            when {{ group_hash }} < {{ holdout['share'] }} then 'holdout'
            when {{ group_hash }} < {{ holdout['share'] + holdout['business_as_usual_share'] }}
                then 'business_as_usual'
            else 'policy'
        end as decision_group,
        suppressed.suppression_reason,
        {%- for column in opt_in_columns() + channel_requirement_columns() %}
        targeted.{{ column }},
        {%- endfor %}
        targeted.timezone,
        {%- for name in feature_names() %}
        targeted.{{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from targeted
    left join suppressed on targeted.customer_id = suppressed.customer_id
),

final as (
    select
        decision_id,
        campaign_id,
        customer_id,
        decision_date,
        decision_group,
        decision_group = 'holdout' as is_holdout,
        * exclude (decision_id, campaign_id, customer_id, decision_date, decision_group)
    from identified
    {%- if audience['max_per_day'] is not none %}
    -- A random subset of at most max_per_day a day, stable for the day (ranked by decision id).
    qualify row_number() over (order by md5(decision_id))
        <= {{ audience['max_per_day'] | int }}
            - (select count(*) from decided where decision_date = {{ as_of_date() }})
    {%- endif %}
)

select * from final
