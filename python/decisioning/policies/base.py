"""The interface every policy implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from decisioning.posterior import FieldModel

Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
SD_CHUNK_ROWS = 16_384


@dataclass(frozen=True)
class Scores:
    """Posterior distribution of each value's score for a batch of customers.

    The score of value v for features x is N(x' m_v - c_v, x' S_v x) (``decisioning.
    posterior``), with ``cost`` c_v (V,) the reward a value must earn to be worth it (a
    channel's cost; none by default). ``mean`` and ``sd`` (n, V) are computed on first
    use, once per batch, in the precision of ``features`` (the audience's are float32:
    scores need no more, and BLAS is twice as fast).
    """

    model: FieldModel
    features: npt.NDArray[np.floating[Any]]
    cost: Array | None = None

    @cached_property
    def mean(self) -> Array:
        x = self.features
        mean: Array = (x @ self.model.mean.T.astype(x.dtype)).astype(np.float64)
        if self.cost is not None:
            mean -= self.cost
        return mean

    @cached_property
    def sd(self) -> Array:
        """sqrt(x' S_v x) per customer and value: one float32 BLAS product of each chunk of
        rows with every value's covariance side by side, (c, d) @ (d, V d)."""
        x = self.features.astype(np.float32, copy=False)
        n_values, d = self.model.mean.shape
        stacked = self.model.covariance.transpose(1, 0, 2).reshape(d, n_values * d)
        stacked = stacked.astype(np.float32)
        variance = np.empty((len(x), n_values), dtype=np.float32)
        for start in range(0, len(x), SD_CHUNK_ROWS):
            rows = x[start : start + SD_CHUNK_ROWS]
            product = (rows @ stacked).reshape(len(rows), n_values, d)
            variance[start : start + SD_CHUNK_ROWS] = np.einsum("cvd,cd->cv", product, rows)
        sd: Array = np.sqrt(np.maximum(variance, 0.0)).astype(np.float64)
        return sd


class Policy(ABC):
    """Maps customers' scores to a probability over one field's values.

    ``action_probabilities`` handles what every policy shares: ineligible values get
    probability 0, and every eligible value at least ``floor``:

    .. math::  p'_v = (1 - k f)\\, p_v + f, \\quad k = \\#\\text{eligible values}

    so the logged propensity is the exact probability the choice was drawn with.
    ``contextual = False`` policies are fitted on the intercept alone (one answer for the
    whole audience).
    """

    name: ClassVar[str]
    contextual: ClassVar[bool] = True

    def __init__(self, floor: float = 0.0) -> None:
        self.floor = floor

    def action_probabilities(self, scores: Scores, eligible: Mask, seed: int) -> Array:
        """Probabilities, shape (n, V), rows summing to one over eligible values.

        ``eligible`` shape (n, V), at least one True per row. ``seed`` fixes any
        Monte-Carlo draws (shared by the batch).
        """
        p = self._probabilities(scores, eligible, seed)
        p = np.where(eligible, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
        k = eligible.sum(axis=1, keepdims=True)
        return np.where(eligible, p * (1.0 - k * self.floor) + self.floor, 0.0)

    @abstractmethod
    def _probabilities(self, scores: Scores, eligible: Mask, seed: int) -> Array:
        """Unfloored probabilities, shape (n, V); ineligible entries are ignored."""


def unique_rows(rows: Mask) -> tuple[Mask, npt.NDArray[np.intp]]:
    """Distinct boolean rows (k, w) and each row's pattern number (n,): as integer codes
    when they fit in 62 bits, a row-wise ``np.unique`` otherwise."""
    if rows.shape[1] > 62:
        patterns, inverse = np.unique(rows, axis=0, return_inverse=True)
        return patterns, inverse.reshape(-1)
    codes = rows.astype(np.int64) @ (np.int64(1) << np.arange(rows.shape[1], dtype=np.int64))
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    return rows[first], inverse.reshape(-1)


def uniform(eligible: Mask) -> Array:
    """Every eligible value equally likely: p_v = 1/k."""
    p: Array = eligible / eligible.sum(axis=1, keepdims=True).astype(np.float64)
    return p


def one_hot_argmax(values: Array, eligible: Mask) -> Array:
    """Probability 1 on the best eligible value per row (first one on ties)."""
    best = np.where(eligible, values, -np.inf).argmax(axis=1)
    p = np.zeros(values.shape)
    p[np.arange(len(best)), best] = 1.0
    return p
