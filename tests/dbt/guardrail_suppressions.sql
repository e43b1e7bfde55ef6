-- depends_on: {{ ref('decision_log') }}
-- No decision today for a customer under an active suppression.
{{ test_not_suppressed(guardrail_checked_table(), ref('stg_decisioning__suppressions'), where=guardrail_checked_rows()) }}
