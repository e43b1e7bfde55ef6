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
