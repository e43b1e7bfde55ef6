from decisioning.catalog import Catalog
from decisioning.dbt_io import config_from_meta, to_pandas
from decisioning.evaluation import LoggedDecisions, evaluate


def model(dbt, session):
    """Off-policy estimates of other policies on the campaign's logged decisions."""
    dbt.config(materialized="table")
    meta = dbt.config.get("meta")
    config = config_from_meta(meta)
    decisions_relation = dbt.ref("int_policy_decisions")
    catalog_relation = dbt.ref("action_catalog")
    progress_relation = dbt.ref("campaign_progress")
    catalog = Catalog.from_frame(
        to_pandas(catalog_relation), config.fields, config.policy.send_nothing
    )
    logged = LoggedDecisions.from_frame(to_pandas(decisions_relation), catalog)
    days_running = int(to_pandas(progress_relation)["days_running"].iloc[0])
    return evaluate(logged, catalog, config, days_running)
