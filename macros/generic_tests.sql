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
select distinct {{ column_name }} as timezone
from {{ model }}
where {{ column_name }} is not null
  and not {{ is_known_timezone(column_name) }}
{% endtest %}
