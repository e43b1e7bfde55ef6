import json

import pandas as pd

from decisioning.dbt_io import config_from_meta


def model(dbt, session):
    """Validates the `decisioning` var before any model that reads it runs."""
    dbt.config(materialized="table")
    meta = dbt.config.get("meta")
    config = config_from_meta(meta)
    return pd.DataFrame(
        {
            "campaign_id": [config.campaign_id],
            "as_of": [config.as_of],
            "algorithm": [config.policy.algorithm],
            "settings": [json.dumps(config.raw, sort_keys=True)],
        }
    )
