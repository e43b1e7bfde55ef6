"""Off-policy estimators against the demo world's truth.

A known, context-dependent logging policy decides for the world's customers under random
guardrails (opt-ins, blocked slots); the world draws the rewards. Each replication draws
new decisions and rewards; the target policies' true values come from the simulator's
exact expected rewards. Bounds are derived from the replications' own spread.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from decisioning.catalog import Catalog
from decisioning.config import load_config
from decisioning.evaluation import (
    Z_95,
    LoggedDecisions,
    RewardModel,
    Target,
    allowed_sends,
    estimate,
    evaluate,
    fixed_choice,
    target_policy,
    target_probability,
)
from decisioning.policies.base import uniform
from decisioning.posterior import fit_models, statistics_frame
from decisioning.world import ACTION_VALUES, FIELDS, World, generate_world

START = dt.date(2026, 1, 1)
WEIGHTS = {"open": 0.1, "click": 0.3, "conversion": 1.0, "unsubscribe": -0.5}
N, REPLICATIONS = 3000, 40


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(n_customers=N, seed=3, start=START)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    rows = [
        (f, v, f"{v}_opt_in" if f == "channel" else None) for f in FIELDS for v in ACTION_VALUES[f]
    ]
    frame = pd.DataFrame(rows, columns=["field", "value_id", "opt_in_column"])
    frame["is_active"] = True
    return Catalog.from_frame(frame, FIELDS)


def _draw(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One index per row of the (n, V) probabilities."""
    return (rng.random((len(p), 1)) > np.cumsum(p, axis=1)).sum(axis=1)


def log_decisions(world: World, rep: int) -> pd.DataFrame:
    """A day of decisions by a known logging policy, with rewards: the channel leans on
    age, the rest on fixed skewed probabilities, within random guardrails."""
    rng = np.random.default_rng([11, rep])
    customers = world.customers
    n, rows = len(customers), np.arange(len(customers))
    opted = customers[["email_opt_in", "push_opt_in", "sms_opt_in"]].to_numpy(bool).copy()
    opted[~opted.any(axis=1), 0] = True
    allowed = opted[:, :, None] & (rng.random((n, 3, 4)) < 0.7)
    allowed[rows, :, rng.integers(0, 4, n)] |= opted
    age = ((customers["age"].to_numpy() - 40) / 15)[:, None]
    channel_p = np.exp(np.array([0.0, -0.3, -1.0]) + age * np.array([0.8, -0.6, 0.0]))
    channel_p = np.where(allowed.any(axis=2), channel_p, 0.0)
    channel_p /= channel_p.sum(axis=1, keepdims=True)
    channel = _draw(rng, channel_p)
    slot_p = allowed[rows, channel] * np.array([0.4, 0.3, 0.2, 0.1])
    slot_p /= slot_p.sum(axis=1, keepdims=True)
    slot = _draw(rng, slot_p)
    frame = pd.DataFrame(
        {
            "decision_id": [f"r{rep}-{i}" for i in range(n)],
            "decision_date": START,
            "fold": np.arange(n) % 2,
            "customer_id": customers["customer_id"].astype(str).to_numpy(),
            "channel": np.array(ACTION_VALUES["channel"])[channel],
            "send_slot": np.array(ACTION_VALUES["send_slot"])[slot],
            "channel_propensity": channel_p[rows, channel],
            "send_slot_propensity": slot_p[rows, slot],
        }
    )
    for field in ("subject_line", "greeting", "offer"):
        k = len(ACTION_VALUES[field])
        p = np.tile(np.linspace(2.0, 1.0, k) / np.linspace(2.0, 1.0, k).sum(), (n, 1))
        chosen = _draw(rng, p)
        frame[field] = np.array(ACTION_VALUES[field])[chosen]
        frame[f"{field}_propensity"] = p[rows, chosen]
    frame["propensity"] = np.prod([frame[f"{f}_propensity"] for f in FIELDS], axis=0)
    pairs = np.array(
        [f"{c}@{s}" for c in ACTION_VALUES["channel"] for s in ACTION_VALUES["send_slot"]]
    )
    frame["eligible_sends"] = [",".join(pairs[row]) for row in allowed.reshape(n, -1)]
    frame["send_at_utc"] = pd.Timestamp(START) + pd.Timedelta(hours=12)
    frame["x_intercept"] = 1.0
    frame["x_age"] = age[:, 0]
    frame["reward"] = world.realized_rewards(frame, WEIGHTS)
    return frame


