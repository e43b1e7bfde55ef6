"""Speed of the reporting marts and the HTML report on 1,000,000 logged decisions.

Target (issue: measuring lift): every reporting mart and the report in under 30 s.

A small demo run (2,000 customers, 2 days) creates every table the marts read; the history
(decision_log, decision_contexts) and rewards are then replaced by N synthetic decisions
over 30 days (300,000 customers, 10% holdout, 10% business as usual, catalog values drawn
with logged propensities, finalized rewards but for the last 3 days, every send allowed:
the easiest case for off-policy evaluation, which then scores the slot once per decision;
guardrails that give channels different slots cost up to one more slot scoring per
channel). Timed, each as its
own process as a user runs them: `dbt build --select path:models/reporting` (models and
data tests) and `decisioning report`. Results go to benchmarks/results/reporting.json.

    python benchmarks/bench_reporting.py [--decisions 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from dbt_process import run_dbt
from decisioning.project import DATABASE_ENV, Project

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
START = dt.date(2026, 1, 1)
DAYS = 30
TARGET_SECONDS = 30.0


def synthesize(database: Path, decisions: int) -> None:
    """Replace the history and rewards with ``decisions`` synthetic rows."""
    customers = max(decisions * 3 // 10, 1)
    per_day = -(-decisions // DAYS)
    with duckdb.connect(str(database)) as con:
        catalog = con.sql("select field, value_id from main.action_catalog where is_active").df()
        features = [
            c for c in con.sql("select * from main.decision_contexts limit 0").columns
            if c.startswith("x_")
        ]  # fmt: skip
        values = {f: list(g["value_id"]) for f, g in catalog.groupby("field", sort=False)}
        fields = ("channel", "send_slot", "subject_line", "greeting", "offer")
        slots = ",".join(f"{c}@{s}" for c in values["channel"] for s in values["send_slot"])

        def pick(field: str, stream: int) -> str:
            k = len(values[field])
            return f"list_element({values[field]}, 1 + cast(floor(r{stream} * {k}) as integer))"

        con.execute("select setseed(0.42)")
        con.execute(
            f"""
            create or replace temp table synthetic as
            select
                'd' || i as decision_id,
                'winback' as campaign_id,
                'c' || (i % {customers}) as customer_id,
                date '{START}' + cast(i // {per_day} as integer) as decision_date,
                case when (i % {customers}) % 10 = 0 then 'holdout'
                     when (i % {customers}) % 10 = 1 then 'business_as_usual'
                     else 'policy' end as decision_group,
                {", ".join(f"random() as r{k}" for k in range(len(fields) + 4))}
            from range({decisions}) as t(i)
            """
        )
        holdout = "decision_group = 'holdout'"
        columns = []
        for k, field in enumerate(fields):
            value = pick(field, k)
            if field == "channel":
                columns.append(f"case when {holdout} then 'none' else {value} end as {field}")
            else:
                columns.append(f"case when {holdout} then null else {value} end as {field}")
            columns.append(
                f"case when {holdout} then 1.0 else 1.0 / {len(values[field])} end "
                f"as {field}_propensity"
            )
        joint = " * ".join(f"{len(values[f])}" for f in fields)
        con.execute("delete from main.decision_log")
        con.execute(
            f"""
            insert into main.decision_log by name
            select
                decision_id, campaign_id, customer_id, decision_date, decision_group,
                decision_group = 'holdout' as is_holdout,
                {", ".join(columns)},
                'UTC' as timezone,
                cast(decision_date as timestamp) + interval 12 hour as send_at_utc,
                case when decision_group = 'policy' then 1.0 / ({joint}) else 1.0 end
                    as propensity,
                0.1 as expected_reward,
                false as is_exploration,
                'thompson_sampling' as algorithm,
                'bench' as model_version,
                cast(decision_date as timestamp) as logged_at,
                '{slots}' as eligible_sends
            from synthetic
            """
        )
        con.execute("delete from main.decision_contexts")
        con.execute(
            f"""
            insert into main.decision_contexts by name
            select decision_id, decision_date,
                {", ".join(f"{1.0 if f == 'x_intercept' else f'r{len(fields)} - 0.5'} as {f}" for f in features)}
            from synthetic
            """  # noqa: E501
        )
        last_final = START + dt.timedelta(days=DAYS - 3)
        con.execute(
            f"""
            create or replace table main.rewards as
            with outcomes as (
                select *,
                    decision_date < date '{last_final}' as is_final,
                    case when decision_group = 'holdout' then 0 else
                        cast(r{len(fields) + 1} < 0.25 as integer) end as opened_,
                    cast(r{len(fields) + 2} < 0.05 as integer) as converted_,
                    cast(r{len(fields) + 3} < 0.004 as integer) as unsubscribed_
                from synthetic
            )
            select
                decision_id, campaign_id, customer_id, decision_date, decision_group,
                decision_group = 'holdout' as is_holdout,
                cast(decision_date as timestamp) + interval 12 hour as send_at_utc,
                cast(decision_date as timestamp) + interval 84 hour as window_end_at,
                is_final,
                case when is_final then 1 - cast(decision_group = 'holdout' as integer) end
                    as delivered,
                case when is_final then opened_ end as opened,
                case when is_final then opened_ * cast(r0 < 0.3 as integer) end as clicked,
                case when is_final then converted_ end as converted,
                case when is_final then unsubscribed_ end as unsubscribed,
                case when is_final then 0.1 * opened_ + 0.3 * opened_ * cast(r0 < 0.3 as integer)
                    + converted_ - 0.5 * unsubscribed_ end as reward
            from outcomes
            """
        )


def bench(decisions: int, workdir: Path) -> dict[str, object]:
    database = workdir / "reporting.duckdb"
    project = Project.open(ROOT, database)
    env = {**os.environ, DATABASE_ENV: str(database)}
    cli = str(Path(sys.executable).parent / "decisioning")
    demo = [cli, "demo", "--customers", "2000", "--days", "2"]
    subprocess.run(demo, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    synthesize(database, decisions)
    settings = {**project.settings, "as_of": (START + dt.timedelta(days=DAYS)).isoformat()}
    marts, _, peak = run_dbt(
        ["build", "--select", "path:models/reporting", "--exclude-resource-type", "unit_test"],
        database,
        settings,
    )
    run_results = json.loads((ROOT / "target" / "run_results.json").read_text())
    slowest = sorted(run_results["results"], key=lambda r: -r["execution_time"])[:6]
    output = workdir / "report.html"
    started = time.perf_counter()
    subprocess.run(
        [cli, "report", "--output", str(output)], env=env, check=True, stdout=subprocess.DEVNULL
    )
    report = time.perf_counter() - started
    return {
        "decisions": decisions,
        "marts_seconds": round(marts, 2),
        "report_seconds": round(report, 2),
        "total_seconds": round(marts + report, 2),
        "target_seconds": TARGET_SECONDS,
        "peak_mib_marts": peak,
        "report_bytes": output.stat().st_size,
        "slowest_nodes": {r["unique_id"]: round(r["execution_time"], 2) for r in slowest},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = bench(args.decisions, Path(tmp))
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reporting.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
