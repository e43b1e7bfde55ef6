{#- Cross-database helpers, dbt-utils style: call the shim, implement per adapter. -#}

{#- A stable value in [0, 1) from text: the first 8 hex digits of its md5. -#}
{% macro hash_to_unit_interval(expression) %}
  {{ return(adapter.dispatch('hash_to_unit_interval', 'decisioning')(expression)) }}
{% endmacro %}

{% macro default__hash_to_unit_interval(expression) %}
  (cast(to_number(substr(md5({{ expression }}), 1, 8), 'XXXXXXXX') as double) / 4294967296.0)
{% endmacro %}

{% macro duckdb__hash_to_unit_interval(expression) %}
  (cast(('0x' || substr(md5({{ expression }}), 1, 8)) as ubigint) / 4294967296.0)
{% endmacro %}

{#- A UTC timestamp (naive) shown as wall-clock time in an IANA zone (naive). -#}
{% macro utc_to_local(timestamp, timezone) %}
  {{ return(adapter.dispatch('utc_to_local', 'decisioning')(timestamp, timezone)) }}
{% endmacro %}

{% macro default__utc_to_local(timestamp, timezone) %}
  convert_timezone('UTC', {{ timezone }}, {{ timestamp }})
{% endmacro %}

{% macro duckdb__utc_to_local(timestamp, timezone) %}
  cast(timezone({{ timezone }}, timezone('UTC', {{ timestamp }})) as timestamp)
{% endmacro %}

{#- Wall-clock time in an IANA zone (naive) as a UTC timestamp (naive). Daylight-saving
    gaps and overlaps resolve as the database's time-zone library does. -#}
{% macro local_to_utc(timestamp, timezone) %}
  {{ return(adapter.dispatch('local_to_utc', 'decisioning')(timestamp, timezone)) }}
{% endmacro %}

{% macro default__local_to_utc(timestamp, timezone) %}
  convert_timezone({{ timezone }}, 'UTC', {{ timestamp }})
{% endmacro %}

{% macro duckdb__local_to_utc(timestamp, timezone) %}
  cast(timezone('UTC', timezone({{ timezone }}, {{ timestamp }})) as timestamp)
{% endmacro %}

{% macro add_hours(timestamp, hours) %}
  {{ return(adapter.dispatch('add_hours', 'decisioning')(timestamp, hours)) }}
{% endmacro %}

{% macro default__add_hours(timestamp, hours) %}
  dateadd(second, cast(({{ hours }}) * 3600 as integer), {{ timestamp }})
{% endmacro %}

{% macro duckdb__add_hours(timestamp, hours) %}
  ({{ timestamp }} + to_seconds(cast(({{ hours }}) * 3600 as bigint)))
{% endmacro %}

{% macro days_between(start, end) %}
  {{ return(adapter.dispatch('days_between', 'decisioning')(start, end)) }}
{% endmacro %}

{% macro default__days_between(start, end) %}
  (datediff(second, {{ start }}, {{ end }}) / 86400.0)
{% endmacro %}

{% macro duckdb__days_between(start, end) %}
  (epoch(cast({{ end }} as timestamp) - cast({{ start }} as timestamp)) / 86400.0)
{% endmacro %}
