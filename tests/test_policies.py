"""Policies: valid probabilities, floors, eligibility, and Thompson sampling's closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from decisioning.policies import Policy, ThompsonSampling, UniformRandom
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
        0.1,
    )


POLICIES: list[Policy] = [ThompsonSampling(floor=0.02, draws=64), UniformRandom(floor=0.02)]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_probabilities_are_valid_floored_and_respect_eligibility(policy: Policy) -> None:
    rng = np.random.default_rng(0)
    model, x = _random_model(5, 4, 1), rng.normal(size=(3000, 4))
    eligible = rng.random((3000, 5)) < 0.7
    eligible[np.arange(3000), rng.integers(0, 5, 3000)] = True
    p = policy.action_probabilities(model, x, eligible, seed=7)
    assert p.shape == (3000, 5)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p[~eligible] == 0).all()
    assert (p[eligible] >= 0.02 - 1e-12).all()


def test_uniform_is_exactly_one_over_the_eligible_count() -> None:
    eligible = np.array([[True, True, False], [True, True, True], [False, True, False]])
    p = UniformRandom().action_probabilities(
        _model([0, 0, 0], [1, 1, 1]), np.ones((3, 1)), eligible, 0
    )
    assert np.allclose(p, [[0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3], [0, 1, 0]])


def test_thompson_probability_matches_the_closed_form_for_two_values() -> None:
    # P(s0 > s1) with s_v ~ N(m_v, sd_v^2) independent = Phi((m0 - m1) / sqrt(sd0^2 + sd1^2)).
    m, sd, draws = [0.3, 0.1], [0.2, 0.25], 40_000
    p = ThompsonSampling(draws=draws).action_probabilities(
        _model(m, sd), np.ones((1, 1)), np.ones((1, 2), dtype=bool), seed=3
    )[0, 0]
    exact = 0.5 * (1 + math.erf((m[0] - m[1]) / math.sqrt(sd[0] ** 2 + sd[1] ** 2) / math.sqrt(2)))
    assert abs(p - exact) < 4 * math.sqrt(exact * (1 - exact) / draws)


def test_thompson_concentrates_on_a_clearly_better_value_and_explores_uncertain_ones() -> None:
    policy, x, eligible = ThompsonSampling(draws=4000), np.ones((1, 1)), np.ones((1, 3), dtype=bool)
    certain = policy.action_probabilities(_model([0.5, 0.1, 0.0], [0.01] * 3), x, eligible, 0)[0]
    assert certain[0] == 1.0
    uncertain = policy.action_probabilities(
        _model([0.5, 0.1, 0.0], [0.01, 0.01, 1.0]), x, eligible, 0
    )[0]
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
        model.noise_variance,
    )
    policy = ThompsonSampling(draws=20_000)
    p = policy.action_probabilities(model, x, eligible, seed=1)
    q = policy.action_probabilities(permuted, x, eligible, seed=2)
    # Independent Monte-Carlo estimates of the same probabilities: 5 sd of the difference.
    assert np.all(np.abs(p[:, order] - q) <= 5 * np.sqrt(2 * 0.25 / 20_000))


def test_same_seed_same_probabilities() -> None:
    model, x = _random_model(4, 3, 5), np.random.default_rng(1).normal(size=(100, 3))
    eligible = np.ones((100, 4), dtype=bool)
    policy = ThompsonSampling(draws=64)
    assert np.array_equal(
        policy.action_probabilities(model, x, eligible, 11),
        policy.action_probabilities(model, x, eligible, 11),
    )
