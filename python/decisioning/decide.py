"""Today's decisions: one action per audience customer, with its propensity.

The action is combinatorial (channel x send slot x one variant per message field). It is
decomposed by field: each field's values have their own reward model and are drawn
independently, so the work is linear in the number of values, not their product. The
decomposition assumes the fields' effects on reward add up (no interactions between, say,
subject line and offer); each field's model learns the value's effect averaged over the
policy's choices for the other fields. The action's propensity is the product of the
fields' probabilities, the exact probability it was drawn with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from decisioning.catalog import SEND_NOTHING, Catalog
from decisioning.config import Config, ConfigError
from decisioning.keyed_random import decision_keys, draw_index, keyed_uniforms
from decisioning.policies import Scores, make_policy
from decisioning.posterior import FieldModel


@dataclass(frozen=True)
class Audience:
    """Today's decidable customers: ids, holdout flags, opt-ins and features (n, d)."""

    decision_ids: Any  # text: numpy, pandas or Arrow strings
    customer_ids: Any
    is_holdout: npt.NDArray[np.bool_]
    opt_ins: dict[str, npt.NDArray[np.bool_]]
    features: npt.NDArray[np.floating[Any]]
    feature_names: tuple[str, ...]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Audience:
        """From the ``audience`` model (only rows with an eligible channel)."""
        names = tuple(c for c in frame.columns if c.startswith("x_"))
        return cls(
            decision_ids=_text(frame["decision_id"]),
            customer_ids=_text(frame["customer_id"]),
            is_holdout=frame["is_holdout"].to_numpy(dtype=bool),
            opt_ins={
                c: frame[c].to_numpy(dtype=bool) for c in frame.columns if c.endswith("_opt_in")
            },
            features=frame[list(names)].to_numpy(dtype=np.float32),
            feature_names=names,
        )


def decide(
    audience: Audience,
    models: dict[str, FieldModel],
    catalog: Catalog,
    config: Config,
    model_version: str,
    days_running: int = 0,
) -> pd.DataFrame:
    """One row per audience customer: the chosen value per field, propensity, expected reward.

    Policy group: value ``v`` of field ``f`` is drawn with probability ``p_f(v | x)`` by
    inverse CDF of a uniform keyed by the decision id; propensity ``prod_f p_f(a_f | x)``
    over the fields that apply (only the channel when it is ``none``, send nothing).
    Holdout group: the configured default action (channel falls back to the first eligible
    channel in catalog order), propensity 1. Expected reward, additive across fields:

    .. math:: \\hat r = \\bar b + \\sum_f (m_f(a_f) - b_f), \\quad b_f = \\sum_v p_f(v) m_f(v)

    with posterior means ``m_f`` and ``bar b`` the mean of the ``b_f`` (for send nothing,
    the channel model's mean of ``none``). ``days_running``: days since the campaign's
    first decision (A/B-then-commit's clock).
    """
    _check_floor(config, catalog)
    first = next(iter(models.values()), None)
    if first is not None and not set(first.feature_names) <= set(audience.feature_names):
        raise ValueError(
            "policy_model was trained on different features than the audience has; "
            "rebuild it (dbt build --select policy_statistics+)."
        )
    n = len(audience.decision_ids)
    rows = np.arange(n)
    policy = make_policy(config.policy, days_running)
    keys = decision_keys(audience.decision_ids)
    holdout = audience.is_holdout
    default = catalog.default_action(config.holdout.default_action) if holdout.any() else {}
    chosen: dict[str, pd.api.extensions.ExtensionArray] = {}
    propensity = np.ones(n)
    predicted, baselines, fields_applied = np.zeros(n), np.zeros(n), np.zeros(n)
    silent = np.zeros(n, dtype=bool)
    for stream, field in enumerate(catalog.fields):
        model = models[field]
        scores = Scores(model, _model_features(audience, model.feature_names))
        eligible = eligible_values(field, catalog, audience)
        seed = int(hashlib.sha1(f"{model_version}|{field}".encode()).hexdigest()[:15], 16)
        p = policy.action_probabilities(scores, eligible, seed)
        index = draw_index(p, keyed_uniforms(keys, stream))
        if field in default:
            index = np.where(holdout, _default_index(field, default, eligible), index)
        if field == "channel" and SEND_NOTHING in model.value_ids:
            silent = index == model.value_ids.index(SEND_NOTHING)
        applies = np.ones(n, dtype=bool) if field == "channel" else ~silent
        propensity *= np.where(holdout | ~applies, 1.0, p[rows, index])
        means = scores.mean
        predicted += np.where(applies, means[rows, index], 0.0)
        baselines += np.where(applies, (p * means).sum(axis=1), 0.0)
        fields_applied += applies
        chosen[field] = _labels(model.value_ids, index, applies)
    expected = baselines / np.maximum(fields_applied, 1) + predicted - baselines
    frame = pd.DataFrame(
        {
            "decision_id": _text(audience.decision_ids),
            "campaign_id": _labels((config.campaign_id,), np.zeros(n, dtype=np.intp)),
            "customer_id": _text(audience.customer_ids),
            "decision_date": pd.Timestamp(config.as_of),
            "is_holdout": holdout,
            **chosen,
            "propensity": propensity,
            "expected_reward": expected,
            "algorithm": _labels((policy.name, "holdout_default"), holdout.astype(np.intp)),
            "model_version": _labels((model_version,), np.zeros(n, dtype=np.intp)),
        }
    )
    frame["decision_date"] = frame["decision_date"].dt.date
    return frame


