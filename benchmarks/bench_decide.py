"""Speed of the decide step at scale, beside the machine's BLAS throughput and Vowpal Wabbit.

    .venv/bin/python benchmarks/bench_decide.py [--customers 1000000]

Decides for ``--customers`` customers with 32 features over 3 channels x 3 send slots x
3 message fields of 6 tagged variants each (models fitted on 50,000 synthetic rewards),
with every algorithm, including propensities. Vowpal Wabbit decides the same customers'
first 20,000 rows with the same features and action features (when installed). Writes
``benchmarks/results/decide.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from hashlib import md5
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decisioning.catalog import Catalog  # noqa: E402
from decisioning.config import ALGORITHMS, load_config  # noqa: E402
from decisioning.decide import Audience, decide, eligible_values  # noqa: E402
from decisioning.policies import policy_class  # noqa: E402
from decisioning.posterior import fit_models, statistics_frame  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("channel", "send_slot", "subject_line", "greeting", "offer")
TAGS = ("tone:warm", "tone:playful", "theme:progress", "theme:savings", "theme:novelty", "")
D = 32


def catalog() -> Catalog:
    rows = [("channel", c, f"{c}_opt_in", "", "") for c in ("email", "push", "sms")]
    rows += [("send_slot", s, None, "", "") for s in ("h08", "h12", "h18")]
    for field in FIELDS[2:]:
        for k in range(6):
            content = f"{field} {k} {'50% off today' if k % 3 == 0 else 'see you soon'}"
            rows.append((field, f"{field}_{k}", None, content, TAGS[k]))
    frame = pd.DataFrame(rows, columns=["field", "value_id", "opt_in_column", "content", "tags"])
    return Catalog.from_frame(frame.assign(is_active=True), FIELDS)


def audience(n: int, seed: int = 0) -> Audience:
    rng = np.random.default_rng(seed)
    features = np.column_stack([np.ones(n), rng.normal(size=(n, D - 1))])
    email = rng.random(n) < 0.8
    push, sms = rng.random(n) < 0.5, rng.random(n) < 0.3
    email |= ~(push | sms)
    # As Audience.from_frame hands them over: Arrow strings and float32 features.
    ids = pd.array([md5(str(i).encode()).hexdigest() for i in range(n)], dtype="string[pyarrow]")
    return Audience(
        decision_ids=ids,
        customer_ids=ids,
        flags={"email_opt_in": email, "push_opt_in": push, "sms_opt_in": sms},
        features=features.astype(np.float32),
        feature_names=("x_intercept", *(f"x_{i}" for i in range(1, D))),
    )


def fitted(cat: Catalog, names: tuple[str, ...], contextual: bool) -> dict[str, Any]:
    """Models fitted on 50,000 logged decisions with rewards linear in the features."""
    rng = np.random.default_rng(1)
    n = 50_000
    x = np.column_stack([np.ones(n), rng.normal(size=(n, D - 1))])
    actions = {f: rng.choice(np.array(v, dtype=object), n) for f, v in cat.values.items()}
    r = x @ rng.normal(scale=0.02, size=D) + rng.normal(scale=0.3, size=n)
    stats = statistics_frame(x, names, actions, r, np.ones(n))
    used = names if contextual else ("x_intercept",)
    return fit_models(stats, cat, used, 0.1, names)


def blas_gflops(size: int = 2048, repeats: int = 3) -> float:
    """float64 matrix-multiply throughput: 2 n^3 flops per product."""
    a = np.random.default_rng(0).normal(size=(size, size))
    best = np.inf
    for _ in range(repeats):
        began = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - began)
    return 2 * size**3 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--vw-customers", type=int, default=20_000)
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/decide.json"))
    args = parser.parse_args()
    cat = catalog()
    people = audience(args.customers)
    names = people.feature_names
    result: dict[str, Any] = {
        "customers": args.customers,
        "features": D,
        "values_per_field": {f: len(v) for f, v in cat.values.items()},
        "blas_gflops": round(blas_gflops(), 1),
        "seconds": {},
    }
    for algorithm in ALGORITHMS:
        contextual = policy_class(algorithm).contextual
        models = fitted(cat, names, contextual)
        config = load_config({"as_of": "2026-01-01", "policy": {"algorithm": algorithm}})
        began = time.perf_counter()
        frame = decide(people, models, cat, config, "bench", days_running=30)
        seconds = time.perf_counter() - began
        assert len(frame) == args.customers and frame["propensity"].between(0, 1).all()
        result["seconds"][algorithm] = round(seconds, 2)
        print(f"{algorithm:<28} {seconds:6.2f} s  {args.customers / seconds:12,.0f} decisions/s")
    # Effective throughput of the variance step x' S_v x: 2 n d^2 flops per value.
    values = sum(len(v) for v in cat.values.values())
    result["variance_gflop"] = round(2 * args.customers * D * D * values / 1e9, 1)
    ts = result["seconds"]["thompson_sampling"]
    result["decisions_per_second"] = round(args.customers / ts)
    try:
        from vw_policy import VowpalWabbitPolicy, decisions_per_second
    except ImportError:
        print("vowpalwabbit is not installed: no comparison (make bench installs it).")
    else:
        n = min(args.vw_customers, args.customers)
        small = people.features[:n]
        vw = VowpalWabbitPolicy(
            cat.values, cat.action_features, cat.action_feature_names, names, "--epsilon 0.05"
        )
        eligible = {f: eligible_values(f, cat, people)[:n] for f in cat.fields}
        rate = decisions_per_second(vw, small, eligible)
        result["vw_decisions_per_second"] = round(rate)
        result["speedup_over_vw"] = round(result["decisions_per_second"] / rate, 1)
        print(f"Vowpal Wabbit (epsilon 0.05)  {rate:12,.0f} decisions/s")
    result["peak_memory_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=2))
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
