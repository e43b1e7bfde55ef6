"""Vowpal Wabbit baseline for the learning benchmark.

Each field (channel, send_slot, ...) gets its own ``--cb_explore_adf`` workspace. One
decision per field is a multi-line VW example::

    shared |s recency:0.25 tenure:3 ...        <- customer features, zeros skipped
    |a value_id=email email:1 urgent:1         <- one line per *eligible* value
    0:-1.5:0.8 |a value_id=sms sms:1           <- (learn only) chosen value: 0:cost:prob

``-q sa`` crosses customer and action features, the same crossing the Thompson sampler
uses, so VW learns per-value customer effects. The value drawn from VW's PMF (inverse CDF,
like ``decisioning.decide``) is mapped back to its catalog index; the decision's
propensity is the product of the per-field probabilities. Each field's workspace learns
from its own field's probability, with cost ``-reward``.

Requires ``vowpalwabbit>=9.11,<9.12``. Examples go to the ``Workspace`` through the calls
``Workspace.predict``/``learn`` make for a string (``_parse``, ``predict_multi`` /
``learn_multi``, ``_finish_example_multi_ex``) without its per-line Python ``Example``
wrappers: identical PMFs and models, about 3x faster decisions. These are pyvw 9.11
internals, hence the pin.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from vowpalwabbit import Workspace, pyvw

from decisioning.keyed_random import draw_index, keyed_uniforms
from decisioning.policies.base import unique_rows

FloatArray = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

#: Exploration settings the benchmark compares (all accepted by 9.11 ``--cb_explore_adf``).
SETTINGS: dict[str, str] = {
    "epsilon_greedy": "--epsilon 0.05",
    "squarecb": "--squarecb",
    "cover": "--cover 4",
    "bag": "--bag 5 --epsilon 0.02",
}

_UNSAFE = str.maketrans({c: "_" for c in " \t\n\r|:"})


def _token(name: str) -> str:
    """A name VW's text format can carry (no whitespace, ``|`` or ``:``)."""
    return name.translate(_UNSAFE)


def _encode(names: list[str], row: list[float]) -> str:
    """``name:value`` pairs of the non-zero entries of ``row``, space separated."""
    return " ".join(f"{n}:{v:.9g}" for n, v in zip(names, row, strict=True) if v)


def _predict(workspace: Workspace, text: str) -> list[float]:
    """VW's PMF over the action lines of one multi-line example, in line order."""
    examples = pyvw.pylibvw.vw._parse(workspace, text)
    pyvw.pylibvw.vw.predict_multi(workspace, examples)
    pmf: list[float] = examples[0].get_action_scores()
    pyvw.pylibvw.vw._finish_example_multi_ex(workspace, examples)
    return pmf


def _learn(workspace: Workspace, text: str) -> None:
    """One online update on one labelled multi-line example."""
    examples = pyvw.pylibvw.vw._parse(workspace, text)
    pyvw.pylibvw.vw.learn_multi(workspace, examples)
    pyvw.pylibvw.vw._finish_example_multi_ex(workspace, examples)


