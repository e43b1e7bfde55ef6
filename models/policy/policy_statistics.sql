-- Sufficient statistics of each field value's Bayesian linear reward model, from finalized
-- rewards of the policy group and of the imported history (historical_decisions, warm
-- start), each weighted by w = h 0.5 ^ (age in days / half-life), with h =
-- history.warm_start_weight for a historical reward and 1 for the campaign's own:
--   n = sum(w), sum_reward = sum(w r), sum_reward_sq = sum(w r^2),
--   xtx_i_j = sum(w x_i x_j) (i <= j), xty_i = sum(w x_i r)
-- where x is the feature vector logged with the decision (decision_contexts), summed over
-- the rewards whose decision chose value v for field f; n_rewards counts them.
--
-- Every statistic S is a sum over rewards, so it is summed in two steps:
--   S(a)    = sum over the rewards of action a (one value per decided field, all of them)
--   S(f, v) = sum of S(a) over the actions a with a_f = v
-- The wide step reads each reward once, not once per field; the roll-up only adds up one
-- row per action taken (at most channels x send slots x each message field's variants,
-- 1,152 with the demo catalog). A field left null (not decided, e.g. nothing sent) adds
-- to no value of that field.
{%- set cfg = decisioning_config() %}
{%- set half_life = cfg['policy']['half_life_days'] %}
{%- set features = feature_names() %}
{%- set warm_start %}
        case when decision_group = 'historical' then {{ cfg['history']['warm_start_weight'] }} else 1.0 end
{%- endset %}
{%- set fields = decision_fields() %}

{#- (column, what it sums per reward), in the output's column order. -#}
{%- set statistics = [
    ('n', 'weight'),
    ('sum_reward', 'weight * reward'),
    ('sum_reward_sq', 'weight * reward * reward')] %}
{%- for i in range(features | length) %}
    {%- do statistics.append(('xty_' ~ i, 'weight * ' ~ features[i] ~ ' * reward')) %}
{%- endfor %}
{%- for i in range(features | length) %}
    {%- for j in range(i, features | length) %}
        {%- do statistics.append(('xtx_' ~ i ~ '_' ~ j, 'weight * ' ~ features[i] ~ ' * ' ~ features[j])) %}
    {%- endfor %}
{%- endfor %}

with rewards as (
    select
        decision_id,
        reward,
        {%- if half_life is none %}
        {{ warm_start }} as weight
        {%- else %}
        {{ warm_start }} * power(0.5, cast({{ as_of_date() }} - decision_date as double) / {{ half_life }}) as weight
        {%- endif %}
    from {{ ref('rewards') }}
    where is_final
        and not is_holdout
        and campaign_id = '{{ cfg["campaign_id"] }}'
        {%- if cfg['history']['warm_start_weight'] == 0 %}
        and decision_group <> 'historical'
        {%- endif %}
),

actions as (
    {%- for relation in [decision_log_history(), ref('stg_decisioning__historical_decisions')] %}
    select
        decision_id,
        {%- for field in fields %}
        {{ field }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

contexts as (
    {%- for relation in [decision_context_history(), ref('stg_decisioning__historical_decisions')] %}
    select
        decision_id,
        {%- for name in features %}
        coalesce({{ name }}, 0.0) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

per_action as (
    select
        {%- for field in fields %}
        actions.{{ field }},
        {%- endfor %}
        count(*) as n_rewards,
        {%- for name, summand in statistics %}
        sum({{ summand }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from rewards
    inner join actions on rewards.decision_id = actions.decision_id
    inner join contexts on rewards.decision_id = contexts.decision_id
    group by
        {%- for field in fields %}
        actions.{{ field }}{{ ',' if not loop.last }}
        {%- endfor %}
),

per_value as (
    {%- for field in fields %}
    select
        '{{ field }}' as field,
        {{ field }} as value_id,
        n_rewards,
        {%- for name, _ in statistics %}
        {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from per_action
    where {{ field }} is not null
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

final as (
    select
        field,
        value_id,
        '{{ features | join(",") }}' as feature_names,
        cast(sum(n_rewards) as bigint) as n_rewards,
        {%- for name, _ in statistics %}
        sum({{ name }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from per_value
    group by field, value_id
)

select * from final
