"""Guardrails: send options, exact budgets, the exploration ceiling, decision groups,
channel costs, and the validation of their settings.

Statistical checks use fixed seeds (and fixed decision ids); each bound is derived from
the distribution the library claims to draw from, in a comment next to it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from decisioning.catalog import Catalog
from decisioning.config import Config, ConfigError, QuietHours, load_config
from decisioning.decide import (
    ARRIVAL_STREAM,
    HOLDOUT,
    POLICY,
    USUAL,
    Audience,
    Limits,
    decide,
)
from decisioning.guardrails import (
    Exploration,
    SendTimes,
    Usage,
    block_triples,
    budget_limits,
    check_guardrails,
    draw_with_budgets,
    send_options,
)
from decisioning.keyed_random import decision_keys, keyed_uniforms
from decisioning.policies import Scores
from decisioning.posterior import FieldModel, fit_models, statistics_frame

# Same as tests.conftest.DEFAULT_ACTION (not imported: mypy would then check conftest too).
DEFAULT_ACTION = {
    "channel": "email",
    "send_slot": "h08",
    "subject_line": "s1",
    "greeting": "g1",
    "offer": "o1",
}
CHANNELS = ("email", "push", "sms")
SLOTS = ("h08", "h12", "h18")
AS_OF = "2026-01-10"
Mask = npt.NDArray[np.bool_]

# --------------------------------------------------------------------------- helpers


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _models(catalog: Catalog, d: int = 4, seed: int = 0) -> dict[str, FieldModel]:
    """Copied from tests/test_decide.py: fitted on synthetic data where value k of each
    field has mean reward 0.1 k (so the last value of a field is the best)."""
    rng = np.random.default_rng(seed)
    names = tuple(f"x_{i}" for i in range(d))
    frames = []
    for field, values in catalog.values.items():
        xs, rs, chosen = [], [], []
        for k, value in enumerate(values):
            xs.append(np.column_stack([np.ones(200), rng.normal(size=(200, d - 1))]))
            rs.append(0.1 * k + rng.normal(scale=0.3, size=200))
            chosen.append(np.full(200, value, dtype=object))
        x, r = np.concatenate(xs), np.concatenate(rs)
        frames.append(
            statistics_frame(x, names, {field: np.concatenate(chosen)}, r, np.ones(len(r)))
        )
    models: dict[str, FieldModel] = fit_models(
        pd.concat(frames, ignore_index=True), catalog, names, prior_variance=1.0
    )
    return models


def _audience(
    n: int,
    seed: int = 0,
    salt: str = "winback|2026-01-10",
    groups: tuple[float, float, float] = (1.0, 0.0, 0.0),
    d: int = 4,
) -> Audience:
    """Like tests.conftest.make_audience (each customer has an opt-in), with decision ids
    salted by ``salt`` (independent draws per salt) and group shares (policy, holdout,
    business as usual)."""
    rng = np.random.default_rng(seed)
    features = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
    customers = np.array([f"c{i:06d}" for i in range(n)])
    email = rng.random(n) < 0.8
    push = rng.random(n) < 0.5
    sms = rng.random(n) < 0.3
    email |= ~(push | sms)
    codes = rng.choice(np.array([POLICY, HOLDOUT, USUAL]), size=n, p=groups)
    return Audience(
        decision_ids=np.array([_md5(f"{salt}|{c}") for c in customers]),
        customer_ids=customers,
        flags={"email_opt_in": email, "push_opt_in": push, "sms_opt_in": sms},
        features=features,
        feature_names=tuple(f"x_{i}" for i in range(d)),
        groups=codes.astype(np.int8),
    )


def _config(
    guardrails: dict[str, Any] | None = None,
    algorithm: str = "thompson_sampling",
    floor: float = 0.01,
) -> Config:
    return load_config(
        {
            "as_of": AS_OF,
            "policy": {"algorithm": algorithm, "propensity_floor": floor},
            "holdout": {"share": 0.0, "default_action": DEFAULT_ACTION},
            "guardrails": guardrails or {},
        }
    )


def _opt_ins(audience: Audience) -> Mask:
    """(n, 3) opt-in per real channel, catalog order."""
    return np.column_stack([audience.flags[f"{c}_opt_in"] for c in CHANNELS])


def _is(frame: pd.DataFrame, column: str, value: str) -> Mask:
    """Rows where a (nullable) text column equals ``value``; null is not equal."""
    return frame[column].eq(value).fillna(False).to_numpy(dtype=bool)


def _live(frame: pd.DataFrame) -> Mask:
    return frame["skip_reason"].isna().to_numpy()


# ------------------------------------------------------------------------ 1. budgets


@pytest.mark.parametrize(
    "budgets",
    [
        [{"field": "offer", "value": "o3", "max_count": 300}],
        [{"field": "offer", "value": "o3", "max_share": 0.05}],
        [
            {"field": "offer", "value": "o3", "max_count": 300},
            {"field": "offer", "value": "o2", "max_share": 0.05},
        ],
    ],
    ids=["max_count", "max_share", "two_in_one_field"],
)
def test_budgets_are_met_exactly_when_demand_exceeds_them(catalog, budgets) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    audience = _audience(20_000, groups=(0.8, 0.2, 0.0))
    free = decide(audience, models, catalog, _config(algorithm="uniform_random"), "v1")
    capped = decide(
        audience, models, catalog, _config({"budgets": budgets}, "uniform_random"), "v1"
    )
    # max_share is a share of the day's decisions: every live row, holdout included.
    decisions = int(_live(capped).sum())
    assert decisions == len(audience)  # nobody is skipped here
    for budget in budgets:
        limit = budget.get("max_count")
        if limit is None:
            limit = math.floor(budget["max_share"] * decisions)
        # Unconstrained demand: Binomial(~16,000, 1/3), about 5,333 +- 60, far above it.
        demand = int((free["offer"] == budget["value"]).sum())
        assert demand > limit
        assert int((capped["offer"] == budget["value"]).sum()) == limit
    # What the budgets took away went to the unbudgeted offer, nobody was skipped.
    assert capped["offer"].notna().sum() == free["offer"].notna().sum()


def test_a_budget_on_the_best_value_binds_under_thompson_sampling(catalog) -> None:  # type: ignore[no-untyped-def]
    # o3 has the highest mean reward: Thompson sampling wants it for most customers.
    models = _models(catalog)
    audience = _audience(20_000, groups=(0.8, 0.2, 0.0))
    free = decide(audience, models, catalog, _config(), "v1")
    budget = {"field": "offer", "value": "o3", "max_count": 300}
    capped = decide(audience, models, catalog, _config({"budgets": [budget]}), "v1")
    assert (free["offer"] == "o3").sum() > 300
    assert (capped["offer"] == "o3").sum() == 300


def test_a_channel_budget_skips_whoever_has_no_other_channel(catalog) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    audience = _audience(20_000, groups=(0.8, 0.2, 0.0))
    budget = {"field": "channel", "value": "sms", "max_share": 0.01}
    frame = decide(audience, models, catalog, _config({"budgets": [budget]}), "v1")
    live = _live(frame)
    # The limit is a share of the day's final (non-skipped) decisions: the fixed point.
    assert (frame["channel"] == "sms").sum() == math.floor(0.01 * live.sum())
    skipped = _is(frame, "skip_reason", "budget_exhausted")
    sms_only = audience.flags["sms_opt_in"] & ~audience.flags["email_opt_in"]
    sms_only &= ~audience.flags["push_opt_in"]
    assert skipped.any()
    assert sms_only[skipped].all()
    assert (audience.groups[skipped] != HOLDOUT).all()  # the holdout sends nothing
    assert frame.loc[skipped, "propensity"].isna().all()
    assert frame.loc[skipped, "channel"].isna().all()


def test_budgets_count_what_was_logged_earlier_today(catalog) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    audience = _audience(20_000, groups=(0.8, 0.2, 0.0))
    usage = Usage(decisions=1_000, policy_decisions=800, values=(("offer", "o3", 120),))
    limits = Limits(usage=usage)
    count = {"field": "offer", "value": "o3", "max_count": 300}
    frame = decide(audience, models, catalog, _config({"budgets": [count]}), "v1", limits=limits)
    assert (frame["offer"] == "o3").sum() == 300 - 120
    share = {"field": "offer", "value": "o3", "max_share": 0.05}
    frame = decide(audience, models, catalog, _config({"budgets": [share]}), "v1", limits=limits)
    assert (frame["offer"] == "o3").sum() == math.floor(0.05 * (20_000 + 1_000)) - 120
    spent = Limits(usage=Usage(values=(("offer", "o3", 400),)))
    frame = decide(audience, models, catalog, _config({"budgets": [count]}), "v1", limits=spent)
    assert (frame["offer"] == "o3").sum() == 0


def test_budget_limits_and_usage_from_the_log(catalog) -> None:  # type: ignore[no-untyped-def]
    config = _config(
        {
            "budgets": [
                {"field": "offer", "value": "o2", "max_share": 0.1},
                {"field": "offer", "value": "o3", "max_count": 5},
                {"field": "channel", "value": "sms", "max_count": 7},
            ]
        }
    )
    logged = pd.DataFrame(
        {
            "decision_group": ["policy", "policy", "holdout", "business_as_usual"],
            "is_exploration": [True, False, False, False],
            "channel": ["sms", "email", None, "email"],
            "offer": ["o3", "o3", None, "o1"],
        }
    )
    usage = Usage.from_frame(logged, ("channel", "offer"))
    assert (usage.decisions, usage.policy_decisions, usage.explorations) == (4, 2, 1)
    assert usage.used("offer", "o3") == 2 and usage.used("channel", "sms") == 1
    assert usage.used("offer", "o2") == 0
    offers = catalog.values["offer"]
    # o2: floor(0.1 * 96) = 9, nothing used; o3: 5 - 2 = 3.
    assert budget_limits(config.guardrails.budgets, "offer", offers, 96, usage) == {1: 9, 2: 3}
    assert budget_limits(config.guardrails.budgets, "channel", CHANNELS, 96, usage) == {2: 6}
    heavy = Usage(values=(("offer", "o3", 9),))
    assert budget_limits(config.guardrails.budgets, "offer", offers, 96, heavy)[2] == 0


def test_a_budget_that_never_binds_changes_no_decision(catalog) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    audience = _audience(3_000, groups=(0.7, 0.2, 0.1))
    budget = {"field": "offer", "value": "o3", "max_count": 1_000_000}
    free = decide(audience, models, catalog, _config(), "v1")
    capped = decide(audience, models, catalog, _config({"budgets": [budget]}), "v1")
    pd.testing.assert_frame_equal(free, capped)


def test_a_non_binding_budget_changes_nothing_whatever_the_arrival_order(catalog) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    audience = _audience(40)  # all policy, none skipped: every row is drawn
    offer_stream = catalog.fields.index("offer")
    arrival = keyed_uniforms(decision_keys(audience.decision_ids), ARRIVAL_STREAM + offer_stream)
    # Reorder the audience so the last customer to arrive is also the last row (a 1/n
    # chance in real data); the others in a shuffled order.
    by_arrival = np.argsort(arrival)
    order = np.r_[np.random.default_rng(1).permutation(by_arrival[:-1]), by_arrival[-1]]
    audience = dataclasses.replace(
        audience,
        decision_ids=audience.decision_ids[order],
        customer_ids=audience.customer_ids[order],
        flags={k: v[order] for k, v in audience.flags.items()},
        features=audience.features[order],
        groups=audience.group_codes()[order],
    )
    budget = {"field": "offer", "value": "o3", "max_count": 1_000_000}
    free = decide(audience, models, catalog, _config(), "v1")
    capped = decide(audience, models, catalog, _config({"budgets": [budget]}), "v1")
    pd.testing.assert_frame_equal(free, capped)


# ------------------------------------------------------ 2. propensities under budgets

P = np.array([0.5, 0.3, 0.2])


def _fixed(p: npt.NDArray[np.float64], calls: list[tuple[Any, Mask]] | None = None) -> Any:
    """A policy giving every row ``p`` renormalized over its eligible values, scoring each
    value by its probability (the greedy value is the likeliest)."""

    def distribution(rows: npt.NDArray[np.intp], eligible: Mask) -> Any:
        if calls is not None:
            calls.append((rows.copy(), eligible.copy()))
        q = np.where(eligible, p, 0.0)
        q /= q.sum(axis=1, keepdims=True)
        return q, np.tile(p, (len(rows), 1))

    return distribution


def _run(
    u: list[float],
    order: list[int],
    remaining: dict[int, int],
    draws: list[bool] | None = None,
    q: float = 1.0,
    forced: list[int] | None = None,
    eligible: Mask | None = None,
    calls: list[tuple[Any, Mask]] | None = None,
) -> Any:
    n = len(u)
    return draw_with_budgets(
        _fixed(P, calls),
        np.ones((n, 3), dtype=bool) if eligible is None else eligible,
        np.array(order, dtype=np.intp),
        np.array(u),
        np.ones(n, dtype=bool) if draws is None else np.array(draws),
        q,
        np.full(n, -1, dtype=np.intp) if forced is None else np.array(forced, dtype=np.intp),
        remaining,
    )


def test_rows_after_a_budget_runs_out_face_the_renormalized_distribution() -> None:
    # Arrival order 2, 0, 1; budget 1 on value 0. Inverse CDF on p = (.5, .3, .2):
    # row 2 (u .6) takes value 1; row 0 (u .2) takes value 0 and uses the budget up;
    # row 1 (u .1) would take value 0 under p but faces (0, .6, .4): value 1, p .6.
    calls: list[tuple[Any, Mask]] = []
    out = _run([0.2, 0.1, 0.6], [2, 0, 1], {0: 1}, calls=calls)
    assert out.index.tolist() == [0, 1, 1]
    assert np.allclose(out.propensity, [0.5, 0.6, 0.3])
    assert np.allclose(out.p, np.array([P, [0.0, 0.6, 0.4], P]))  # rows before keep the original p
    assert not out.skipped.any()
    # The policy is evaluated once per row; later rows renormalize what it gave them.
    assert [c[0].tolist() for c in calls] == [[2, 0, 1]]


def test_greedy_rows_mix_in_the_exploration_share() -> None:
    # q = .5, row 0 takes the greedy value 0 and exhausts it: .5 * .5 + .5 = .75. Rows 1
    # and 2 draw from (0, .6, .4), greedy now 1: value 1 -> .5*.6 + .5 = .8; value 2 -> .2.
    out = _run([0.5, 0.1, 0.9], [0, 1, 2], {0: 1}, draws=[False, True, True], q=0.5)
    assert out.index.tolist() == [0, 1, 2]
    assert out.greedy.tolist() == [0, 1, 1]
    assert np.allclose(out.propensity, [0.75, 0.8, 0.2])


def test_forced_rows_use_the_budget_and_fall_back_when_it_is_gone() -> None:
    out = _run([0.9, 0.1, 0.9], [0, 1, 2], {0: 1}, forced=[0, -1, 0])
    assert out.index.tolist() == [0, 1, 1]  # row 2's default is spent: first eligible
    assert np.allclose(out.propensity, [1.0, 0.6, 1.0])


def test_two_budgets_in_a_field_and_a_budget_of_zero() -> None:
    out = _run([0.1, 0.1, 0.1], [0, 1, 2], {0: 1, 1: 1})
    assert out.index.tolist() == [0, 1, 2]
    assert np.allclose(out.propensity, [0.5, 0.6, 1.0])
    out = _run([0.1, 0.1, 0.1], [0, 1, 2], {0: 0})
    assert out.index.tolist() == [1, 1, 1]
    assert np.allclose(out.propensity, 0.6)


def test_rows_left_without_an_eligible_value_are_skipped() -> None:
    eligible = np.array([[True, True, True], [True, True, True], [True, False, False]])
    out = _run([0.1, 0.1, 0.1], [0, 1, 2], {0: 1}, eligible=eligible)
    assert out.skipped.tolist() == [False, False, True]
    assert out.index[:2].tolist() == [0, 1]


def test_inverse_propensity_estimates_stay_unbiased_under_a_budget(catalog) -> None:  # type: ignore[no-untyped-def]
    # Uniform offers (p = 1/3 each, the floor does not change a uniform p), budget 60 on
    # o1 in n = 600 policy customers: demand ~ Binomial(600, 1/3) = 200 +- 11.5, so o1 runs
    # out around the 180th arrival and later customers face o2, o3 at 1/2 each.
    # For v = o2 (never budgeted, so pi_i(v) > 0 for every row), X_i = 1[a_i = v] / pi_i - 1
    # is a martingale difference in arrival order (pi_i is fixed by the earlier draws) with
    # Var(X_i | past) = (1 - pi_i) / pi_i <= 2. Over R replications (independent ids) the
    # pooled mean of the N = R n terms has sd <= sqrt(2 / N); we allow 4 sd. Logging the
    # unrenormalized 1/3 after the cut would give about (180 + 420 * 1.5) / 600 = 1.35.
    models = _models(catalog)
    budget = {"field": "offer", "value": "o1", "max_count": 60}
    config = _config({"budgets": [budget]}, "uniform_random")
    n, replications = 600, 30
    terms = {"o2": [], "o3": []}  # type: dict[str, list[npt.NDArray[np.float64]]]
    offer_stream = catalog.fields.index("offer")
    for r in range(replications):
        audience = _audience(n, seed=r, salt=f"replication-{r}")
        frame = decide(audience, models, catalog, config, "v1")
        offer = frame["offer"].to_numpy(dtype=object)
        propensity = frame["offer_propensity"].to_numpy()
        assert (offer == "o1").sum() == 60
        for value, kept in terms.items():
            kept.append((offer == value) / propensity)
        # Exactly the customers arriving after the 60th o1 faced (0, 1/2, 1/2).
        keys = decision_keys(audience.decision_ids)
        arrival = np.argsort(keyed_uniforms(keys, ARRIVAL_STREAM + offer_stream), kind="stable")
        cut = np.flatnonzero(offer[arrival] == "o1")[59] + 1
        assert np.allclose(propensity[arrival[:cut]], 1 / 3)
        assert np.allclose(propensity[arrival[cut:]], 1 / 2)
    bound = 4 * math.sqrt(2 / (n * replications))
    for value, kept in terms.items():
        estimate = float(np.concatenate(kept).mean())
        assert abs(estimate - 1.0) < bound, (value, estimate, bound)


# ------------------------------------------------------------ 3. exploration ceiling


def _greedy(models: dict[str, FieldModel], audience: Audience, field: str, eligible: Mask) -> Any:
    mean = Scores(models[field], audience.features).mean
    return np.where(eligible, mean, -np.inf).argmax(axis=1)


def test_exploration_ceiling_bounds_explorers_and_logs_mixture_propensities(catalog) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    audience = _audience(20_000, groups=(0.8, 0.2, 0.0))
    ceiling = 0.1
    config = _config({"max_exploration_share": ceiling}, "uniform_random")
    frame = decide(audience, models, catalog, config, "v1")
    policy = ((frame["decision_group"] == "policy").to_numpy()) & _live(frame)
    n_policy = int(policy.sum())
    count = math.floor(ceiling * n_policy)
    explored = frame["is_exploration"].to_numpy()
    assert explored.sum() <= count
    assert not explored[~policy].any()
    q = count / n_policy
    # Uniform policy: p_f(v) = 1/k_f over the k_f eligible values (a floor leaves a
    # uniform p alone), greedy g_f = best posterior mean. Logged: q/k_f + (1-q) 1[a = g_f].
    joint_draw, joint_greedy = np.ones(len(frame)), np.ones(len(frame))
    deviates = np.zeros(len(frame), dtype=bool)
    for field in catalog.fields:
        values = catalog.values[field]
        eligible = (
            _opt_ins(audience) if field == "channel" else np.ones((len(frame), len(values)), bool)
        )
        greedy = _greedy(models, audience, field, eligible)
        chosen = pd.Index(values).get_indexer(frame[field])
        k = eligible.sum(axis=1)
        is_greedy = chosen == greedy
        expected = q / k + (1 - q) * is_greedy
        logged = frame[f"{field}_propensity"].to_numpy()
        assert np.allclose(logged[policy], expected[policy]), field
        assert (logged[policy] >= config.policy.propensity_floor).all()
        joint_draw *= 1 / k
        joint_greedy *= is_greedy
        deviates |= ~is_greedy
    joint = q * joint_draw + (1 - q) * joint_greedy
    assert np.allclose(frame["propensity"].to_numpy()[policy], joint[policy])
    assert (deviates[policy] == explored[policy]).all()
    # And the ceiling is used, not undershot: each of the `count` explorers matches the
    # greedy action in every field with probability prod_f 1/k_f <= 1/(1*3*4*2*3) = 1/72,
    # so deviations ~ a sum of `count` Bernoullis with mean >= 71/72 and variance <= 1/72.
    assert deviates[policy].sum() >= count * 71 / 72 - 4 * math.sqrt(count / 72)


def test_the_exploration_ceiling_counts_explorations_logged_earlier_today(catalog) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    audience = _audience(10_000)
    config = _config({"max_exploration_share": 0.1}, "uniform_random")
    usage = Usage(decisions=1_000, policy_decisions=1_000, explorations=90)
    frame = decide(audience, models, catalog, config, "v1", limits=Limits(usage=usage))
    count = math.floor(0.1 * (10_000 + 1_000)) - 90  # 1,010 explorers today
    # q from a greedy row's subject-line propensity q/4 + 1 - q (4 subject lines).
    greedy = _greedy(models, audience, "subject_line", np.ones((len(frame), 4), dtype=bool))
    chosen = pd.Index(catalog.values["subject_line"]).get_indexer(frame["subject_line"])
    logged = frame["subject_line_propensity"].to_numpy()[chosen == greedy]
    q = (1 - logged) / (3 / 4)
    assert np.allclose(q, count / 10_000)
    assert frame["is_exploration"].sum() <= count


def test_propensities_respect_the_floor_under_the_ceiling(catalog) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    audience = _audience(5_000, groups=(0.8, 0.2, 0.0))
    config = _config({"max_exploration_share": 0.1})  # Thompson sampling, floor 0.01
    frame = decide(audience, models, catalog, config, "v1")
    policy = (frame["decision_group"] == "policy").to_numpy()
    for field in catalog.fields:
        assert (frame[f"{field}_propensity"].to_numpy()[policy] >= 0.01 - 1e-12).all(), field
    assert (frame["propensity"].to_numpy()[policy] >= 0.01**5 - 1e-15).all()


def test_when_floor_and_ceiling_cannot_both_hold_the_ceiling_wins(catalog) -> None:  # type: ignore[no-untyped-def]
    # floor 0.01 x 4 subject lines = 0.04: check_guardrails accepts this ceiling. With 99
    # policy customers only floor(0.04 * 99) = 3 may explore: q = 3/99 < 0.04, so the
    # floor cannot hold. The ceiling wins (README, Guardrails): explorers draw uniformly
    # and a non-greedy subject line has probability exactly q / 4, logged as such.
    models = _models(catalog)
    config = _config({"max_exploration_share": 0.04})
    check_guardrails(config, catalog)
    frame = decide(_audience(99), models, catalog, config, "v1")
    policy = frame[frame["decision_group"] == "policy"]
    assert policy["is_exploration"].sum() <= 3
    low = policy["subject_line_propensity"] < 0.01
    assert low.any()
    assert np.allclose(policy.loc[low, "subject_line_propensity"], 3 / 99 / 4)


def test_a_ceiling_below_the_floors_needs_is_a_config_error(catalog) -> None:  # type: ignore[no-untyped-def]
    # floor 0.01 with 4 subject lines needs a ceiling of at least 0.04.
    config = _config({"max_exploration_share": 0.03})
    message = r"decisioning\.guardrails\.max_exploration_share: 0\.03 leaves too little"
    with pytest.raises(ConfigError, match=message):
        check_guardrails(config, catalog)
    with pytest.raises(ConfigError, match=message):
        decide(_audience(50), _models(catalog), catalog, config, "v1")
    check_guardrails(_config({"max_exploration_share": 0.04}), catalog)
    check_guardrails(_config({"max_exploration_share": 0.03}, floor=0.0), catalog)


def test_exploration_quota_is_exact_and_counts_what_was_logged_today() -> None:
    u = np.array([0.9, 0.1, 0.5, 0.2, 0.3])

    def kth(k: int) -> float:
        return float(np.sort(u)[k - 1])

    # floor(0.4 x 5) = 2 explorers: the two smallest uniforms.
    two = Exploration.of(5, 0.4, Usage(), kth)
    assert (u <= two.threshold).tolist() == [False, True, False, True, False]
    assert two.q == pytest.approx(2 / 5)
    # 5 logged today, 2 of them explorations: floor(0.4 x 10) - 2 = 2 more.
    assert Exploration.of(5, 0.4, Usage(policy_decisions=5, explorations=2), kth) == two
    assert Exploration.of(5, 0.1, Usage(explorations=3), kth) == Exploration(-np.inf, 0.0)
    assert Exploration.of(5, 1.0, Usage(), kth) == Exploration(np.inf, 1.0)
    assert Exploration.of(0, 0.5, Usage(), kth) == Exploration(-np.inf, 0.0)


# -------------------------------------------------------------------- 4. send options

ZONES = ("Zone/A", "Zone/DST", "Zone/Night")
LOCAL_MINUTE = np.array(
    [
        [8 * 60, 12 * 60, 18 * 60],  # slots at their nominal local times
        [9 * 60, 12 * 60, 18 * 60],  # 08:00 falls in a spring-forward gap: sent at 09:00
        [23 * 60, 3 * 60, 7 * 60],  # a zone where every slot is at night
    ],
    dtype=np.int32,
)
UTC = np.datetime64("2026-01-10T00:00", "us") + np.arange(9).reshape(3, 3) * np.timedelta64(97, "m")
SEND_TIMES = SendTimes(ZONES, UTC, LOCAL_MINUTE)
GUARDED = {
    "quiet_hours": {"start": "21:00", "end": "08:30"},
    "channels": {
        "sms": {"quiet_hours": {"start": "17:00", "end": "22:00"}},
        "push": {"requires": ["has_app_token"]},
    },
}
# Allowed (channel, slot) per zone, by hand: 21:00-08:30 is quiet for everyone (Zone/A's
# 08:00 and all of Zone/Night), 17:00-22:00 for sms (18:00 everywhere).
TIMELY = {
    "Zone/A": np.array([[0, 1, 1], [0, 1, 1], [0, 1, 0]], dtype=bool),
    "Zone/DST": np.array([[1, 1, 1], [1, 1, 1], [1, 1, 0]], dtype=bool),
    "Zone/Night": np.zeros((3, 3), dtype=bool),
}


def _flags(rows: list[str]) -> dict[str, Mask]:
    """Customers' flags from letters: e, p, s opted in; t has an app token."""
    return {
        "email_opt_in": np.array(["e" in r for r in rows]),
        "push_opt_in": np.array(["p" in r for r in rows]),
        "sms_opt_in": np.array(["s" in r for r in rows]),
        "has_app_token": np.array(["t" in r for r in rows]),
    }


