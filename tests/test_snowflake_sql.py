"""The project's SQL runs on Snowflake as on DuckDB, checked without a Snowflake account.

- The project parses for the ``snowflake`` target.
- Every dispatched macro (macros/cross_database.sql and friends) is rendered for both
  adapters by ``dbt run-operation render_dispatch``. The DuckDB rendering, run in DuckDB,
  gives a value computed independently in Python; the Snowflake rendering parses as
  Snowflake SQL and, where sqlglot translates its functions faithfully, gives the same
  value once translated to DuckDB (else its exact text is asserted).
- No DuckDB-only construct appears in the SQL outside a ``duckdb__`` macro.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import statistics
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from dbt.cli.main import dbtRunner

from decisioning.project import Project

ROOT = Path(__file__).resolve().parents[1]
SQL_FOLDERS = ("models", "macros", "tests/dbt")
UTC = dt.UTC


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _local(utc: str, zone: str) -> dt.datetime:
    instant = _parse(utc).replace(tzinfo=UTC)
    return instant.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)


def _utc(local: str, zone: str) -> dt.datetime:
    wall_clock = _parse(local).replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return wall_clock.astimezone(UTC).replace(tzinfo=None)


def _timestamp(text: str) -> str:
    return f"cast('{text}' as timestamp)"


@dataclass(frozen=True)
class Sample:
    """A dispatched macro called with SQL arguments, and the values it gives (one per row
    of ``rows``, a FROM clause, when the expression reads rows), to ``tolerance`` for
    doubles. ``snowflake`` is the exact Snowflake text, for the macros whose functions
    sqlglot does not translate to DuckDB faithfully."""

    macro: str
    arguments: tuple[str, ...]
    expected: tuple[Any, ...]
    rows: str = ""
    tolerance: float = 1e-12
    snowflake: str | None = None

    def query(self, expression: str) -> str:
        return f"select {expression} as value {self.rows}"


KEY = "holdout-v1|c000042"
ZONES = zoneinfo.available_timezones()
THREE_ROWS = "from (values ('c', 1.0), ('a', 0.0), ('b', 0.0)) as t(label, x)"
# Student's t 97.5% quantile, 30 degrees of freedom (scipy.stats.t.ppf(0.975, 30)).
T_975_30 = 2.0422724563012373

SAMPLES = (
    Sample(
        "hash_to_unit_interval",
        (f"'{KEY}'",),
        (int(hashlib.md5(KEY.encode()).hexdigest()[:8], 16) / 2**32,),
        # sqlglot drops TO_NUMBER's hexadecimal format.
        snowflake=(
            f"(cast(to_number(substr(md5('{KEY}'), 1, 8), 'XXXXXXXX') as double) / 4294967296.0)"
        ),
    ),
    # Europe/Berlin moves to summer time on 2026-03-29, New York back on 2026-11-01 (the
    # two UTC instants are the same wall-clock time, 01:30, an hour apart).
    *(
        Sample("utc_to_local", (_timestamp(utc), f"'{zone}'"), (_local(utc, zone),))
        for utc, zone in (
            ("2026-03-28 12:00:00", "Europe/Berlin"),
            ("2026-03-29 12:00:00", "Europe/Berlin"),
            ("2026-11-01 05:30:00", "America/New_York"),
            ("2026-11-01 06:30:00", "America/New_York"),
        )
    ),
    *(
        Sample("local_to_utc", (_timestamp(local), f"'{zone}'"), (_utc(local, zone),))
        for local, zone in (
            ("2026-03-28 12:00:00", "Europe/Berlin"),
            ("2026-03-29 12:00:00", "Europe/Berlin"),
            ("2026-07-01 08:00:00", "America/Los_Angeles"),
        )
    ),
    *(
        Sample("is_known_timezone", (f"'{zone}'",), (zone in ZONES,))
        for zone in ("Europe/Berlin", "America/Argentina/Buenos_Aires", "Nowhere/Zone")
    ),
    Sample("is_known_timezone", ("cast(null as varchar)",), (None,)),
    *(
        Sample("add_hours", (_timestamp(start), sql), (_parse(start) + dt.timedelta(hours=hours),))
        for start, sql, hours in (
            ("2026-01-10 00:00:00", "-24 * 7", -24 * 7),
            ("2026-03-29 00:00:00", "1.5", 1.5),
        )
    ),
    Sample("add_days", ("cast('2026-03-01' as date)", "-3"), (dt.date(2026, 2, 26),)),
    *(
        Sample(
            "days_between",
            (_timestamp(start), _timestamp(end)),
            ((_parse(end) - _parse(start)) / dt.timedelta(days=1),),
        )
        for start, end in (
            ("2026-01-01 00:00:00", "2026-01-10 12:00:00.5"),
            ("2026-01-10 06:00:00", "2026-01-08 00:00:00"),
        )
    ),
    Sample(
        "days_between",
        ("cast('2026-01-01' as date)", "cast('2026-01-10' as date)"),
        (9.0,),
    ),
    Sample("float_average", ("x",), (1 / 3,), rows=THREE_ROWS),
    Sample(
        "load_order_row_number",
        (),
        (1, 2, 3),
        rows=THREE_ROWS,
        # sqlglot cannot translate SEQ8 inside a window.
        snowflake="row_number() over (order by seq8())",
    ),
    # The expansion is within 2e-8 of the exact quantile from 29 degrees of freedom on.
    Sample("t_quantile_975", ("30",), (T_975_30,), tolerance=1e-7),
    Sample("t_quantile_975", ("cast(null as double)",), (statistics.NormalDist().inv_cdf(0.975),)),
)


def _dispatched_macros() -> set[str]:
    """Every macro the project dispatches by adapter."""
    text = "\n".join(p.read_text() for p in (ROOT / "macros").rglob("*.sql"))
    return set(re.findall(r"adapter\.dispatch\(\s*'(\w+)'", text))


@pytest.fixture(scope="module")
def dbt_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """dbt runs in-process with dummy Snowflake credentials, logs, targets and a DuckDB
    file of its own (never the project's)."""
    folder = tmp_path_factory.mktemp("snowflake_sql")
    Project.open(ROOT, folder / "render.duckdb")  # writes profiles.yml if missing
    with pytest.MonkeyPatch.context() as env:
        for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD"):
            env.setenv(name, "not-used")
        env.setenv("DBT_LOG_PATH", str(folder / "logs"))
        env.setenv("DECISIONING_DUCKDB_PATH", str(folder / "render.duckdb"))
        yield folder


def _dbt(folder: Path, target: str, *args: str) -> tuple[bool, list[str]]:
    """``dbt <args> --target <target>``: whether it succeeded, and what macros logged."""
    logged: list[str] = []

    def collect(event: Any) -> None:
        if event.info.name == "JinjaLogInfo":
            logged.append(event.info.msg)

    result = dbtRunner(callbacks=[collect]).invoke(
        [
            *args,
            "--target",
            target,
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(ROOT),
            "--target-path",
            str(folder / f"target_{target}"),
        ]
    )
    return result.success, logged


@pytest.fixture(scope="module")
def renderings(dbt_workspace: Path) -> dict[str, list[str]]:
    """Each sample's SQL, per adapter (duckdb, snowflake)."""
    samples = json.dumps({"samples": [[s.macro, list(s.arguments)] for s in SAMPLES]})
    rendered = {}
    for target in ("duckdb", "snowflake"):
        ok, logged = _dbt(
            dbt_workspace, target, "run-operation", "render_dispatch", "--args", samples
        )
        assert ok, f"render_dispatch failed on {target}"
        (document,) = (json.loads(line) for line in logged if line.startswith("{"))
        assert document["adapter"] == target
        rendered[target] = document["renderings"]
    return rendered


def _values(sql: str) -> tuple[Any, ...]:
    return tuple(row[0] for row in duckdb.connect().execute(sql).fetchall())


def _same(actual: tuple[Any, ...], expected: tuple[Any, ...], tolerance: float) -> bool:
    """Doubles to a relative tolerance, anything else equal and of the same type."""
    return len(actual) == len(expected) and all(
        math.isclose(a, e, rel_tol=tolerance)
        if isinstance(e, float) and isinstance(a, float)
        else a == e and type(a) is type(e)
        for a, e in zip(actual, expected, strict=True)
    )


def _as_timestamps(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Dates as midnight timestamps: DATEADD on a date is a date in Snowflake, a
    timestamp once translated to DuckDB."""
    return tuple(dt.datetime.combine(v, dt.time()) if type(v) is dt.date else v for v in values)


def test_the_project_parses_for_snowflake(dbt_workspace: Path) -> None:
    ok, _ = _dbt(dbt_workspace, "snowflake", "parse")
    assert ok


def test_every_dispatched_macro_has_samples_and_a_default() -> None:
    dispatched = _dispatched_macros()
    assert dispatched == {s.macro for s in SAMPLES}
    text = "\n".join(p.read_text() for p in (ROOT / "macros").rglob("*.sql"))
    assert all(f"macro default__{name}(" in text for name in dispatched)


@pytest.mark.parametrize("index", range(len(SAMPLES)), ids=[s.macro for s in SAMPLES])
def test_duckdb_rendering_computes_the_reference(
    renderings: dict[str, list[str]], index: int
) -> None:
    sample = SAMPLES[index]
    values = _values(sample.query(renderings["duckdb"][index]))
    assert _same(values, sample.expected, sample.tolerance)


@pytest.mark.parametrize("index", range(len(SAMPLES)), ids=[s.macro for s in SAMPLES])
def test_snowflake_rendering_parses_and_computes_the_reference(
    renderings: dict[str, list[str]], index: int
) -> None:
    sample = SAMPLES[index]
    sql = sample.query(renderings["snowflake"][index])
    sqlglot.parse_one(sql, read="snowflake")
    if sample.snowflake is not None:
        assert " ".join(renderings["snowflake"][index].split()) == sample.snowflake
        return
    (translated,) = sqlglot.transpile(sql, read="snowflake", write="duckdb")
    values = _as_timestamps(_values(translated))
    assert _same(values, _as_timestamps(sample.expected), sample.tolerance)


# DuckDB-only SQL: fine inside a duckdb__ macro, nowhere else.
DUCKDB_ONLY = {
    ":: casts": r"::",
    "ubigint": r"\bubigint\b",
    "epoch()": r"\bepoch\s*\(",
    "to_seconds()": r"\bto_seconds\s*\(",
    "timezone()": r"\btimezone\s*\(",
    "pg_timezone_names()": r"\bpg_timezone_names\b",
    "strftime()/strptime() in SQL": r"(?<![.\w])str[fp]time\s*\(",
    "list functions": r"\blist_\w*\s*\(",
    "struct_pack()": r"\bstruct_pack\s*\(",
    "union/insert by name": r"\bby\s+name\b",
    "string_agg()": r"\bstring_agg\s*\(",
    "interval without quotes": r"\binterval\s+\d",
    "row_number() over ()": r"\brow_number\s*\(\s*\)\s*over\s*\(\s*\)",  # Snowflake needs an order
}
DUCKDB_MACRO = re.compile(r"\{%-?\s*macro\s+duckdb__.*?\{%-?\s*endmacro\s*-?%\}", re.DOTALL)
COMMENT = re.compile(r"\{#.*?#\}|--[^\n]*", re.DOTALL)


def duckdb_only_constructs(sql: str) -> list[str]:
    """The DuckDB-only constructs in a SQL file, outside duckdb__ macros and comments."""
    portable = DUCKDB_MACRO.sub("", COMMENT.sub("", sql))
    return [name for name, pattern in DUCKDB_ONLY.items() if re.search(pattern, portable, re.I)]


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("select x::int", [":: casts"]),
        ("select epoch(a - b), to_seconds(3)", ["epoch()", "to_seconds()"]),
        ("select * from a union by name select * from b", ["union/insert by name"]),
        ("select row_number() over () from t", ["row_number() over ()"]),
        ("{% macro duckdb__f(x) %} timezone('UTC', {{ x }}) {% endmacro %}", []),
        ("cast('{{ run_started_at.strftime(\"%Y-%m-%d\") }}' as timestamp)", []),
        ("{#- timezone('UTC', x)::date -#} convert_timezone('UTC', tz, ts) -- x::int", []),
    ],
)
def test_the_lint_finds_duckdb_only_constructs(sql: str, found: list[str]) -> None:
    assert duckdb_only_constructs(sql) == found


def test_no_duckdb_only_sql_outside_duckdb_macros() -> None:
    files = sorted(p for folder in SQL_FOLDERS for p in (ROOT / folder).rglob("*.sql"))
    assert files
    offending = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := duckdb_only_constructs(path.read_text()))
    }
    assert not offending, f"DuckDB-only SQL outside a duckdb__ macro: {offending}"
