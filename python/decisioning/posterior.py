r"""Bayesian linear reward models that learn across values, from SQL sufficient statistics.

Each field (channel, send slot, each message field) has one model. Value ``v`` has action
features ``a_v`` (k: bias, semantic tags, identity; ``Catalog.action_features``) and a
customer has features ``x`` (d). The reward is linear in their cross product
``z = a_v ⊗ x``:

.. math::

    r = z^\top \theta + \varepsilon = x^\top \Theta^\top a_v + \varepsilon, \quad
    \varepsilon \sim N(0, \sigma^2_f), \quad \theta \sim N(0, \tau^2 I_{kd})

    \Sigma = (I / \tau^2 + G / \sigma^2_f)^{-1}, \quad \mu = \Sigma b / \sigma^2_f, \quad
    G = \sum_v a_v a_v^\top \otimes G_v, \quad b = \sum_v a_v \otimes b_v

so the per-value decayed statistics ``G_v = sum w x x'`` and ``b_v = sum w x r`` from SQL are
all that is needed: the crossing happens here, on small matrices. What is learned about a
tag (its row of Theta) moves every value that carries it; a value without data starts from
what its bias and tags predict, with the identity's prior variance on top.

For scoring, the posterior is projected onto each value: the score ``x' Theta' a_v`` has
mean ``x' m_v`` and variance ``x' S_v x`` with

.. math::  m_v = (a_v^\top \otimes I_d)\, \mu, \quad
           S_v = (a_v^\top \otimes I_d)\, \Sigma\, (a_v \otimes I_d)

The noise variance of field ``f`` is the pooled within-value reward variance, shrunk
towards ``s0^2 = 0.1`` with one pseudo-observation: conservative (it ignores what x
explains), so it never under-explores.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from decisioning.catalog import Catalog

PRIOR_NOISE_VARIANCE = 0.1
PRIOR_NOISE_WEIGHT = 1.0

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FieldModel:
    """Posterior of every active value of one field, projected per value.

    ``mean`` (V, d) and ``covariance`` (V, d, d): the score of value v for features x is
    N(x' mean_v, x' covariance_v x). ``n`` (V,) decayed observation weight, ``n_rewards``
    (V,) raw count of finalized rewards, ``mean_reward`` (V,) decayed measured mean reward
    (NaN without data).
    """

    field: str
    value_ids: tuple[str, ...]
    feature_names: tuple[str, ...]
    mean: Array
    covariance: Array
    n: Array
    n_rewards: npt.NDArray[np.int64]
    mean_reward: Array
    noise_variance: float


def feature_names_of(statistics: pd.DataFrame) -> tuple[str, ...]:
    """Feature order recorded by ``policy_statistics`` (its ``feature_names`` column)."""
    if "feature_names" not in statistics.columns or statistics.empty:
        return ()
    return tuple(str(statistics["feature_names"].iloc[0]).split(","))


@dataclass(frozen=True)
class ValueStatistics:
    """Per-value sufficient statistics of one field, over the features a model uses."""

    gram: Array  # (V, d, d)
    xty: Array  # (V, d)
    n: Array  # (V,)
    n_rewards: npt.NDArray[np.int64]  # (V,)
    sum_reward: Array  # (V,)
    sum_reward_sq: Array  # (V,)

    @classmethod
    def from_frame(
        cls,
        statistics: pd.DataFrame,
        field: str,
        value_ids: tuple[str, ...],
        statistics_features: tuple[str, ...],
        features: tuple[str, ...],
    ) -> ValueStatistics:
        """Rows of ``policy_statistics`` for ``field``, restricted to ``features``."""
        d_all, n_values = len(statistics_features), len(value_ids)
        keep = [statistics_features.index(f) for f in features]
        gram = np.zeros((n_values, d_all, d_all))
        xty = np.zeros((n_values, d_all))
        scalars = np.zeros((4, n_values))
        rows = statistics[statistics["field"] == field]
        position = {v: k for k, v in enumerate(value_ids)}
        rows = rows[rows["value_id"].isin(position)]
        if not rows.empty:
            k = rows["value_id"].map(position).to_numpy()
            upper = np.triu_indices(d_all)
            columns = [f"xtx_{i}_{j}" for i, j in zip(*upper, strict=True)]
            g = np.zeros((len(rows), d_all, d_all))
            g[:, upper[0], upper[1]] = rows[columns].to_numpy(dtype=float)
            gram[k] = g + np.triu(g, 1).transpose(0, 2, 1)
            xty[k] = rows[[f"xty_{i}" for i in range(d_all)]].to_numpy(dtype=float)
            parts = ["n", "n_rewards", "sum_reward", "sum_reward_sq"]
            scalars[:, k] = rows[parts].to_numpy(dtype=float).T
        return cls(
            gram=gram[:, keep][:, :, keep],
            xty=xty[:, keep],
            n=scalars[0],
            n_rewards=scalars[1].astype(np.int64),
            sum_reward=scalars[2],
            sum_reward_sq=scalars[3],
        )


def fit_field(
    field: str,
    value_ids: tuple[str, ...],
    action_features: Array,
    stats: ValueStatistics,
    feature_names: tuple[str, ...],
    prior_variance: float,
) -> FieldModel:
    """Posterior of the crossed model of one field, projected onto each of ``value_ids``."""
    n_values, k = action_features.shape
    d = len(feature_names)
    a = action_features
    n = stats.n
    within = np.sum(
        stats.sum_reward_sq - np.divide(stats.sum_reward**2, n, out=np.zeros_like(n), where=n > 0)
    )
    noise = (PRIOR_NOISE_WEIGHT * PRIOR_NOISE_VARIANCE + max(within, 0.0)) / (
        PRIOR_NOISE_WEIGHT + n.sum()
    )
    gram = np.einsum("vk,vl,vij->kilj", a, a, stats.gram).reshape(k * d, k * d)
    xty = np.einsum("vk,vi->ki", a, stats.xty).reshape(k * d)
    precision = np.eye(k * d) / prior_variance + gram / noise
    covariance = np.linalg.inv(precision)
    covariance = (covariance + covariance.T) / 2
    mu = (covariance @ xty / noise).reshape(k, d)
    blocks = covariance.reshape(k, d, k, d)
    value_covariance = np.einsum("vk,kilj,vl->vij", a, blocks, a)
    mean_reward = np.divide(stats.sum_reward, n, out=np.full(n_values, np.nan), where=n > 0)
    return FieldModel(
        field=field,
        value_ids=value_ids,
        feature_names=feature_names,
        mean=a @ mu,
        covariance=(value_covariance + value_covariance.transpose(0, 2, 1)) / 2,
        n=n,
        n_rewards=stats.n_rewards,
        mean_reward=mean_reward,
        noise_variance=float(noise),
    )


def fit_models(
    statistics: pd.DataFrame,
    catalog: Catalog,
    feature_names: tuple[str, ...],
    prior_variance: float,
    statistics_features: tuple[str, ...] | None = None,
) -> dict[str, FieldModel]:
    """One ``FieldModel`` per catalog field over ``feature_names``.

    ``statistics_features``: the feature order of ``statistics`` when the model uses only
    some of them (a non-contextual policy uses just ``x_intercept``); default the same.
    """
    source = statistics_features or feature_names
    return {
        field: fit_field(
            field,
            values,
            catalog.action_features[field],
            ValueStatistics.from_frame(statistics, field, values, source, feature_names),
            feature_names,
            prior_variance,
        )
        for field, values in catalog.values.items()
    }


STATISTICS_CHUNK_ROWS = 65_536


def statistics_frame(
    features: npt.NDArray[np.floating[Any]],
    feature_names: tuple[str, ...],
    actions: Mapping[str, npt.NDArray[np.object_]],
    rewards: Array,
    weights: Array,
) -> pd.DataFrame:
    """``policy_statistics`` computed in numpy, for simulations, tests and histories.

    ``features`` (N, d) logged contexts (float32 or float64: summed in float64),
    ``actions[field]`` (N,) chosen value ids (None where the field did not apply),
    ``rewards`` (N,) finalized rewards, ``weights`` (N,) decay weights. Same columns and
    meaning as the SQL model.
    """
    d = len(feature_names)
    upper = np.triu_indices(d)
    frames = []
    for field, chosen in actions.items():
        codes, values = pd.factorize(chosen)  # -1 where the field did not apply
        groups = len(values)
        moments = _grouped_moments(features, rewards, weights, codes, groups)
        columns = {
            "field": field,
            "value_id": np.asarray(values, dtype=object),
            "feature_names": ",".join(feature_names),
            "n_rewards": np.bincount(codes[codes >= 0], minlength=groups),
            "n": moments[:, d + 1, d + 1],
            "sum_reward": moments[:, d, d + 1],
            "sum_reward_sq": moments[:, d, d],
            **{f"xty_{i}": moments[:, i, d] for i in range(d)},
            **{f"xtx_{i}_{j}": moments[:, i, j] for i, j in zip(*upper, strict=True)},
        }
        frames.append(pd.DataFrame(columns, index=range(groups)))
    return pd.concat(frames, ignore_index=True)


def _grouped_moments(
    features: npt.NDArray[np.floating[Any]],
    rewards: Array,
    weights: Array,
    codes: npt.NDArray[np.intp],
    groups: int,
) -> Array:
    """(groups, d + 2, d + 2): per group g, ``sum_i w_i a_i a_i'`` with ``a = (x, r, 1)``:
    the gram, x'r, sum w r^2, sum w r and sum w in one product. Rows with code -1 are
    skipped. Chunks of ``STATISTICS_CHUNK_ROWS`` rows, sorted by group within the chunk,
    in two reused buffers: no copy of the whole history, whatever its size."""
    d = features.shape[1]
    moments = np.zeros((groups, d + 2, d + 2))
    block = np.empty((min(STATISTICS_CHUNK_ROWS, len(codes)), d + 2))
    weighted = np.empty_like(block)
    block[:, d + 1] = 1.0
    for start in range(0, len(codes), STATISTICS_CHUNK_ROWS):
        stop = min(start + STATISTICS_CHUNK_ROWS, len(codes))
        order = np.argsort(codes[start:stop], kind="stable")
        rows = order + start
        bounds = np.searchsorted(codes[rows], np.arange(groups + 1))
        a, wa = block[: stop - start], weighted[: stop - start]
        a[:, :d] = features[rows]
        a[:, d] = rewards[rows]
        np.multiply(a, weights[rows, None], out=wa)
        for g in np.flatnonzero(bounds[1:] > bounds[:-1]):
            moments[g] += wa[bounds[g] : bounds[g + 1]].T @ a[bounds[g] : bounds[g + 1]]
    return moments


def model_version(settings: dict[str, object], statistics: pd.DataFrame) -> str:
    """Short id of what the model was trained on: settings and reward counts per value.

    Counts, not float sums, so parallel aggregation order never changes the id.
    """
    counts = (
        statistics[["field", "value_id", "n_rewards"]].sort_values(["field", "value_id"])
        if not statistics.empty
        else pd.DataFrame(columns=["field", "value_id", "n_rewards"])
    )
    payload = json.dumps(
        {"settings": settings, "counts": counts.astype(str).values.tolist()},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha1(payload.encode()).hexdigest()[:12]


def models_to_frame(models: dict[str, FieldModel], version: str) -> pd.DataFrame:
    """Long table: one row per (field, value, parameter, row, col). Means have col = -1."""
    frames = []
    for model in models.values():
        n_values, d = model.mean.shape
        v, i = np.meshgrid(np.arange(n_values), np.arange(d), indexing="ij")
        means = pd.DataFrame(
            {
                "value_index": v.ravel(),
                "row_index": i.ravel(),
                "col_index": -1,
                "parameter": "mean",
                "value": model.mean.ravel(),
            }
        )
        cv, ci, cj = np.meshgrid(np.arange(n_values), np.arange(d), np.arange(d), indexing="ij")
        covs = pd.DataFrame(
            {
                "value_index": cv.ravel(),
                "row_index": ci.ravel(),
                "col_index": cj.ravel(),
                "parameter": "covariance",
                "value": model.covariance.ravel(),
            }
        )
        frame = pd.concat([means, covs], ignore_index=True)
        frame.insert(0, "field", model.field)
        frame.insert(1, "value_id", np.asarray(model.value_ids, dtype=object)[frame["value_index"]])
        frame["n"] = model.n[frame["value_index"]]
        frame["n_rewards"] = model.n_rewards[frame["value_index"]]
        frame["mean_reward"] = model.mean_reward[frame["value_index"]]
        frame["noise_variance"] = model.noise_variance
        frame["feature_names"] = ",".join(model.feature_names)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "model_version", version)
    return out


def models_from_frame(frame: pd.DataFrame, catalog: Catalog) -> dict[str, FieldModel]:
    """Inverse of ``models_to_frame`` for the catalog's active values, in catalog order."""
    names = tuple(str(frame["feature_names"].iloc[0]).split(","))
    d = len(names)
    models: dict[str, FieldModel] = {}
    for field, value_ids in catalog.values.items():
        rows = frame[frame["field"] == field]
        position = {v: k for k, v in enumerate(value_ids)}
        missing = set(value_ids) - set(rows["value_id"])
        if missing:
            raise ValueError(
                f"policy_model has no parameters for {field} value(s) {sorted(missing)}; "
                "rebuild it (dbt build --select policy_model+)."
            )
        rows = rows[rows["value_id"].isin(position)]
        k = rows["value_id"].map(position).to_numpy()
        mean = np.zeros((len(value_ids), d))
        cov = np.zeros((len(value_ids), d, d))
        is_mean = (rows["parameter"] == "mean").to_numpy()
        r, c, val = (rows[col].to_numpy() for col in ("row_index", "col_index", "value"))
        mean[k[is_mean], r[is_mean]] = val[is_mean]
        cov[k[~is_mean], r[~is_mean], c[~is_mean]] = val[~is_mean]
        per_value = rows[is_mean].drop_duplicates("value_id").set_index("value_id")
        models[field] = FieldModel(
            field=field,
            value_ids=value_ids,
            feature_names=names,
            mean=mean,
            covariance=cov,
            n=per_value.loc[list(value_ids), "n"].to_numpy(dtype=float),
            n_rewards=per_value.loc[list(value_ids), "n_rewards"].to_numpy(dtype=np.int64),
            mean_reward=per_value.loc[list(value_ids), "mean_reward"].to_numpy(dtype=float),
            noise_variance=float(rows["noise_variance"].iloc[0]),
        )
    return models
