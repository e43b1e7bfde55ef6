"""Policies: valid probabilities, floors, eligibility, and Thompson sampling's closed form."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from decisioning.config import load_config
from decisioning.policies import (
    ABThenCommit,
    CampaignThompsonSampling,
    EpsilonGreedy,
    LinUCB,
    Policy,
    Scores,
    ThompsonSampling,
    UniformRandom,
    make_policy,
)
from decisioning.policies.thompson import win_probabilities
from decisioning.posterior import FieldModel


def _model(means: list[float], sds: list[float]) -> FieldModel:
    """A 1-feature model (x = 1): score of value v ~ N(means[v], sds[v]^2)."""
    v = len(means)
    return FieldModel(
        field="offer",
        value_ids=tuple(f"o{i}" for i in range(v)),
        feature_names=("x_intercept",),
        mean=np.array(means, dtype=float)[:, None],
        covariance=(np.array(sds, dtype=float) ** 2)[:, None, None],
        n=np.zeros(v),
        n_rewards=np.zeros(v, dtype=np.int64),
        mean_reward=np.array(means, dtype=float),
        noise_variance=0.1,
    )


def _random_model(v: int, d: int, seed: int) -> FieldModel:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(v, d, d))
    return FieldModel(
        "offer",
        tuple(f"o{i}" for i in range(v)),
        tuple(f"x_{i}" for i in range(d)),
        rng.normal(scale=0.1, size=(v, d)),
        a @ a.transpose(0, 2, 1) * 0.01,
        np.zeros(v),
        np.zeros(v, dtype=np.int64),
        rng.normal(size=v),
        0.1,
    )


def _p(policy: Policy, model: FieldModel, x: np.ndarray, eligible: np.ndarray, seed: int = 0):  # type: ignore[no-untyped-def]
    return policy.action_probabilities(Scores(model, x), eligible, seed)


POLICIES: list[Policy] = [
    ThompsonSampling(floor=0.02, draws=64),
    LinUCB(floor=0.02, alpha=1.0),
    EpsilonGreedy(floor=0.02, epsilon=0.1),
    UniformRandom(floor=0.02),
    ABThenCommit(floor=0.02, test_days=3, days_running=5),
    CampaignThompsonSampling(floor=0.02, draws=64),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_probabilities_are_valid_floored_and_respect_eligibility(policy: Policy) -> None:
    rng = np.random.default_rng(0)
    model, x = _random_model(5, 4, 1), rng.normal(size=(3000, 4))
    eligible = rng.random((3000, 5)) < 0.7
    eligible[np.arange(3000), rng.integers(0, 5, 3000)] = True
    p = _p(policy, model, x, eligible, seed=7)
    assert p.shape == (3000, 5)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p[~eligible] == 0).all()
    assert (p[eligible] >= 0.02 - 1e-12).all()


def test_uniform_is_exactly_one_over_the_eligible_count() -> None:
    eligible = np.array([[True, True, False], [True, True, True], [False, True, False]])
    p = _p(UniformRandom(), _model([0, 0, 0], [1, 1, 1]), np.ones((3, 1)), eligible)
    assert np.allclose(p, [[0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3], [0, 1, 0]])


def test_thompson_probability_matches_the_closed_form_for_two_values() -> None:
    # P(s0 > s1) with s_v ~ N(m_v, sd_v^2) independent = Phi((m0 - m1) / sqrt(sd0^2 + sd1^2)).
    m, sd, draws = [0.3, 0.1], [0.2, 0.25], 40_000
    p = _p(ThompsonSampling(draws=draws), _model(m, sd), np.ones((1, 1)), np.ones((1, 2), bool), 3)
    p = p[0, 0]
    exact = 0.5 * (1 + math.erf((m[0] - m[1]) / math.sqrt(sd[0] ** 2 + sd[1] ** 2) / math.sqrt(2)))
    assert abs(p - exact) < 4 * math.sqrt(exact * (1 - exact) / draws)


def test_thompson_concentrates_on_a_clearly_better_value_and_explores_uncertain_ones() -> None:
    policy, x, eligible = ThompsonSampling(draws=4000), np.ones((1, 1)), np.ones((1, 3), dtype=bool)
    certain = _p(policy, _model([0.5, 0.1, 0.0], [0.01] * 3), x, eligible)[0]
    assert certain[0] == 1.0
    uncertain = _p(policy, _model([0.5, 0.1, 0.0], [0.01, 0.01, 1.0]), x, eligible)[0]
    # The uncertain third value beats 0.5 with probability 1 - Phi(0.5) = 0.3085.
    assert abs(uncertain[2] - 0.3085) < 4 * math.sqrt(0.3085 * 0.6915 / 4000)


def test_permuting_values_permutes_probabilities() -> None:
    model, x = _random_model(4, 3, 5), np.random.default_rng(1).normal(size=(200, 3))
    eligible = np.ones((200, 4), dtype=bool)
    order = np.array([2, 0, 3, 1])
    permuted = FieldModel(
        model.field,
        tuple(np.array(model.value_ids)[order]),
        model.feature_names,
        model.mean[order],
        model.covariance[order],
        model.n,
        model.n_rewards,
        model.mean_reward[order],
        model.noise_variance,
    )
    policy = ThompsonSampling(draws=20_000)
    p = _p(policy, model, x, eligible, seed=1)
    q = _p(policy, permuted, x, eligible, seed=2)
    # Independent Monte-Carlo estimates of the same probabilities: 5 sd of the difference.
    assert np.all(np.abs(p[:, order] - q) <= 5 * np.sqrt(2 * 0.25 / 20_000))


def test_same_seed_same_probabilities() -> None:
    model, x = _random_model(4, 3, 5), np.random.default_rng(1).normal(size=(100, 3))
    eligible = np.ones((100, 4), dtype=bool)
    policy = ThompsonSampling(draws=64)
    assert np.array_equal(
        _p(policy, model, x, eligible, 11),
        _p(policy, model, x, eligible, 11),
    )


def test_rows_split_across_threads_get_exactly_their_own_probabilities() -> None:
    """Rows are independent given the shared draws: 10 chunks of rows, spread over the
    threads, give each row what it gets when scored alone in its own call."""
    rng = np.random.default_rng(4)
    mean, sd = rng.normal(size=(1_000, 5)), rng.random((1_000, 5))
    eligible = rng.random((1_000, 5)) < 0.8
    together = win_probabilities(mean, sd, eligible, draws=256, seed=7, chunk_size=100)
    for rows in (slice(0, 1), slice(450, 620), slice(999, 1_000)):
        alone = win_probabilities(mean[rows], sd[rows], eligible[rows], 256, 7, 100)
        assert np.array_equal(together[rows], alone)


def test_epsilon_greedy_is_exactly_the_mixture() -> None:
    model = _model([0.1, 0.3, 0.2], [0.1, 0.1, 0.1])
    eligible = np.array([[True, True, True], [True, False, True]])
    p = _p(EpsilonGreedy(epsilon=0.2), model, np.ones((2, 1)), eligible)
    assert np.allclose(p, [[0.2 / 3, 0.8 + 0.2 / 3, 0.2 / 3], [0.1, 0.0, 0.9]])


def test_linucb_prefers_the_higher_upper_bound() -> None:
    # Means 0.5 and 0.4; sds 0.01 and 0.5: bounds 0.51 and 0.9 with alpha = 1, 0.5 and 0.4
    # with alpha -> 0.
    model, x, eligible = _model([0.5, 0.4], [0.01, 0.5]), np.ones((1, 1)), np.ones((1, 2), bool)
    assert _p(LinUCB(alpha=1.0), model, x, eligible).tolist() == [[0.0, 1.0]]
    assert _p(LinUCB(alpha=1e-3), model, x, eligible).tolist() == [[1.0, 0.0]]


def test_ab_then_commit_is_uniform_while_testing_then_commits_to_the_measured_best() -> None:
    model = _model([0.1, 0.3, 0.2], [0.1, 0.1, 0.1])
    model = FieldModel(**{**model.__dict__, "mean_reward": np.array([0.1, np.nan, 0.2])})
    x, eligible = np.ones((2, 1)), np.array([[True, True, True], [True, True, False]])
    testing = _p(ABThenCommit(test_days=14, days_running=13), model, x, eligible)
    assert np.allclose(testing, [[1 / 3] * 3, [0.5, 0.5, 0.0]])
    # Day 14: the best measured value; never one without data; per customer's eligibility.
    committed = _p(ABThenCommit(test_days=14, days_running=14), model, x, eligible)
    assert committed.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]


def test_campaign_thompson_gives_everyone_with_the_same_eligibility_the_same_odds() -> None:
    model = _model([0.3, 0.25, 0.1], [0.05, 0.1, 0.2])
    rng = np.random.default_rng(0)
    eligible = rng.random((500, 3)) < 0.7
    eligible[:, 0] |= ~eligible.any(axis=1)
    p = _p(CampaignThompsonSampling(draws=256), model, np.ones((500, 1)), eligible, seed=3)
    one = _p(ThompsonSampling(draws=256), model, np.ones((1, 1)), eligible[:1], seed=3)
    assert np.allclose(p[0], one[0])
    _, inverse = np.unique(eligible, axis=0, return_inverse=True)
    for pattern in np.unique(inverse):
        rows = p[inverse.ravel() == pattern]
        assert np.allclose(rows, rows[0])


def test_make_policy_builds_each_configured_algorithm() -> None:
    for name, cls in [
        ("thompson_sampling", ThompsonSampling),
        ("linucb", LinUCB),
        ("epsilon_greedy", EpsilonGreedy),
        ("uniform_random", UniformRandom),
        ("ab_then_commit", ABThenCommit),
        ("campaign_thompson_sampling", CampaignThompsonSampling),
    ]:
        policy = make_policy(load_config({"policy": {"algorithm": name}}).policy, days_running=3)
        assert type(policy) is cls and policy.name == name


def test_thompson_learns_each_segments_best_arm_on_a_known_problem() -> None:
    """Two customer segments, three arms, Gaussian rewards (sd 0.3) with known means: arm 0
    is best for segment A, arm 2 for segment B, by 0.15 or more. Uniform random's expected
    regret per decision is exactly the mean gap to the best arm (0.2); Thompson sampling,
    fitted from its own batches of 300 over 20 rounds, must keep its cumulative regret under
    half of that, and its final posterior means must be within 4 posterior sds of the truth
    for every arm it has pulled 50 times or more."""
    from decisioning.catalog import action_features
    from decisioning.posterior import ValueStatistics, fit_field, statistics_frame

    truth = np.array([[0.4, 0.25, 0.1], [0.1, 0.25, 0.45]])  # segment x arm
    values = ("a0", "a1", "a2")
    names = ("x_a", "x_b")
    a, _ = action_features(values, {})
    policy, rng = ThompsonSampling(draws=256), np.random.default_rng(42)
    xs, arms, rewards = [], [], []
    regret = 0.0
    model = None
    for round_ in range(20):
        segment = rng.integers(0, 2, 300)
        x = np.eye(2)[segment]
        if xs:
            stats = statistics_frame(
                np.concatenate(xs),
                names,
                {"f": np.concatenate(arms)},
                np.concatenate(rewards),
                np.ones(sum(len(r) for r in rewards)),
            )
            value_stats = ValueStatistics.from_frame(stats, "f", values, names, names)
            model = fit_field("f", values, a, value_stats, names, prior_variance=0.1)
            p = policy.action_probabilities(Scores(model, x), np.ones((300, 3), bool), round_)
        else:
            p = np.full((300, 3), 1 / 3)
        chosen = (p.cumsum(axis=1) < rng.random(300)[:, None]).sum(axis=1).clip(0, 2)
        regret += (truth[segment].max(axis=1) - truth[segment, chosen]).sum()
        xs.append(x)
        arms.append(np.asarray(values, dtype=object)[chosen])
        rewards.append(truth[segment, chosen] + rng.normal(scale=0.3, size=300))
    uniform_regret = (truth.max(axis=1)[:, None] - truth).mean() * 20 * 300
    assert regret < 0.5 * uniform_regret, (regret, uniform_regret)
    assert model is not None
    pulls = pd.crosstab(np.concatenate([x.argmax(1) for x in xs]), np.concatenate(arms))
    for segment in range(2):
        for k, arm in enumerate(values):
            if pulls.loc[segment, arm] >= 50:
                sd = np.sqrt(model.covariance[k, segment, segment])
                assert abs(model.mean[k, segment] - truth[segment, k]) < 4 * sd
