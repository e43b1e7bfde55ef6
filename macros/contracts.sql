{#- The message fields the enforced contracts of decision_log and decisions_to_sync list
    (models/history/history.yml, models/marts/marts.yml). dbt contracts are static: when
    the configured message_fields differ (another field, or a recommendation field, whose
    decisions_to_sync columns are <field>_id, <field> and <field>_item_id), those two
    contracts are not enforced. To keep them, add the field's columns to both YAML files
    and list the fields here. -#}
{% macro contracted_message_fields() %}
  {{ return(['subject_line', 'greeting', 'offer']) }}
{% endmacro %}

{% macro decision_contract_enforced() %}
  {{ return(decisioning_config()['message_fields'] == contracted_message_fields()) }}
{% endmacro %}
