from decisioning.catalog import Catalog
from decisioning.dbt_io import config_from_meta, to_pandas
from decisioning.evaluation import LoggedDecisions, evaluate_history


def model(dbt, session):
    """Candidate policies evaluated on the imported history, before launch."""
    dbt.config(materialized="table")
    meta = dbt.config.get("meta")
    config = config_from_meta(meta)
    history_relation = dbt.ref("int_historical_decisions")
    catalog_relation = dbt.ref("action_catalog")
    catalog = Catalog.from_frame(
        to_pandas(catalog_relation), config.fields, config.policy.send_nothing
    )
    logged = LoggedDecisions.from_frame(to_pandas(history_relation), catalog)
    return evaluate_history(logged, catalog, config)
