{#- Generic tests, usable on your own tables. Each returns the violating rows. -#}

{% test expression_is_true(model, expression, column_name=none) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}

{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Time zones the database cannot resolve; send times would be wrong for them. -#}
{% test valid_timezone(model, column_name) %}
  {{ return(adapter.dispatch('test_valid_timezone', 'decisioning')(model, column_name)) }}
{% endtest %}

{% macro default__test_valid_timezone(model, column_name) %}
select distinct {{ column_name }} as timezone
from {{ model }}
where {{ column_name }} is not null
  and {{ local_to_utc("cast('2000-01-01 12:00:00' as timestamp)", column_name) }} is null
{% endmacro %}

{% macro duckdb__test_valid_timezone(model, column_name) %}
select distinct {{ column_name }} as timezone
from {{ model }}
where {{ column_name }} is not null
  and {{ column_name }} not in (select name from pg_timezone_names())
{% endmacro %}
