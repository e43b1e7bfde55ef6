-- Where the traffic went: per campaign, decision date, decision group, decided field and
-- value, the decisions logged (today's included: this runs after decision_log), their
-- share of the group's decisions that day with a value for the field, and the mean
-- probability the policy gave the value (the field's <field>_propensity).

with decision_log as (
    select * from {{ ref('decision_log') }}
),

field_values as (
    {%- for field in decision_fields() %}
    select
        campaign_id,
        decision_date,
        decision_group,
        '{{ field }}' as field,
        cast({{ field }} as varchar) as value_id,
        cast({{ field }}_propensity as double) as propensity
    from decision_log
    where {{ field }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

value_counts as (
    select
        campaign_id,
        decision_date,
        decision_group,
        field,
        value_id,
        count(*) as decisions,
        avg(propensity) as mean_propensity
    from field_values
    group by
        campaign_id,
        decision_date,
        decision_group,
        field,
        value_id
),

final as (
    select
        cast(campaign_id as varchar) as campaign_id,
        cast(decision_date as date) as decision_date,
        cast(decision_group as varchar) as decision_group,
        cast(field as varchar) as field,
        cast(value_id as varchar) as value_id,
        cast(decisions as bigint) as decisions,
        cast(decisions as double) / sum(decisions) over (
            partition by campaign_id, decision_date, decision_group, field
        ) as share,
        cast(mean_propensity as double) as mean_propensity
    from value_counts
)

select * from final