def true_value(
    world: World,
    frame: pd.DataFrame,
    actions: dict[str, np.ndarray],
    weights: dict[str, float] = WEIGHTS,
) -> float:
    """The simulator's mean expected reward of ``actions`` on the logged customers."""
    return float(
        np.mean(
            world.expected_reward(
                frame["customer_id"].to_numpy(), actions, weights, send_at=frame["send_at_utc"]
            )
        )
    )


def sampled_value(
    world: World,
    frame: pd.DataFrame,
    target: Target,
    seed: int,
    draws: int = 8,
    weights: dict[str, float] = WEIGHTS,
) -> float:
    """E over the target's distribution of the true reward, by sampling its actions."""
    rng = np.random.default_rng(seed)
    rows = np.arange(len(frame))
    values = []
    for _ in range(draws):
        channel = _draw(rng, target.fields["channel"])
        actions = {"channel": np.array(ACTION_VALUES["channel"])[channel]}
        slot = _draw(rng, target.fields["send_slot"][rows, channel])
        actions["send_slot"] = np.array(ACTION_VALUES["send_slot"])[slot]
        for field in ("subject_line", "greeting", "offer"):
            actions[field] = np.array(ACTION_VALUES[field])[_draw(rng, target.fields[field])]
        values.append(true_value(world, frame, actions, weights))
    return float(np.mean(values))


def reward_model(logged: LoggedDecisions, frame: pd.DataFrame, catalog: Catalog) -> RewardModel:
    names = ("x_intercept", "x_age")
    statistics = statistics_frame(
        frame[list(names)].to_numpy(),
        names,
        {f: frame[f].to_numpy(dtype=object) for f in FIELDS},
        frame["reward"].to_numpy(),
        np.ones(len(frame)),
    )
    return RewardModel.fit(logged, fit_models(statistics, catalog, names, 0.1))


def test_allowed_sends_parses_pairs_and_treats_unknown_as_all(catalog: Catalog) -> None:
    text = pd.Series(["email@h08,push@h21", None, "sms@h12,fax@h08"])
    allowed = allowed_sends(text, catalog)
    assert allowed.shape == (3, 3, 4)
    assert allowed[0].sum() == 2 and allowed[0, 0, 0] and allowed[0, 1, 3]
    assert allowed[1].all()
    assert allowed[2].sum() == 1 and allowed[2, 2, 1]


def test_logging_policy_evaluates_to_itself(world: World, catalog: Catalog) -> None:
    """A target equal to the log in every field has weight 1: IPS is the on-policy mean."""
    frame = log_decisions(world, 0)
    logged = LoggedDecisions.from_frame(frame, catalog)
    follow = Target("log", "", dict.fromkeys(FIELDS))
    assert np.allclose(target_probability(follow, logged, catalog), logged.propensity)
    ips = estimate(follow, logged, catalog, reward_model(logged, frame, catalog), 100)[0]
    assert ips.estimate == pytest.approx(frame["reward"].mean())
    assert ips.effective_sample_size == pytest.approx(len(frame))