class VowpalWabbitPolicy:
    """Vowpal Wabbit --cb_explore_adf, one workspace per field, action-dependent features.

    ``values[field]`` are the value ids in catalog order; ``action_features[field]`` is
    (V_f, A_f) with columns ``action_feature_names[field]``; ``feature_names`` names the d
    customer features. ``arguments`` are extra VW options (see ``SETTINGS``); ``--quiet``,
    ``-q sa`` and ``--random_seed seed`` are added. Draws use a numpy Generator seeded by
    ``seed``, or, when ``decide`` gets decision ``keys``, the production keyed uniforms
    (stream = field position), so runs are reproducible.
    """

    def __init__(
        self,
        values: dict[str, tuple[str, ...]],
        action_features: dict[str, np.ndarray],
        action_feature_names: dict[str, tuple[str, ...]],
        feature_names: tuple[str, ...],
        arguments: str = "--epsilon 0.05",
        seed: int = 0,
    ) -> None:
        self.values = values
        self.arguments = arguments
        self.feature_names = feature_names
        self._names = [_token(name) for name in feature_names]
        self._rng = np.random.default_rng(seed)
        options = f"--cb_explore_adf -q sa --quiet --random_seed {seed} {arguments}"
        self._workspaces = {field: Workspace(options) for field in values}
        self._lines: dict[str, list[str]] = {}
        for field, ids in values.items():
            matrix = np.asarray(action_features[field], dtype=np.float64)
            names = [_token(name) for name in action_feature_names[field]]
            if matrix.shape != (len(ids), len(names)):
                raise ValueError(
                    f"action_features[{field!r}] has shape {matrix.shape}, "
                    f"expected ({len(ids)}, {len(names)})."
                )
            self._lines[field] = [
                f"|a value_id={_token(value)} {_encode(names, row)}"
                for value, row in zip(ids, matrix.tolist(), strict=True)
            ]

    def _shared(self, features: np.ndarray) -> list[str]:
        """One ``shared |s ...`` line per customer."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self._names):
            raise ValueError(f"features must be (n, {len(self._names)}), got {x.shape}.")
        if not np.isfinite(x).all():
            raise ValueError("features must be finite.")
        return [f"shared |s {_encode(self._names, row)}" for row in x.tolist()]

    def _eligible(self, field: str, eligible: dict[str, np.ndarray], n: int) -> Mask:
        mask = np.asarray(eligible[field], dtype=bool)
        if mask.shape != (n, len(self.values[field])):
            raise ValueError(f"eligible[{field!r}] must be ({n}, {len(self.values[field])}).")
        if not mask.any(axis=1).all():
            raise ValueError(f"eligible[{field!r}] has a row with no eligible value.")
        return mask

    def decide(
        self,
        features: np.ndarray,
        eligible: dict[str, np.ndarray],
        keys: np.ndarray | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Draw one value per field for each customer.

        ``features`` (n, d); ``eligible[field]`` (n, V_f) bool, at least one True per row;
        ``keys`` optional uint64 decision keys (``decisioning.keyed_random.decision_keys``).
        Returns the chosen value index per field (n,) and the probability it was chosen
        with (n,). Only eligible values are passed to VW, so ineligible ones are never
        chosen.
        """
        shared = self._shared(features)
        n = len(shared)
        chosen: dict[str, np.ndarray] = {}
        probabilities: dict[str, np.ndarray] = {}
        for stream, (field, workspace) in enumerate(self._workspaces.items()):
            mask = self._eligible(field, eligible, n)
            patterns, inverse = unique_rows(mask)
            lines = np.asarray(self._lines[field], dtype=object)
            blocks = ["\n" + "\n".join(lines[pattern]) for pattern in patterns]
            # pmf is over the eligible values in catalog order: a boolean scatter restores
            # catalog positions (row-major order matches the concatenation order).
            pmf = [
                _predict(workspace, s + blocks[k])
                for s, k in zip(shared, inverse.tolist(), strict=True)
            ]
            p = np.zeros(mask.shape)
            p[mask] = np.concatenate(pmf) if pmf else []
            p /= p.sum(axis=1, keepdims=True)
            if keys is None:
                u = self._rng.random(n)
            else:
                u = keyed_uniforms(np.asarray(keys, dtype=np.uint64), stream)
            index = draw_index(p, u)
            chosen[field] = index
            probabilities[field] = p[np.arange(n), index]
        return chosen, probabilities

    def learn(
        self,
        features: np.ndarray,
        eligible: dict[str, np.ndarray],
        chosen: dict[str, np.ndarray],
        probabilities: dict[str, np.ndarray],
        rewards: np.ndarray,
    ) -> None:
        """One pass over a batch of finalized (features, action, probability, reward).

        ``chosen`` / ``probabilities`` are ``decide``'s outputs (per-field probability, not
        the product); ``rewards`` (n,) with VW cost ``-reward``. Examples are learned in
        row order.
        """
        shared = self._shared(features)
        n = len(shared)
        costs = -np.asarray(rewards, dtype=np.float64)
        for field, workspace in self._workspaces.items():
            mask = self._eligible(field, eligible, n)
            index = np.asarray(chosen[field], dtype=np.intp)
            if not mask[np.arange(n), index].all():
                raise ValueError(f"chosen[{field!r}] has an ineligible value.")
            lines = np.asarray(self._lines[field], dtype=object)
            positions = np.arange(mask.shape[1])
            # Eligible lines before and after the chosen one, per distinct (eligible, choice).
            patterns, inverse = unique_rows(np.hstack([mask, positions == index[:, None]]))
            heads: list[str] = []
            tails: list[str] = []
            for pattern in patterns:
                allowed, pick = pattern[: len(positions)], int(np.argmax(pattern[len(positions) :]))
                heads.append("".join("\n" + line for line in lines[allowed & (positions < pick)]))
                tails.append("".join("\n" + line for line in lines[allowed & (positions > pick)]))
            rows = zip(
                shared,
                inverse.tolist(),
                index.tolist(),
                costs.tolist(),
                np.asarray(probabilities[field], dtype=np.float64).tolist(),
                strict=True,
            )
            for s, k, j, cost, q in rows:
                _learn(workspace, f"{s}{heads[k]}\n0:{cost:.9g}:{q:.9g} {lines[j]}{tails[k]}")


def decisions_per_second(
    policy: VowpalWabbitPolicy,
    features: np.ndarray,
    eligible: dict[str, np.ndarray],
    repeats: int = 3,
) -> float:
    """Customers decided per second by ``policy.decide`` (all fields), best of ``repeats``."""
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        policy.decide(features, eligible)
        best = min(best, time.perf_counter() - started)
    return len(features) / best
