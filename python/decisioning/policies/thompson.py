"""Contextual Thompson sampling over a Bayesian linear model per field value."""

from __future__ import annotations

import numpy as np

from decisioning.policies.base import Array, Mask, Policy
from decisioning.posterior import FieldModel


class ThompsonSampling(Policy):
    """Choose each value with the posterior probability that it is the best.

    Under the posterior the sampled score of value v for a customer with features x is a
    scalar normal, so no parameter vector needs sampling:

    .. math::  s_v = x^\\top \\theta_v \\sim N(x^\\top \\mu_v,\\; x^\\top \\Sigma_v x)

    .. math::  p_v(x) = P(v = \\arg\\max_u s_u) \\approx \\frac{1}{M} \\sum_{m=1}^{M}
               1[v = \\arg\\max_u (x^\\top \\mu_u + \\sigma_u(x)\\, z_{mu})],
               \\quad \\sigma_u(x) = \\sqrt{x^\\top \\Sigma_u x}

    with ``M`` standard-normal draws z shared by the batch (seeded). Drawing the action
    from p is Thompson sampling, and p is the exact propensity of that draw.
    """

    name = "thompson_sampling"

    def __init__(self, floor: float = 0.0, draws: int = 128, chunk_size: int = 8192) -> None:
        super().__init__(floor)
        self.draws = draws
        self.chunk_size = chunk_size

    def _probabilities(
        self, model: FieldModel, features: Array, eligible: Mask, seed: int
    ) -> Array:
        mean = features @ model.mean.T
        sd = score_sd(model, features)
        z = np.random.default_rng(seed).standard_normal((self.draws, len(model.value_ids)))
        probabilities = np.empty_like(mean)
        for start in range(0, len(features), self.chunk_size):
            rows = slice(start, start + self.chunk_size)
            scores = mean[rows, None, :] + sd[rows, None, :] * z[None, :, :]
            scores = np.where(eligible[rows, None, :], scores, -np.inf)
            winners = scores.argmax(axis=2)
            for v in range(len(model.value_ids)):
                probabilities[rows, v] = (winners == v).mean(axis=1)
        return probabilities


def score_sd(model: FieldModel, features: Array) -> Array:
    """Posterior standard deviation of each value's score, sqrt(x' Sigma_v x), shape (n, V)."""
    variance = np.stack(
        [np.einsum("nd,nd->n", features @ cov, features) for cov in model.covariance], axis=1
    )
    sd: Array = np.sqrt(np.maximum(variance, 0.0))
    return sd
