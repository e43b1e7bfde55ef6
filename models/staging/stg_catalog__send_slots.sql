select
    cast(send_slot as varchar) as send_slot,
    cast(local_hour as integer) as local_hour,
    cast(display_name as varchar) as display_name,
    cast(active as boolean) as is_active
from {{ ref('send_slots') }}