def test_estimators_are_unbiased_and_intervals_cover(world: World, catalog: Catalog) -> None:
    """Over replications, each estimator's mean is within 3 standard errors of the mean
    truth, and its 95% interval covers the truth at least 34 times in 40 (the binomial
    mean 38 less 3 sd of 1.4)."""
    fixed = {"channel": 0, "send_slot": 0, "offer": 0}  # email @ h08, no offer
    partial = {"subject_line": 1, "offer": 2}  # sl_streak, free week
    estimates: dict[tuple[str, str], list[float]] = {}
    covered: dict[tuple[str, str], int] = {}
    truths: dict[str, list[float]] = {}
    for rep in range(REPLICATIONS):
        frame = log_decisions(world, rep)
        logged = LoggedDecisions.from_frame(frame, catalog)
        model = reward_model(logged, frame, catalog)
        targets = {
            "uniform": target_policy("uniform", "", logged, catalog, lambda f, r, e: uniform(e)),
            "fixed": target_policy("fixed", "", logged, catalog, fixed_choice(fixed), tuple(fixed)),
            "partial": target_policy(
                "partial", "", logged, catalog, fixed_choice(partial), tuple(partial)
            ),
        }
        truth = {
            "uniform": sampled_value(world, frame, targets["uniform"], rep),
            "fixed": true_value(world, frame, chosen_actions(targets["fixed"], frame)),
            "partial": true_value(world, frame, chosen_actions(targets["partial"], frame)),
        }
        for name, target in targets.items():
            truths.setdefault(name, []).append(truth[name])
            for e in estimate(target, logged, catalog, model, 100):
                key = (name, e.estimator)
                estimates.setdefault(key, []).append(e.estimate)
                covered[key] = covered.get(key, 0) + int(e.ci_low <= truth[name] <= e.ci_high)
    for (name, estimator), values in estimates.items():
        bias = np.mean(values) - np.mean(truths[name])
        spread = np.std(np.array(values) - np.array(truths[name]), ddof=1)
        assert abs(bias) < 3 * spread / np.sqrt(REPLICATIONS), (name, estimator, bias, spread)
        assert covered[(name, estimator)] >= 34, (name, estimator, covered[(name, estimator)])


def chosen_actions(target: Target, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A deterministic target's action per decision; the log's where it follows the log."""
    rows = np.arange(len(frame))
    channel = pd.Index(ACTION_VALUES["channel"]).get_indexer(frame["channel"])
    actions = {}
    for field in FIELDS:
        p = target.fields[field]
        if p is None:
            actions[field] = frame[field].to_numpy()
            continue
        chosen = (p[rows, channel] if field == "send_slot" else p).argmax(axis=1)
        if field == "channel":
            channel = chosen
        actions[field] = np.array(ACTION_VALUES[field])[chosen]
    return actions


def test_thin_support_is_flagged(world: World, catalog: Catalog) -> None:
    """One fixed value in every field matches about 1 logged decision in 200: on 3,000
    decisions the estimate rests on a handful and is flagged."""
    frame = log_decisions(world, 0)
    logged = LoggedDecisions.from_frame(frame, catalog)
    target = target_policy("fixed", "", logged, catalog, fixed_choice({f: 1 for f in FIELDS}))
    [ips, *_] = estimate(target, logged, catalog, reward_model(logged, frame, catalog), 100)
    assert not ips.is_supported
    assert ips.warning is not None and "effective sample size" in ips.warning
    assert ips.matching_decisions < 30


def test_evaluate_lists_every_policy_and_estimator(world: World, catalog: Catalog) -> None:
    frame = log_decisions(world, 1)
    logged = LoggedDecisions.from_frame(frame, catalog)
    config = load_config(
        {
            "as_of": "2026-01-02",
            "evaluation": {"policies": [{"name": "email_only", "actions": {"channel": "email"}}]},
        }
    )
    table = evaluate(logged, catalog, config)
    policies = [
        "logged",
        "current",
        "current_greedy",
        "uniform_random",
        "best_combination",
        "email_only",
    ]
    assert table["policy"].unique().tolist() == policies
    assert len(table) == 1 + 3 * (len(policies) - 1)
    assert (table["ci_low"] <= table["estimate"]).all() and (
        table["estimate"] <= table["ci_high"]
    ).all()
    logged_row = table[table["policy"] == "logged"].iloc[0]
    assert logged_row["estimate"] == pytest.approx(frame["reward"].mean())
    half_width = (logged_row["ci_high"] - logged_row["ci_low"]) / 2
    assert half_width == pytest.approx(Z_95 * frame["reward"].std() / np.sqrt(len(frame)))