def _blocks(triples: list[tuple[int, int, int]]) -> tuple[Any, Any, Any]:
    array = np.array(triples, dtype=np.intp).reshape(-1, 3)
    return array[:, 0], array[:, 1], array[:, 2]


def test_send_options_apply_opt_ins_quiet_hours_and_frequency_caps(catalog) -> None:  # type: ignore[no-untyped-def]
    e, p, s = range(3)
    h08, h12, h18 = range(3)
    customers = [
        ("Zone/A", "epst"),  # 0: the zone's table
        ("Zone/DST", "epst"),  # 1: 08:00 is sent at 09:00, outside quiet hours
        ("Zone/DST", "p"),  # 2: push without an app token: no channel
        ("Zone/A", "s"),  # 3: sms only at 12:00
        ("Zone/Night", "e"),  # 4: every slot quiet
        ("Mars/Olympus", "e"),  # 5: no send times for the zone
        (None, "e"),  # 6: no zone
        ("Zone/A", "e"),  # 7: both allowed email slots capped
        ("Zone/DST", "es"),  # 8: h08 capped for all channels, sms h12 capped
        ("Mars/Olympus", ""),  # 9: no channel wins over the unknown zone
        ("Zone/Night", "e"),  # 10: quiet wins over the frequency cap
        ("Mars/Olympus", "e"),  # 11: unknown zone wins over the frequency cap
        ("Zone/DST", "pt"),  # 12: push with its token, every slot
    ]
    blocks = [(7, -1, h12), (7, e, h18), (8, -1, h08), (8, s, h12)]
    blocks += [(10, -1, h08), (10, -1, h12), (10, -1, h18), (11, -1, h12), (0, p, h12)]
    config = _config(GUARDED)
    options = send_options(
        catalog,
        config.guardrails,
        _flags([c[1] for c in customers]),
        np.array([c[0] for c in customers], dtype=object),
        SEND_TIMES,
        _blocks(blocks),
    )
    assert options.allowed.shape == (13, 3, 3)
    table = TIMELY["Zone/A"].copy()
    table[p, h12] = False
    assert (options.allowed[0] == table).all()
    assert (options.allowed[1] == TIMELY["Zone/DST"]).all()
    only = np.zeros((3, 3), dtype=bool)
    only[s, h12] = True
    assert (options.allowed[3] == only).all()
    expected_8 = np.zeros((3, 3), dtype=bool)
    expected_8[e, [h12, h18]] = True
    assert (options.allowed[8] == expected_8).all()
    expected_12 = np.zeros((3, 3), dtype=bool)
    expected_12[p] = True
    assert (options.allowed[12] == expected_12).all()
    assert options.skip.tolist() == [
        None,
        None,
        "no_eligible_channel",
        None,
        "quiet_hours",
        "unknown_timezone",
        "unknown_timezone",
        "frequency_cap",
        None,
        "no_eligible_channel",
        "quiet_hours",
        "unknown_timezone",
        None,
    ]
    skipped = np.array([x is not None for x in options.skip])
    assert not options.allowed[skipped].any()
    assert options.zone.tolist() == [0, 1, 1, 0, 2, -1, -1, 0, 1, -1, 2, -1, 1]
    assert options.channels()[8].tolist() == [True, False, False]


