{#- Cross-database helpers, dbt-utils style: call the shim, implement per adapter
    (`default__`: Snowflake and ANSI; `duckdb__`: DuckDB). Every SQL difference between the
    two lives here; tests/test_snowflake_sql.py renders each for both and lints the rest. -#}

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

{#- Whether the database knows the IANA zone (null stays null). Both databases raise on
    an unknown zone instead of returning null, so convert only zones that pass this. -#}
{% macro is_known_timezone(timezone) %}
  {{ return(adapter.dispatch('is_known_timezone', 'decisioning')(timezone)) }}
{% endmacro %}

{#- Snowflake has no table of zone names: the IANA names pytz knows, inline. -#}
{% macro default__is_known_timezone(timezone) %}
  ({{ timezone }} in ('{{ modules.pytz.all_timezones | join("', '") }}'))
{% endmacro %}

{% macro duckdb__is_known_timezone(timezone) %}
  ({{ timezone }} in (select name from pg_timezone_names()))
{% endmacro %}

{#- A timestamp plus a (possibly fractional) number of hours, to the second. -#}
{% macro add_hours(timestamp, hours) %}
  {{ return(adapter.dispatch('add_hours', 'decisioning')(timestamp, hours)) }}
{% endmacro %}

{% macro default__add_hours(timestamp, hours) %}
  dateadd(second, cast(({{ hours }}) * 3600 as integer), {{ timestamp }})
{% endmacro %}

{% macro duckdb__add_hours(timestamp, hours) %}
  ({{ timestamp }} + to_seconds(cast(({{ hours }}) * 3600 as bigint)))
{% endmacro %}

{#- A date plus a whole number of days, as a date. -#}
{% macro add_days(date, days) %}
  {{ return(adapter.dispatch('add_days', 'decisioning')(date, days)) }}
{% endmacro %}

{% macro default__add_days(date, days) %}
  dateadd(day, {{ days }}, {{ date }})
{% endmacro %}

{% macro duckdb__add_days(date, days) %}
  ({{ date }} + ({{ days }}))
{% endmacro %}

{#- Days from start to end (timestamps or dates) as a double, to the microsecond. -#}
{% macro days_between(start, end) %}
  {{ return(adapter.dispatch('days_between', 'decisioning')(start, end)) }}
{% endmacro %}

{#- datediff counts unit boundaries: in microseconds that is the exact difference. -#}
{% macro default__days_between(start, end) %}
  (cast(datediff(microsecond, cast({{ start }} as timestamp), cast({{ end }} as timestamp)) as double)
      / 86400000000.0)
{% endmacro %}

{% macro duckdb__days_between(start, end) %}
  (epoch(cast({{ end }} as timestamp) - cast({{ start }} as timestamp)) / 86400.0)
{% endmacro %}

{#- The mean of a numeric expression as a double. Snowflake averages fixed-point numbers
    (e.g. 1.0, or 0.1 * a count) to a fixed scale, DuckDB in double precision. -#}
{% macro float_average(expression) %}
  {{ return(adapter.dispatch('float_average', 'decisioning')(expression)) }}
{% endmacro %}

{% macro default__float_average(expression) %}
  avg(cast({{ expression }} as double))
{% endmacro %}

{% macro duckdb__float_average(expression) %}
  avg({{ expression }})
{% endmacro %}

{#- Row numbers in the order a table's rows are read: a seed's file order. -#}
{% macro load_order_row_number() %}
  {{ return(adapter.dispatch('load_order_row_number', 'decisioning')()) }}
{% endmacro %}

{#- Snowflake requires an order for row_number; seq8() counts rows as they are scanned
    (a small table loaded in one statement is scanned in load order, not guaranteed). -#}
{% macro default__load_order_row_number() %}
  row_number() over (order by seq8())
{% endmacro %}

{% macro duckdb__load_order_row_number() %}
  row_number() over ()
{% endmacro %}
