with source as (
    select * from {{ decisioning_source('customers') }}
),

renamed as (
    select
        cast({{ source_column('customers', 'customer_id') }} as varchar) as customer_id,
        cast({{ source_column('customers', 'created_at') }} as timestamp) as created_at,
        cast({{ source_column('customers', 'timezone') }} as varchar) as timezone,
        coalesce(cast({{ source_column('customers', 'email_opt_in') }} as boolean), false) as email_opt_in,
        coalesce(cast({{ source_column('customers', 'push_opt_in') }} as boolean), false) as push_opt_in,
        coalesce(cast({{ source_column('customers', 'sms_opt_in') }} as boolean), false) as sms_opt_in,
        {%- for column in channel_requirement_columns() %}
        coalesce(cast({{ source_column('customers', column) }} as boolean), false) as {{ column }},
        {%- endfor %}
        {%- set features = decisioning_config()['features'] %}
        {%- for attribute in features['categorical'] | sort %}
        cast({{ attribute }} as varchar) as {{ attribute }},
        {%- endfor %}
        {%- for attribute in features['numeric'] %}
        cast({{ attribute }} as double) as {{ attribute }},
        {%- endfor %}
    from source
)

select * from renamed
