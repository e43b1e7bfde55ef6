r"""Off-policy evaluation: what another policy would have earned on the logged decisions.

Every policy-group decision is logged with the exact probability ``mu(a | x)`` its action
was drawn with (``decision_log.propensity``) and with what the guardrails allowed
(``eligible_sends``). A target policy ``pi``, restricted to the same allowed actions, is
scored on the n finalized decisions with the importance weights
``w_i = pi(a_i | x_i) / mu(a_i | x_i)``:

.. math::

    \hat V_{IPS} = \frac{1}{n} \sum_i w_i r_i, \qquad
    \hat V_{SNIPS} = \frac{\sum_i w_i r_i}{\sum_i w_i}, \qquad
    \hat V_{DR} = \frac{1}{n} \sum_i \Big[\sum_a \pi(a | x_i)\, \hat q(x_i, a)
                  + w_i \big(r_i - \hat q(x_i, a_i)\big)\Big]

IPS and DR are unbiased when the propensities are right (DR whatever ``q`` is); SNIPS
trades a small bias for less variance. ``q`` is the policy's own reward model
(``decisioning.posterior``), the fields added up as in ``decide``. Standard errors are
the sample standard deviation of the summands over sqrt(n) (SNIPS: the delta method),
intervals ``± 1.96 se``. The effective sample size ``(sum w)^2 / sum w^2`` says how many
logged decisions the estimate really rests on; below ``min_effective_sample_size`` the
policy is flagged as unsupported by the logs.

Policies learned from the rewards (the current model's, the best combination) are
cross-fitted: the decisions are split in two halves by decision id, and each half is
scored by a policy fitted on the other half only, as is the reward model ``q``. Scoring
a policy on the rewards it was fitted to would reward it for memorizing their noise.

A policy gives, per decision, a distribution over each field's values: the channel, the
send slot given each channel, each message field; or ``None`` for a field that follows
the logged choice. A fixed value the guardrails did not allow falls back to the first
allowed value, as business as usual does.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from decisioning.catalog import SEND_NOTHING, Catalog
from decisioning.config import Config, ConfigError, PolicySpec
from decisioning.guardrails import channel_costs, channel_eligibility, real_channels
from decisioning.policies import Scores, make_policy, policy_class
from decisioning.policies.base import one_hot_argmax, uniform
from decisioning.posterior import FieldModel, fit_models, statistics_frame

Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Index = npt.NDArray[np.intp]
NOT_APPLIED, UNKNOWN = -1, -2
"""Action codes besides value indexes: the field did not apply (nothing sent), or the
logged value is no longer in the catalog (no policy can choose it now)."""
Z_95 = 1.959963984540054
NULL = np.array(None, dtype=object)
ESTIMATORS = ("ips", "snips", "dr")
Choose = Callable[[str, Index, Mask], Array]
"""(field, rows, eligible (rows, V)) -> probabilities (rows, V) over eligible values."""


@dataclass(frozen=True)
class LoggedDecisions:
    """Finalized policy-group decisions as arrays (n decisions).

    ``actions[f]`` (n,) index into ``catalog.values[f]`` (or NOT_APPLIED, UNKNOWN);
    ``field_propensities[f]`` (n,) the field's logged probability (NaN where unknown: not
    applied, or a history that logs only the action's);
    ``propensity`` (n,) the action's; ``allowed`` (n, real channels, slots) the sends the
    guardrails allowed; ``features`` (n, d); ``reward`` (n,); ``decision_date`` (n,);
    ``fold`` (n,) the cross-fitting half (0 or 1, from a hash of the decision id).
    """

    actions: dict[str, Index]
    field_propensities: dict[str, Array]
    propensity: Array
    allowed: Mask
    features: npt.NDArray[np.float32]
    feature_names: tuple[str, ...]
    reward: Array
    decision_date: npt.NDArray[np.datetime64]
    fold: Index

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, catalog: Catalog) -> LoggedDecisions:
        """From ``decision_log`` rows joined to their reward and context (``x_*``)."""
        actions, propensities = {}, {}
        for field, values in catalog.values.items():
            logged = pa.array(frame[field], type=pa.string())
            found = pc.index_in(logged, value_set=pa.array(values, type=pa.string()))
            codes = np.where(
                logged.is_null().to_numpy(zero_copy_only=False),
                NOT_APPLIED,
                found.fill_null(UNKNOWN).to_numpy(),
            )
            actions[field] = codes.astype(np.intp)
            propensities[field] = frame[f"{field}_propensity"].to_numpy(float, na_value=np.nan)
        names = tuple(c for c in frame.columns if c.startswith("x_"))
        return cls(
            actions=actions,
            field_propensities=propensities,
            propensity=frame["propensity"].to_numpy(float, na_value=np.nan),
            allowed=allowed_sends(frame["eligible_sends"], catalog),
            features=frame[list(names)].fillna(0.0).to_numpy(np.float32),
            feature_names=names,
            reward=frame["reward"].to_numpy(float),
            decision_date=pd.to_datetime(frame["decision_date"]).to_numpy("datetime64[D]"),
            fold=frame["fold"].to_numpy(np.intp),
        )

    def __len__(self) -> int:
        return len(self.reward)

    def subset(self, rows: Index | slice) -> LoggedDecisions:
        """The decisions ``rows`` (a slice gives views, no copy)."""
        return LoggedDecisions(
            actions={f: a[rows] for f, a in self.actions.items()},
            field_propensities={f: p[rows] for f, p in self.field_propensities.items()},
            propensity=self.propensity[rows],
            allowed=self.allowed[rows],
            features=self.features[rows],
            feature_names=self.feature_names,
            reward=self.reward[rows],
            decision_date=self.decision_date[rows],
            fold=self.fold[rows],
        )


def fit_models_on(
    logged: LoggedDecisions,
    catalog: Catalog,
    config: Config,
    statistics: pd.DataFrame | None = None,
) -> dict[str, FieldModel]:
    """The configured policy's field models fitted on ``logged`` alone, as ``policy_model``
    fits them on every finalized reward (decayed by age at ``config.as_of``);
    ``statistics``: ``training_statistics`` of the same decisions, if already computed."""
    names = logged.feature_names
    used = names if policy_class(config.policy.algorithm).contextual else ("x_intercept",)
    if statistics is None:
        statistics = training_statistics(logged, catalog, config)
    return fit_models(statistics, catalog, used, config.policy.prior_variance, names)


def training_statistics(logged: LoggedDecisions, catalog: Catalog, config: Config) -> pd.DataFrame:
    """``policy_statistics`` of ``logged``, decayed by age at ``config.as_of``: what every
    policy fitted at that date starts from, contextual or not."""
    age = (np.datetime64(config.as_of, "D") - logged.decision_date).astype(float)
    half_life = config.policy.half_life_days
    weights = 0.5 ** (age / half_life) if half_life else np.ones(len(logged))
    actions = {
        field: np.where(code >= 0, np.asarray(values, dtype=object)[np.maximum(code, 0)], NULL)
        for (field, values), code in zip(
            catalog.values.items(), logged.actions.values(), strict=True
        )
    }
    return statistics_frame(logged.features, logged.feature_names, actions, logged.reward, weights)


def allowed_sends(eligible_sends: pd.Series, catalog: Catalog) -> Mask:
    """(n, real channels, slots) from ``channel@slot,...`` text; parsed once per distinct
    text. Null (decisions logged before the column existed): everything allowed."""
    channels = real_channels(catalog)
    slots = catalog.values["send_slot"]
    codes, texts = pd.factorize(eligible_sends, use_na_sentinel=True)
    patterns = np.zeros((len(texts) + 1, len(channels), len(slots)), dtype=bool)
    patterns[-1] = True  # code -1: unknown
    for k, text in enumerate(texts):
        for pair in str(text).split(","):
            channel, _, slot = pair.partition("@")
            if channel in channels and slot in slots:
                patterns[k, channels.index(channel), slots.index(slot)] = True
    return patterns[codes]


@dataclass(frozen=True)
class Target:
    """A policy's probabilities on the logged decisions: ``fields[f]`` is (n, V) over the
    catalog's values, for ``send_slot`` (n, real channels, slots) given each channel, or
    None when the field follows the logged choice."""

    name: str
    description: str
    fields: dict[str, Array | None]


def target_policy(
    name: str,
    description: str,
    logged: LoggedDecisions,
    catalog: Catalog,
    choose: Choose,
    decided: tuple[str, ...] | None = None,
) -> Target:
    """The policy ``choose`` gives, on each field in ``decided`` (default: all), within
    what the guardrails allowed each decision."""
    n = len(logged)
    fields: dict[str, Array | None] = {}
    for field, values in catalog.values.items():
        if decided is not None and field not in decided:
            fields[field] = None
        elif field == "channel":
            eligible = channel_eligibility(logged.allowed, values)
            fields[field] = choose(field, np.arange(n), eligible)
        elif field == "send_slot":
            fields[field] = _slot_probabilities(logged, catalog, choose, fields.get("channel"))
        else:
            fields[field] = choose(field, np.arange(n), np.ones((n, len(values)), dtype=bool))
    return Target(name, description, fields)


def _slot_probabilities(
    logged: LoggedDecisions, catalog: Catalog, choose: Choose, channel_p: Array | None
) -> Array:
    """(n, real channels, slots): the slot given each channel, computed only where it
    matters (the channel was logged or the policy may choose it) and once per row for
    channels that allow the same slots."""
    slots = np.zeros(logged.allowed.shape)
    logged_channel = _real_channel(logged, catalog)
    columns = [k for k, c in enumerate(catalog.values["channel"]) if c != SEND_NOTHING]
    done = np.zeros(logged.allowed.shape[:2], dtype=bool)
    for c, column in enumerate(columns):
        needed = logged_channel == c
        if channel_p is not None:
            needed |= channel_p[:, column] > 0
        needed &= logged.allowed[:, c].any(axis=1)
        for earlier in range(c):  # a row's slot choice depends on its allowed slots only
            same = needed & done[:, earlier]
            same &= (logged.allowed[:, c] == logged.allowed[:, earlier]).all(axis=1)
            slots[same, c] = slots[same, earlier]
            needed &= ~same
            done[same, c] = True
        rows = np.flatnonzero(needed)
        slots[rows, c] = choose("send_slot", rows, logged.allowed[rows, c])
        done[rows, c] = True
    return slots


def fixed_choice(action: Mapping[str, int]) -> Choose:
    """Always ``action[field]`` (a value index), else the first allowed value."""

    def choose(field: str, rows: Index, eligible: Mask) -> Array:
        preference = -np.arange(eligible.shape[1], dtype=float)
        preference[action[field]] = 1.0
        return one_hot_argmax(np.broadcast_to(preference, eligible.shape), eligible)

    return choose


def model_choice(
    logged: LoggedDecisions,
    models: dict[str, FieldModel],
    config: Config,
    greedy: bool,
    days_running: int = 0,
) -> Choose:
    """The configured policy on the current models (``greedy``: the best posterior mean
    less the channel's cost, i.e. exploiting only)."""
    policy = make_policy(config.policy, days_running)

    def choose(field: str, rows: Index, eligible: Mask) -> Array:
        model = models[field]
        cost = channel_costs(config.guardrails, field, model.value_ids)
        scores = Scores(model, _features(logged, model, rows), cost)
        if greedy:
            return one_hot_argmax(scores.mean, eligible)
        seed = int(hashlib.sha1(f"evaluation|{field}".encode()).hexdigest()[:15], 16)
        return policy.action_probabilities(scores, eligible, seed)

    return choose


def _features(
    logged: LoggedDecisions, model: FieldModel, rows: Index | None = None
) -> npt.NDArray[np.float32]:
    """The logged features a model uses, in its order, for ``rows`` (default all)."""
    x = logged.features if rows is None or len(rows) == len(logged) else logged.features[rows]
    if model.feature_names == logged.feature_names:
        return x
    return x[:, [logged.feature_names.index(name) for name in model.feature_names]]


def built_in_targets(
    logged: LoggedDecisions,
    catalog: Catalog,
    models: dict[str, FieldModel],
    config: Config,
    days_running: int = 0,
) -> list[Target]:
    """The configured policy on ``models`` (as configured, and exploiting only), uniform
    random, the best single combination (each field's best measured value in ``models``)
    and the user's policies."""
    best = {
        f: int(np.nanargmax(np.nan_to_num(m.mean_reward, nan=-np.inf))) for f, m in models.items()
    }
    label = ", ".join(f"{f}={catalog.values[f][k]}" for f, k in best.items())
    targets = [
        target_policy(
            "current",
            f"{config.policy.algorithm} on today's model",
            logged,
            catalog,
            model_choice(logged, models, config, False, days_running),
        ),
        target_policy(
            "current_greedy",
            "today's model, best expected reward, no exploration",
            logged,
            catalog,
            model_choice(logged, models, config, True, days_running),
        ),
        target_policy(
            "uniform_random",
            "every allowed value equally likely",
            logged,
            catalog,
            lambda field, rows, eligible: uniform(eligible),
        ),
        target_policy(
            "best_combination",
            f"the best measured value of each field: {label}",
            logged,
            catalog,
            fixed_choice(best),
        ),
    ]
    targets += [_spec_target(spec, logged, catalog) for spec in config.evaluation.policies]
    return targets


def _spec_target(spec: PolicySpec, logged: LoggedDecisions, catalog: Catalog) -> Target:
    """A user's fixed policy (``evaluation.policies``); other fields follow the log."""
    action = _spec_action(spec, catalog)
    description = spec.description or ", ".join(f"{f}={v}" for f, v in spec.actions.items())
    return target_policy(
        spec.name, description, logged, catalog, fixed_choice(action), tuple(action)
    )


def _spec_action(spec: PolicySpec, catalog: Catalog) -> dict[str, int]:
    action = {}
    for field, value in spec.actions.items():
        if value not in catalog.values[field]:
            raise ConfigError(
                f"decisioning.evaluation.policies[{spec.name}].actions.{field}: {value!r} is not "
                f"an active {field}. Choose from: {', '.join(catalog.values[field])}."
            )
        action[field] = catalog.values[field].index(value)
    return action


def target_probability(target: Target, logged: LoggedDecisions, catalog: Catalog) -> Array:
    """pi(a_i | x_i) of each logged action; fields that follow the log contribute their
    logged probability."""
    n, rows = len(logged), np.arange(len(logged))
    p = np.ones(n)
    channel = _real_channel(logged, catalog)
    for field in catalog.values:
        code = logged.actions[field]
        applied = code != NOT_APPLIED
        probabilities = target.fields[field]
        if probabilities is None:
            p *= np.where(applied, logged.field_propensities[field], 1.0)
            continue
        safe = np.maximum(code, 0)
        if field == "send_slot":
            chosen = probabilities[rows, np.maximum(channel, 0), safe]
        else:
            chosen = probabilities[rows, safe]
        p *= np.where(applied, np.where(code == UNKNOWN, 0.0, chosen), 1.0)
    return p


def _real_channel(logged: LoggedDecisions, catalog: Catalog) -> Index:
    """The logged channel's index among the real channels (-1: none or unknown)."""
    values = catalog.values["channel"]
    real = np.array([-1 if v == SEND_NOTHING else k for k, v in enumerate(values)])
    real[real >= 0] = np.arange((real >= 0).sum())
    code = logged.actions["channel"]
    return np.where(code >= 0, real[np.maximum(code, 0)], -1)


def traffic_shares(logged: LoggedDecisions, models: dict[str, FieldModel]) -> dict[str, Array]:
    """Each field's share of the decisions per value (V,), over those where it applied."""
    shares = {}
    for field, model in models.items():
        code = logged.actions[field]
        counts = np.bincount(code[code >= 0], minlength=len(model.value_ids)).astype(float)
        shares[field] = counts / max(counts.sum(), 1.0)
    return shares


@dataclass(frozen=True)
class RewardModel:
    """``q(x, a) = M_channel(a_channel) + sum_f [M_f(a_f) - mbar_f]`` over the other fields
    that apply, with ``M_f`` (n, V) the field model's posterior means and ``mbar_f`` (n,)
    their average under the logged traffic shares: each field's effect added to the
    channel's level, as ``decide`` adds them up. Where no channel was logged (a history
    of other actions, e.g. products shown on a page), the level is ``baseline``: mbar of
    the first field the log decided."""

    means: dict[str, Array]
    centres: dict[str, Array]
    baseline: Array

    @classmethod
    def fit(
        cls,
        logged: LoggedDecisions,
        models: dict[str, FieldModel],
        shares: dict[str, Array] | None = None,
    ) -> RewardModel:
        """``shares``: each field's logged traffic shares (V,); by default ``logged``'s own,
        pass those of all the decisions when ``logged`` is one block of them."""
        shares = shares or traffic_shares(logged, models)
        means, centres = {}, {}
        for field, model in models.items():
            means[field] = Scores(model, _features(logged, model)).mean
            centres[field] = means[field] @ shares[field]
        lead = next((f for f, share in shares.items() if share.any()), "channel")
        return cls(means, centres, centres[lead])

    def effect(self, field: str, code: Index) -> Array:
        """M_f(a_f) - mbar_f per decision; 0 where the field did not apply or is unknown."""
        rows = np.arange(len(code))
        value = self.means[field][rows, np.maximum(code, 0)] - self.centres[field]
        return np.where(code >= 0, value, 0.0)

    def logged_value(self, logged: LoggedDecisions) -> Array:
        """q(x_i, a_i)."""
        channel = logged.actions["channel"]
        q = self.means["channel"][np.arange(len(logged)), np.maximum(channel, 0)]
        q = np.where(channel >= 0, q, self.baseline)
        for field in self.means:
            if field != "channel":
                q += self.effect(field, logged.actions[field])
        return q

    def policy_value(self, target: Target, logged: LoggedDecisions, catalog: Catalog) -> Array:
        """sum_a pi(a | x_i) q(x_i, a): each field's expected effect under pi (its logged
        effect where it follows the log), summed over the channels pi may choose."""
        n = len(logged)
        messages = np.zeros(n)
        for field in self.means:
            if field in ("channel", "send_slot"):
                continue
            p = target.fields[field]
            messages += (
                self.effect(field, logged.actions[field])
                if p is None
                else (p * (self.means[field] - self.centres[field][:, None])).sum(axis=1)
            )
        slot_p = target.fields["send_slot"]
        slot_effect = self.means["send_slot"] - self.centres["send_slot"][:, None]
        channel_p = target.fields["channel"]
        if channel_p is None:
            channel_p = np.zeros(self.means["channel"].shape)
            code = logged.actions["channel"]
            channel_p[np.flatnonzero(code >= 0), code[code >= 0]] = 1.0
        unsent = channel_p.sum(axis=1) == 0  # no channel logged, and pi follows the log
        value = np.where(
            unsent,
            self.baseline + messages + self.effect("send_slot", logged.actions["send_slot"]),
            0.0,
        )
        real = 0
        for k, channel in enumerate(catalog.values["channel"]):
            level = self.means["channel"][:, k]
            if channel != SEND_NOTHING:
                slot = (
                    self.effect("send_slot", logged.actions["send_slot"])
                    if slot_p is None
                    else (slot_p[:, real] * slot_effect).sum(axis=1)
                )
                level = level + slot + messages
                real += 1
            value += channel_p[:, k] * level
        return value


@dataclass(frozen=True)
class Estimate:
    """One estimator's value of one policy, with its standard error and support."""

    policy: str
    description: str
    estimator: str
    estimate: float
    standard_error: float
    decisions: int
    matching_decisions: int
    effective_sample_size: float
    is_supported: bool
    warning: str | None

    @property
    def ci_low(self) -> float:
        return self.estimate - Z_95 * self.standard_error

    @property
    def ci_high(self) -> float:
        return self.estimate + Z_95 * self.standard_error


def estimate(
    target: Target,
    logged: LoggedDecisions,
    catalog: Catalog,
    reward_model: RewardModel,
    min_effective_sample_size: int,
) -> list[Estimate]:
    """IPS, SNIPS and DR estimates of ``target`` (module docstring)."""
    w, dr_terms = estimator_terms(target, logged, catalog, reward_model)
    return summarize(
        target.name, target.description, w, logged.reward, dr_terms, min_effective_sample_size
    )


def estimator_terms(
    target: Target, logged: LoggedDecisions, catalog: Catalog, reward_model: RewardModel
) -> tuple[Array, Array]:
    """Per decision: the importance weight w_i and the DR summand."""
    w = target_probability(target, logged, catalog) / logged.propensity
    q_logged = reward_model.logged_value(logged)
    policy_value = reward_model.policy_value(target, logged, catalog)
    return w, policy_value + w * (logged.reward - q_logged)


def summarize(
    policy: str, description: str, w: Array, r: Array, dr_terms: Array, minimum: int
) -> list[Estimate]:
    """The three estimates from the per-decision terms, with their support."""
    n, total = len(w), w.sum()
    ess = float(total**2 / (w**2).sum()) if total > 0 else 0.0
    matching = int((w > 0).sum())
    supported, warning = _support(ess, w, minimum)
    snips = float((w * r).sum() / total) if total > 0 else np.nan
    snips_se = float(np.sqrt((w**2 * (r - snips) ** 2).sum()) / total) if total > 0 else np.nan
    values = {
        "ips": (float(np.mean(w * r)), _standard_error(w * r)),
        "snips": (snips, snips_se),
        "dr": (float(np.mean(dr_terms)), _standard_error(dr_terms)),
    }
    return [
        Estimate(policy, description, name, v, se, n, matching, ess, supported, warning)
        for name, (v, se) in values.items()
    ]


def on_policy(logged: LoggedDecisions, description: str) -> Estimate:
    """The logged policy's measured mean reward (every weight is 1)."""
    n = len(logged)
    mean = float(np.mean(logged.reward)) if n else np.nan
    se = _standard_error(logged.reward)
    return Estimate("logged", description, "on_policy", mean, se, n, n, float(n), True, None)


def _standard_error(values: Array) -> float:
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else np.nan


def _support(ess: float, w: Array, minimum: int) -> tuple[bool, str | None]:
    """Whether the logs support the policy, and why an estimate should not be trusted."""
    if ess < minimum:
        return False, (
            f"effective sample size {ess:.0f} is below {minimum}: the logs rarely chose what "
            "this policy would, so the estimate is not reliable; explore more or wait for "
            "more data."
        )
    largest = float(w.max() / w.sum())
    if largest > 0.05:
        return True, f"one decision carries {largest:.0%} of the weight: the estimate is fragile."
    return True, None


def evaluate(
    logged: LoggedDecisions,
    catalog: Catalog,
    config: Config,
    days_running: int = 0,
) -> pd.DataFrame:
    """Every policy's estimates on the logged decisions, one row per policy and estimator
    (the model ``policy_evaluation``); learned policies and the reward model cross-fitted
    on the two halves."""
    rows = [on_policy(logged, f"what the policy group earned ({config.policy.algorithm})")]
    halves = [np.flatnonzero(logged.fold == k) for k in (0, 1)]
    if min(len(h) for h in halves) > 1:
        terms: dict[str, list[tuple[Array, Array, Array]]] = {}
        descriptions: dict[str, list[str]] = {}
        for k, rows_k in enumerate(halves):
            part = logged.subset(rows_k)
            models = fit_models_on(logged.subset(halves[1 - k]), catalog, config)
            reward_model = RewardModel.fit(part, models)
            for target in built_in_targets(part, catalog, models, config, days_running):
                w, dr = estimator_terms(target, part, catalog, reward_model)
                terms.setdefault(target.name, []).append((w, part.reward, dr))
                descriptions.setdefault(target.name, []).append(target.description)
        minimum = config.evaluation.min_effective_sample_size
        for name, parts in terms.items():
            w, r, dr = (np.concatenate(column) for column in zip(*parts, strict=True))
            description = " | ".join(dict.fromkeys(descriptions[name]))
            rows += summarize(name, description, w, r, dr, minimum)
    return estimates_frame(rows, config, "decision_log", logged.decision_date)


HISTORY_BLOCK_ROWS = 500_000
"""Evaluated decisions scored at a time: no (rows, values) array of the policies or the
reward model holds more rows, whatever the history's size."""
HISTORY_POLICIES = {
    "contextual_thompson_sampling": "thompson_sampling",
    "campaign_thompson_sampling": "campaign_thompson_sampling",
}
"""The candidate policies evaluated on an imported history, and their algorithms."""


def evaluate_history(logged: LoggedDecisions, catalog: Catalog, config: Config) -> pd.DataFrame:
    """Candidate policies on the imported history, before launch, with a time split.

    The decisions before the split date (``history.train_share`` of them, cut at a day
    boundary) train Thompson sampling, contextual (the configured settings) and
    campaign-level, and the reward model ``q``, as ``policy_model`` would have at that
    date; both policies and the user's are then scored on the later decisions that have a
    propensity. Fields the history did not log follow the logged choice.
    """
    dates = logged.decision_date
    if not len(dates):
        return estimates_frame([], config, "historical_decisions", dates)
    split = _split_date(dates, config.history.train_share)
    later = dates >= split
    train = logged.subset(np.flatnonzero(~later))
    evaluated = logged.subset(np.flatnonzero(later & np.isfinite(logged.propensity)))
    without_propensity = int((later & ~np.isfinite(logged.propensity)).sum())
    rows = [on_policy(evaluated, "what the system you use today earned on these decisions")]
    decided = _logged_fields(logged)
    minimum = config.evaluation.min_effective_sample_size
    if len(train) and len(evaluated):
        as_of = pd.Timestamp(split).date()
        statistics = training_statistics(train, catalog, replace(config, as_of=as_of))
        fitted = {}
        for name, algorithm in HISTORY_POLICIES.items():
            policy = replace(config.policy, algorithm=algorithm)
            trained = replace(config, policy=policy, as_of=as_of)
            fitted[name] = trained, fit_models_on(train, catalog, trained, statistics)
        contextual = fitted["contextual_thompson_sampling"][1]
        shares = traffic_shares(evaluated, contextual)
        blocks = [
            evaluated.subset(slice(start, start + HISTORY_BLOCK_ROWS))
            for start in range(0, len(evaluated), HISTORY_BLOCK_ROWS)
        ]
        reward_models = [RewardModel.fit(block, contextual, shares) for block in blocks]
        for name, (trained, models) in fitted.items():
            description = f"{name.replace('_', ' ')} trained on the decisions before {as_of}"
            target_of = _candidate(name, description, models, trained, catalog, decided)
            rows += _estimates(target_of, blocks, catalog, reward_models, minimum)
        for spec in config.evaluation.policies:
            spec_target = functools.partial(_spec_target, spec, catalog=catalog)
            unlogged = sorted(set(spec.actions) - set(decided))
            if unlogged:
                rows += _not_evaluable(
                    spec_target(blocks[0]),
                    len(evaluated),
                    f"sets {', '.join(unlogged)}, which the history "
                    "does not log: nothing shows what that choice earned.",
                )
            else:
                rows += _estimates(spec_target, blocks, catalog, reward_models, minimum)
    return estimates_frame(
        rows, config, "historical_decisions", evaluated.decision_date, split, without_propensity
    )


def _split_date(dates: npt.NDArray[np.datetime64], train_share: float) -> np.datetime64:
    """The first day whose decisions are evaluated: ``train_share`` of them come before."""
    ordered = np.sort(dates)
    split: np.datetime64 = ordered[min(int(np.ceil(train_share * len(dates))), len(dates) - 1)]
    return split if split > ordered[0] else ordered[0] + np.timedelta64(1, "D")


def _candidate(
    name: str,
    description: str,
    models: dict[str, FieldModel],
    config: Config,
    catalog: Catalog,
    decided: tuple[str, ...],
) -> Callable[[LoggedDecisions], Target]:
    """A candidate policy's ``Target`` on any block of decisions."""

    def target_of(logged: LoggedDecisions) -> Target:
        choose = model_choice(logged, models, config, greedy=False)
        return target_policy(name, description, logged, catalog, choose, decided)

    return target_of


def _estimates(
    target_of: Callable[[LoggedDecisions], Target],
    blocks: list[LoggedDecisions],
    catalog: Catalog,
    reward_models: list[RewardModel],
    minimum: int,
) -> list[Estimate]:
    """``estimate`` over the blocks together, one block's (rows, values) arrays at a time;
    not evaluable where a field follows a log with no propensity."""
    terms = []
    for block, reward_model in zip(blocks, reward_models, strict=True):
        target = target_of(block)
        terms.append(estimator_terms(target, block, catalog, reward_model))
    w, dr_terms = (np.concatenate(column) for column in zip(*terms, strict=True))
    if not np.isfinite(w).all():
        unknown = [f for f in _logged_fields(blocks[0]) if target.fields[f] is None]
        return _not_evaluable(
            target,
            len(w),
            f"leaves {', '.join(unknown)} to the logged choice, and the "
            "log gives only the whole action's propensity: set every field it logs.",
        )
    reward = np.concatenate([block.reward for block in blocks])
    return summarize(target.name, target.description, w, reward, dr_terms, minimum)


def _logged_fields(logged: LoggedDecisions) -> tuple[str, ...]:
    """The fields the log decided somewhere."""
    return tuple(f for f, code in logged.actions.items() if (code != NOT_APPLIED).any())


def _not_evaluable(target: Target, n: int, warning: str) -> list[Estimate]:
    return [
        Estimate(target.name, target.description, e, np.nan, np.nan, n, 0, 0.0, False, warning)
        for e in ESTIMATORS
    ]


def estimates_frame(
    rows: list[Estimate],
    config: Config,
    logs: str,
    evaluated_dates: npt.NDArray[np.datetime64],
    trained_to: np.datetime64 | None = None,
    without_propensity: int = 0,
) -> pd.DataFrame:
    """The estimates as ``policy_evaluation`` rows, typed even when there are none: which
    logs, which period."""
    n = len(rows)
    dates = evaluated_dates[~np.isnat(evaluated_dates)]
    days = {
        "evaluated_from": dates.min() if len(dates) else None,
        "evaluated_to": dates.max() if len(dates) else None,
        "trained_to": trained_to,
    }

    def column(values: list[object], dtype: str) -> pd.Series:
        return pd.Series(values, dtype=dtype)

    return pd.DataFrame(
        {
            "campaign_id": column([config.campaign_id] * n, "string"),
            "as_of": column([np.datetime64(config.as_of, "D")] * n, "datetime64[s]"),
            "logs": column([logs] * n, "string"),
            "policy": column([e.policy for e in rows], "string"),
            "description": column([e.description for e in rows], "string"),
            "estimator": column([e.estimator for e in rows], "string"),
            "estimate": column([e.estimate for e in rows], "float64"),
            "standard_error": column([e.standard_error for e in rows], "float64"),
            "ci_low": column([e.ci_low for e in rows], "float64"),
            "ci_high": column([e.ci_high for e in rows], "float64"),
            "decisions": column([e.decisions for e in rows], "int64"),
            "matching_decisions": column([e.matching_decisions for e in rows], "int64"),
            "effective_sample_size": column([e.effective_sample_size for e in rows], "float64"),
            "is_supported": column([e.is_supported for e in rows], "bool"),
            "warning": column([e.warning for e in rows], "string"),
            **{
                name: column([np.datetime64("NaT") if d is None else d] * n, "datetime64[s]")
                for name, d in days.items()
            },
            "decisions_without_propensity": column([without_propensity] * n, "int64"),
        }
    )
