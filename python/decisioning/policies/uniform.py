"""Uniform random: what an A/B test does while it runs."""

from __future__ import annotations

from decisioning.policies.base import Array, Mask, Policy, Scores, uniform


class UniformRandom(Policy):
    """Every eligible value equally likely: :math:`p_v = 1/k`."""

    name = "uniform_random"

    def _probabilities(self, scores: Scores, eligible: Mask, seed: int) -> Array:
        return uniform(eligible)
