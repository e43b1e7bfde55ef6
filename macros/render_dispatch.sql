{#- The SQL each dispatched macro renders on the current target, for
    tests/test_snowflake_sql.py: `dbt run-operation render_dispatch --args
    '{samples: [[macro, [argument, ...]], ...]}'` logs {"adapter": ..., "renderings": [...]}
    as one JSON line, renderings in the samples' order. Needs no database connection. -#}
{% macro render_dispatch(samples) %}
  {%- set renderings = [] -%}
  {%- for name, arguments in samples -%}
    {%- do renderings.append(decisioning[name](*arguments) | trim) -%}
  {%- endfor -%}
  {{ log(tojson({'adapter': target.type, 'renderings': renderings}), info=True) }}
{% endmacro %}
