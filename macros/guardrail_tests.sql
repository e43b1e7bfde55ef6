{#- Generic tests for the guardrails, usable on any decision or send table. Each returns
    the violating rows (with a `violation` text where it helps); `where` narrows the rows
    checked (e.g. today's), not the history they are checked against. The project runs
    them on decision_log every build (tests/dbt/guardrail_*.sql), before decisions_to_sync. -#}

{#- At most max_messages per customer in any days x 24 h: each message (channel not null
    and not 'none'; of `channel` only when set) with more than max_messages in (t - days,
    t]. Checking windows that end at a message is exact: any window can slide right to its
    last message without losing one. -#}
{% test frequency_cap(model, max_messages, days, channel=none, customer_column='customer_id', sent_at_column='send_at_utc', channel_column='channel', where=none) %}
with messages as (
    select * from {{ model }}
    where {{ channel_column }} is not null and {{ channel_column }} != 'none'
    {%- if channel %} and {{ channel_column }} = '{{ channel }}'{% endif %}
),

checked as (
    select * from messages {% if where %}where {{ where }}{% endif %}
)

select
    checked.{{ customer_column }},
    checked.{{ sent_at_column }},
    count(*) as messages_in_window,
    'more than {{ max_messages }} messages in {{ days }} days{{ " by " ~ channel if channel }}' as violation
from checked
inner join messages
    on messages.{{ customer_column }} = checked.{{ customer_column }}
    and messages.{{ sent_at_column }} > {{ add_hours('checked.' ~ sent_at_column, -24 * days) }}
    and messages.{{ sent_at_column }} <= checked.{{ sent_at_column }}
group by checked.{{ customer_column }}, checked.{{ sent_at_column }}
having count(*) > {{ max_messages }}
{% endtest %}

{#- Every message's channel is opted in (the channels table maps a channel to its opt-in
    column) and has every column `requires` lists for it ({channel: [column, ...]}), in
    `customers` (one row per customer_id, e.g. the audience the decision was made for). -#}
{% test channel_opted_in(model, customers, channels, requires={}, customer_column='customer_id', channel_column='channel', where=none) %}
select
    checked.*,
    'channel not allowed for this customer' as violation
from {{ model }} as checked
inner join {{ channels }} as channels on checked.{{ channel_column }} = channels.channel
left join {{ customers }} as customers on checked.{{ customer_column }} = customers.customer_id
where not coalesce(
    case channels.opt_in_column
        {%- for column in opt_in_columns() %}
        when '{{ column }}' then customers.{{ column }}
        {%- endfor %}
    end
    {%- for channel, columns in requires.items() %}
    {%- for column in columns %}
    and (checked.{{ channel_column }} != '{{ channel }}' or customers.{{ column }})
    {%- endfor %}
    {%- endfor %}, false)
{%- if where %}
    and {{ where }}
{%- endif %}
{% endtest %}

{#- No send inside quiet hours [start, end) ('HH:MM', wrapping past midnight when start >
    end), at the local time of sent_at in each row's own time zone. A send in a zone the
    database does not know has no local time: it is a violation. -#}
{% test outside_quiet_hours(model, start, end, channel=none, sent_at_column='send_at_utc', timezone_column='timezone', channel_column='channel', where=none) %}
{%- set start_minute = (start[:2] | int) * 60 + (start[3:5] | int) %}
{%- set end_minute = (end[:2] | int) * 60 + (end[3:5] | int) %}
with localized as (
    select
        *,
        case
            when {{ is_known_timezone(timezone_column) }}
                then {{ utc_to_local(sent_at_column, timezone_column) }}
        end as local_send_at
    from {{ model }}
    where {{ channel_column }} is not null and {{ channel_column }} != 'none'
    {%- if channel %} and {{ channel_column }} = '{{ channel }}'{% endif %}
    {%- if where %} and {{ where }}{% endif %}
),

timed as (
    select
        *,
        extract(hour from local_send_at) * 60 + extract(minute from local_send_at) as local_minute
    from localized
)

select *, 'sent in quiet hours {{ start }}-{{ end }}' as violation
from timed
where local_minute is null
    or local_minute >= {{ start_minute }} {{ 'and' if start_minute < end_minute else 'or' }} local_minute < {{ end_minute }}
{% endtest %}

{#- At most max_count rows a day, or floor(max_share x the day's rows), with column =
    value: returns the days over budget. -#}
{% test within_budget(model, column_name, value, max_count=none, max_share=none, date_column='decision_date', where=none) %}
with days as (
    select
        {{ date_column }} as day,
        count(*) as decisions,
        count(case when {{ column_name }} = '{{ value }}' then 1 end) as used
    from {{ model }}
    {%- if where %} where {{ where }}{% endif %}
    group by {{ date_column }}
)

select *, '{{ column_name }} = {{ value }} over budget' as violation
from days
where used > {% if max_count is not none %}{{ max_count }}{% else %}floor({{ max_share }} * decisions + 1e-9){% endif %}
{% endtest %}

{#- No decision for a customer under an active suppression on the decision's date
    (expires_at null, or after the date's 00:00 UTC). -#}
{% test not_suppressed(model, suppressions, customer_column='customer_id', date_column='decision_date', where=none) %}
select
    checked.*,
    suppressions.reason as violation
from {{ model }} as checked
inner join {{ suppressions }} as suppressions
    on checked.{{ customer_column }} = suppressions.customer_id
    and (suppressions.expires_at is null
         or suppressions.expires_at > cast(checked.{{ date_column }} as timestamp))
{%- if where %}
where {{ where }}
{%- endif %}
{% endtest %}

{#- The policy group's probabilities are at least the floor (where the field applied). -#}
{% test propensity_at_least(model, column_name, floor, where=none) %}
select *, '{{ column_name }} below {{ floor }}' as violation
from {{ model }}
where {{ column_name }} < {{ floor }}
{%- if where %} and {{ where }}{% endif %}
{% endtest %}

{#- At most floor(max_share x the day's policy decisions) explore (is_exploration): the
    days over the ceiling. -#}
{% test exploration_share_at_most(model, max_share, date_column='decision_date', where=none) %}
with days as (
    select
        {{ date_column }} as day,
        count(*) as policy_decisions,
        count(case when is_exploration then 1 end) as explorations
    from {{ model }}
    where decision_group = 'policy'
    {%- if where %} and {{ where }}{% endif %}
    group by {{ date_column }}
)

select *, 'more explorations than the ceiling allows' as violation
from days
where explorations > floor({{ max_share }} * policy_decisions + 1e-9)
{% endtest %}

{#- Holdout integrity: each customer's group is the one its salted hash assigns (u <
    share: holdout; u < share + business_as_usual_share: business_as_usual; else policy),
    the holdout is never sent anything (channel 'none'), and each group's share of the
    distinct customers is within z binomial standard deviations (+1 for the rounding) of
    its configured share: |k - n p| <= z sqrt(n p (1 - p)) + 1. z = 5 fails a correct
    assignment with probability below 1e-6 per group; z = none skips the share check (for
    rows whose selection the treatment itself may have changed: a win-back audience keeps
    the holdout customers that messages would have brought back). -#}
{% test holdout_integrity(model, salt, share, business_as_usual_share=0, z=5, customer_column='customer_id', where=none) %}
{%- set u = hash_to_unit_interval("'" ~ salt ~ "|' || " ~ customer_column) %}
with checked as (
    select * from {{ model }} {% if where %}where {{ where }}{% endif %}
),

assigned as (
    select
        *,
        case
            when {{ u }} < {{ share }} then 'holdout'
            when {{ u }} < {{ share + business_as_usual_share }} then 'business_as_usual'
            else 'policy'
        end as assigned_group
    from checked
),

customers as (
    select distinct {{ customer_column }}, decision_group from checked
),

shares as (
    select
        groups.decision_group,
        groups.expected_share,
        count(customers.{{ customer_column }}) as customers,
        (select count(*) from customers) as total
    from (
        select 'holdout' as decision_group, {{ share }} as expected_share
        union all select 'business_as_usual', {{ business_as_usual_share }}
        union all select 'policy', {{ 1 - share - business_as_usual_share }}
    ) as groups
    left join customers on customers.decision_group = groups.decision_group
    group by groups.decision_group, groups.expected_share
)

select
    {{ customer_column }},
    decision_group,
    'assigned ' || assigned_group || ' by its hash' as violation
from assigned
where decision_group != assigned_group
union all
select
    {{ customer_column }},
    decision_group,
    'holdout sent ' || channel as violation
from assigned
where decision_group = 'holdout' and channel != 'none'
union all
select
    cast(null as varchar),
    decision_group,
    'share ' || cast(customers as varchar) || ' of ' || cast(total as varchar)
        || ' outside binomial bounds' as violation
from shares
where {% if z is none %}false{% else %}abs(customers - total * expected_share)
    > {{ z }} * sqrt(total * expected_share * (1 - expected_share)) + 1{% endif %}
{% endtest %}

{#- What the project's guardrail tests (tests/dbt/guardrail_*.sql) check: decision_log,
    or the table named by the var decisioning_guardrail_table (to test a table of your
    own with the campaign's settings), and in it this campaign's rows for as_of. -#}
{% macro guardrail_checked_table() %}
  {%- set table = var('decisioning_guardrail_table', none) -%}
  {{ return(table if table else ref('decision_log')) }}
{% endmacro %}

{% macro guardrail_checked_rows() %}
  {{ return("decision_date = " ~ as_of_date() ~ " and campaign_id = '" ~ decisioning_config()['campaign_id'] ~ "'") }}
{% endmacro %}