def test_send_options_without_send_times_allow_every_slot(catalog) -> None:  # type: ignore[no-untyped-def]
    flags = _flags(["e", "ps"])
    options = send_options(catalog, _config().guardrails, flags, None, None)
    assert options.allowed[0].tolist() == [[True] * 3, [False] * 3, [False] * 3]
    assert options.allowed[1].tolist() == [[False] * 3, [True] * 3, [True] * 3]
    capped = send_options(
        catalog, _config().guardrails, flags, None, None, _blocks([(1, -1, 0), (1, 2, 1)])
    )
    assert capped.allowed[1].tolist() == [[False] * 3, [False, True, True], [False, False, True]]
    with pytest.raises(ValueError, match="Quiet hours need the send_times model"):
        send_options(catalog, _config(GUARDED).guardrails, flags, None, None)


def test_a_missing_requires_column_is_a_config_error(catalog) -> None:  # type: ignore[no-untyped-def]
    flags = {k: v for k, v in _flags(["e"]).items() if k != "has_app_token"}
    with pytest.raises(ConfigError, match=r"channels\.push: customer column 'has_app_token'"):
        send_options(catalog, _config(GUARDED).guardrails, flags, ["Zone/A"], SEND_TIMES)


def test_send_times_from_the_model_and_block_triples(catalog) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(
        {
            "timezone": ["Europe/Berlin", "America/New_York", "America/New_York", "Europe/Berlin"],
            "send_slot": ["h08", "h08", "h12", "h99"],
            "send_at_utc": pd.to_datetime(
                ["2026-03-29 07:00", "2026-03-08 13:00", "2026-03-08 16:00", "2026-03-29 09:00"]
            ),
            "local_send_at": pd.to_datetime(
                ["2026-03-29 09:00", "2026-03-08 09:00", "2026-03-08 12:00", "2026-03-29 11:00"]
            ),
        }
    )
    times = SendTimes.from_frame(frame, SLOTS)
    assert times.timezones == ("America/New_York", "Europe/Berlin")
    assert times.local_minute.tolist() == [[540, 720, -1], [540, -1, -1]]
    assert times.utc[1, 0] == np.datetime64("2026-03-29T07:00")
    assert np.isnat(times.utc[1, 1])
    assert times.zone_index(["Europe/Berlin", None, "Asia/Tokyo"]).tolist() == [1, -1, -1]
    # A slot without a send time in the customer's zone is never allowed.
    options = send_options(
        catalog, _config().guardrails, _flags(["e", "e"]), ["Europe/Berlin", "x"], times
    )
    assert options.allowed[0, 0].tolist() == [True, False, False]
    assert options.skip.tolist() == [None, "unknown_timezone"]

    ids = np.array([_md5("a"), _md5("b")])
    logged = pd.DataFrame(
        {
            "decision_id": [_md5("b"), _md5("a"), _md5("zzz"), _md5("a"), _md5("a")],
            "channel": [None, "sms", "email", "fax", "push"],
            "send_slot": ["h12", "h18", "h08", "h08", "h77"],
        }
    )
    row, channel, slot = block_triples(logged, ids, catalog)
    assert list(zip(row.tolist(), channel.tolist(), slot.tolist(), strict=True)) == [
        (1, -1, 1),
        (0, 2, 2),
    ]
    empty = block_triples(logged.iloc[:0], ids, catalog)
    assert all(len(a) == 0 for a in empty)


