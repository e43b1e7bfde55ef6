"""Deciding inside Snowflake: the audience never leaves the warehouse.

The ``decisions`` model's stored procedure reads the small inputs (``DecisionDay``) and
registers a temporary vectorized UDF that closes over them. Snowflake runs the UDF over
batches of the audience on every node and core of the warehouse; each batch is decided by
the same ``decide`` as on DuckDB, and since a decision depends only on its row and the day
(randomness keyed by decision id, Thompson draws shared per model version), the batches'
union equals one pass over the whole audience. The day-wide guardrails are fixed by
earlier passes and handed to every batch:

- **Exploration ceiling**: a first pass gives each row its exploration key; the warehouse
  counts the live rows and sorts out the quota-th smallest policy key (``Exploration``).
- **Offer budgets** follow one arrival order over the whole audience: passes find, field
  by field, the arrival point where each budgeted value runs out (``DayBudgets``), by
  counting takers in the warehouse; customers left with nothing are skipped and the day
  is counted again, as in one pass.

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

from decisioning.day import BUDGET_EXHAUSTED, DecisionDay
from decisioning.decide import DayBudgets, arrival_uniforms, empty_decisions
from decisioning.guardrails import Exploration, budget_limits

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
    """Today's decisions as a Snowpark DataFrame computed by the warehouse. ``imports``:
    the staged ``decisioning.zip`` (``decisioning snowflake deploy``)."""
    from snowflake.snowpark.functions import col, lit

    rows = _with_blocks(audience, blocks).with_column(BUDGET_EXHAUSTED.upper(), lit(False))
    udf = _Registrar(session, rows, imports or (), packages or PACKAGES)
    guardrails = day.config.guardrails
    exploration, budgets, skipped = None, None, None
    while True:  # budget skips shrink the day's limits: repeat until no new one (as decide)
        marked = rows if skipped is None else _marked(rows, skipped, udf)
        if guardrails.max_exploration_share is not None or guardrails.budgets:
            exploration, decisions = _first_pass(day, marked, udf)
        if guardrails.budgets:
            budgets = _budget_cuts(day, marked, udf, exploration, decisions)
        decide = udf.register(_batch(decide_batch, day, exploration, budgets))
        decided = _typed(marked.select(decide(*udf.columns).alias("DECISION")), day)
        if budgets is None:
            return decided
        decided = decided.cache_result()
        spent = decided.filter(col("SKIP_REASON") == lit("budget_exhausted")).select(
            col("DECISION_ID").alias("SPENT_ID")
        )
        if spent.count() == (0 if skipped is None else skipped.count()):
            return decided
        skipped = spent.cache_result()


def decide_batch(
    day: DecisionDay,
    frame: pd.DataFrame,
    exploration: Exploration | None = None,
    budgets: DayBudgets | None = None,
) -> list[str]:
    """The UDF's work on one batch of audience rows: their decisions as JSON lines."""
    return _json_lines(day.decide(frame, blocks_of(frame), exploration, budgets))


def _batch(
    function: Callable[..., Any], day: DecisionDay, *rest: Any
) -> Callable[[pd.DataFrame], Any]:
    """``function(day, frame, *rest)`` as a batch function of the frame alone."""
    return lambda frame: function(day, frame, *rest)


def _first_pass(day: DecisionDay, rows: Any, udf: _Registrar) -> tuple[Exploration | None, int]:
    """The day's exploration (threshold and share) and its number of decisions, from every
    row's exploration key (``DecisionDay.live_keys``)."""
    from snowflake.snowpark.functions import col
    from snowflake.snowpark.types import DoubleType

    def keys(day: DecisionDay, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        key = day.live_keys(frame, blocks_of(frame))
        return np.nan_to_num(key, nan=-1.0)  # -1: skipped (Snowflake ranks NaN above all)

    keyed = rows.select(udf.register(_batch(keys, day), DoubleType())(*udf.columns).alias("K"))
    live = keyed.filter(col("K") >= 0).cache_result()  # one UDF pass for counts and sort
    decisions = live.count() + day.usage.decisions
    ceiling = day.config.guardrails.max_exploration_share
    if ceiling is None:
        return None, decisions
    candidates = live.filter(col("K") < 1)

    def kth(k: int) -> float:
        return float(candidates.sort(col("K")).limit(1, offset=k - 1).collect()[0][0])

    return Exploration.of(candidates.count(), ceiling, day.usage, kth), decisions


def _budget_cuts(
    day: DecisionDay, rows: Any, udf: _Registrar, exploration: Exploration | None, decisions: int
) -> DayBudgets:
    """Where each budgeted value runs out in the day's arrival order, field by field as
    they are drawn: a pass draws every row under the cuts found so far; the earliest
    value whose limit-th taker (in arrival order) exists is cut there, and the pass is
    repeated, until no budget runs out in the rows left. At most one pass per budgeted
    value and one more per budgeted field."""
    from snowflake.snowpark.functions import col
    from snowflake.snowpark.types import DoubleType

    cuts: dict[str, dict[int, float]] = {}
    for field in day.catalog.fields:
        values, budgets = day.catalog.values[field], day.config.guardrails.budgets
        remaining = budget_limits(budgets, field, values, decisions, day.usage)
        if not remaining:
            continue
        spent = cuts.setdefault(field, {})
        arrival = udf.register(_batch(_arrival, day, field), DoubleType())
        while True:
            so_far = DayBudgets(decisions, {f: dict(c) for f, c in cuts.items()})
            takers = udf.register(_batch(_takers, day, field, exploration, so_far), DoubleType())
            drawn = rows.select(
                takers(*udf.columns).alias("V"), arrival(*udf.columns).alias("U")
            ).filter(col("V") >= 0)
            drawn = drawn.cache_result()
            found = {}
            for value, left in remaining.items():
                if value not in spent and left > 0:
                    taker = drawn.filter(col("V") == value).sort(col("U"))
                    limit_th = taker.select(col("U")).limit(1, offset=left - 1).collect()
                    if limit_th:
                        found[value] = float(limit_th[0][0])
            if not found:
                break
            first = min(found, key=lambda v: found[v])
            spent[first] = found[first]
    return DayBudgets(decisions, cuts)


def _arrival(day: DecisionDay, frame: pd.DataFrame, field: str) -> npt.NDArray[np.float64]:
    return arrival_uniforms(frame["decision_id"], day.catalog, field)


def _takers(
    day: DecisionDay,
    frame: pd.DataFrame,
    field: str,
    exploration: Exploration | None,
    budgets: DayBudgets,
) -> npt.NDArray[np.float64]:
    drawn = day.budget_takers(frame, blocks_of(frame), field, exploration, budgets)
    return drawn.astype(np.float64)


def _marked(rows: Any, skipped: Any, udf: _Registrar) -> Any:
    """``rows`` with ``BUDGET_EXHAUSTED`` true for the ``skipped`` decision ids."""
    from snowflake.snowpark.functions import col

    flag = BUDGET_EXHAUSTED.upper()
    joined = rows.drop(flag).join(skipped, rows["decision_id"] == skipped["SPENT_ID"], "left")
    marked = joined.with_column(flag, col("SPENT_ID").is_not_null()).drop("SPENT_ID")
    return marked.select(udf.columns)


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
