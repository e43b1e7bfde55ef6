"""Speed of evaluating candidate policies on an imported history of 10,000,000 decisions.

Target (issue: evaluate policies on a customer's history before launch): offline
evaluation of three policies on 10,000,000 historical decisions in under 60 s.

A synthetic history in the shape ``int_historical_decisions`` gives the Python model
``historical_policy_estimates`` (an Arrow table, as DuckDB hands it over): the demo world's
catalog (channels, 4 send slots, subject_line, greeting, offer), 21 features (x_intercept
and 20 standard normals), decisions spread over 90 days. A known logging policy (channel
and subject line leaning on the context, the rest fixed skewed probabilities) draws every
field and logs the product of the fields' probabilities as the joint propensity; 10% of
the decisions have none. Rewards are clicks drawn from a known logistic model (each
field's value adds to the logit, partly depending on the context).

Timed, in the model's order: the Arrow table to pandas (``dbt_io.to_pandas``),
``LoggedDecisions.from_frame`` and ``evaluate_history`` with three policies: contextual
and campaign-level Thompson sampling (trained on the first half of the days) and one user
fixed policy over every logged field (``evaluation.policies``). The fastest of
``--repeat`` runs counts (the machine may be busy with other work). The target counts
from_frame and evaluate_history; ``model_seconds`` adds the conversion to pandas. Memory:
each step's resident high-water mark (Linux ``VmHWM``, reset before the step; what was
resident before it included) and the process's peak (``getrusage``), the synthetic history
included. The fixed policy's true value from the known click model is reported beside its
estimates.
``--profile`` adds evaluate_history's most expensive functions (cProfile).
Results go to benchmarks/results/history.json.

    python benchmarks/bench_history.py [--decisions 100000,10000000] [--repeat 1] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import platform
import pstats
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from decisioning.catalog import Catalog
from decisioning.config import Config, load_config
from decisioning.evaluation import LoggedDecisions, evaluate_history
from decisioning.world import ACTION_VALUES, FIELDS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
START = dt.date(2025, 10, 1)
DAYS = 90
FEATURES = 20  # besides x_intercept
INTERACTING = 3  # the features the true rewards and the logging policy depend on
NO_PROPENSITY_SHARE = 0.1
TARGET_SECONDS = 60.0
SEED = 7
T = TypeVar("T")
BASE_LOGIT = -2.0
FIXED_ACTION = {
    "channel": "email",
    "send_slot": "h08",
    "subject_line": "sl_discount",
    "greeting": "gr_first_name",
    "offer": "of_discount_20",
}
# Each field's values' effect on the click logit, in ACTION_VALUES order.
EFFECTS = {
    "channel": np.array([0.0, -0.3, -0.6]),
    "send_slot": np.array([0.0, 0.1, 0.2, -0.1]),
    "subject_line": np.linspace(-0.2, 0.2, 6),
    "greeting": np.array([0.0, 0.05, -0.05, 0.1]),
    "offer": np.array([0.0, 0.3, 0.2, -0.1]),
}
# The logging policy's fixed probabilities for the fields that do not lean on the context.
LOGGING = {
    "send_slot": np.array([0.4, 0.3, 0.2, 0.1]),
    "greeting": np.array([0.4, 0.3, 0.2, 0.1]),
    "offer": np.array([0.4, 0.2, 0.2, 0.2]),
}


def catalog() -> Catalog:
    rows = [
        (f, v, f"{v}_opt_in" if f == "channel" else None) for f in FIELDS for v in ACTION_VALUES[f]
    ]
    frame = pd.DataFrame(rows, columns=["field", "value_id", "opt_in_column"])
    frame["is_active"] = True
    return Catalog.from_frame(frame, FIELDS)


def config() -> Config:
    as_of = START + dt.timedelta(days=DAYS)
    policy = {"name": "discount_email_mornings", "actions": FIXED_ACTION}
    return load_config({"as_of": as_of.isoformat(), "evaluation": {"policies": [policy]}})


def interactions(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """(INTERACTING, V) per field: how the first features change each value's effect."""
    return {f: 0.2 * rng.standard_normal((INTERACTING, len(EFFECTS[f]))) for f in FIELDS}


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def synthesize(n: int, seed: int = SEED) -> tuple[pa.Table, np.ndarray]:
    """The history as an Arrow table, and each decision's true expected reward of the
    fixed policy (its value on any set of rows is their mean)."""
    rng = np.random.default_rng(seed)
    beta = interactions(rng)
    x = rng.standard_normal((n, FEATURES), dtype=np.float32)
    context = x[:, :INTERACTING].astype(np.float64)
    probabilities = {
        "channel": softmax(
            np.array([0.0, -0.3, -1.0]) + context[:, :1] * np.array([0.8, -0.4, 0.0])
        ),
        "subject_line": softmax(context[:, 1:2] * np.linspace(-0.6, 0.6, 6)),
        **{f: np.broadcast_to(p, (n, len(p))) for f, p in LOGGING.items()},
    }
    rows = np.arange(n)
    logit = np.full(n, BASE_LOGIT)
    fixed_logit = np.full(n, BASE_LOGIT)
    propensity = np.ones(n)
    columns: dict[str, pa.Array] = {}
    for field in FIELDS:
        p = probabilities[field]
        chosen = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
        propensity *= p[rows, chosen]
        logit += EFFECTS[field][chosen] + np.einsum("ij,ji->i", context, beta[field][:, chosen])
        k = ACTION_VALUES[field].index(FIXED_ACTION[field])
        fixed_logit += EFFECTS[field][k] + context @ beta[field][:, k]
        values = pa.array(ACTION_VALUES[field], type=pa.string())
        columns[field] = pa.DictionaryArray.from_arrays(chosen.astype(np.int32), values).cast(
            pa.string()
        )
    clicked = rng.random(n) < 1 / (1 + np.exp(-logit))
    propensity[rng.random(n) < NO_PROPENSITY_SHARE] = np.nan
    days = np.datetime64(START, "D") + rng.integers(0, DAYS, n).astype("timedelta64[D]")
    table = pa.table(
        {
            "decision_id": pa.array(rows).cast(pa.string()),
            "decision_date": pa.array(days),
            **columns,
            **{f"{f}_propensity": pa.nulls(n, pa.float64()) for f in FIELDS},
            "propensity": pa.array(propensity, from_pandas=True),
            "eligible_sends": pa.nulls(n, pa.string()),
            "fold": pa.array(np.zeros(n, dtype=np.int32)),
            "reward": pa.array(clicked.astype(np.float64)),
            "x_intercept": pa.array(np.ones(n)),
            **{f"x_f{i + 1:02d}": pa.array(x[:, i].astype(np.float64)) for i in range(FEATURES)},
        }
    )
    return table, 1 / (1 + np.exp(-fixed_logit))


