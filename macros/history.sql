{#- The append-only history written by earlier builds. Read directly (not with ref) because
    today's decisions depend on it: rewards and features see the log as it was before
    this build. Before the first build it is an empty relation with the same columns. -#}
{% macro decision_log_history() %}
  {%- set relation = adapter.get_relation(this.database, this.schema, 'decision_log') if execute else none -%}
  {%- if relation is not none -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set columns -%}
    cast(null as varchar) as decision_id,
    cast(null as varchar) as campaign_id,
    cast(null as varchar) as customer_id,
    cast(null as date) as decision_date,
    cast(null as boolean) as is_holdout,
    {% for field in decision_fields() -%}
    cast(null as varchar) as {{ field }},
    {% endfor -%}
    cast(null as timestamp) as send_at_utc,
    cast(null as double) as propensity,
    cast(null as double) as expected_reward,
    cast(null as varchar) as algorithm,
    cast(null as varchar) as model_version,
    cast(null as timestamp) as logged_at
  {%- endset -%}
  {{ return('(select ' ~ columns ~ ' where 1 = 0)') }}
{% endmacro %}

{% macro decision_context_history() %}
  {%- set relation = adapter.get_relation(this.database, this.schema, 'decision_contexts') if execute else none -%}
  {%- if relation is not none -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set columns -%}
    cast(null as varchar) as decision_id,
    {% for name in feature_names() -%}
    cast(null as double) as {{ name }}{{ ',' if not loop.last }}
    {% endfor -%}
  {%- endset -%}
  {{ return('(select ' ~ columns ~ ' where 1 = 0)') }}
{% endmacro %}
