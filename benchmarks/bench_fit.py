"""Speed of fitting the policy from a large reward history: `policy_statistics` (SQL
sufficient statistics) and `policy_model` (the Python posterior step).

For each size and feature count: a DuckDB file whose target schema holds that many
finalized policy-group rewards, generated in SQL (`range()` and hash-based pseudo-random
values; action ids from seeds/*.csv): `decision_log` (the history contract),
`decision_contexts` (decision_id and the x_ features) and `rewards` (the columns
policy_statistics reads), plus the action catalog (built by dbt from the seeds) and an
empty `audience` with the feature columns, which policy_model checks its features against.
Then `dbt build --select policy_statistics policy_model` runs as its own process, as a user
runs it, `--repeat` times (the fastest counts: the machine may be busy with other work).
Reported: wall and CPU time of that process, dbt's fixed start-up (`dbt parse`), each
model's time (run_results.json) and the build process's peak memory. 21 features is the
demo config; 32 adds numeric features through `features.numeric`.
Results go to benchmarks/results/fit.json.

    python benchmarks/bench_fit.py [--rows 1000000,10000000] [--features 21,32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import json
import math
import os
import platform
import re
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import duckdb
import yaml

from dbt_process import run_dbt
from decisioning.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
AS_OF = dt.date(2026, 7, 1)
HISTORY_DAYS = 180  # decisions spread over this many days before as_of (all windows closed)
BASE_FEATURES = (
    "x_intercept",
    "x_recency",
    "x_events_30d",
    "x_events_lookback",
    "x_conversions_lookback",
    "x_tenure",
)
CHANNELS = ("email", "push", "sms")


def settings_for(project_dir: Path, n_features: int) -> dict[str, Any]:
    """The project's `decisioning` block, with extra numeric features up to n_features."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    settings: dict[str, Any] = copy.deepcopy(project["vars"]["decisioning"])
    settings["as_of"] = AS_OF.isoformat()
    extra = n_features - len(feature_names(load_config(settings)))
    if extra < 0:
        raise ValueError(f"the project's settings already have {n_features - extra} features")
    features = settings.setdefault("features", {})
    features["numeric"] = list(features.get("numeric") or []) + [
        f"bench_{k:02d}" for k in range(1, extra + 1)
    ]
    return settings


def feature_names(config: Config) -> list[str]:
    """The feature order of the `feature_names()` macro (policy_model checks it)."""
    features = config.raw["features"]
    names = list(BASE_FEATURES)
    for channel in CHANNELS:
        names += [f"x_{channel}_opt_in", f"x_{channel}_open_rate", f"x_{channel}_click_rate"]
    for attribute, levels in sorted((features.get("categorical") or {}).items()):
        names += [f"x_{attribute}_{_level_name(level)}" for level in levels]
    names += [f"x_{attribute}" for attribute in features.get("numeric") or []]
    return names


def _level_name(level: object) -> str:
    """As the `feature_level_name` macro spells a one-hot level."""
    return re.sub("[^a-z0-9]+", "_", str(level).lower())


def catalog(project_dir: Path, message_fields: tuple[str, ...]) -> dict[str, list[str]]:
    """Active ids per decided field, from the seeds."""

    def active(name: str) -> list[dict[str, str]]:
        with (project_dir / "seeds" / f"{name}.csv").open() as f:
            return [row for row in csv.DictReader(f) if row["active"].lower() == "true"]

    variants = active("message_variants")
    return {
        "channel": [row["channel"] for row in active("channels")],
        "send_slot": [row["send_slot"] for row in active("send_slots")],
        **{f: [row["variant_id"] for row in variants if row["field"] == f] for f in message_fields},
    }


def _hash(key: str) -> str:
    """A pseudo-random 64-bit integer from the row number i and a key. (`hash(i, key)`
    would not do: its low bits are the same function of i for every key.)"""
    return f"hash(i + {zlib.crc32(key.encode()) % (1 << 20)} * 4294967296)"


def _uniform(key: str) -> str:
    """A pseudo-random value in [0, 1)."""
    return f"(({_hash(key)} % 1000003) / 1000003.0)"


def _pick(values: list[str], key: str) -> str:
    items = ", ".join(f"'{v}'" for v in values)
    return f"[{items}][1 + cast({_hash(key)} % {len(values)} as bigint)]"


