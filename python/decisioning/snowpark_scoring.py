"""Deciding inside Snowflake: the audience never leaves the warehouse.

The ``decisions`` model's stored procedure reads the small inputs (``DecisionDay``) and
registers a temporary vectorized UDF that closes over them. Snowflake runs the UDF over
batches of the audience on every node and core of the warehouse; each batch is decided by
the same ``decide`` as on DuckDB, and since a decision depends only on its row and the day
(randomness keyed by decision id, Thompson draws shared per model version), the batches'
union equals one pass over the whole audience. The day-wide guardrails:

- **Exploration ceiling**: a first UDF pass gives each live policy row its keyed
  uniform; the warehouse counts them and sorts out the quota-th smallest, which fixes the
  day's ``Exploration`` for every batch of the second pass.
- **Offer budgets** consume one arrival order over the whole audience, which batches
  cannot share: a campaign with budgets is decided in one batch on the procedure's node.

A batch's decisions leave the UDF as JSON lines (floats with 15 decimals) and are typed
back into columns by the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from decisioning.day import DecisionDay
from decisioning.dbt_io import to_pandas
from decisioning.decide import empty_decisions
from decisioning.guardrails import Exploration

BLOCKS = "send_blocks"
"""The column the audience rows get their frequency-cap blocks in: ``channel@slot`` pairs,
comma-separated (``*@slot``: every channel)."""
EVERY_CHANNEL = "*"
PACKAGES = ("numpy", "pandas", "pyarrow")
"""What the UDF imports besides ``decisioning`` (Snowflake's Anaconda channel)."""


def decide_in_snowflake(
    day: DecisionDay,
    audience: Any,
    blocks: Any,
    session: Any,
    imports: Sequence[str] | None = None,
    packages: Sequence[str] | None = None,
) -> Any:
    """Today's decisions as a Snowpark DataFrame computed by the warehouse (a pandas
    frame when budgets make it one batch). ``imports``: the staged ``decisioning.zip``
    (``decisioning snowflake deploy``)."""
    if day.config.guardrails.budgets:
        return day.decide(to_pandas(audience), to_pandas(blocks))
    rows = _with_blocks(audience, blocks)
    udf = _Registrar(session, rows, imports or (), packages or PACKAGES)
    exploration = None
    ceiling = day.config.guardrails.max_exploration_share
    if ceiling is not None:
        exploration = _exploration(day, rows, udf, ceiling)
    decide = udf.register(lambda frame: decide_batch(day, frame, exploration))
    decided = rows.select(decide(*udf.columns).alias("DECISION"))
    return _typed(decided, day)


def decide_batch(
    day: DecisionDay, frame: pd.DataFrame, exploration: Exploration | None
) -> list[str]:
    """The UDF's work on one batch of audience rows: their decisions as JSON lines."""
    return _json_lines(day.decide(frame, blocks_of(frame), exploration))


def _exploration(day: DecisionDay, rows: Any, udf: _Registrar, ceiling: float) -> Exploration:
    """The day's explorer threshold and share, from every live policy row's uniform."""
    from snowflake.snowpark.functions import col
    from snowflake.snowpark.types import DoubleType

    def uniforms(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        u = day.explorer_uniforms(frame, blocks_of(frame))
        return np.nan_to_num(u, nan=-1.0)  # -1: not a candidate (Snowflake ranks NaN above 1)

    u = rows.select(udf.register(uniforms, DoubleType())(*udf.columns).alias("U"))
    candidates = u.filter(col("U") >= 0).cache_result()  # one UDF pass for count and sort

    def kth(k: int) -> float:
        return float(candidates.sort(col("U")).limit(1, offset=k - 1).collect()[0][0])

    return Exploration.of(candidates.count(), ceiling, day.usage, kth)


def _with_blocks(audience: Any, blocks: Any) -> Any:
    """Audience rows with their blocks as one text column (``BLOCKS``)."""
    from snowflake.snowpark.functions import coalesce, col, concat, listagg, lit

    pairs = blocks.select(
        col("decision_id").alias("BLOCKED_ID"),
        concat(coalesce(col("channel"), lit(EVERY_CHANNEL)), lit("@"), col("send_slot")).alias(
            "PAIR"
        ),
    )
    per_row = pairs.group_by("BLOCKED_ID").agg(listagg("PAIR", ",").alias(BLOCKS.upper()))
    joined = audience.join(per_row, audience["decision_id"] == per_row["BLOCKED_ID"], "left")
    return joined.drop("BLOCKED_ID")


def blocks_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``send_blocks`` rows (decision_id, channel, send_slot) of a batch's text column."""
    texts = pc.fill_null(pa.array(frame[BLOCKS].astype(object), pa.string()), "")
    lists = pc.split_pattern(texts, ",")
    rows, pairs = pc.list_parent_indices(lists), pc.list_flatten(lists)
    kept = pc.not_equal(pairs, "")
    rows, pairs = rows.filter(kept), pairs.filter(kept)
    parts = pc.split_pattern(pairs, "@", max_splits=1)
    channel = pc.list_element(parts, 0)
    ids = pa.array(frame["decision_id"].astype(object), pa.string())
    return pd.DataFrame(
        {
            "decision_id": ids.take(rows).to_pandas(),
            "channel": pc.if_else(pc.equal(channel, EVERY_CHANNEL), None, channel).to_pandas(),
            "send_slot": pc.list_element(parts, 1).to_pandas(),
        }
    )


class _Registrar:
    """Registers temporary vectorized UDFs over all of ``rows``' columns. A batch arrives
    as one DataFrame on Snowflake, or as one row of scalars in Snowpark's local testing."""

    def __init__(
        self, session: Any, rows: Any, imports: Sequence[str], packages: Sequence[str]
    ) -> None:
        from snowflake.snowpark.functions import col

        self.session, self.imports, self.packages = session, list(imports), list(packages)
        self.names = [f.name.strip('"').lower() for f in rows.schema.fields]
        self.types = [f.datatype for f in rows.schema.fields]
        self.columns = [col(f.name) for f in rows.schema.fields]

    def register(self, batch: Callable[[pd.DataFrame], Any], return_type: Any = None) -> Any:
        from snowflake.snowpark.types import PandasDataFrameType, PandasSeriesType, StringType

        names = self.names

        def handler(*columns: Any) -> Any:
            if isinstance(columns[0], pd.DataFrame):
                frame = columns[0].set_axis(names, axis=1)
            else:  # local testing: one row
                frame = pd.DataFrame([columns], columns=names)
            result = pd.Series(batch(frame))
            return result if isinstance(columns[0], pd.DataFrame) else result.iloc[0]

        handler.__annotations__.clear()  # Snowpark reads hints as SQL types; these are given
        return self.session.udf.register(
            handler,
            return_type=PandasSeriesType(return_type or StringType()),
            input_types=[PandasDataFrameType(self.types)],
            imports=self.imports or None,
            packages=self.packages,
            replace=True,
        )


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per decision (dates and times ISO, missing values null)."""
    frame = frame.assign(decision_date=frame["decision_date"].astype(str))
    text = frame.to_json(
        orient="records", lines=True, date_format="iso", date_unit="us", double_precision=15
    )
    return text.splitlines()


def _typed(decided: Any, day: DecisionDay) -> Any:
    """The JSON column as the decisions table's typed columns (JSON null as SQL NULL;
    dates and times through text, which Snowpark's local testing also reads)."""
    from snowflake.snowpark import types as t
    from snowflake.snowpark.functions import col, parse_json, strip_null_value

    value = parse_json(col("DECISION"))
    through_text = {
        "date32[day][pyarrow]": t.DateType(),
        "datetime64[us]": t.TimestampType(t.TimestampTimeZone.NTZ),
    }
    straight = {"string": t.StringType(), "float64": t.DoubleType(), "bool": t.BooleanType()}
    columns = []
    for column, dtype in empty_decisions(day.catalog.fields).dtypes.items():
        name, kind = str(column), str(dtype)
        field = strip_null_value(value[name])
        if kind in through_text:
            typed = field.cast(t.StringType()).try_cast(through_text[kind])
        else:
            typed = field.cast(straight[kind])
        columns.append(typed.alias(name.upper()))
    return decided.select(columns)
