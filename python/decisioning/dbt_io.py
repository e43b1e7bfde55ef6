"""The one place that knows what dbt hands a Python model.

dbt-duckdb gives DuckDB relations, dbt-snowflake Snowpark DataFrames. Small inputs become
pandas here, so the core never imports either; the audience stays in Snowflake and is
decided there (``decisioning.snowpark_scoring``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from decisioning.config import Config, load_config
from decisioning.day import DecisionDay


def is_snowpark(relation: Any) -> bool:
    """Whether dbt handed a Snowpark DataFrame (dbt-snowflake)."""
    return type(relation).__module__.startswith("snowflake.snowpark")


def to_pandas(relation: Any) -> pd.DataFrame:
    """A pandas frame from a DuckDB relation or a Snowpark DataFrame (lower-case names)."""
    frame: pd.DataFrame
    if hasattr(relation, "to_arrow_table"):
        frame = relation.to_arrow_table().to_pandas()
    elif hasattr(relation, "to_pandas"):
        frame = relation.to_pandas()
        frame.columns = [c.lower() for c in frame.columns]
    else:
        raise TypeError(f"Cannot read a {type(relation).__name__} as a table.")
    return frame


def rows_where(relation: Any, **equals: Any) -> Any:
    """The relation's rows whose columns equal the given values, filtered in the database."""
    if is_snowpark(relation):
        from snowflake.snowpark.functions import col, lit

        conditions = [col(name) == lit(value) for name, value in equals.items()]
        return relation.filter(functools.reduce(lambda a, b: a & b, conditions))
    return relation.filter(" and ".join(f"{name} = '{value}'" for name, value in equals.items()))


def decide_relation(
    day: DecisionDay,
    audience: Any,
    blocks: Any,
    session: Any,
    imports: Sequence[str] | None = None,
    packages: Sequence[str] | None = None,
) -> Any:
    """Today's decisions for the ``audience`` relation given its ``send_blocks``: in this
    process on DuckDB, across the warehouse by a vectorized UDF on Snowflake (``imports``
    and ``packages``: what the UDF needs, as the Python models declare them)."""
    if is_snowpark(audience):
        from decisioning.snowpark_scoring import decide_in_snowflake

        return decide_in_snowflake(day, audience, blocks, session, imports, packages)
    return day.decide(to_pandas(audience), to_pandas(blocks))


def config_from_meta(meta: Mapping[str, Any] | None) -> Config:
    """The validated config a model's YAML passed in ``meta`` (decisioning, run_date)."""
    meta = meta or {}
    run_date = meta.get("run_date")
    return load_config(
        meta.get("decisioning") or "{}",
        run_date=dt.date.fromisoformat(run_date) if run_date else None,
    )
