"""The one place that knows what dbt hands a Python model.

dbt-duckdb gives DuckDB relations, dbt-snowflake Snowpark DataFrames; both become pandas
here, so the core never imports either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from decisioning.config import Config, load_config


def to_pandas(relation: Any) -> pd.DataFrame:
    """A pandas frame from a DuckDB relation or a Snowpark DataFrame."""
    frame: pd.DataFrame
    if hasattr(relation, "to_arrow_table"):
        frame = relation.to_arrow_table().to_pandas()
    elif hasattr(relation, "to_pandas"):
        frame = relation.to_pandas()
        frame.columns = [c.lower() for c in frame.columns]
    else:
        raise TypeError(f"Cannot read a {type(relation).__name__} as a table.")
    return frame


def config_from_meta(meta: Mapping[str, Any] | None) -> Config:
    """The validated config a model's YAML passed in ``meta`` (decisioning, run_date)."""
    meta = meta or {}
    run_date = meta.get("run_date")
    return load_config(
        meta.get("decisioning") or "{}",
        run_date=dt.date.fromisoformat(run_date) if run_date else None,
    )
