"""The Python models' bodies on Snowpark (local testing mode) against the DuckDB build.

A small demo world is built on DuckDB; the tables its Python models read are copied into a
Snowpark session in local testing mode, and each model body runs there as dbt-snowflake
would run it (``dbt.ref`` gives Snowpark DataFrames). Its output must equal the DuckDB
build's table. ``decisions`` runs distributed there: a vectorized UDF over the audience
(local testing calls it one row at a time, the strictest batching there is), with the
passes that fix the exploration ceiling and the budgets for the whole day.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from decisioning.demo import run_demo
from decisioning.project import Project

snowpark = pytest.importorskip("snowflake.snowpark")

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2026, 3, 2)
DAYS = 3
SETTINGS = {
    "audience": {"max_per_day": 150, "recontact_days": 1},
    "guardrails": {"budgets": [], "max_exploration_share": 0.5},
}
INPUTS = (
    "action_catalog",
    "audience",
    "policy_model",
    "policy_statistics",
    "campaign_progress",
    "send_times",
    "send_blocks",
    "int_policy_decisions",
    "int_variant_outcomes",
    "int_audience_profile",
)

pytestmark = [
    pytest.mark.e2e,
    # Snowpark's local-testing engine builds its frames column by column.
    pytest.mark.filterwarnings("ignore::pandas.errors.PerformanceWarning"),
]


class DuckRelations:
    """What dbt-duckdb hands a Python model: relations on the build's database (only the
    audience's decision ids below ``ids_below``, when given)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, as_of: dt.date, ids_below: str = "") -> None:
        self.con, self.as_of, self.ids_below = con, as_of, ids_below

    def table(self, name: str) -> Any:
        if name == "decision_log":  # as the build saw it: before today's rows were logged
            return self.con.sql(
                f"select * from main.decision_log where decision_date < '{self.as_of}'"
            )
        if name == "audience" and self.ids_below:
            where = f"decision_id < '{self.ids_below}'"
            return self.con.sql(f"select * from main.audience where {where}")
        return self.con.table(f"main.{name}")


class SnowparkTables:
    """What dbt-snowflake hands a Python model: Snowpark tables in the session."""

    def __init__(self, session: Any, ids_below: str = "") -> None:
        self.session, self.ids_below = session, ids_below

    def table(self, name: str) -> Any:
        table = self.session.table(name.upper())
        if name == "audience" and self.ids_below:
            return table.filter(snowpark.functions.col("DECISION_ID") < self.ids_below)
        return table


class Dbt:
    """The ``dbt`` object of a Python model (ref, source, config) over ``tables``."""

    def __init__(self, tables: Any, meta: dict[str, str]) -> None:
        self.tables, self.meta = tables, meta
        self.config = _Config(meta)

    def ref(self, name: str) -> Any:
        return self.tables.table(name)

    def source(self, _: str, name: str) -> Any:
        return self.tables.table(name)


class _Config:
    def __init__(self, meta: dict[str, str]) -> None:
        self.meta = meta

    def __call__(self, **_: Any) -> None:
        pass

    def get(self, key: str) -> Any:
        return self.meta if key == "meta" else None


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dt.date, str]]:
    tmp = tmp_path_factory.mktemp("snowpark")
    project = Project.open(ROOT, tmp / "world.duckdb")
    run_demo(
        customers=900,
        days=DAYS,
        seed=11,
        start=START,
        overrides=SETTINGS,
        project=project,
        progress=False,
    )
    as_of = START + dt.timedelta(days=DAYS - 1)
    with duckdb.connect(str(project.database)) as con:
        settings = con.execute("select settings from main.decisioning_config").fetchall()[0][0]
    yield project.database, as_of, settings


@pytest.fixture(scope="module")
def session(world: tuple[Path, dt.date, str]) -> Iterator[Any]:
    database, as_of, _ = world
    session = snowpark.Session.builder.config("local_testing", True).create()
    with duckdb.connect(str(database)) as con:
        tables = DuckRelations(con, as_of)
        for name in (*INPUTS, "decision_log"):
            _save(session, name, tables.table(name))
    yield session
    session.close()


def _save(session: Any, name: str, relation: duckdb.DuckDBPyRelation) -> None:
    """The DuckDB table as a Snowpark table of the same column types."""
    types = snowpark.types
    kinds = {
        "VARCHAR": types.StringType(),
        "DOUBLE": types.DoubleType(),
        "FLOAT": types.DoubleType(),
        "BOOLEAN": types.BooleanType(),
        "DATE": types.DateType(),
        "TIMESTAMP": types.TimestampType(types.TimestampTimeZone.NTZ),
    }
    fields = [
        types.StructField(column.upper(), kinds.get(str(kind), types.LongType()))
        for column, kind in zip(relation.columns, relation.types, strict=True)
    ]
    rows = [list(row) for row in relation.fetchall()]
    frame = session.create_dataframe(rows, schema=types.StructType(fields))
    frame.write.save_as_table(name.upper(), mode="overwrite")