def _guarded_audience(n: int, seed: int) -> tuple[Audience, Any]:
    """A random audience across the zones above (and unknown ones), with app tokens,
    all three groups, some suppressions, and random frequency-cap blocks."""
    rng = np.random.default_rng(seed)
    base = _audience(n, seed=seed, salt=f"guarded-{seed}", groups=(0.7, 0.15, 0.15))
    zones = np.array([*ZONES, "Mars/Olympus", None], dtype=object)
    timezones = zones[rng.choice(5, size=n, p=[0.4, 0.4, 0.08, 0.06, 0.06])]
    reasons = np.array([None, "unsubscribed", "complaint"], dtype=object)
    suppressed = reasons[rng.choice(3, size=n, p=[0.96, 0.02, 0.02])]
    flags = {**base.flags, "has_app_token": rng.random(n) < 0.6}
    audience = dataclasses.replace(base, flags=flags, timezones=timezones, suppressed=suppressed)
    k = n // 2
    blocks = (
        rng.integers(0, n, size=k).astype(np.intp),
        rng.integers(-1, 3, size=k).astype(np.intp),
        rng.integers(0, 3, size=k).astype(np.intp),
    )
    return audience, blocks


def _expected_options(audience: Audience, blocks: Any) -> tuple[Mask, Any]:
    """Allowed (n, channel, slot) and skip reasons, from the tables above."""
    n = len(audience)
    opted = _opt_ins(audience)
    opted[:, 1] &= audience.flags["has_app_token"]
    timely = np.zeros((n, 3, 3), dtype=bool)
    known = np.zeros(n, dtype=bool)
    for zone, table in TIMELY.items():
        rows = audience.timezones == zone
        timely[rows], known[rows] = table, True
    allowed = opted[:, :, None] & timely
    quiet = ~allowed.any(axis=(1, 2))
    for row, channel, slot in zip(*blocks, strict=True):
        if channel < 0:
            allowed[row, :, slot] = False
        else:
            allowed[row, channel, slot] = False
    skip = np.full(n, None, dtype=object)
    skip[~allowed.any(axis=(1, 2))] = "frequency_cap"
    skip[quiet] = "quiet_hours"
    skip[~known] = "unknown_timezone"
    skip[~opted.any(axis=1)] = "no_eligible_channel"
    skip[pd.notna(audience.suppressed)] = "suppressed"
    return allowed, skip


