{#- Lift statistics from per-group moments (models/reporting/int_lift_moments).

    Method. For one group, i runs over its customers, n_i is customer i's decisions in the
    period and y_i the sum of the metric over them. The moments are G (customers),
    N = sum n_i, Y = sum y_i, YY = sum y_i^2, NY = sum n_i y_i, NN = sum n_i^2.
    - The group mean is the per-decision mean m = Y / N.
    - Its variance is the cluster-robust (sandwich) variance with the customer as the
      cluster, with the usual G / (G - 1) small-sample factor:
        V = sum_i (y_i - m n_i)^2 / N^2 * G / (G - 1)
          = (YY - 2 m NY + m^2 NN) / N^2 * G / (G - 1).
      With one decision per customer it is s^2 / n (s^2 the sample variance). Decisions of
      the same customer (recontacts) are correlated; treating them as independent would
      understate the variance.
    - Two groups (t, c) are independent (customers are randomized to one group), so the
      variance of the difference is Vt + Vc, with Welch-Satterthwaite degrees of freedom
      nu = (Vt + Vc)^2 / (Vt^2 / (Gt - 1) + Vc^2 / (Gc - 1)) (clusters, not decisions,
      count as observations).
    - Absolute lift mt - mc, 95% interval (mt - mc) +/- t_{0.975, nu} sqrt(Vt + Vc).
    - Relative lift mt / mc - 1, 95% interval by the delta method on the log ratio:
      exp(ln(mt / mc) +/- t_{0.975, nu} sqrt(Vt / mt^2 + Vc / mc^2)) - 1; null when either
      mean is <= 0 (the log ratio is undefined).

    The SQL is ANSI (nullif, greatest, sqrt, ln, exp; no division by zero reaches the
    database, every denominator goes through nullif), so these macros need no per-adapter
    implementation; `t_quantile_975` is dispatched so an adapter with a native Student t
    quantile can use it. -#}

{#- The metrics the lift marts report: (metric, rewards column), in report order. -#}
{% macro lift_metrics() %}
  {{ return([
      ('reward', 'reward'),
      ('open_rate', 'opened'),
      ('click_rate', 'clicked'),
      ('conversion_rate', 'converted'),
      ('unsubscribe_rate', 'unsubscribed'),
  ]) }}
{% endmacro %}

{#- The comparisons (treatment group, control group), in report order. -#}
{% macro lift_comparisons() %}
  {{ return([
      ('policy', 'holdout'),
      ('business_as_usual', 'holdout'),
      ('policy', 'business_as_usual'),
  ]) }}
{% endmacro %}

{#- The method's name, for the ci_method column. -#}
{% macro lift_ci_method() %}
  {{- return('welch_t_clustered_by_customer') -}}
{% endmacro %}

{#- 97.5% quantile of Student's t with `df` (real, >= 1) degrees of freedom: the
    Cornish-Fisher expansion of the t quantile around the normal one, in powers of 1/df up
    to 1/df^4 (Abramowitz & Stegun 26.7.5). With z = 1.959964 (the normal quantile):
      t = z + g1/df + g2/df^2 + g3/df^3 + g4/df^4
      g1 = (z^3 + z) / 4
      g2 = (5z^5 + 16z^3 + 3z) / 96
      g3 = (3z^7 + 19z^5 + 17z^3 - 15z) / 384
      g4 = (79z^9 + 776z^7 + 1482z^5 - 1920z^3 - 945z) / 92160
    Accuracy against the exact quantile (relative error; the expansion is always slightly
    below it, so intervals are at most that much too narrow): df = 1: -11% (11.30 vs
    12.71); df = 2: -0.75%; df = 3: -0.12%; df = 5: -1.1e-4; df = 10: -3.6e-6;
    df = 20: -1.2e-7; df >= 29: below 2e-8. Welch's df is at least min(Gt, Gc) - 1, so
    wherever normal_approximation_ok holds (>= 30 customers a group) the error is below
    2e-8. Null df (no variance on either side) or df above 1e7 gives z. -#}
{% macro t_quantile_975(df) %}
  {{ return(adapter.dispatch('t_quantile_975', 'decisioning')(df)) }}
{% endmacro %}

{% macro default__t_quantile_975(df) %}
  {%- set z = 1.959963984540054 -%}
  {%- set g1 = (z ** 3 + z) / 4 -%}
  {%- set g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96 -%}
  {%- set g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384 -%}
  {%- set g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160 -%}
  (case
      when ({{ df }}) is null or ({{ df }}) > 1e7 then {{ z }}
      else {{ z }} + ({{ g1 }} + ({{ g2 }} + ({{ g3 }} + {{ g4 }} / ({{ df }})) / ({{ df }})) / ({{ df }})) / ({{ df }})
  end)
{%- endmacro %}

{#- Per-decision mean of a group: Y / N. -#}
{% macro lift_mean(sum_y, decisions) %}
  (cast({{ sum_y }} as double) / nullif({{ decisions }}, 0))
{%- endmacro %}

{#- Cluster-robust (by customer) variance of the group mean:
    (YY - 2 m NY + m^2 NN) / N^2 * G / (G - 1); null with fewer than 2 customers. The sum
    of squares is clipped at 0 against rounding. -#}
{% macro lift_clustered_variance(customers, decisions, sum_y, sum_y_squared, sum_n_y, sum_n_squared) %}
  {%- set m = lift_mean(sum_y, decisions) -%}
  (case
      when {{ customers }} >= 2 and {{ decisions }} > 0 then
          greatest(
              cast({{ sum_y_squared }} as double)
              - 2 * {{ m }} * {{ sum_n_y }}
              + {{ m }} * {{ m }} * {{ sum_n_squared }},
              0
          )
          / (cast({{ decisions }} as double) * {{ decisions }})
          * {{ customers }} / ({{ customers }} - 1)
  end)
{%- endmacro %}

{#- Welch-Satterthwaite degrees of freedom; null when both variances are 0 (the interval
    has zero width then, whatever the quantile). -#}
{% macro lift_welch_degrees_of_freedom(variance_t, variance_c, customers_t, customers_c) %}
  (({{ variance_t }} + {{ variance_c }}) * ({{ variance_t }} + {{ variance_c }})
      / nullif(
          {{ variance_t }} * {{ variance_t }} / nullif({{ customers_t }} - 1, 0)
          + {{ variance_c }} * {{ variance_c }} / nullif({{ customers_c }} - 1, 0),
          0
      ))
{%- endmacro %}

{#- Standard error of ln(mt / mc) by the delta method; null unless both means are > 0. -#}
{% macro lift_log_ratio_standard_error(mean_t, mean_c, variance_t, variance_c) %}
  (case
      when {{ mean_t }} > 0 and {{ mean_c }} > 0 then
          sqrt({{ variance_t }} / ({{ mean_t }} * {{ mean_t }})
               + {{ variance_c }} / ({{ mean_c }} * {{ mean_c }}))
  end)
{%- endmacro %}

{#- Relative lift mt / mc - 1 with its delta-method bound: `direction` -1 for the low
    bound, 1 for the high one, 0 for the point estimate. Null unless both means are > 0. -#}
{% macro lift_relative(mean_t, mean_c, t_quantile, log_standard_error, direction=0) %}
  (case
      when {{ mean_t }} > 0 and {{ mean_c }} > 0 then
      {%- if direction == 0 %}
          {{ mean_t }} / {{ mean_c }} - 1
      {%- else %}
          exp(ln({{ mean_t }} / {{ mean_c }}) + ({{ direction }}) * {{ t_quantile }} * {{ log_standard_error }}) - 1
      {%- endif %}
  end)
{%- endmacro %}

{#- Whether Welch's t interval can be trusted: it relies on each group mean being roughly
    normal (central limit theorem over customers), which fails for tiny groups and for
    rare events (a handful of customers carry all the signal). Both groups need at least
    `min_customers` customers and `min_nonzero` customers with a nonzero value. -#}
{% macro lift_normal_approximation_ok(customers_t, customers_c, nonzero_t, nonzero_c, min_customers=30, min_nonzero=10) %}
  (coalesce(
      {{ customers_t }} >= {{ min_customers }}
      and {{ customers_c }} >= {{ min_customers }}
      and {{ nonzero_t }} >= {{ min_nonzero }}
      and {{ nonzero_c }} >= {{ min_nonzero }},
      false
  ))
{%- endmacro %}

{#- Generic test: `column_name` sums to 1 (within `tolerance`) within each `group_by`
    group. Returns the groups that do not. -#}
{% test values_sum_to_one(model, column_name, group_by, tolerance=1e-9) %}
select
    {{ group_by | join(',\n    ') }},
    sum({{ column_name }}) as total
from {{ model }}
group by {{ group_by | join(', ') }}
having abs(sum({{ column_name }}) - 1) > {{ tolerance }}
{% endtest %}
