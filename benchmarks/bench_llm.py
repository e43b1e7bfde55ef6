"""The LLM steps' own costs: tagging throughput against an endpoint with a fixed latency,
and the plateau rule on a long history. The LLM's own time is the endpoint's; here a local
OpenAI-compatible server (tests/llm_server.py) answers after ``LATENCY`` seconds, so the
figures show what concurrency buys and what our side costs.

Run: ``python benchmarks/bench_llm.py``; results in ``benchmarks/results/llm.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.llm_server import Fault, LLMServer  # noqa: E402

from decisioning.autotune import detect_plateaus  # noqa: E402
from decisioning.config import PlateauRule  # noqa: E402
from decisioning.llm import LLM, Endpoint, TokenBudget  # noqa: E402
from decisioning.llm_steps import tag_texts  # noqa: E402

LATENCY = 0.2  # seconds per request, a fast hosted model's structured answer
TEXTS = 1_000
FIELDS, VALUES, DAYS = 3, 40, 180


def bench_tagging() -> list[dict[str, float]]:
    server = LLMServer()
    texts = [f"Variant {i}: your streak is waiting, {{first_name}}" for i in range(TEXTS)]
    rows = []
    for concurrency in (1, 4, 16):
        n = TEXTS if concurrency > 1 else 100
        server.faults.extend(Fault(delay=LATENCY) for _ in range(n))
        llm = LLM(Endpoint("bench", server.base_url, "sk", 30.0, 0), TokenBudget(10**9))
        started = time.perf_counter()
        tagged, calls = tag_texts(texts[:n], llm, concurrency)
        seconds = time.perf_counter() - started
        assert len(tagged) == n and all(c.ok for c in calls)
        rows.append(
            {
                "concurrency": concurrency,
                "texts": n,
                "seconds": round(seconds, 2),
                "texts_per_second": round(n / seconds, 1),
                "ideal_texts_per_second": round(concurrency / LATENCY, 1),
            }
        )
        print(rows[-1])
    server.close()
    return rows


def bench_plateau() -> dict[str, float]:
    rng = np.random.default_rng(0)
    start = dt.date(2026, 1, 1)
    frames = []
    for f in range(FIELDS):
        means = rng.uniform(0.1, 0.3, VALUES)
        n = rng.integers(50, 500, (DAYS, VALUES))
        hits = rng.binomial(n, means)
        frames.append(
            pd.DataFrame(
                {
                    "field": f"field_{f}",
                    "value_id": np.tile([f"v{v}" for v in range(VALUES)], DAYS),
                    "decision_date": np.repeat(
                        [start + dt.timedelta(days=d) for d in range(DAYS)], VALUES
                    ),
                    "rewards": n.ravel(),
                    "reward_sum": hits.ravel(),
                    "reward_sum_squares": hits.ravel(),
                }
            )
        )
    daily = pd.concat(frames, ignore_index=True)
    active = {f"field_{f}": [f"v{v}" for v in range(VALUES)] for f in range(FIELDS)}
    rule = PlateauRule(days=7, min_probability_best=0.9, max_relative_change=0.05, min_rewards=200)
    started = time.perf_counter()
    states = detect_plateaus(daily, active, rule, start + dt.timedelta(days=DAYS - 1))
    seconds = time.perf_counter() - started
    result = {
        "rows": len(daily),
        "fields": FIELDS,
        "values_per_field": VALUES,
        "days": DAYS,
        "seconds": round(seconds, 3),
        "plateaued_fields": sum(s.plateaued for s in states.values()),
    }
    print(result)
    return result


def main() -> None:
    results = {"latency_seconds": LATENCY, "tagging": bench_tagging(), "plateau": bench_plateau()}
    out = ROOT / "benchmarks" / "results" / "llm.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
