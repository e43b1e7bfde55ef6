-- The average feature vector of today's policy-group audience: the customers whose mean
-- reward variant_performance's posterior describes.

select
    count(*) as customers,
    {%- for name in feature_names() %}
    {{ float_average(name) }} as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ ref('audience') }}
where decision_group = 'policy'
