{#- The append-only history written by earlier builds, read as sources (not with ref)
    because today's decisions depend on it: rewards and features see the log as it was
    before this build. The on-run-start hook creates the empty tables on the very first
    build, with the columns the history models write, and the tables the LLM steps
    (`decisioning tag`, `decisioning autotune`) write outside dbt. -#}
{% macro decision_log_history() %}
  {{ return(source('decisioning_history', 'decision_log')) }}
{% endmacro %}

{% macro decision_context_history() %}
  {{ return(source('decisioning_history', 'decision_contexts')) }}
{% endmacro %}

{% macro create_history_tables() %}
  {%- if execute -%}
    {%- set log_columns -%}
      cast(null as varchar) as decision_id,
      cast(null as varchar) as campaign_id,
      cast(null as varchar) as customer_id,
      cast(null as date) as decision_date,
      cast(null as varchar) as decision_group,
      cast(null as boolean) as is_holdout,
      {% for field in decision_fields() -%}
      cast(null as varchar) as {{ field }},
      {% endfor -%}
      cast(null as varchar) as timezone,
      cast(null as timestamp) as send_at_utc,
      {% for field in decision_fields() -%}
      cast(null as double) as {{ field }}_propensity,
      {% endfor -%}
      cast(null as double) as propensity,
      cast(null as double) as expected_reward,
      cast(null as boolean) as is_exploration,
      cast(null as varchar) as algorithm,
      cast(null as varchar) as model_version,
      cast(null as timestamp) as logged_at,
      cast(null as varchar) as eligible_sends
    {%- endset -%}
    {%- set context_columns -%}
      cast(null as varchar) as decision_id,
      cast(null as date) as decision_date,
      {% for name in feature_names() -%}
      cast(null as double) as {{ name }}{{ ',' if not loop.last }}
      {% endfor -%}
    {%- endset -%}
    {%- set tag_columns -%}
      cast(null as varchar) as content_hash,
      cast(null as varchar) as content,
      cast(null as varchar) as tags,
      cast(null as varchar) as tagger,
      cast(null as integer) as schema_version,
      cast(null as timestamp) as tagged_at
    {%- endset -%}
    {%- set candidate_columns -%}
      cast(null as varchar) as variant_id,
      cast(null as varchar) as campaign_id,
      cast(null as varchar) as field,
      cast(null as varchar) as content,
      cast(null as varchar) as status,
      cast(null as varchar) as reason,
      cast(null as varchar) as rationale,
      cast(null as varchar) as rejection_reason,
      cast(null as varchar) as model,
      cast(null as varchar) as prompt,
      cast(null as varchar) as run_id,
      cast(null as date) as created_on,
      cast(null as timestamp) as created_at,
      cast(null as varchar) as decided_by,
      cast(null as timestamp) as decided_at
    {%- endset -%}
    {%- set call_columns -%}
      cast(null as varchar) as run_id,
      cast(null as varchar) as purpose,
      cast(null as varchar) as subject,
      cast(null as varchar) as model,
      cast(null as varchar) as status,
      cast(null as varchar) as detail,
      cast(null as integer) as prompt_tokens,
      cast(null as integer) as completion_tokens,
      cast(null as double) as seconds,
      cast(null as timestamp) as called_at
    {%- endset -%}
    {%- do adapter.create_schema(api.Relation.create(database=target.database, schema=target.schema)) -%}
    {%- for name, columns in [
          ('decision_log', log_columns), ('decision_contexts', context_columns),
          ('variant_tags', tag_columns), ('variant_candidates', candidate_columns),
          ('llm_calls', call_columns)] -%}
      {%- set relation = api.Relation.create(database=target.database, schema=target.schema, identifier=name) -%}
      {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {%- do run_query('create table ' ~ relation ~ ' as select ' ~ columns ~ ' where 1 = 0') -%}
        {%- do adapter.cache_added(relation.incorporate(type='table')) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}

{#- The context columns of historical_decisions: the feature vector (feature_names), then
    any other x_* column the source has, which only offline evaluation uses. -#}
{% macro historical_context_names(present) %}
  {%- set names = feature_names() -%}
  {%- set mapped = [] -%}
  {%- for name in names -%}
    {%- do mapped.append(source_column('historical_decisions', name) | lower) -%}
  {%- endfor -%}
  {%- set extra = [] -%}
  {%- for column in present | sort if column.startswith('x_') and column not in names and column not in mapped -%}
    {%- do extra.append(column) -%}
  {%- endfor -%}
  {{ return(names + extra) }}
{% endmacro %}

{#- Stops the build, before anything reads the history, when historical_decisions breaks
    what learning and evaluation rely on; the message counts each problem's rows. -#}
{% macro check_historical_decisions(relation, logged_fields) %}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set table = 'historical_decisions' -%}
  {%- if logged_fields | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        "decisioning.sources.historical_decisions: " ~ relation ~ " has no column for any decided "
        ~ "field (" ~ decision_fields() | join(', ') ~ "). Add the action the old system chose, "
        ~ "or map your columns with decisioning.sources.historical_decisions.columns.") }}
  {%- endif -%}
  {%- set decision_id = source_column(table, 'decision_id') -%}
  {%- set propensity = source_column(table, 'propensity') -%}
  {%- set decided_at = source_column(table, 'decided_at') -%}
  {%- set query -%}
    with history as (
        select
            cast({{ decision_id }} as varchar) as decision_id,
            cast({{ source_column(table, 'customer_id') }} as varchar) as customer_id,
            cast({{ decided_at }} as timestamp) as decided_at,
            cast({{ propensity }} as double) as propensity
        from {{ relation }}
    )
    select
        (select count(*) from history
            where decision_id is null or customer_id is null or decided_at is null) as missing_keys,
        (select count(*) from history
            where propensity is not null and not (propensity > 0 and propensity <= 1)) as bad_propensities,
        (select count(*) - count(distinct decision_id) from history) as duplicate_ids,
        (select count(*) from {{ ref('stg_decisioning__message_events') }} as events
            inner join history on events.decision_id = history.decision_id
            where events.occurred_at < history.decided_at) as outcomes_before_decisions
  {%- endset -%}
  {%- set counts = run_query(query).rows[0] -%}
  {%- set problems = [] -%}
  {%- if counts[0] > 0 -%}
    {%- do problems.append(counts[0] ~ " row(s) without " ~ decision_id ~ ", "
        ~ source_column(table, 'customer_id') ~ " or " ~ decided_at ~ ": fill them or drop the rows") -%}
  {%- endif -%}
  {%- if counts[1] > 0 -%}
    {%- do problems.append(counts[1] ~ " row(s) with " ~ propensity ~ " outside (0, 1]: it is the "
        ~ "probability the old system chose the logged action; set it to null where unknown "
        ~ "(such rows still warm-start the policy but are not evaluated)") -%}
  {%- endif -%}
  {%- if counts[2] > 0 -%}
    {%- do problems.append(counts[2] ~ " duplicate " ~ decision_id ~ " value(s): each decision "
        ~ "needs its own id, the one its message events carry") -%}
  {%- endif -%}
  {%- if counts[3] > 0 -%}
    {%- do problems.append(counts[3] ~ " message event(s) before the decision they belong to: "
        ~ decided_at ~ " must be when the message was sent (UTC), and the events' occurred_at "
        ~ "UTC too") -%}
  {%- endif -%}
  {%- if problems -%}
    {{ exceptions.raise_compiler_error(
        "decisioning.sources.historical_decisions (" ~ relation ~ "): " ~ problems | join('; ') ~ ".") }}
  {%- endif -%}
{% endmacro %}

{#- An optional column of historical_decisions, typed; null where the source has none. -#}
{% macro optional_historical_column(name, data_type, present) %}
  {%- set column = source_column('historical_decisions', name) -%}
  cast({{ column if column | lower in present else 'null' }} as {{ data_type }}) as {{ name }}
{%- endmacro %}