def _labels(
    labels: tuple[str, ...],
    index: npt.NDArray[np.intp],
    applies: npt.NDArray[np.bool_] | None = None,
) -> pd.api.extensions.ExtensionArray:
    """``labels[index]`` as an Arrow string column (null where not ``applies``), gathered
    in C rather than built string by string."""
    mask = None if applies is None else ~applies
    taken = pa.array(labels, type=pa.string()).take(pa.array(index, mask=mask))
    return pd.arrays.ArrowStringArray(taken)


def _text(values: Any) -> pd.api.extensions.ExtensionArray:
    """Text as an Arrow string column; zero-copy when it already is one."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.arrays.ArrowStringArray):
        return values
    return pd.arrays.ArrowStringArray(pa.array(np.asarray(values, dtype=object), pa.string()))


def _model_features(audience: Audience, names: tuple[str, ...]) -> npt.NDArray[np.floating[Any]]:
    """The audience's feature columns a model uses, in its order (all of them, usually)."""
    if names == audience.feature_names:
        return audience.features
    return audience.features[:, [audience.feature_names.index(name) for name in names]]


def empty_decisions(catalog_fields: tuple[str, ...]) -> pd.DataFrame:
    """A decisions frame with no rows and typed columns (empty audience), so the warehouse
    gets the same column types as on any other day."""
    types = {
        "decision_id": "string",
        "campaign_id": "string",
        "customer_id": "string",
        "decision_date": "date32[pyarrow]",
        "is_holdout": "bool",
        **dict.fromkeys(catalog_fields, "string"),
        "propensity": "float64",
        "expected_reward": "float64",
        "algorithm": "string",
        "model_version": "string",
    }
    return pd.DataFrame({column: pd.Series(dtype=t) for column, t in types.items()})


def _check_floor(config: Config, catalog: Catalog) -> None:
    floor = config.policy.propensity_floor
    for field, values in catalog.values.items():
        if floor * len(values) > 1:
            raise ConfigError(
                f"decisioning.policy.propensity_floor: {floor} is above 1/{len(values)}, the "
                f"most a floor can be with {len(values)} {field} values. Lower it."
            )


def eligible_values(field: str, catalog: Catalog, audience: Audience) -> npt.NDArray[np.bool_]:
    """Which values each customer may get, shape (n, V): opt-ins for channels (sending
    nothing is always allowed), all values otherwise."""
    n, values = len(audience.decision_ids), catalog.values[field]
    if field != "channel":
        return np.ones((n, len(values)), dtype=bool)
    eligible = np.stack(
        [
            np.ones(n, dtype=bool)
            if c == SEND_NOTHING
            else audience.opt_ins[catalog.channel_opt_in[c]]
            for c in values
        ],
        axis=1,
    )
    stranded = int((~eligible.any(axis=1)).sum())
    if stranded:
        raise ValueError(
            f"{stranded} audience rows have no eligible channel; the audience model should "
            "have sent them to decision_skips (has_eligible_channel = false)."
        )
    return eligible


def _default_index(
    field: str, default: dict[str, int], eligible: npt.NDArray[np.bool_]
) -> npt.NDArray[np.intp]:
    """The default value's index, or the first eligible one where it is not eligible."""
    preferred = np.full(len(eligible), default[field], dtype=np.intp)
    ok = eligible[np.arange(len(eligible)), preferred]
    index: npt.NDArray[np.intp] = np.where(ok, preferred, np.argmax(eligible, axis=1))
    return index
