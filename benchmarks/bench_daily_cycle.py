"""Speed of one daily cycle (`dbt build`) at 10k, 100k and 1M customers.

For each size: a demo world with ~20 product events per customer and every customer in
the audience every day (the heaviest case), three warm-up days of the loop so the log,
contexts and rewards have history, then the fourth day's `dbt build` run as its own
process, as a user runs it. Reported: wall time, dbt's fixed start-up (`dbt parse` of the
same project, partial parsing on), the time inside models, and the peak memory of the
build process. Results go to benchmarks/results/daily_cycle.json.

    python benchmarks/bench_daily_cycle.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import duckdb

from dbt_process import run_dbt
from decisioning.demo import create_sources, simulate_day
from decisioning.project import Project
from decisioning.world import generate_world

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
START = dt.date(2026, 1, 1)
SETTINGS = {"audience": {"inactive_days": None, "recontact_days": 1, "max_per_day": None}}


def bench(customers: int, workdir: Path) -> dict[str, object]:
    database = workdir / f"bench_{customers}.duckdb"
    project = Project.open(ROOT, database)
    settings = {**project.settings, **SETTINGS}
    window_hours = project.config(SETTINGS).attribution_window_hours
    t = time.perf_counter()
    world = generate_world(n_customers=customers, seed=1, start=START)
    create_sources(database, world, seed=1)
    generated = time.perf_counter() - t
    with duckdb.connect(str(database)) as con:
        events = con.execute("select count(*) from raw.product_events").fetchone()
    for day in range(3):
        as_of = START + dt.timedelta(days=day)
        run_dbt(["build"], database, {**settings, "as_of": as_of.isoformat()})
        simulate_day(database, world, as_of, window_hours)
    settings["as_of"] = (START + dt.timedelta(days=3)).isoformat()
    startup, _, _ = run_dbt(["parse"], database, settings)
    wall, _, peak = run_dbt(["build"], database, settings)
    run_results = json.loads((ROOT / "target" / "run_results.json").read_text())
    in_models = sum(r["execution_time"] for r in run_results["results"])
    slowest = sorted(run_results["results"], key=lambda r: -r["execution_time"])[:5]
    with duckdb.connect(str(database)) as con:
        decided = con.execute("select count(*) from main.decisions").fetchone()
    return {
        "customers": customers,
        "product_events": events[0] if events else 0,
        "decisions_today": decided[0] if decided else 0,
        "world_generation_s": round(generated, 1),
        "build_wall_s": round(wall, 1),
        "dbt_startup_s": round(startup, 1),
        "inside_nodes_s": round(in_models, 1),
        "peak_memory_mib": peak,
        "slowest_nodes": {
            r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in slowest
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for size in (int(s) for s in args.sizes.split(",")):
            row = bench(size, Path(workdir))
            rows.append(row)
            print(json.dumps(row), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "daily_cycle.json"
    earlier = json.loads(path.read_text())["runs"] if path.exists() else []
    measured = {r["customers"] for r in rows}
    rows = sorted(
        [r for r in earlier if r["customers"] not in measured] + rows, key=lambda r: r["customers"]
    )
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "target": "100k customers, 2M events: build < 30 s, peak < 2 GiB",
        "runs": rows,
    }
    path.write_text(json.dumps(report, indent=2) + "\n")
    header = ("customers", "events", "wall s", "start-up s", "in nodes s", "peak MiB")
    print(" ".join(f"{h:>10}" for h in header))
    for r in rows:
        print(
            f"{r['customers']:>10,} {r['product_events']:>10,} {r['build_wall_s']:>7} "
            f"{r['dbt_startup_s']:>10} {r['inside_nodes_s']:>10} {r['peak_memory_mib']:>9}"
        )


if __name__ == "__main__":
    main()
