-- depends_on: {{ ref('decision_log') }}
-- Today's use of each budgeted field value is within its budget.
{%- set budgets = decisioning_config()['guardrails']['budgets'] %}
{%- for budget in budgets %}
select * from (
    {{ test_within_budget(guardrail_checked_table(), budget['field'], budget['value'], budget.get('max_count'), budget.get('max_share'), where=guardrail_checked_rows()) }}
) as budget_{{ loop.index }}
{{ 'union all' if not loop.last }}
{%- else %}
select 1 as no_budgets where 1 = 0
{%- endfor %}