def _guarded_decide(catalog: Catalog, n: int, seed: int) -> tuple[Audience, Any, Any]:
    """A guarded audience, its cap blocks, and decide()'s frame under GUARDED."""
    audience, blocks = _guarded_audience(n, seed=seed)
    limits = Limits(send_times=SEND_TIMES, blocks=blocks)
    frame = decide(audience, _models(catalog), catalog, _config(GUARDED), "v1", limits=limits)
    return audience, blocks, frame


def test_decisions_only_use_allowed_channel_slot_pairs(catalog) -> None:  # type: ignore[no-untyped-def]
    audience, blocks, frame = _guarded_decide(catalog, 4_000, seed=7)
    allowed, skip = _expected_options(audience, blocks)
    assert frame["skip_reason"].to_numpy(dtype=object, na_value=None).tolist() == skip.tolist()
    skipped = skip != None  # noqa: E711 (element-wise)
    assert len(set(skip[skipped])) == 5  # every reason occurs
    assert frame.loc[skipped, "propensity"].isna().all()
    assert frame.loc[skipped, ["channel", "send_slot", "algorithm"]].isna().all().all()
    assert frame.loc[skipped, "send_at_utc"].isna().all()

    sent = frame["send_slot"].notna().to_numpy()
    assert sent.sum() > 2_000
    rows = np.flatnonzero(sent)
    channel = pd.Index(CHANNELS).get_indexer(frame["channel"][sent])
    slot = pd.Index(SLOTS).get_indexer(frame["send_slot"][sent])
    assert allowed[rows, channel, slot].all()
    blocked = set(zip(*(b.tolist() for b in blocks), strict=True))
    for row, c, s in zip(rows.tolist(), channel.tolist(), slot.tolist(), strict=True):
        assert (row, c, s) not in blocked and (row, -1, s) not in blocked
    zone = pd.Index(ZONES).get_indexer(audience.timezones[sent])
    local = LOCAL_MINUTE[zone, slot]
    assert not QuietHours(21 * 60, 8 * 60 + 30).contains(local).any()
    sms = channel == 2
    assert sms.sum() > 50
    assert not ((local[sms] >= 17 * 60) & (local[sms] < 22 * 60)).any()
    assert (frame["send_at_utc"].to_numpy()[sent] == UTC[zone, slot]).all()
    # Everyone allowed a (channel, slot) and in the policy group gets a decision.
    policy = (audience.groups == POLICY) & ~skipped
    assert sent[policy].all()


