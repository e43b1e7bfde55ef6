"""Policies that exploit a point estimate: LinUCB, epsilon-greedy, A/B-then-commit."""

from __future__ import annotations

import numpy as np

from decisioning.policies.base import Array, Mask, Policy, Scores, one_hot_argmax, uniform


class LinUCB(Policy):
    """The value with the highest upper confidence bound of its score:

    .. math::  a = \\arg\\max_v \\; x^\\top m_v + \\alpha \\sqrt{x^\\top S_v x}

    Deterministic; only the propensity floor explores beyond the bonus.
    """

    name = "linucb"

    def __init__(self, floor: float = 0.0, alpha: float = 1.0) -> None:
        super().__init__(floor)
        self.alpha = alpha

    def _probabilities(self, scores: Scores, eligible: Mask, seed: int) -> Array:
        return one_hot_argmax(scores.mean + self.alpha * scores.sd, eligible)


class EpsilonGreedy(Policy):
    """The best posterior mean with probability 1 - epsilon, else uniform:

    .. math::  p_v = (1 - \\epsilon)\\, 1[v = \\arg\\max_u x^\\top m_u] + \\epsilon / k
    """

    name = "epsilon_greedy"

    def __init__(self, floor: float = 0.0, epsilon: float = 0.1) -> None:
        super().__init__(floor)
        self.epsilon = epsilon

    def _probabilities(self, scores: Scores, eligible: Mask, seed: int) -> Array:
        greedy = one_hot_argmax(scores.mean, eligible)
        return (1 - self.epsilon) * greedy + self.epsilon * uniform(eligible)


class ABThenCommit(Policy):
    """An A/B test: uniform for ``test_days`` days, then everyone gets the value with the
    best measured mean reward (per field, so the best combination under the same additive
    decomposition the other policies use)."""

    name = "ab_then_commit"
    contextual = False

    def __init__(self, floor: float = 0.0, test_days: int = 14, days_running: int = 0) -> None:
        super().__init__(floor)
        self.test_days = test_days
        self.days_running = days_running

    def _probabilities(self, scores: Scores, eligible: Mask, seed: int) -> Array:
        measured = scores.model.mean_reward
        if self.days_running < self.test_days or np.isnan(measured).all():
            return uniform(eligible)
        best = np.where(np.isnan(measured), -np.inf, measured)
        return one_hot_argmax(np.broadcast_to(best, eligible.shape), eligible)
