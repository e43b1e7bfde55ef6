with source as (
    select * from {{ decisioning_source('message_events') }}
),

renamed as (
    select
        cast({{ source_column('message_events', 'decision_id') }} as varchar) as decision_id,
        cast({{ source_column('message_events', 'customer_id') }} as varchar) as customer_id,
        lower(cast({{ source_column('message_events', 'event_type') }} as varchar)) as event_type,
        cast({{ source_column('message_events', 'occurred_at') }} as timestamp) as occurred_at
    from source
)

select * from renamed
