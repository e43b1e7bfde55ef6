from decisioning.catalog import Catalog
from decisioning.dbt_io import config_from_meta, to_pandas
from decisioning.policies import policy_class
from decisioning.posterior import feature_names_of, fit_models, model_version, models_to_frame


def model(dbt, session):
    """Posterior parameters of each field value's reward model (long format)."""
    dbt.config(materialized="table")
    meta = dbt.config.get("meta")
    config = config_from_meta(meta)
    statistics_relation = dbt.ref("policy_statistics")
    catalog_relation = dbt.ref("action_catalog")
    audience_relation = dbt.ref("audience")
    statistics = to_pandas(statistics_relation)
    policy = config.policy
    catalog = Catalog.from_frame(to_pandas(catalog_relation), config.fields, policy.send_nothing)
    features = tuple(c for c in to_pandas(audience_relation.limit(0)).columns if c.startswith("x_"))
    if not statistics.empty and feature_names_of(statistics) != features:
        raise ValueError("policy_statistics and audience disagree on the features; rebuild both.")
    used = features if policy_class(policy.algorithm).contextual else ("x_intercept",)
    models = fit_models(statistics, catalog, used, policy.prior_variance, features)
    settings = {
        "as_of": config.as_of,
        "policy": config.raw["policy"],
        "catalog": catalog.action_feature_names,
    }
    return models_to_frame(models, model_version(settings, statistics))
