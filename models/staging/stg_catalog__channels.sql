select
    cast(channel as varchar) as channel,
    cast(opt_in_column as varchar) as opt_in_column,
    cast(display_name as varchar) as display_name,
    cast(active as boolean) as is_active
from {{ ref('channels') }}
