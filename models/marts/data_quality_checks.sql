-- depends_on: {{ ref('decisioning_config') }}
{%- set as_of = as_of_timestamp() %}

with customers as (
    select * from {{ ref('stg_decisioning__customers') }}
),

product_events as (
    select * from {{ ref('stg_decisioning__product_events') }}
),

message_events as (
    select * from {{ ref('stg_decisioning__message_events') }}
),

logged as (
    select decision_id from {{ ref('decision_log') }}
),

checks as (
    select
        'product_events_after_as_of' as check_name,
        'Ignored by this build: they happen after its cut-off.' as handling,
        count(*) as failing_rows
    from product_events
    where occurred_at >= {{ as_of }}
    union all
    select
        'message_events_after_as_of',
        'Ignored by this build: they happen after its cut-off.',
        count(*)
    from message_events
    where occurred_at >= {{ as_of }}
    union all
    select
        'message_events_for_unknown_decisions',
        'Ignored: no logged decision has their decision_id.',
        count(*)
    from message_events
    where decision_id not in (select decision_id from logged)
    union all
    select
        'customers_created_after_as_of',
        'Not in the audience until as_of passes their created_at.',
        count(*)
    from customers
    where created_at >= {{ as_of }}
    union all
    select
        'audience_skipped_today',
        'No decision made (guardrails, suppression, no channel); reasons in decision_skips.',
        count(*)
    from {{ ref('decision_skips') }}
    where decision_date = {{ as_of_date() }}
)

select * from checks
