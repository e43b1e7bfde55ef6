-- depends_on: {{ ref('decisioning_config') }}
-- depends_on: {{ ref('stg_decisioning__catalog_items') }} (read only with recommendations.field)
{%- set cfg = decisioning_config() %}
{%- set features = cfg['features'] %}
{%- set as_of = as_of_timestamp() %}
{%- set lookback_start = add_hours(as_of, -24 * features['lookback_days']) %}
{%- set opt_in_classes = ['email', 'push', 'sms'] %}
{%- set recommendations = cfg['recommendations'] %}
{%- set recommending = recommendations['field'] is not none %}

with customers as (
    select * from {{ ref('stg_decisioning__customers') }}
    where created_at < {{ as_of }}
),

product_events as (
    select * from {{ ref('stg_decisioning__product_events') }}
    where occurred_at < {{ as_of }}
),

channels as (
    select * from {{ ref('stg_catalog__channels') }}
),

logged_decisions as (
    select
        history.decision_id,
        channels.opt_in_column
    from {{ decision_log_history() }} as history
    inner join channels on history.channel = channels.channel
),

message_events as (
    select
        events.customer_id,
        events.decision_id,
        events.event_type,
        events.occurred_at,
        logged_decisions.opt_in_column
    from {{ ref('stg_decisioning__message_events') }} as events
    inner join logged_decisions on events.decision_id = logged_decisions.decision_id
    where events.occurred_at < {{ as_of }}
),

activity as (
    select
        customer_id,
        max(occurred_at) as last_event_at,
        count(case when occurred_at >= {{ add_hours(as_of, -24 * 30) }} then 1 end) as events_30d,
        count(case when occurred_at >= {{ lookback_start }} then 1 end) as events_lookback,
        count(
            case
                when occurred_at >= {{ lookback_start }}
                    and event_name in ({{ "'" ~ (cfg['reward']['conversion_events'] + ['']) | join("', '") ~ "'" }})
                    then 1
            end
        ) as conversions_lookback
    from product_events
    group by customer_id
),

engagement as (
    select
        customer_id,
        {%- for class in opt_in_classes %}
        count(distinct case when opt_in_column = '{{ class }}_opt_in' and event_type = 'sent' and occurred_at >= {{ lookback_start }} then decision_id end) as {{ class }}_sends,
        count(distinct case when opt_in_column = '{{ class }}_opt_in' and event_type = 'open' and occurred_at >= {{ lookback_start }} then decision_id end) as {{ class }}_opens,
        count(distinct case when opt_in_column = '{{ class }}_opt_in' and event_type = 'click' and occurred_at >= {{ lookback_start }} then decision_id end) as {{ class }}_clicks,
        max(case when opt_in_column = '{{ class }}_opt_in' and event_type in ('unsubscribe', 'complaint') then 1 else 0 end) as {{ class }}_unsubscribed{{ ',' if not loop.last }}
        {%- endfor %}
    from message_events
    group by customer_id
),

{%- if recommending %}

-- What the customer did with catalog items in the recommender's lookback (the events
-- recommendations.events names, else any with an item): how many distinct items, and
-- how concentrated on one category.
item_events as (
    select
        product_events.customer_id,
        product_events.item_id,
        items.category
    from product_events
    inner join {{ ref('stg_decisioning__catalog_items') }} as items
        on items.item_id = product_events.item_id
    where product_events.occurred_at >= {{ add_hours(as_of, -24 * recommendations['lookback_days']) }}
    {%- if recommendations['events'] %}
        and product_events.event_name in ('{{ recommendations["events"] | join("', '") }}')
    {%- endif %}
),

category_events as (
    select
        customer_id,
        category,
        count(*) as events
    from item_events
    group by customer_id, category
),

