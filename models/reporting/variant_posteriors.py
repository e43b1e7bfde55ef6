from decisioning.catalog import Catalog
from decisioning.dbt_io import config_from_meta, to_pandas
from decisioning.posterior import models_from_frame
from decisioning.variants import variant_performance


def model(dbt, session):
    """Per field and value: traffic, measured reward, and what the model believes."""
    dbt.config(materialized="table")
    meta = dbt.config.get("meta")
    config = config_from_meta(meta)
    outcomes_relation = dbt.ref("int_variant_outcomes")
    profile_relation = dbt.ref("int_audience_profile")
    catalog_relation = dbt.ref("action_catalog")
    parameters_relation = dbt.ref("policy_model")
    catalog = Catalog.from_frame(
        to_pandas(catalog_relation), config.fields, config.policy.send_nothing
    )
    parameters = to_pandas(parameters_relation)
    models = models_from_frame(parameters, catalog)
    return variant_performance(
        to_pandas(outcomes_relation),
        to_pandas(profile_relation),
        models,
        config,
        str(parameters["model_version"].iloc[0]),
    )