def _feature_expressions(config: Config) -> dict[str, str]:
    """SQL for each feature, on the scales customer_features produces."""
    u = _uniform
    sql = {
        "x_intercept": "1.0",
        "x_recency": f"ln(1 + floor({u('recency')} * 365)) / ln(366)",
        "x_events_30d": f"ln(1 + floor(pow({u('e30')}, 2) * 40))",
        "x_events_lookback": f"ln(1 + floor(pow({u('e90')}, 2) * 120))",
        "x_conversions_lookback": f"ln(1 + floor(pow({u('conv')}, 3) * 20))",
        "x_tenure": f"least({u('tenure')} * 6, 5.0)",
    }
    for channel in CHANNELS:
        sql[f"x_{channel}_opt_in"] = f"case when {u(channel + 'opt')} < 0.7 then 1.0 else 0.0 end"
        sql[f"x_{channel}_open_rate"] = f"(floor({u(channel + 'o')} * 8) + 1) / 24.0"
        sql[f"x_{channel}_click_rate"] = f"(floor({u(channel + 'c')} * 4) + 0.5) / 30.0"
    features = config.raw["features"]
    for attribute, levels in sorted((features.get("categorical") or {}).items()):
        for k, level in enumerate(levels):
            pick = f"{_hash(attribute)} % {len(levels)}"
            sql[f"x_{attribute}_{_level_name(level)}"] = (
                f"case when {pick} = {k} then 1.0 else 0.0 end"
            )
    for attribute in features.get("numeric") or []:
        # Standardized: sum of four uniforms, centred and scaled to variance one.
        draws = " + ".join(_uniform(f"{attribute}{k}") for k in range(4))
        sql[f"x_{attribute}"] = f"({draws} - 2.0) * {math.sqrt(3.0)}"
    return sql


def create_history(
    database: Path, rows: int, config: Config, actions: dict[str, list[str]]
) -> None:
    """decision_log, decision_contexts and rewards, `rows` each, with config's features."""
    campaign = config.campaign_id
    weights = config.reward_weights
    features = _feature_expressions(config)
    names = feature_names(config)
    u = _uniform
    with duckdb.connect(str(database)) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"""
            create temp table base as
            select
                *,
                cast(decision_date as timestamp) + to_hours(cast(8 + i % 14 as bigint))
                    as send_at_utc
            from (
                select
                    i,
                    md5('{campaign}-' || i) as decision_id,
                    'customer-' || ({_hash("customer")} % {max(rows // 4, 1)}) as customer_id,
                    cast('{AS_OF}' as date) - 4 - cast(i % {HISTORY_DAYS - 4} as integer)
                        as decision_date
                from range({rows}) as t(i)
            )
        """)
        fields = ",\n".join(f"{_pick(ids, f)} as {f}" for f, ids in actions.items())
        con.execute(f"""
            create table main.decision_log as
            select
                decision_id,
                '{campaign}' as campaign_id,
                customer_id,
                decision_date,
                false as is_holdout,
                {fields},
                send_at_utc,
                0.01 + 0.5 * {u("propensity")} as propensity,
                0.3 * {u("expected")} as expected_reward,
                'thompson_sampling' as algorithm,
                'bench' as model_version,
                cast(decision_date as timestamp) as logged_at
            from base
        """)
        columns = ",\n".join(f"{features[name]} as {name}" for name in names)
        con.execute(f"""
            create table main.decision_contexts as
            select decision_id, decision_date, {columns}
            from base
        """)
        con.execute(f"""
            create table main.rewards as
            with outcomes as (
                select
                    decision_id,
                    customer_id,
                    decision_date,
                    send_at_utc,
                    case when {u("delivered")} < 0.97 then 1 else 0 end as delivered,
                    case when {u("open")} < 0.25 then 1 else 0 end as opened,
                    case when {u("open")} < 0.06 then 1 else 0 end as clicked,
                    case when {u("convert")} < 0.08 then 1 else 0 end as converted,
                    case when {u("unsubscribe")} < 0.01 then 1 else 0 end as unsubscribed
                from base
            )
            select
                decision_id,
                '{campaign}' as campaign_id,
                customer_id,
                decision_date,
                false as is_holdout,
                send_at_utc,
                send_at_utc + interval 72 hour as window_end_at,
                true as is_final,
                delivered,
                opened,
                clicked,
                converted,
                unsubscribed,
                {weights["open"]} * opened + {weights["click"]} * clicked
                    + {weights["conversion"]} * converted
                    + {weights["unsubscribe"]} * unsubscribed as reward
            from outcomes
        """)


