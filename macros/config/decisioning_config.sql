{#- The campaign's settings: the `decisioning` var merged over the defaults.
    The root model `decisioning_config` validates the same block in Python before any
    model that reads it runs. -#}
{% macro decisioning_config() %}
  {%- set cfg = _decisioning_merge(decisioning_defaults(), var('decisioning', {})) -%}
  {%- if cfg['as_of'] is none -%}
    {%- do cfg.update({'as_of': run_started_at.strftime('%Y-%m-%d')}) -%}
  {%- endif -%}
  {{ return(cfg) }}
{% endmacro %}

{#- Deep merge; mappings whose default is empty (column maps, levels, default action) are
    replaced whole, as in python/decisioning/config.py. -#}
{% macro _decisioning_merge(defaults, overrides) %}
  {%- set merged = {} -%}
  {%- do merged.update(defaults) -%}
  {%- for key, value in overrides.items() -%}
    {%- set default = defaults.get(key) -%}
    {%- if default is mapping and default | length > 0 and value is mapping -%}
      {%- do merged.update({key: _decisioning_merge(default, value)}) -%}
    {%- else -%}
      {%- do merged.update({key: value}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(merged) }}
{% endmacro %}

{#- The build's knowledge cut-off: midnight UTC at the start of `as_of`. Nothing at or
    after it is visible to the build, so backfills and simulations are exact. -#}
{% macro as_of_timestamp() %}
  cast('{{ decisioning_config()["as_of"] }}' as timestamp)
{%- endmacro %}

{% macro as_of_date() %}
  cast('{{ decisioning_config()["as_of"] }}' as date)
{%- endmacro %}

{#- How long after the send a reward stays pending: the attribution window or the longest
    goal window (reward.goals' within_days), whichever is longer (Config.reward_window_hours). -#}
{% macro reward_window_hours() %}
  {%- set reward = decisioning_config()['reward'] -%}
  {%- set hours = [reward['attribution_window_hours']] -%}
  {%- for goal in reward['goals'] -%}
    {%- do hours.append(goal['within_days'] * 24) -%}
  {%- endfor -%}
  {{ return(hours | max) }}
{% endmacro %}

{#- Every decided field: channel, send slot, then the configured message fields. -#}
{% macro decision_fields() %}
  {{ return(['channel', 'send_slot'] + decisioning_config()['message_fields']) }}
{% endmacro %}

{#- The contract's opt-in column per channel: eligibility columns in customer_features. -#}
{% macro opt_in_columns() %}
  {{ return(['email_opt_in', 'push_opt_in', 'sms_opt_in']) }}
{% endmacro %}

{#- The feature vector the policy sees, in order. Built from config, so customer_features,
    decision_contexts and policy_statistics always agree. -#}
{% macro feature_names() %}
  {%- set features = decisioning_config()['features'] -%}
  {%- set names = [
      'x_intercept', 'x_recency', 'x_events_30d', 'x_events_lookback',
      'x_conversions_lookback', 'x_tenure'] -%}
  {%- for channel in ['email', 'push', 'sms'] -%}
    {%- do names.extend(['x_' ~ channel ~ '_opt_in', 'x_' ~ channel ~ '_open_rate',
                         'x_' ~ channel ~ '_click_rate']) -%}
  {%- endfor -%}
  {%- for attribute, levels in features['categorical'].items() | sort -%}
    {%- for level in levels -%}
      {%- do names.append(feature_level_name(attribute, level)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- for attribute in features['numeric'] -%}
    {%- do names.append('x_' ~ attribute) -%}
  {%- endfor -%}
  {%- if decisioning_config()['recommendations']['field'] -%}
    {#- What tells the recommendation strategies apart (customer_features). -#}
    {%- do names.extend(['x_items_done', 'x_top_category_share']) -%}
  {%- endif -%}
  {{ return(names) }}
{% endmacro %}

{% macro feature_level_name(attribute, level) %}
  {{- return('x_' ~ attribute ~ '_' ~ modules.re.sub('[^a-z0-9]+', '_', (level | string) | lower)) -}}
{% endmacro %}