def process_peak_mib() -> int:
    """The process's peak resident memory so far (getrusage)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def reset_peak() -> bool:
    """Restart the kernel's high-water mark of resident memory (Linux; False elsewhere)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_since_reset_mib() -> int | None:
    """The resident memory's high-water mark since ``reset_peak`` (Linux: VmHWM)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
    return int(kib) // 1024


def timed_run(table: pa.Table, world: Catalog, settings: Config) -> dict[str, Any]:
    """The model's steps, each timed, with its resident memory's high-water mark; the
    pandas frame is dropped once the decisions are built, as in the model."""
    load = os.getloadavg()[0]
    seconds: dict[str, float] = {}
    peaks: dict[str, int | None] = {}

    def stage(name: str, step: Callable[[], T]) -> T:
        reset_peak()
        started = time.perf_counter()
        result = step()
        seconds[name] = time.perf_counter() - started
        peaks[name] = peak_since_reset_mib()
        return result

    frames = [stage("to_pandas", table.to_pandas)]  # popped: freed once built, as in the model
    logged = stage("from_frame", lambda: LoggedDecisions.from_frame(frames.pop(), world))
    estimates = stage("evaluate_history", lambda: evaluate_history(logged, world, settings))
    return {
        "seconds": seconds,
        "peak_mib": peaks,
        "load_average_before": round(load, 1),
        "estimates": estimates,
    }


def profile(table: pa.Table, world: Catalog, settings: Config, top: int = 15) -> list[str]:
    """evaluate_history's most expensive functions, by time spent in them (cProfile)."""
    logged = LoggedDecisions.from_frame(table.to_pandas(), world)
    profiler = cProfile.Profile()
    profiler.runcall(evaluate_history, logged, world, settings)
    stats = pstats.Stats(profiler).sort_stats("tottime")
    lines = []
    for (path, line, name), (_, calls, own, cumulative, _) in list(stats.stats.items()):  # type: ignore[attr-defined]
        lines.append((own, f"{Path(path).name}:{line}({name})", calls, cumulative))
    lines.sort(reverse=True)
    return [
        f"{own:7.2f} s own {cumulative:7.2f} s cumulative {calls:>6} calls {where}"
        for own, where, calls, cumulative in lines[:top]
    ]