# --------------------------------------------------------------------------- 5. groups


def test_holdout_business_as_usual_and_suppressed_rows(catalog) -> None:  # type: ignore[no-untyped-def]
    audience, blocks, frame = _guarded_decide(catalog, 3_000, seed=11)
    allowed, skip = _expected_options(audience, blocks)
    live = skip == None  # noqa: E711 (element-wise)
    groups = audience.group_codes()

    holdout = live & (groups == HOLDOUT)
    assert holdout.sum() > 100
    rows = frame[holdout]
    assert (rows["channel"] == "none").all()
    assert rows[["send_slot", "subject_line", "greeting", "offer"]].isna().all().all()
    assert (rows["propensity"] == 1.0).all() and (rows["channel_propensity"] == 1.0).all()
    assert (rows["algorithm"] == "holdout").all() and rows["is_holdout"].all()
    assert not rows["is_exploration"].any()
    assert (rows["send_at_utc"] == pd.Timestamp(AS_OF)).all()

    usual = live & (groups == USUAL)
    assert usual.sum() > 100
    rows = frame[usual]
    assert (rows["propensity"] == 1.0).all()
    assert (rows["algorithm"] == "business_as_usual").all()
    for field in catalog.fields:
        assert (rows[f"{field}_propensity"] == 1.0).all(), field
    for field in ("subject_line", "greeting", "offer"):
        assert (rows[field] == DEFAULT_ACTION[field]).all(), field
    # Default email at h08; else the first channel (catalog order) with an allowed slot,
    # and the first allowed slot of the channel when h08 is not.
    has_slot = np.asarray(allowed.any(axis=2))
    channel = np.where(has_slot[:, 0], 0, has_slot.argmax(axis=1))
    slots = allowed[np.arange(len(frame)), channel]
    slot = np.where(slots[:, 0], 0, slots.argmax(axis=1))
    assert (rows["channel"].to_numpy() == np.array(CHANNELS)[channel[usual]]).all()
    assert (rows["send_slot"].to_numpy() == np.array(SLOTS)[slot[usual]]).all()
    assert (channel[usual] != 0).any() and (slot[usual] != 0).any()  # fallbacks happened

    suppressed = pd.notna(audience.suppressed)
    assert suppressed.sum() > 50
    rows = frame[suppressed]
    assert (rows["skip_reason"] == "suppressed").all()
    assert (rows["skip_detail"].to_numpy() == audience.suppressed[suppressed]).all()
    assert rows["propensity"].isna().all() and rows["channel"].isna().all()
    assert frame.loc[~suppressed, "skip_detail"].isna().all()


