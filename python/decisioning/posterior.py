"""Bayesian linear reward models, one per field value, from SQL sufficient statistics.

For field value ``v`` with logged contexts ``x`` (d features) and rewards ``r``:

.. math::

    r = x^\\top \\theta_v + \\varepsilon, \\quad \\varepsilon \\sim N(0, \\sigma^2_f), \\quad
    \\theta_v \\sim N(0, \\tau^2 I)

    \\Sigma_v = (I / \\tau^2 + G_v / \\sigma^2_f)^{-1}, \\quad
    \\mu_v = \\Sigma_v b_v / \\sigma^2_f

with decayed statistics ``G_v = sum w x x'`` and ``b_v = sum w x r``. The noise variance of
field ``f`` is the pooled within-value reward variance, shrunk towards ``s0^2 = 0.1`` with
one pseudo-observation: conservative (it ignores what x explains), so it never under-explores.
A value without data keeps the prior: it starts uncertain, not at zero.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from decisioning.catalog import Catalog

PRIOR_NOISE_VARIANCE = 0.1
PRIOR_NOISE_WEIGHT = 1.0

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FieldModel:
    """Posterior of every active value of one field.

    ``mean`` shape (V, d), ``covariance`` shape (V, d, d), ``n`` (V,) decayed observation
    weight, ``n_rewards`` (V,) raw count of finalized rewards.
    """

    field: str
    value_ids: tuple[str, ...]
    feature_names: tuple[str, ...]
    mean: Array
    covariance: Array
    n: Array
    n_rewards: npt.NDArray[np.int64]
    noise_variance: float


def feature_names_of(statistics: pd.DataFrame) -> tuple[str, ...]:
    """Feature order recorded by ``policy_statistics`` (its ``feature_names`` column)."""
    if "feature_names" not in statistics.columns or statistics.empty:
        return ()
    return tuple(str(statistics["feature_names"].iloc[0]).split(","))


def fit_field(
    field: str,
    value_ids: tuple[str, ...],
    statistics: pd.DataFrame,
    feature_names: tuple[str, ...],
    prior_variance: float,
) -> FieldModel:
    """Posterior for each of ``value_ids`` from the rows of ``statistics`` for ``field``."""
    d, n_values = len(feature_names), len(value_ids)
    rows = statistics[statistics["field"] == field].set_index("value_id")
    gram = np.zeros((n_values, d, d))
    xty = np.zeros((n_values, d))
    n = np.zeros(n_values)
    n_rewards = np.zeros(n_values, dtype=np.int64)
    sum_r = np.zeros(n_values)
    sum_r2 = np.zeros(n_values)
    upper = np.triu_indices(d)
    xtx_columns = [f"xtx_{i}_{j}" for i, j in zip(*upper, strict=True)]
    xty_columns = [f"xty_{i}" for i in range(d)]
    for k, value in enumerate(value_ids):
        if value not in rows.index:
            continue
        row = rows.loc[value]
        g = np.zeros((d, d))
        g[upper] = row[xtx_columns].to_numpy(dtype=float)
        gram[k] = g + np.triu(g, 1).T
        xty[k] = row[xty_columns].to_numpy(dtype=float)
        n[k], n_rewards[k] = row["n"], row["n_rewards"]
        sum_r[k], sum_r2[k] = row["sum_reward"], row["sum_reward_sq"]
    within = np.sum(sum_r2 - np.divide(sum_r**2, n, out=np.zeros_like(n), where=n > 0))
    noise = (PRIOR_NOISE_WEIGHT * PRIOR_NOISE_VARIANCE + max(within, 0.0)) / (
        PRIOR_NOISE_WEIGHT + n.sum()
    )
    precision = np.eye(d) / prior_variance + gram / noise
    covariance = np.linalg.inv(precision)
    covariance = (covariance + covariance.transpose(0, 2, 1)) / 2
    mean = np.einsum("vij,vj->vi", covariance, xty / noise)
    return FieldModel(field, value_ids, feature_names, mean, covariance, n, n_rewards, noise)


def fit_models(
    statistics: pd.DataFrame,
    catalog: Catalog,
    feature_names: tuple[str, ...],
    prior_variance: float,
) -> dict[str, FieldModel]:
    """One ``FieldModel`` per catalog field."""
    return {
        field: fit_field(field, values, statistics, feature_names, prior_variance)
        for field, values in catalog.values.items()
    }


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
            noise_variance=float(rows["noise_variance"].iloc[0]),
        )
    return models
