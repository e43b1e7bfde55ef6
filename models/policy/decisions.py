from decisioning.catalog import Catalog
from decisioning.dbt_io import config_from_meta, to_pandas
from decisioning.decide import Audience, Limits, decide, empty_decisions
from decisioning.guardrails import SendTimes, Usage, block_triples
from decisioning.posterior import models_from_frame


def model(dbt, session):
    """Today's decision for every audience customer, with its propensity, or why none."""
    dbt.config(materialized="table")
    meta = dbt.config.get("meta")
    config = config_from_meta(meta)
    catalog_relation = dbt.ref("action_catalog")
    audience_relation = dbt.ref("audience")
    parameters_relation = dbt.ref("policy_model")
    progress_relation = dbt.ref("campaign_progress")
    send_times_relation = dbt.ref("send_times")
    send_blocks_relation = dbt.ref("send_blocks")
    history_relation = dbt.source("decisioning_history", "decision_log")
    catalog = Catalog.from_frame(
        to_pandas(catalog_relation), config.fields, config.policy.send_nothing
    )
    frame = to_pandas(audience_relation)
    if frame.empty:
        return empty_decisions(catalog.fields)
    required = tuple(sorted({c for r in config.guardrails.channels.values() for c in r.requires}))
    audience = Audience.from_frame(frame, required)
    today = to_pandas(
        history_relation.filter(
            f"decision_date = '{config.as_of}' and campaign_id = '{config.campaign_id}'"
        )
    )
    limits = Limits(
        send_times=SendTimes.from_frame(
            to_pandas(send_times_relation), catalog.values["send_slot"]
        ),
        blocks=block_triples(to_pandas(send_blocks_relation), audience.decision_ids, catalog),
        usage=Usage.from_frame(today, catalog.fields),
    )
    parameters = to_pandas(parameters_relation)
    models = models_from_frame(parameters, catalog)
    version = str(parameters["model_version"].iloc[0])
    days_running = int(to_pandas(progress_relation)["days_running"].iloc[0])
    return decide(audience, models, catalog, config, version, days_running, limits)
