"""Thompson sampling: contextual (the default) and campaign-level."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from decisioning.policies.base import Array, Mask, Policy, Scores, unique_rows


class ThompsonSampling(Policy):
    """Choose each value with the posterior probability that it is the best.

    Under the posterior the sampled score of value v for a customer with features x is a
    scalar normal, so no parameter vector needs sampling:

    .. math::  s_v = x^\\top \\theta_v \\sim N(x^\\top m_v,\\; x^\\top S_v x)

    .. math::  p_v(x) = P(v = \\arg\\max_u s_u) \\approx \\frac{1}{M} \\sum_{m=1}^{M}
               1[v = \\arg\\max_u (x^\\top m_u + \\sigma_u(x)\\, z_{mu})],
               \\quad \\sigma_u(x) = \\sqrt{x^\\top S_u x}

    with ``M`` standard-normal draws z shared by the batch (seeded). Drawing the action
    from p is Thompson sampling, and p is the exact propensity of that draw. (Values are
    sampled independently: posterior correlations between values through shared tags are
    left out of the draw, not out of the means and variances.)
    """

    name = "thompson_sampling"

    def __init__(self, floor: float = 0.0, draws: int = 64, chunk_size: int = 4096) -> None:
        super().__init__(floor)
        self.draws = draws
        self.chunk_size = chunk_size

    def _probabilities(self, scores: Scores, eligible: Mask, seed: int) -> Array:
        return win_probabilities(
            scores.mean, scores.sd, eligible, self.draws, seed, self.chunk_size
        )


class CampaignThompsonSampling(ThompsonSampling):
    """Thompson sampling on the intercept alone: one posterior per value for the whole
    audience, so everyone shares the same probabilities (a campaign-level bandit). Only
    which channels a customer may get changes them."""

    name = "campaign_thompson_sampling"
    contextual = False

    def _probabilities(self, scores: Scores, eligible: Mask, seed: int) -> Array:
        patterns, which = unique_rows(eligible)
        one = Scores(scores.model, scores.features[:1])
        mean = np.repeat(one.mean, len(patterns), axis=0)
        sd = np.repeat(one.sd, len(patterns), axis=0)
        per_pattern = win_probabilities(mean, sd, patterns, self.draws, seed, self.chunk_size)
        p: Array = per_pattern[which]
        return p


def win_probabilities(
    mean: Array, sd: Array, eligible: Mask, draws: int, seed: int, chunk_size: int
) -> Array:
    """Monte-Carlo P(v is the argmax of N(mean, sd^2) over eligible values), shape (n, V).

    ``draws`` standard normals per value, shared by all rows. Each value's (rows, draws)
    scores are compared with the running maximum in float32 chunks of ``chunk_size`` rows:
    long contiguous vector operations, a few MB of working memory per thread; one thread
    per core, each on its own block of rows (numpy releases the GIL), the same result.
    """
    n, n_values = mean.shape
    if n_values == 1:
        return np.ones((n, 1))
    z = np.random.default_rng(seed).standard_normal((n_values, draws)).astype(np.float32)
    mean32 = np.where(eligible, mean, -np.inf).astype(np.float32)
    sd32 = np.where(eligible, sd, 0.0).astype(np.float32)
    wins = np.empty((n, n_values))
    chunks = -(-n // chunk_size)
    workers = max(1, min(os.cpu_count() or 1, chunks))
    per_worker = -(-chunks // workers) * chunk_size

    def count(first: int) -> None:
        _count_wins(mean32, sd32, z, wins, first, min(first + per_worker, n), chunk_size)

    if workers == 1:
        count(0)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(count, range(0, n, per_worker)))
    probabilities: Array = wins / draws
    return probabilities


def _count_wins(
    mean32: npt.NDArray[np.float32],
    sd32: npt.NDArray[np.float32],
    z: npt.NDArray[np.float32],
    wins: Array,
    first: int,
    last: int,
    chunk_size: int,
) -> None:
    """``wins[first:last]``: how many of the draws each value wins, chunk by chunk."""
    n_values, draws = z.shape
    best = np.empty((chunk_size, draws), dtype=np.float32)
    score = np.empty_like(best)
    winner = np.empty((chunk_size, draws), dtype=np.int8)
    better = np.empty((chunk_size, draws), dtype=bool)
    for start in range(first, last, chunk_size):
        rows = slice(start, min(start + chunk_size, last))
        m = rows.stop - rows.start
        top, current, who, gain = best[:m], score[:m], winner[:m], better[:m]
        np.multiply(sd32[rows, 0, None], z[0], out=top)
        top += mean32[rows, 0, None]
        who.fill(0)
        for v in range(1, n_values):
            np.multiply(sd32[rows, v, None], z[v], out=current)
            current += mean32[rows, v, None]
            np.greater(current, top, out=gain)
            np.maximum(top, current, out=top)
            np.copyto(who, np.int8(v), where=gain)
        for v in range(n_values):
            wins[rows, v] = np.add.reduce((who == v).view(np.int8), axis=1, dtype=np.int32)
