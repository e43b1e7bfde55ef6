-- Every decidable value of every field, long: the policy's arms. Message variants carry
-- their content, labels (tags) and stored semantic tags; the policy derives their action
-- features from them. value_position orders each field's values as the seeds do
-- (Catalog.from_frame sorts by it: warehouse tables keep no row order). The
-- recommendation field's values are its strategies, from the config, not the seeds
-- (is_recommendation: the policy uses only their labels as features).
{%- set cfg = decisioning_config() %}
{%- set message_fields = cfg['message_fields'] %}
{%- set recommendation_field = cfg['recommendations']['field'] %}
{%- set strategy_content = {
    'personalized': 'Personalized pick',
    'popular': 'Popular pick',
    'new_in_category': 'New in your favourite category',
    'none': 'No recommendation',
} %}
{%- if recommendation_field and execute %}
  {%- set seeded = run_query(
      "select count(*) from " ~ ref('stg_catalog__message_variants')
      ~ " where field = '" ~ recommendation_field ~ "'") %}
  {%- if seeded.rows[0][0] > 0 %}
    {{ exceptions.raise_compiler_error(
        "seeds/message_variants.csv has " ~ seeded.rows[0][0] ~ " row(s) for the field '"
        ~ recommendation_field ~ "', which is decisioning.recommendations.field: its values "
        ~ "are the recommendation strategies (recommendations.strategies), not texts. "
        ~ "Remove those rows, or name another field in recommendations.field.") }}
  {%- endif %}
{%- endif %}

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
        {{ load_order_row_number() }} as value_position,
        false as is_recommendation
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
        {{ load_order_row_number() }} as value_position,
        false as is_recommendation
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
        value_position,
        false as is_recommendation
    from {{ ref('stg_catalog__message_variants') }}
),
{%- if recommendation_field %}

-- The strategies, in the configured order; every item strategy shares the label
-- recommends_item (what recommending at all does), each has its own strategy label.
strategies as (
    {%- for strategy in cfg['recommendations']['strategies'] %}
    select
        '{{ recommendation_field }}' as field,
        {{ message_fields.index(recommendation_field) + 2 }} as field_position,
        '{{ strategy }}' as value_id,
        '{{ strategy_content[strategy] }}' as content,
        'strategy:{{ strategy }}{{ "" if strategy == "none" else ";recommends_item" }}' as tags,
        cast(null as varchar) as semantic_tags,
        cast(null as varchar) as opt_in_column,
        cast(null as integer) as local_hour,
        true as is_active,
        cast({{ loop.index }} as bigint) as value_position,
        true as is_recommendation
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),
{%- endif %}

final as (
    select * from channels
    union all
    select * from send_slots
    union all
    select * from message_variants
    {%- if recommendation_field %}
    union all
    select * from strategies
    {%- endif %}
)

select * from final
