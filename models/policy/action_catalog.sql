-- Every decidable value of every field, long: the policy's arms. Message variants carry
-- their content, labels (tags) and stored semantic tags; the policy derives their action
-- features from them. value_position orders each field's values as the seeds do
-- (Catalog.from_frame sorts by it: warehouse tables keep no row order).
{%- set message_fields = decisioning_config()['message_fields'] %}

with channels as (
    select
        'channel' as field,
        0 as field_position,
        channel as value_id,
        display_name as content,
        '' as tags,
        cast(null as varchar) as semantic_tags,
        opt_in_column,
        cast(null as integer) as local_hour,
        is_active,
        {{ load_order_row_number() }} as value_position
    from {{ ref('stg_catalog__channels') }}
),

send_slots as (
    select
        'send_slot' as field,
        1 as field_position,
        send_slot as value_id,
        display_name as content,
        '' as tags,
        cast(null as varchar) as semantic_tags,
        cast(null as varchar) as opt_in_column,
        local_hour,
        is_active,
        {{ load_order_row_number() }} as value_position
    from {{ ref('stg_catalog__send_slots') }}
),

message_variants as (
    select
        field,
        case
            {%- for field in message_fields %}
            when field = '{{ field }}' then {{ loop.index + 1 }}
            {%- endfor %}
        end as field_position,
        variant_id as value_id,
        content,
        tags,
        semantic_tags,
        cast(null as varchar) as opt_in_column,
        cast(null as integer) as local_hour,
        is_active,
        value_position
    from {{ ref('stg_catalog__message_variants') }}
),

final as (
    select * from channels
    union all
    select * from send_slots
    union all
    select * from message_variants
)

select * from final
