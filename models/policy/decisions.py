from decisioning.day import DecisionDay
from decisioning.dbt_io import config_from_meta, decide_relation, rows_where, to_pandas


def model(dbt, session):
    """Today's decision for every audience customer, with its propensity, or why none."""
    dbt.config(materialized="table")
    meta = dbt.config.get("meta")
    imports = dbt.config.get("imports")
    packages = dbt.config.get("packages")
    config = config_from_meta(meta)
    catalog_relation = dbt.ref("action_catalog")
    audience_relation = dbt.ref("audience")
    parameters_relation = dbt.ref("policy_model")
    progress_relation = dbt.ref("campaign_progress")
    send_times_relation = dbt.ref("send_times")
    send_blocks_relation = dbt.ref("send_blocks")
    history_relation = dbt.source("decisioning_history", "decision_log")
    today = rows_where(history_relation, decision_date=config.as_of, campaign_id=config.campaign_id)
    day = DecisionDay.from_frames(
        config,
        catalog=to_pandas(catalog_relation),
        parameters=to_pandas(parameters_relation),
        progress=to_pandas(progress_relation),
        send_times=to_pandas(send_times_relation),
        today=to_pandas(today),
    )
    return decide_relation(day, audience_relation, send_blocks_relation, session, imports, packages)
