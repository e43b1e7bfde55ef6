-- depends_on: {{ ref('decisioning_config') }}
-- Message variants per field: seeds/message_variants.csv plus the campaign's approved
-- Auto-Tune variants, each with its stored semantic tags (null until `decisioning tag`).
-- value_position keeps the seed's row order, then approvals in time order: the policy's
-- value order, which keyed draws depend on, so it must not follow the join's.
{%- set cfg = decisioning_config() %}

with seeded as (
    select
        cast(field as varchar) as field,
        cast(variant_id as varchar) as variant_id,
        coalesce(cast(content as varchar), '') as content,
        coalesce(cast(tags as varchar), '') as tags,
        cast(active as boolean) as is_active,
        'catalog' as origin,
        {{ load_order_row_number() }} as value_position
    from {{ ref('message_variants') }}
),

approved as (
    select
        field,
        variant_id,
        content,
        '' as tags,
        true as is_active,
        'autotune' as origin,
        1000000 + row_number() over (order by decided_at, variant_id) as value_position
    from {{ source('decisioning_llm', 'variant_candidates') }}
    where status = 'approved'
        and campaign_id = '{{ cfg["campaign_id"] }}'
),

variants as (
    select * from seeded
    union all
    select * from approved
),

final as (
    select
        variants.*,
        tagged.tags as semantic_tags
    from variants
    left join {{ source('decisioning_llm', 'variant_tags') }} as tagged
        on tagged.content_hash = md5(variants.content)
)

select * from final
