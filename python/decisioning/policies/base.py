"""The interface every policy implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from decisioning.posterior import FieldModel

Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


class Policy(ABC):
    """Maps customers' features to a probability over one field's values.

    ``action_probabilities`` handles what every policy shares: ineligible values get
    probability 0, and every eligible value at least ``floor``:

    .. math::  p'_v = (1 - k f)\\, p_v + f, \\quad k = \\#\\text{eligible values}

    so the logged propensity is the exact probability the choice was drawn with.
    """

    name: ClassVar[str]

    def __init__(self, floor: float = 0.0) -> None:
        self.floor = floor

    def action_probabilities(
        self, model: FieldModel, features: Array, eligible: Mask, seed: int
    ) -> Array:
        """Probabilities, shape (n, V), rows summing to one over eligible values.

        ``features`` shape (n, d); ``eligible`` shape (n, V), at least one True per row.
        ``seed`` fixes any Monte-Carlo draws (shared by the batch).
        """
        p = self._probabilities(model, features, eligible, seed)
        p = np.where(eligible, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
        k = eligible.sum(axis=1, keepdims=True)
        return np.where(eligible, p * (1.0 - k * self.floor) + self.floor, 0.0)

    @abstractmethod
    def _probabilities(
        self, model: FieldModel, features: Array, eligible: Mask, seed: int
    ) -> Array:
        """Unfloored probabilities, shape (n, V); ineligible entries are ignored."""
