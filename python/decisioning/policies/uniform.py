"""Uniform random: what an A/B test does while it runs."""

from __future__ import annotations

import numpy as np

from decisioning.policies.base import Array, Mask, Policy
from decisioning.posterior import FieldModel


class UniformRandom(Policy):
    """Every eligible value equally likely: :math:`p_v = 1/k`."""

    name = "uniform_random"

    def _probabilities(
        self, model: FieldModel, features: Array, eligible: Mask, seed: int
    ) -> Array:
        p: Array = eligible / eligible.sum(axis=1, keepdims=True).astype(np.float64)
        return p
