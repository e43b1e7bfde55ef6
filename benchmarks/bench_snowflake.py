"""Single-core throughput of the Snowflake scoring UDF, and the cost model built on it.

    python benchmarks/bench_snowflake.py [--rows 200000]

A small demo run (3,000 customers, 3 days) gives a real decision day: catalog, fitted
models, send times with quiet hours, frequency-cap blocks, a 50% exploration ceiling. Its
audience rows (with their blocks) are replicated to ``--rows`` under new decision ids,
and the UDF's body is timed on batches, on one core (BLAS limited to one thread, as in a
UDF process): pass one (each row's exploration key), pass two (the decisions, as the JSON
lines the UDF returns) and one budget pass (each row's offer and arrival uniform).

The cost model (README, "Running on Snowflake") derives wall time and credits for
50,000,000 customers per warehouse size from these figures, and from the measured
``policy_statistics`` time in benchmarks/results/fit.json for the SQL side. Results go to
benchmarks/results/snowflake.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from decisioning.config import load_config  # noqa: E402
from decisioning.day import DecisionDay  # noqa: E402
from decisioning.decide import DayBudgets, arrival_uniforms  # noqa: E402
from decisioning.demo import run_demo  # noqa: E402
from decisioning.project import Project  # noqa: E402
from decisioning.snowpark_scoring import BLOCKS, blocks_of, decide_batch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
START = dt.date(2026, 1, 1)
DAYS = 3
SETTINGS = {"guardrails": {"budgets": [], "max_exploration_share": 0.5}}
CUSTOMERS = 50_000_000
BATCHES = (1_000, 4_000, 16_000)
# Snowflake standard warehouses: credits per hour (= nodes); 8 cores a node is the usual
# figure (Snowflake does not publish it), one UDF process a core.
SIZES = {"XS": 1, "S": 2, "M": 4, "L": 8, "XL": 16}
CORES_PER_NODE = 8
START_UP_SECONDS = 60.0  # assumed: stored procedure, package import and UDF start on nodes
DOLLARS_PER_CREDIT = 3.0  # Enterprise edition list price in most regions


def decision_day(database: Path) -> tuple[DecisionDay, pd.DataFrame]:
    """The last demo day's inputs, and its audience rows with their blocks as the UDF
    receives them."""
    as_of = START + dt.timedelta(days=DAYS - 1)
    with duckdb.connect(str(database)) as con:

        def table(sql: str) -> pd.DataFrame:
            return con.execute(sql).df()

        settings = table("select settings from main.decisioning_config")["settings"][0]
        config = load_config(json.loads(settings))
        day = DecisionDay.from_frames(
            config,
            catalog=table("select * from main.action_catalog"),
            parameters=table("select * from main.policy_model"),
            progress=table("select * from main.campaign_progress"),
            send_times=table("select * from main.send_times"),
            today=table(f"select * from main.decision_log where decision_date = '{as_of}' limit 0"),
        )
        rows = table(
            "select audience.*, blocks.pairs as " + BLOCKS + " from main.audience left join ("
            "select decision_id, string_agg(coalesce(channel, '*') || '@' || send_slot, ',') "
            "as pairs from main.send_blocks group by 1) as blocks using (decision_id)"
        )
    return day, rows


def replicate(rows: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows drawn from ``rows`` under new decision and customer ids."""
    picked = rows.iloc[np.random.default_rng(0).integers(0, len(rows), n)].reset_index(drop=True)
    ids = [hashlib.md5(f"bench|{i}".encode()).hexdigest() for i in range(n)]
    return picked.assign(decision_id=ids, customer_id=ids)


def budget_pass_work(day: DecisionDay, batch: pd.DataFrame) -> None:
    """What one budget pass computes per batch: each row's offer and arrival uniform."""
    budgets = DayBudgets(decisions=len(batch), cuts={})
    day.budget_takers(batch, blocks_of(batch), "offer", None, budgets)
    arrival_uniforms(batch["decision_id"], day.catalog, "offer")


def timed(function, batches: list[pd.DataFrame]) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    for batch in batches:
        function(batch)
    return time.perf_counter() - began


def cost_model(
    per_row_seconds: float, budget_pass_seconds: float, statistics_per_row_seconds: float
) -> list[dict]:  # type: ignore[type-arg]
    """Wall time and credits for ``CUSTOMERS`` per warehouse size (cores used fully), and
    the scoring time with one binding offer budget (two more passes)."""
    table = []
    for size, nodes in SIZES.items():
        cores = nodes * CORES_PER_NODE
        scoring = CUSTOMERS * per_row_seconds / cores
        budgeted = CUSTOMERS * (per_row_seconds + 2 * budget_pass_seconds) / cores
        statistics = CUSTOMERS * statistics_per_row_seconds / cores
        wall = START_UP_SECONDS + scoring + statistics
        credits = nodes * wall / 3600
        table.append(
            {
                "warehouse": size,
                "nodes": nodes,
                "cores": cores,
                "scoring_s": round(scoring),
                "scoring_with_offer_budget_s": round(budgeted),
                "statistics_s": round(statistics),
                "wall_s": round(wall),
                "credits": round(credits, 2),
                "dollars": round(credits * DOLLARS_PER_CREDIT, 2),
            }
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.open(ROOT, Path(tmp) / "bench.duckdb")
        run_demo(
            3000, DAYS, seed=5, start=START, overrides=SETTINGS, project=project, progress=False
        )
        day, rows = decision_day(project.database)
    audience = replicate(rows, args.rows)
    print(f"{len(rows):,} audience rows replicated to {len(audience):,}")
    runs = []
    for size in BATCHES:
        batches = [audience.iloc[i : i + size] for i in range(0, len(audience), size)]
        keys = timed(lambda b: day.live_keys(b, blocks_of(b)), batches)
        decided = timed(lambda b: decide_batch(day, b), batches)
        budget_pass = timed(lambda b: budget_pass_work(day, b), batches)
        per_row = (keys + decided) / len(audience)
        runs.append(
            {
                "batch_rows": size,
                "pass_one_s": round(keys, 2),
                "pass_two_s": round(decided, 2),
                "budget_pass_s": round(budget_pass, 2),
                "rows_per_core_second": round(1 / per_row),
            }
        )
        print(runs[-1])
    fit = json.loads((RESULTS / "fit.json").read_text())
    big = max(fit["runs"], key=lambda r: (r["rewards"], r["features"]))
    cores_used = 2  # DuckDB used both cores of the machine the fit benchmark ran on
    statistics_per_row = big["policy_statistics_s"] * cores_used / big["rewards"]
    slowest = min(runs, key=lambda r: r["rows_per_core_second"])  # Snowflake sizes batches
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (one used)",
        "audience_rows": len(audience),
        "features": sum(c.startswith("x_") for c in audience.columns),
        "runs": runs,
        "statistics_core_seconds_per_million_rewards": round(statistics_per_row * 1e6, 2),
        "statistics_features": big["features"],
        "assumptions": {
            "scoring_rows_per_core_second": slowest["rows_per_core_second"],
            "cores_per_node": CORES_PER_NODE,
            "start_up_seconds": START_UP_SECONDS,
            "dollars_per_credit": DOLLARS_PER_CREDIT,
            "statistics_rows": CUSTOMERS,
        },
        "cost_model_50m": cost_model(
            1 / slowest["rows_per_core_second"],
            slowest["budget_pass_s"] / len(audience),
            statistics_per_row,
        ),
    }
    print(json.dumps(result, indent=2))
    (RESULTS / "snowflake.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
