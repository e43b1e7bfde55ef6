{#- A source table checked against its contract: each contract column must exist, under
    its own name or the one mapped in decisioning.sources.<table>.columns. -#}
{% macro decisioning_source(table) %}
  {%- set relation = source('decisioning', table) -%}
  {%- if execute -%}
    {%- set present = source_columns_present(table) -%}
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

{#- The contract's columns; customers also need every column a channel requires. -#}
{% macro decisioning_contract_columns(table) %}
  {%- set contract = {
      'customers': ['customer_id', 'created_at', 'timezone', 'email_opt_in', 'push_opt_in', 'sms_opt_in']
                   + channel_requirement_columns(),
      'product_events': ['customer_id', 'event_name', 'occurred_at', 'value'],
      'message_events': ['decision_id', 'customer_id', 'event_type', 'occurred_at'],
      'suppressions': ['customer_id', 'reason', 'expires_at'],
      'historical_decisions': ['decision_id', 'customer_id', 'decided_at', 'propensity'],
      'catalog_items': ['item_id', 'name', 'category', 'active'],
  } -%}
  {{ return(contract[table]) }}
{% endmacro %}

{#- Customer columns that must be true for a channel (guardrails.channels.<c>.requires). -#}
{% macro channel_requirement_columns() %}
  {%- set columns = [] -%}
  {%- for rules in decisioning_config()['guardrails']['channels'].values() -%}
    {%- for column in (rules or {}).get('requires', []) if column not in columns -%}
      {%- do columns.append(column) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(columns | sort) }}
{% endmacro %}

{#- The source's column names (lower case) as the warehouse has them; [] at parse time. -#}
{% macro source_columns_present(table) %}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set relation = source('decisioning', table) -%}
  {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) }}
{% endmacro %}
