select
    cast(field as varchar) as field,
    cast(variant_id as varchar) as variant_id,
    coalesce(cast(content as varchar), '') as content,
    coalesce(cast(tags as varchar), '') as tags,
    cast(active as boolean) as is_active
from {{ ref('message_variants') }}