def _model(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _meta(world: tuple[Path, dt.date, str], **changes: Any) -> dict[str, str]:
    _, as_of, settings = world
    raw = {**json.loads(settings), **changes}
    return {"decisioning": json.dumps(raw), "run_date": as_of.isoformat()}


def _frame(result: Any) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result
    # Local testing reads a JSON null as the text 'NaN' in a text column, even through
    # strip_null_value (Snowflake: SQL NULL); no column the models write holds that text.
    frame = result.to_pandas().rename(columns=str.lower).replace("NaN", None)
    return frame


def _assert_same(left: pd.DataFrame, right: pd.DataFrame, key: list[str]) -> None:
    assert sorted(left.columns) == sorted(right.columns)
    left = left.sort_values(key).reset_index(drop=True)
    right = right[left.columns].sort_values(key).reset_index(drop=True)
    assert len(left) == len(right) > 0
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(b) or pd.api.types.is_float_dtype(a):
            np.testing.assert_allclose(
                a.astype(float), b.astype(float), rtol=1e-12, atol=1e-12, err_msg=column
            )
        elif pd.api.types.is_datetime64_any_dtype(b):
            assert (pd.to_datetime(a).fillna(pd.Timestamp(0)) == b.fillna(pd.Timestamp(0))).all()
        else:
            assert a.astype(object).where(a.notna(), None).astype(str).tolist() == (
                b.astype(object).where(b.notna(), None).astype(str).tolist()
            ), column


def test_decisions_on_snowpark_equal_the_duckdb_build(world, session) -> None:  # type: ignore[no-untyped-def]
    database, _, _ = world
    result = _model("models/policy/decisions.py").model(
        Dbt(SnowparkTables(session), _meta(world)), session
    )
    assert not isinstance(result, pd.DataFrame)  # distributed: a Snowpark DataFrame
    with duckdb.connect(str(database)) as con:
        built = con.table("main.decisions").df()
    decided = _frame(result)
    _assert_same(decided, built, ["decision_id"])
    # The ceiling held across batches of one row: exactly the day's quota explored.
    policy = built[(built["decision_group"] == "policy") & built["skip_reason"].isna()]
    assert decided["is_exploration"].sum() == built["is_exploration"].sum() > 0
    assert built["is_exploration"].sum() <= 0.5 * len(policy) + 1


@pytest.mark.parametrize(
    "guardrails",
    [
        pytest.param({"budgets": [], "max_exploration_share": None}, id="one-pass"),
        pytest.param(
            {
                "budgets": [
                    {"field": "channel", "value": "email", "max_share": 0.2},
                    {"field": "offer", "value": "of_plan", "max_count": 3},
                ],
                "max_exploration_share": 0.5,
            },
            id="budgets",
        ),
    ],
)
def test_decisions_on_snowpark_equal_duckdb_under_other_guardrails(  # type: ignore[no-untyped-def]
    world, session, guardrails
) -> None:
    database, as_of, settings = world
    raw = json.loads(settings)
    meta = _meta(world, guardrails={**raw["guardrails"], **guardrails})
    decisions = _model("models/policy/decisions.py")
    half = "8"  # decision ids are hex: about half the audience (local testing is slow)
    on_snowpark = decisions.model(Dbt(SnowparkTables(session, half), meta), session)
    assert not isinstance(on_snowpark, pd.DataFrame)  # distributed, budgets too
    with duckdb.connect(str(database)) as con:
        on_duckdb = decisions.model(Dbt(DuckRelations(con, as_of, half), meta), con)
    _assert_same(_frame(on_snowpark), on_duckdb, ["decision_id"])
    if guardrails["budgets"]:  # both budgets bound; email-only customers were skipped
        decided = on_duckdb["skip_reason"].isna()
        for budget in guardrails["budgets"]:
            given = (on_duckdb[budget["field"]] == budget["value"]).sum()
            limit = budget.get("max_count") or int(budget["max_share"] * decided.sum())
            assert given == limit
        assert (on_duckdb["skip_reason"] == "budget_exhausted").sum() > 0


@pytest.mark.parametrize(
    ("path", "table", "key"),
    [
        ("models/config/decisioning_config.py", "decisioning_config", ["campaign_id"]),
        (
            "models/policy/policy_model.py",
            "policy_model",
            ["field", "value_id", "parameter", "row_index", "col_index"],
        ),
        ("models/reporting/policy_estimates.py", "policy_estimates", ["policy", "estimator"]),
        ("models/reporting/variant_posteriors.py", "variant_posteriors", ["field", "value_id"]),
    ],
)
def test_other_python_models_on_snowpark_equal_the_duckdb_build(  # type: ignore[no-untyped-def]
    world, session, path, table, key
) -> None:
    database, _, _ = world
    result = _model(path).model(Dbt(SnowparkTables(session), _meta(world)), session)
    with duckdb.connect(str(database)) as con:
        built = con.table(f"main.{table}").df()
    _assert_same(_frame(result), built, key)
