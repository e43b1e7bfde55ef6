"""Sanity check of the Vowpal Wabbit baseline: does it learn, and how fast does it decide?

Learning: a synthetic contextual problem with a known best value per customer. Two fields
(tone: 3 values, slot: 4 values), 5 customer features x ~ N(0, 1); the mean reward of
value v of field f is ``x @ W_f[:, v]`` with fixed random ``W_f``, summed over fields,
plus N(0, 1) noise. One in ten customers cannot get slot ``night``. Each of ``--days``
daily batches of ``--batch`` customers is decided, and its rewards are learned ``--delay``
days late (delay 1: day t's rewards arrive after day t+1 was decided). Printed per day
and setting: the share of traffic to each field's best eligible value (chance is about
1/3 and 1/4).

Speed: ``decide`` on ``--customers`` customers, 5 fields (3, 4, 6, 4, 4 values), 21
features, after learning one batch of the same size; also ``learn`` throughput.

    python benchmarks/vw_sanity.py [--days 20 --batch 2000 --delay 1 --customers 10000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from vw_policy import SETTINGS, VowpalWabbitPolicy, decisions_per_second

SANITY_VALUES = {
    "tone": ("formal", "casual", "playful"),
    "slot": ("morning", "noon", "evening", "night"),
}
SANITY_TAGS = {"tone": ("friendly",), "slot": ("daytime",)}
SANITY_TAG_VALUES = {"tone": [[0.0], [1.0], [1.0]], "slot": [[1.0], [1.0], [0.0], [0.0]]}
SPEED_SIZES = {"channel": 3, "send_slot": 4, "subject_line": 6, "greeting": 4, "offer": 4}


def _action_features(
    values: dict[str, tuple[str, ...]], tags: dict[str, np.ndarray], tag_names: dict[str, tuple]
) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
    """Identity one-hot plus tag columns per field."""
    features = {f: np.hstack([np.eye(len(v)), tags[f]]) for f, v in values.items()}
    names = {f: (*(f"{f}={x}" for x in v), *tag_names[f]) for f, v in values.items()}
    return features, names


def learning_curves(days: int, batch: int, delay: int, seed: int) -> dict[str, np.ndarray]:
    """Share of traffic to the best eligible value, (days, fields), per setting."""
    world = np.random.default_rng(seed)
    d = 5
    weights = {f: world.normal(0.0, 1.0, (d, len(v))) for f, v in SANITY_VALUES.items()}
    tags = {f: np.asarray(t) for f, t in SANITY_TAG_VALUES.items()}
    action_features, action_names = _action_features(SANITY_VALUES, tags, SANITY_TAGS)
    feature_names = tuple(f"x{i}" for i in range(d))
    curves: dict[str, np.ndarray] = {}
    for name, arguments in SETTINGS.items():
        policy = VowpalWabbitPolicy(
            SANITY_VALUES, action_features, action_names, feature_names, arguments, seed
        )
        rng = np.random.default_rng(seed + 1)  # same customers and noise for every setting
        pending: list[tuple] = []
        shares = np.zeros((days, len(SANITY_VALUES)))
        for day in range(days):
            x = rng.normal(0.0, 1.0, (batch, d))
            eligible = {f: np.ones((batch, len(v)), dtype=bool) for f, v in SANITY_VALUES.items()}
            eligible["slot"][:, 3] = rng.random(batch) >= 0.1
            chosen, probabilities = policy.decide(x, eligible)
            reward = rng.normal(0.0, 1.0, batch)
            for i, field in enumerate(SANITY_VALUES):
                means = np.where(eligible[field], x @ weights[field], -np.inf)
                assert eligible[field][np.arange(batch), chosen[field]].all()
                shares[day, i] = (chosen[field] == means.argmax(axis=1)).mean()
                reward += means[np.arange(batch), chosen[field]]
            pending.append((x, eligible, chosen, probabilities, reward))
            if len(pending) > delay:
                policy.learn(*pending.pop(0))
        curves[name] = shares
    return curves


def speed(customers: int, seed: int) -> dict[str, tuple[float, float]]:
    """Decisions/second of ``decide`` and examples/second of ``learn``, per setting."""
    rng = np.random.default_rng(seed)
    values = {f: tuple(f"{f}_{i}" for i in range(v)) for f, v in SPEED_SIZES.items()}
    tag_names = {f: ("tag_a", "tag_b", "tag_c") for f in values}
    tags = {f: (rng.random((len(v), 3)) < 0.5).astype(float) for f, v in values.items()}
    action_features, action_names = _action_features(values, tags, tag_names)
    # 21 features: 11 continuous, 10 one-hot-ish (mostly zero), like the demo world.
    x = np.hstack(
        [rng.normal(0.0, 1.0, (customers, 11)), (rng.random((customers, 10)) < 0.2) * 1.0]
    )
    feature_names = tuple(f"feature_{i}" for i in range(x.shape[1]))
    eligible = {f: np.ones((customers, len(v)), dtype=bool) for f, v in values.items()}
    eligible["channel"][:, 1] = rng.random(customers) < 0.7  # opt-in
    results: dict[str, tuple[float, float]] = {}
    for name, arguments in SETTINGS.items():
        policy = VowpalWabbitPolicy(
            values, action_features, action_names, feature_names, arguments, seed
        )
        chosen, probabilities = policy.decide(x, eligible)
        started = time.perf_counter()
        policy.learn(x, eligible, chosen, probabilities, rng.normal(0.0, 1.0, customers))
        learned = customers / (time.perf_counter() - started)
        results[name] = (decisions_per_second(policy, x, eligible), learned)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--delay", type=int, default=1)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    curves = learning_curves(args.days, args.batch, args.delay, args.seed)
    fields = "/".join(SANITY_VALUES)
    print(f"Share of traffic to the best value ({fields}), chance ~0.33/0.25")
    print("day " + "".join(f"{name:>17}" for name in curves))
    for day in range(args.days):
        cells = "".join(f"{'/'.join(f'{s:.2f}' for s in c[day]):>17}" for c in curves.values())
        print(f"{day:>3} {cells}")

    print(f"\nSpeed at {args.customers:,} customers, 5 fields, 21 features")
    for name, (decide_rate, learn_rate) in speed(args.customers, args.seed).items():
        print(f"{name:>15}: decide {decide_rate:8,.0f}/s   learn {learn_rate:8,.0f}/s")


if __name__ == "__main__":
    main()