item_activity as (
    select
        items_done.customer_id,
        items_done.items_done,
        categories.item_events,
        categories.top_category_events
    from (
        select customer_id, count(distinct item_id) as items_done
        from item_events
        group by customer_id
    ) as items_done
    inner join (
        select customer_id, sum(events) as item_events, max(events) as top_category_events
        from category_events
        group by customer_id
    ) as categories on items_done.customer_id = categories.customer_id
),
{%- endif %}

joined as (
    select
        customers.*,
        activity.last_event_at,
        coalesce(activity.events_30d, 0) as events_30d,
        coalesce(activity.events_lookback, 0) as events_lookback,
        coalesce(activity.conversions_lookback, 0) as conversions_lookback,
        {{ days_between('customers.created_at', as_of) }} as tenure_days,
        {{ days_between('coalesce(activity.last_event_at, customers.created_at)', as_of) }} as days_since_last_event,
        {%- for class in opt_in_classes %}
        coalesce(engagement.{{ class }}_sends, 0) as {{ class }}_sends,
        coalesce(engagement.{{ class }}_opens, 0) as {{ class }}_opens,
        coalesce(engagement.{{ class }}_clicks, 0) as {{ class }}_clicks,
        coalesce(engagement.{{ class }}_unsubscribed, 0) = 1 as {{ class }}_unsubscribed{{ ',' if not loop.last }}
        {%- endfor %}
        {%- if recommending %},
        coalesce(item_activity.items_done, 0) as items_done,
        coalesce(item_activity.item_events, 0) as item_events,
        coalesce(item_activity.top_category_events, 0) as top_category_events
        {%- endif %}
    from customers
    left join activity on customers.customer_id = activity.customer_id
    left join engagement on customers.customer_id = engagement.customer_id
    {%- if recommending %}
    left join item_activity on customers.customer_id = item_activity.customer_id
    {%- endif %}
),

final as (
    select
        customer_id,
        timezone,
        last_event_at,
        days_since_last_event,
        {%- for class in opt_in_classes %}
        {{ class }}_opt_in and not {{ class }}_unsubscribed as {{ class }}_opt_in,
        {%- endfor %}
        {%- for column in channel_requirement_columns() %}
        {{ column }},
        {%- endfor %}
        -- The feature vector, each on a scale of about one (see README, "Features").
        1.0 as x_intercept,
        ln(1 + least(days_since_last_event, 365)) / ln(366) as x_recency,
        ln(1 + events_30d) as x_events_30d,
        ln(1 + events_lookback) as x_events_lookback,
        ln(1 + conversions_lookback) as x_conversions_lookback,
        least(tenure_days / 365.0, 5.0) as x_tenure,
        {%- for class in opt_in_classes %}
        case when {{ class }}_opt_in and not {{ class }}_unsubscribed then 1.0 else 0.0 end as x_{{ class }}_opt_in,
        (cast({{ class }}_opens as double) + 1.0) / ({{ class }}_sends + 4.0) as x_{{ class }}_open_rate,
        (cast({{ class }}_clicks as double) + 0.5) / ({{ class }}_sends + 10.0) as x_{{ class }}_click_rate,
        {%- endfor %}
        {%- for attribute, levels in features['categorical'].items() | sort %}
        {%- for level in levels %}
        case when {{ attribute }} = '{{ level }}' then 1.0 else 0.0 end as {{ feature_level_name(attribute, level) }},
        {%- endfor %}
        {%- endfor %}
        {%- for attribute in features['numeric'] %}
        coalesce(
            ({{ attribute }} - avg({{ attribute }}) over ()) / nullif(stddev_pop({{ attribute }}) over (), 0),
            0.0
        ) as x_{{ attribute }},
        {%- endfor %}
        {%- if recommending %}
        ln(1 + items_done) as x_items_done,
        case
            when item_events > 0 then cast(top_category_events as double) / item_events
            else 0.0
        end as x_top_category_share,
        {%- endif %}
        {{ as_of_date() }} as as_of
    from joined
)

select * from final
