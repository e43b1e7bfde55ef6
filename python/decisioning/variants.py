r"""How each field's values are doing: traffic, measured reward, and the model's belief.

The posterior of value v's mean reward over today's policy audience is the field model's
score at the audience's mean features ``xbar`` (the score is linear in x):

.. math::  \mu_v = \bar x^\top m_v, \qquad \sigma_v^2 = \bar x^\top S_v \bar x

with a 95% interval ``mu_v ± 1.96 sigma_v``. The probability that v is best is the share
of joint draws in which its score, less its cost (a channel's), is the highest; values
are drawn independently, as Thompson sampling draws them.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from decisioning.config import Config
from decisioning.evaluation import Z_95
from decisioning.guardrails import channel_costs
from decisioning.posterior import FieldModel

BEST_DRAWS = 4_000


def variant_performance(
    outcomes: pd.DataFrame,
    profile: pd.DataFrame,
    models: dict[str, FieldModel],
    config: Config,
    model_version: str,
) -> pd.DataFrame:
    """One row per active value of every field (the model ``variant_performance``).

    ``outcomes``: ``int_variant_outcomes`` (field, value_id, sends, sends_today, rewards,
    mean_reward); ``profile``: ``int_audience_profile`` (customers and mean ``x_*``).
    """
    has_audience = not profile.empty and int(profile["customers"].iloc[0]) > 0
    frames = []
    for field, model in models.items():
        frame = pd.DataFrame({"field": field, "value_id": list(model.value_ids)})
        if has_audience:
            xbar = profile[list(model.feature_names)].iloc[0].to_numpy(float)
            mean = model.mean @ xbar
            sd = np.sqrt(np.maximum(np.einsum("i,vij,j->v", xbar, model.covariance, xbar), 0.0))
            cost = channel_costs(config.guardrails, field, model.value_ids)
            frame["posterior_mean"] = mean
            frame["posterior_ci_low"] = mean - Z_95 * sd
            frame["posterior_ci_high"] = mean + Z_95 * sd
            net = mean if cost is None else mean - cost
            frame["probability_best"] = probability_best(net, sd, f"{model_version}|{field}")
        else:
            for column in (
                "posterior_mean",
                "posterior_ci_low",
                "posterior_ci_high",
                "probability_best",
            ):
                frame[column] = np.nan
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True).merge(
        outcomes, on=["field", "value_id"], how="left"
    )
    for column in ("sends", "sends_today", "rewards"):
        table[column] = table[column].fillna(0).astype("int64")
    today = table.groupby("field")["sends_today"].transform("sum")
    table["traffic_share_today"] = (table["sends_today"] / today.where(today > 0)).astype(float)
    table.insert(0, "campaign_id", config.campaign_id)
    table.insert(1, "as_of", pd.Timestamp(config.as_of).date())
    table["model_version"] = model_version
    columns = [
        "campaign_id", "as_of", "field", "value_id", "sends", "sends_today", "rewards",
        "mean_reward", "posterior_mean", "posterior_ci_low", "posterior_ci_high",
        "probability_best", "traffic_share_today", "model_version",
    ]  # fmt: skip
    return table[columns]


def probability_best(mean: np.ndarray, sd: np.ndarray, key: str) -> np.ndarray:
    """P(v = argmax_u s_u) for independent ``s_u ~ N(mean_u, sd_u^2)``, by ``BEST_DRAWS``
    draws seeded by ``key`` (so a rebuild gives the same numbers)."""
    seed = int(hashlib.sha1(key.encode()).hexdigest()[:15], 16)
    z = np.random.default_rng(seed).standard_normal((BEST_DRAWS, len(mean)))
    winners = np.argmax(mean + sd * z, axis=1)
    return np.bincount(winners, minlength=len(mean)) / BEST_DRAWS
