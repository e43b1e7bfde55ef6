from decisioning.catalog import Catalog
from decisioning.dbt_io import config_from_meta, to_pandas
from decisioning.decide import Audience, decide, empty_decisions
from decisioning.posterior import models_from_frame


def model(dbt, session):
    """Today's decision for every decidable audience customer, with its propensity."""
    dbt.config(materialized="table")
    meta = dbt.config.get("meta")
    config = config_from_meta(meta)
    catalog_relation = dbt.ref("action_catalog")
    audience_relation = dbt.ref("audience")
    parameters_relation = dbt.ref("policy_model")
    progress_relation = dbt.ref("campaign_progress")
    send_nothing = config.policy.send_nothing
    catalog = Catalog.from_frame(to_pandas(catalog_relation), config.fields, send_nothing)
    audience = to_pandas(audience_relation.filter("has_eligible_channel"))
    if audience.empty:
        return empty_decisions(catalog.fields)
    parameters = to_pandas(parameters_relation)
    models = models_from_frame(parameters, catalog)
    version = str(parameters["model_version"].iloc[0])
    days_running = int(to_pandas(progress_relation)["days_running"].iloc[0])
    return decide(Audience.from_frame(audience), models, catalog, config, version, days_running)