# --------------------------------------------------------------------- 6. channel cost


def _sms(catalog: Catalog, cost: float, config: Config | None = None) -> tuple[Mask, Mask, Any]:
    """Who got sms, who could also get another channel, and the decisions."""
    audience = _audience(20_000)
    # Thompson sampling, floor 0.01.
    config = config or _config({"channels": {"sms": {"cost": cost}}})
    frame = decide(audience, _models(catalog), catalog, config, "v1")
    opted = _opt_ins(audience)
    return _is(frame, "channel", "sms"), opted[:, 2] & (opted.sum(axis=1) > 1), frame


def test_a_costly_channel_is_only_sent_at_the_propensity_floor(catalog) -> None:  # type: ignore[no-untyped-def]
    # sms's posterior mean is ~0.2, less a cost of 10: its Thompson win probability is 0
    # (posterior sds <= 0.12 here, 80+ sd away), so for the N customers who may get sms
    # and another channel p(sms) is exactly the floor, 0.01. Their sms count is
    # Binomial(N, .01), mean ~54; we allow 4 sd above it. (Customers opted in to sms only
    # get it with probability 1.)
    sms, choice, frame = _sms(catalog, 10.0)
    n = int(choice.sum())
    bound = 0.01 * n + 4 * math.sqrt(n * 0.01 * 0.99)
    assert np.allclose(frame["channel_propensity"].to_numpy()[sms & choice], 0.01)
    assert np.allclose(frame["channel_propensity"].to_numpy()[sms & ~choice], 1.0)
    assert (sms & choice).sum() <= bound
    # Without the cost sms is the best channel (mean reward 0.2 against 0 and 0.1).
    free, _, _ = _sms(catalog, 0.0)
    assert (free & choice).sum() > bound
    assert (free & choice).sum() > 0.5 * n


def test_a_costly_channel_is_never_the_greedy_choice(catalog) -> None:  # type: ignore[no-untyped-def]
    config = _config({"channels": {"sms": {"cost": 10}}, "max_exploration_share": 0.1})
    sms, choice, frame = _sms(catalog, 10.0, config)
    assert (sms & choice).any()
    assert frame["is_exploration"].to_numpy()[sms & choice].all()


# ---------------------------------------------------------------- 7. config validation


def test_guardrail_settings_are_parsed() -> None:
    config = load_config(
        {
            "holdout": {"share": 0.1, "business_as_usual_share": 0.2},
            "guardrails": {
                "frequency_caps": [
                    {"max_messages": 3, "days": 7},
                    {"max_messages": 1, "days": 1, "channel": "sms"},
                ],
                "quiet_hours": {"start": "21:00", "end": "08:00"},
                "channels": {
                    "sms": {"cost": 0.05, "quiet_hours": {"start": "12:00", "end": "13:30"}},
                    "push": {"requires": ["has_app_token"]},
                },
                "budgets": [{"field": "offer", "value": "o3", "max_share": 0.05}],
                "max_exploration_share": 0.2,
            },
        }
    )
    g = config.guardrails
    assert config.holdout.business_as_usual_share == 0.2
    assert [(c.max_messages, c.days, c.channel) for c in g.frequency_caps] == [
        (3, 7, None),
        (1, 1, "sms"),
    ]
    assert g.quiet_hours == QuietHours(21 * 60, 8 * 60)
    assert g.channels["sms"].quiet_hours == QuietHours(12 * 60, 13 * 60 + 30)
    assert g.channel_cost("sms") == 0.05 and g.channel_cost("email") == 0.0
    assert g.channels["push"].requires == ("has_app_token",) and g.channels["push"].cost == 0.0
    assert g.budgets[0].limit(1_999) == 99 and g.budgets[0].limit(2_000) == 100
    assert g.max_exploration_share == 0.2
    # Wrapping past midnight: [21:00, 08:00); not wrapping: [12:00, 13:30).
    minutes = np.array([479, 480, 1259, 1260, 0, 719, 720, 809, 810])
    assert g.quiet_hours.contains(minutes).tolist() == [1, 0, 0, 1, 1, 0, 0, 0, 0]
    assert g.channels["sms"].quiet_hours.contains(minutes).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0]
    defaults = load_config({}).guardrails
    assert defaults.frequency_caps == () and defaults.budgets == () and defaults.channels == {}
    assert defaults.quiet_hours is None and defaults.max_exploration_share is None


def _budget(**settings: Any) -> dict[str, Any]:
    return {"guardrails": {"budgets": [{"field": "offer", "value": "o3", **settings}]}}


def _cap(**settings: Any) -> dict[str, Any]:
    return {"guardrails": {"frequency_caps": [{"max_messages": 3, "days": 7, **settings}]}}