def bench(n: int, repeat: int, with_profile: bool) -> dict[str, Any]:
    world, settings = catalog(), config()
    started = time.perf_counter()
    table, fixed_truth = synthesize(n)
    generation = time.perf_counter() - started
    peak_generated = process_peak_mib()
    runs = [timed_run(table, world, settings) for _ in range(repeat)]
    best = min(runs, key=lambda r: sum(r["seconds"].values()))
    seconds = {stage: round(s, 2) for stage, s in best["seconds"].items()}
    estimates: pd.DataFrame = best["estimates"]
    total = seconds["from_frame"] + seconds["evaluate_history"]
    first = estimates.iloc[0]
    dates = table["decision_date"].to_numpy().astype("datetime64[D]")
    has_propensity = np.isfinite(table["propensity"].to_numpy(zero_copy_only=False))
    evaluated = (dates >= np.datetime64(first["trained_to"], "D")) & has_propensity
    fixed = estimates[estimates["policy"] == "discount_email_mornings"].set_index("estimator")
    result: dict[str, Any] = {
        "decisions": n,
        "seconds": seconds,
        "total_seconds": round(total, 2),
        "model_seconds": round(total + seconds["to_pandas"], 2),
        "target_seconds": TARGET_SECONDS,
        "passes": total < TARGET_SECONDS,
        "peak_mib_by_stage": best["peak_mib"],
        "peak_mib_history_generated": peak_generated,
        "peak_mib_process": process_peak_mib(),
        "load_average_before": best["load_average_before"],
        "runs_timed": repeat,
        "generation_seconds": round(generation, 1),
        "trained_to": str(first["trained_to"].date()),
        "evaluated_decisions": int(first["decisions"]),
        "decisions_without_propensity": int(first["decisions_without_propensity"]),
        "fixed_policy_true_value": round(float(fixed_truth[evaluated].mean()), 5),
        "estimates": {
            f"{row.policy}/{row.estimator}": {
                "estimate": round(row.estimate, 5),
                "standard_error": round(row.standard_error, 5),
                "effective_sample_size": round(row.effective_sample_size),
                "is_supported": bool(row.is_supported),
            }
            for row in estimates.itertuples()
        },
    }
    assert int(evaluated.sum()) == result["evaluated_decisions"]
    assert set(fixed.index) == {"ips", "snips", "dr"}
    if with_profile:
        result["profile_evaluate_history"] = profile(table, world, settings)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", default="10000000", help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=1, help="runs timed; the fastest counts")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of the last")
    parser.add_argument("--output", type=Path, default=RESULTS / "history.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.decisions.split(",")]
    runs = []
    for k, n in enumerate(sizes):
        runs.append(bench(n, args.repeat, args.profile and k == len(sizes) - 1))
        print(json.dumps(runs[-1], indent=2), flush=True)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "target": "10M historical decisions: from_frame + evaluate_history (3 policies) < 60 s",
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