def create_audience(database: Path, names: list[str]) -> None:
    """An empty audience with the feature columns: policy_model checks its features."""
    columns = ", ".join(f"cast(null as double) as {name}" for name in names)
    with duckdb.connect(str(database)) as con:
        con.execute(
            "create or replace table main.audience as "
            f"select cast(null as varchar) as decision_id, {columns} where 1 = 0"
        )


def bench(
    database: Path, rows: int, n_features: int, project_dir: Path, workdir: Path, repeat: int
) -> dict[str, object]:
    """Time the fit on `database` (history already there) with the first n_features: the
    fastest of `repeat` builds, as other work on the machine only ever slows one down."""
    settings = settings_for(project_dir, n_features)
    config = load_config(settings)
    create_audience(database, feature_names(config))
    run_dbt(["build", "--select", "+action_catalog"], database, settings, project_dir, workdir)
    startup, _, _ = run_dbt(["parse"], database, settings, project_dir, workdir)
    selection = ["--select", "policy_statistics", "policy_model"]
    best: dict[str, object] = {}
    best_wall = math.inf
    for _ in range(repeat):
        load = os.getloadavg()[0]
        wall, cpu, peak = run_dbt(["build", *selection], database, settings, project_dir, workdir)
        if wall >= best_wall:
            continue
        best_wall = wall
        results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
        models = {
            r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
            for r in results
            if r["unique_id"].startswith("model.")
        }
        tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith("test."))
        best = {
            "policy_statistics_s": models.get("policy_statistics"),
            "policy_model_s": models.get("policy_model"),
            "models_s": round(sum(models.values()), 2),
            "tests_s": round(tests, 2),
            "build_wall_s": round(wall, 1),
            "build_cpu_s": round(cpu, 1),
            "dbt_startup_s": round(startup, 1),
            "peak_memory_mib": peak,
            "load_average_before": round(load, 1),
        }
    with duckdb.connect(str(database), read_only=True) as con:
        counted = con.execute("select sum(n_rewards) from main.policy_statistics").fetchone()
    return {
        "rewards": rows,
        "features": n_features,
        "rewards_counted_per_field": int(counted[0]) // len(config.fields) if counted else 0,
        **best,
        "builds_timed": repeat,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="1000000,10000000")
    parser.add_argument("--features", default="21,32")
    parser.add_argument(
        "--project-dir", type=Path, default=ROOT, help="another checkout, to compare versions"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "fit.json")
    parser.add_argument("--repeat", type=int, default=3, help="builds timed; the fastest counts")
    args = parser.parse_args()
    project_dir = args.project_dir.resolve()
    feature_counts = [int(f) for f in args.features.split(",")]
    runs = []
    with tempfile.TemporaryDirectory() as workdir:
        for rows in (int(r) for r in args.rows.split(",")):
            # One history per size, with the most features; fewer features read a prefix.
            database = Path(workdir) / f"fit_{rows}.duckdb"
            widest = load_config(settings_for(project_dir, max(feature_counts)))
            started = time.perf_counter()
            create_history(database, rows, widest, catalog(project_dir, widest.message_fields))
            generated = round(time.perf_counter() - started, 1)
            for n_features in feature_counts:
                run = bench(database, rows, n_features, project_dir, Path(workdir), args.repeat)
                runs.append({**run, "generation_s": generated})
                print(json.dumps(runs[-1]), flush=True)
            database.unlink()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(args.output.read_text())["runs"] if args.output.exists() else []
    measured = {(r["rewards"], r["features"]) for r in runs}
    runs = sorted(
        [r for r in earlier if (r["rewards"], r["features"]) not in measured] + runs,
        key=lambda r: (r["rewards"], r["features"]),
    )
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "target": "10M rewards: policy_statistics + policy_model < 30 s",
        "command": "dbt build --select policy_statistics policy_model",
        "runs": runs,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    header = ("rewards", "features", "stats s", "model s", "models s", "wall s", "peak MiB")
    print(" ".join(f"{h:>10}" for h in header))
    for r in runs:
        print(
            f"{r['rewards']:>10,} {r['features']:>10} {r['policy_statistics_s']:>10} "
            f"{r['policy_model_s']:>10} {r['models_s']:>10} {r['build_wall_s']:>10} "
            f"{r['peak_memory_mib']:>10}"
        )


if __name__ == "__main__":
    main()
