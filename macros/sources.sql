{#- A source table checked against its contract: each contract column must exist, under
    its own name or the one mapped in decisioning.sources.<table>.columns. -#}
{% macro decisioning_source(table) %}
  {%- set relation = source('decisioning', table) -%}
  {%- if execute -%}
    {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- if present | length == 0 -%}
      {{ exceptions.raise_compiler_error(
          "Source table " ~ relation ~ " was not found or has no columns. Load it, or point "
          ~ "decisioning.sources." ~ table ~ ".table (and sources.schema) at your table.") }}
    {%- endif -%}
    {%- set missing = [] -%}
    {%- for column in decisioning_contract_columns(table) -%}
      {%- if source_column(table, column) | lower not in present -%}
        {%- do missing.append(column ~ ' (looked for ' ~ source_column(table, column) ~ ')') -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if missing -%}
      {{ exceptions.raise_compiler_error(
          "Source " ~ relation ~ " is missing contract column(s): " ~ missing | join(', ')
          ~ ". Add them, or map your own names with decisioning.sources." ~ table
          ~ ".columns: {<contract name>: <your column>}.") }}
    {%- endif -%}
  {%- endif -%}
  {{ return(relation) }}
{% endmacro %}

{% macro source_column(table, column) %}
  {%- set mapping = decisioning_config()['sources'][table]['columns'] -%}
  {{- return(mapping.get(column, column)) -}}
{% endmacro %}

{% macro decisioning_contract_columns(table) %}
  {%- set contract = {
      'customers': ['customer_id', 'created_at', 'timezone', 'email_opt_in', 'push_opt_in', 'sms_opt_in'],
      'product_events': ['customer_id', 'event_name', 'occurred_at', 'value'],
      'message_events': ['decision_id', 'customer_id', 'event_type', 'occurred_at'],
  } -%}
  {{ return(contract[table]) }}
{% endmacro %}