def _channel(**rules: Any) -> dict[str, Any]:
    return {"guardrails": {"channels": {"sms": rules}}}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (_budget(max_share=1.5), "decisioning.guardrails.budgets[0].max_share: must be in [0, 1]"),
        (_budget(max_share=-0.1), "decisioning.guardrails.budgets[0].max_share: must be in"),
        (_budget(max_count=-1), "decisioning.guardrails.budgets[0].max_count: need a whole"),
        (_budget(max_count=2.5), "decisioning.guardrails.budgets[0].max_count: need a whole"),
        (_budget(max_count=True), "decisioning.guardrails.budgets[0].max_count: need a whole"),
        (
            _budget(max_count=10, max_share=0.1),
            "decisioning.guardrails.budgets[0]: set exactly one of max_count and max_share",
        ),
        (_budget(), "decisioning.guardrails.budgets[0]: set exactly one of max_count"),
        (_budget(max_count=1, limit=2), "decisioning.guardrails.budgets[0]: unknown setting(s)"),
        (
            {"guardrails": {"budgets": [{"field": "colour", "value": "red", "max_count": 1}]}},
            "decisioning.guardrails.budgets[0].field: 'colour' is not a decided field",
        ),
        (
            {"guardrails": {"budgets": [{"field": "offer", "value": 3, "max_count": 1}]}},
            "decisioning.guardrails.budgets[0].value: expected a catalog id",
        ),
        (
            {
                "guardrails": {
                    "budgets": [
                        {"field": "offer", "value": "o3", "max_count": 1},
                        {"field": "offer", "value": "o3", "max_share": 0.1},
                    ]
                }
            },
            "decisioning.guardrails.budgets: one budget per field value",
        ),
        ({"guardrails": {"budgets": ["o3"]}}, "decisioning.guardrails.budgets[0]: expected a"),
        (
            {"guardrails": {"quiet_hours": {"start": "25:00", "end": "08:00"}}},
            "decisioning.guardrails.quiet_hours.start: expected a local time like",
        ),
        (
            {"guardrails": {"quiet_hours": {"start": "9:00", "end": "08:00"}}},
            "decisioning.guardrails.quiet_hours.start: expected a local time",
        ),
        (
            {"guardrails": {"quiet_hours": {"start": 2100, "end": "08:00"}}},
            "decisioning.guardrails.quiet_hours.start: expected a local time",
        ),
        (
            {"guardrails": {"quiet_hours": {"start": "21:00"}}},
            "decisioning.guardrails.quiet_hours.end: expected a local time",
        ),
        (
            {"guardrails": {"quiet_hours": {"start": "21:00", "end": "21:00"}}},
            "decisioning.guardrails.quiet_hours: start and end are equal",
        ),
        (
            {"guardrails": {"quiet_hours": "21:00-08:00"}},
            "decisioning.guardrails.quiet_hours: expected a mapping",
        ),
        (
            {"guardrails": {"quiet_hours": {"begin": "21:00", "end": "08:00"}}},
            "decisioning.guardrails.quiet_hours: unknown setting(s) ['begin']",
        ),
        (
            _cap(chanel="sms"),
            "decisioning.guardrails.frequency_caps[0]: unknown setting(s) ['chanel']",
        ),
        (_cap(max_messages=0), "decisioning.guardrails.frequency_caps[0].max_messages: need a"),
        (_cap(days=1.5), "decisioning.guardrails.frequency_caps[0].days: need a whole number"),
        (_cap(days=None), "decisioning.guardrails.frequency_caps[0].days: need a whole number"),
        (_cap(channel=3), "decisioning.guardrails.frequency_caps[0].channel: expected a channel"),
        ({"guardrails": {"frequency_caps": [7]}}, "decisioning.guardrails.frequency_caps[0]:"),
        (_channel(cost=-1), "decisioning.guardrails.channels.sms.cost: expected a number >= 0"),
        (_channel(cost="cheap"), "decisioning.guardrails.channels.sms.cost: expected a number"),
        (_channel(cost=True), "decisioning.guardrails.channels.sms.cost: expected a number"),
        (_channel(price=1), "decisioning.guardrails.channels.sms: unknown setting(s) ['price']"),
        (
            _channel(requires="has_app_token"),
            "decisioning.guardrails.channels.sms.requires: list customer columns",
        ),
        (
            _channel(requires=["Has Token"]),
            "decisioning.guardrails.channels.sms.requires[]: 'Has Token' must be lower-case",
        ),
        (
            _channel(quiet_hours={"start": "12:00", "end": "12:00"}),
            "decisioning.guardrails.channels.sms.quiet_hours: start and end are equal",
        ),
        (
            _channel(quiet_hours={"start": "noon", "end": "13:00"}),
            "decisioning.guardrails.channels.sms.quiet_hours.start: expected a local time",
        ),
        ({"guardrails": {"channels": {"sms": 0.05}}}, "decisioning.guardrails.channels.sms:"),
        ({"guardrails": {"channels": ["sms"]}}, "decisioning.guardrails.channels: expected"),
        (
            {"guardrails": {"max_exploration_share": 1.5}},
            "decisioning.guardrails.max_exploration_share: must be in [0, 1]",
        ),
        (
            {"guardrails": {"max_exploration_share": "all"}},
            "decisioning.guardrails.max_exploration_share",
        ),
        (_budget(max_share="5%"), "decisioning.guardrails.budgets[0].max_share"),
        ({"guardrails": {"quiet_hour": None}}, "decisioning.guardrails.quiet_hour: unknown"),
        (
            {"holdout": {"share": 0.6, "business_as_usual_share": 0.4}},
            "decisioning.holdout: share (0.6) + business_as_usual_share (0.4) must leave",
        ),
        (
            {"holdout": {"business_as_usual_share": 1.0}},
            "decisioning.holdout.business_as_usual_share: must be in [0, 1)",
        ),
        (
            {"holdout": {"business_as_usual_share": -0.1}},
            "decisioning.holdout.business_as_usual_share: must be in [0, 1)",
        ),
        (
            {"holdout": {"business_as_usual_share": "some"}},
            "decisioning.holdout.business_as_usual_share: expected float",
        ),
    ],
)
def test_bad_guardrail_settings_name_the_setting(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(settings)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("guardrails", "message"),
    [
        ({"channels": {"fax": {"cost": 1}}}, "decisioning.guardrails.channels.fax: not an active"),
        (
            {"frequency_caps": [{"max_messages": 1, "days": 1, "channel": "fax"}]},
            "decisioning.guardrails.frequency_caps[0].channel: 'fax' is not an active channel",
        ),
        (
            {"budgets": [{"field": "offer", "value": "o9", "max_count": 1}]},
            "decisioning.guardrails.budgets[0].value: 'o9' is not an active offer",
        ),
        (
            {"budgets": [{"field": "channel", "value": "none", "max_count": 1}]},
            "decisioning.guardrails.budgets[0].value: 'none' is not an active channel",
        ),
    ],
)
def test_settings_naming_catalog_ids_are_checked_against_the_catalog(  # type: ignore[no-untyped-def]
    catalog, guardrails, message
) -> None:
    config = _config(guardrails)
    with pytest.raises(ConfigError) as error:
        check_guardrails(config, catalog)
    assert message in str(error.value)
    with pytest.raises(ConfigError) as error:
        decide(_audience(10), _models(catalog), catalog, config, "v1")
    assert message in str(error.value)
