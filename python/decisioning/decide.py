"""Today's decisions: one action per audience customer, with its propensity.

The action is combinatorial (channel x send slot x one variant per message field). It is
decomposed by field: each field's values have their own reward model and are drawn
independently, so the work is linear in the number of values, not their product. The
decomposition assumes the fields' effects on reward add up (no interactions between, say,
subject line and offer); each field's model learns the value's effect averaged over the
policy's choices for the other fields. The logged propensity is the exact probability
the action was drawn with, under every guardrail (``decisioning.guardrails``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from decisioning.catalog import SEND_NOTHING, Catalog
from decisioning.config import Config, ConfigError, GuardrailsConfig
from decisioning.guardrails import (
    BudgetCuts,
    Distribution,
    Exploration,
    FieldDraw,
    SendOptions,
    SendTimes,
    Usage,
    budget_limits,
    channel_costs,
    channel_eligibility,
    check_guardrails,
    draw_with_budgets,
    real_channels,
    send_options,
)
from decisioning.keyed_random import decision_keys, keyed_uniforms
from decisioning.policies import Policy, Scores, make_policy
from decisioning.policies.base import unique_rows
from decisioning.posterior import FieldModel

GROUPS = ("policy", "holdout", "business_as_usual")
"""Decision groups, by salted hash of the customer id (model ``audience``): the policy
decides; the holdout is sent nothing; business as usual gets the default action."""
POLICY, HOLDOUT, USUAL = range(3)
EXPLORE_STREAM = 1_000
"""Keyed-uniform streams: field k draws on stream k, the explorer ranking on this one and
the budget arrival order of field k on ``ARRIVAL_STREAM + k``."""
ARRIVAL_STREAM = 1_001


@dataclass(frozen=True)
class Audience:
    """Today's audience: ids, features (n, d) and boolean customer ``flags`` (opt-ins and
    the columns channels require), with the decision ``groups`` (codes into ``GROUPS``,
    default all policy), time zones, and the suppression reason of suppressed customers
    (null otherwise)."""

    decision_ids: Any  # text: numpy, pandas or Arrow strings
    customer_ids: Any
    flags: dict[str, npt.NDArray[np.bool_]]
    features: npt.NDArray[np.floating[Any]]
    feature_names: tuple[str, ...]
    groups: npt.NDArray[np.int8] | None = None
    timezones: Any = None
    suppressed: Any = None

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, required: tuple[str, ...] = ()) -> Audience:
        """From the ``audience`` model; ``required``: the channels' ``requires`` columns."""
        names = tuple(c for c in frame.columns if c.startswith("x_"))
        flags = [c for c in frame.columns if c.endswith("_opt_in")] + list(required)
        groups = pd.Index(GROUPS).get_indexer(pd.Index(frame["decision_group"].astype(str)))
        return cls(
            decision_ids=_text(frame["decision_id"]),
            customer_ids=_text(frame["customer_id"]),
            flags={c: frame[c].fillna(False).to_numpy(dtype=bool) for c in flags},
            features=frame[list(names)].to_numpy(dtype=np.float32),
            feature_names=names,
            groups=groups.astype(np.int8),
            timezones=_text(frame["timezone"]),
            suppressed=frame["suppression_reason"].to_numpy(dtype=object),
        )

    def __len__(self) -> int:
        return len(self.decision_ids)

    def group_codes(self) -> npt.NDArray[np.int8]:
        return self.groups if self.groups is not None else np.zeros(len(self), dtype=np.int8)


@dataclass(frozen=True)
class Limits:
    """What guardrails need besides the audience: the slots' send times per time zone,
    the frequency caps' (row, channel, slot) blocks, what was logged today already, and,
    when the audience is decided in batches, what the whole day fixes: ``exploration``,
    ``budgets`` and the rows budgets left with nothing (``budget_skipped``); else they
    are computed from the audience at hand."""

    send_times: SendTimes | None = None
    blocks: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]] | None = None
    usage: Usage = Usage()
    exploration: Exploration | None = None
    budgets: DayBudgets | None = None
    budget_skipped: npt.NDArray[np.bool_] | None = None


@dataclass(frozen=True)
class DayBudgets:
    """The day's budget state for batches decided apart: the decisions share budgets are
    taken of (this build's and those logged), and per field where each budgeted value ran
    out: value index -> the arrival uniform after which it is spent (``BudgetCuts``)."""

    decisions: int
    cuts: Mapping[str, Mapping[int, float]]


def decide(
    audience: Audience,
    models: dict[str, FieldModel],
    catalog: Catalog,
    config: Config,
    model_version: str,
    days_running: int = 0,
    limits: Limits | None = None,
) -> pd.DataFrame:
    """One row per audience customer: the chosen value per field and its probability, the
    joint propensity, the expected reward, or why the customer was skipped.

    Guardrails first (``decisioning.guardrails``): each customer's channel x slot options;
    customers without any are skipped. Policy group: field f's value is drawn from
    ``p_f(v | x)`` by inverse CDF of a uniform keyed by the decision id (channel, then the
    slot among the drawn channel's allowed slots, then the message fields; only the
    channel when it is ``none``). Under an exploration ceiling only a share q of the
    policy group draws; the rest take the greedy value ``g_f`` (best posterior mean less
    the channel's cost), so field f's probability is ``P_f(v) = q p_f(v) + (1 - q) 1[v =
    g_f]`` and the action's

    .. math:: \\pi(a) = q \\prod_f p_f(a_f) + (1 - q) \\prod_f 1[a_f = g_f]

    Holdout: channel ``none``, propensity 1, no expected reward. Business as usual: the
    default action (the first allowed value where it is not), propensity 1. Expected
    reward, additive across fields: ``b + sum_f (m_f(a_f) - b_f)``, ``b_f = sum_v P_f(v)
    m_f(v)``, b their mean.
    ``days_running``: days since the campaign's first decision (A/B-then-commit's clock).
    """
    limits = limits or Limits()
    batch = _Batch(audience, models, catalog, config, model_version, days_running, limits)
    return batch.frame(*batch.decide())


def budget_takers(
    audience: Audience,
    models: dict[str, FieldModel],
    catalog: Catalog,
    config: Config,
    model_version: str,
    days_running: int,
    limits: Limits,
    field: str,
) -> npt.NDArray[np.intp]:
    """The value index each row drew for ``field`` (-1 where the field was not drawn):
    what the day's budget cuts are found from when batches are decided apart."""
    batch = _Batch(audience, models, catalog, config, model_version, days_running, limits)
    draws = batch.decide()[0]
    return np.where(draws.applies[field], draws.fields[field].index, -1)


def arrival_uniforms(decision_ids: Any, catalog: Catalog, field: str) -> npt.NDArray[np.float64]:
    """The keyed uniforms that order ``field``'s budget arrivals (smallest first)."""
    stream = ARRIVAL_STREAM + catalog.fields.index(field)
    return keyed_uniforms(decision_keys(decision_ids), stream)


def live_keys(
    audience: Audience, catalog: Catalog, config: Config, limits: Limits
) -> npt.NDArray[np.float64]:
    """Each row's keyed exploration uniform in [0, 1) if it is a live policy row, 2 if it
    is live in another group, NaN if skipped: the day's live decisions and ``Exploration``
    are counted from these when batches of the audience are decided apart."""
    _, skip, _ = _guardrail_skips(audience, catalog, config, limits)
    live = skip == None  # noqa: E711 (element-wise)
    u = keyed_uniforms(decision_keys(audience.decision_ids), EXPLORE_STREAM)
    policy = live & (audience.group_codes() == POLICY)
    return np.where(policy, u, np.where(live, 2.0, np.nan))


def _guardrail_skips(
    audience: Audience, catalog: Catalog, config: Config, limits: Limits
) -> tuple[SendOptions, npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """Each customer's send options, skip reason (None: decided) and skip detail."""
    options = send_options(
        catalog,
        config.guardrails,
        audience.flags,
        audience.timezones,
        limits.send_times,
        limits.blocks,
    )
    skip = options.skip.copy()
    detail = np.full(len(audience), None, dtype=object)
    if audience.suppressed is not None:
        suppressed = pd.notna(audience.suppressed)
        skip[suppressed], detail[suppressed] = "suppressed", audience.suppressed[suppressed]
    if limits.budget_skipped is not None:
        skip[limits.budget_skipped & (skip == None)] = "budget_exhausted"  # noqa: E711
    return options, skip, detail


@dataclass
class _Draws:
    """One pass over the batch: each field's draw (full-length arrays), the rows each
    field applies to, who explored with what share ``q``, and rows budgets skipped."""

    fields: dict[str, FieldDraw]
    applies: dict[str, npt.NDArray[np.bool_]]
    live: npt.NDArray[np.bool_]
    designated: npt.NDArray[np.bool_]
    q: float
    skipped: npt.NDArray[np.bool_]


class _Batch:
    """The day's batch: draws every field for the live rows, then lays out the table."""

    def __init__(
        self,
        audience: Audience,
        models: dict[str, FieldModel],
        catalog: Catalog,
        config: Config,
        model_version: str,
        days_running: int,
        limits: Limits,
    ) -> None:
        self.audience, self.models, self.catalog, self.config = audience, models, catalog, config
        self.model_version, self.days_running, self.limits = model_version, days_running, limits
        self.keys = decision_keys(audience.decision_ids)
        self.groups = audience.group_codes()
        holdout = config.holdout
        usual = (self.groups == USUAL).any() or holdout.business_as_usual_share > 0
        self.default = (
            catalog.default_action(holdout.default_action)
            if usual or holdout.default_action
            else {}
        )
        channels = catalog.values["channel"]
        self.channel_labels = channels if SEND_NOTHING in channels else (*channels, SEND_NOTHING)
        self.policy_name = make_policy(config.policy, days_running).name

    def decide(
        self,
    ) -> tuple[_Draws, SendOptions, npt.NDArray[np.object_], npt.NDArray[np.object_]]:
        """Guardrails, then the draws; customers budgets leave with nothing are skipped and
        the rest drawn again (the day's limits shrink with them) until none is."""
        audience, catalog, config, limits = self.audience, self.catalog, self.config, self.limits
        _check_floor(config, catalog)
        check_guardrails(config, catalog)
        first = next(iter(self.models.values()), None)
        if first is not None and not set(first.feature_names) <= set(audience.feature_names):
            raise ValueError(
                "policy_model was trained on different features than the audience has; "
                "rebuild it (dbt build --select policy_statistics+)."
            )
        options, skip, detail = _guardrail_skips(audience, catalog, config, limits)
        for _ in range(len(audience) + 1):
            draws = self.draw(options, skip == None)  # noqa: E711 (element-wise)
            if not draws.skipped.any():
                break
            skip[draws.skipped] = "budget_exhausted"
        return draws, options, skip, detail

    def draw(self, options: SendOptions, live: npt.NDArray[np.bool_]) -> _Draws:
        n, groups, usage = len(self.audience), self.groups, self.limits.usage
        designated, q = self._explorers(live & (groups == POLICY))
        floor = self.config.policy.propensity_floor / q if q > 0 else 0.0
        most = max(len(v) for v in self.catalog.values.values())
        settings = replace(self.config.policy, propensity_floor=min(floor, 1.0 / most))
        policy = make_policy(settings, self.days_running)
        day = self.limits.budgets
        decisions = day.decisions if day else int(live.sum()) + usage.decisions
        rows = live & (groups != HOLDOUT)
        skipped = np.zeros(n, dtype=bool)
        fields: dict[str, FieldDraw] = {}
        applies: dict[str, npt.NDArray[np.bool_]] = {}
        for stream, field in enumerate(self.catalog.fields):
            values = self.catalog.values[field]
            eligible = self._eligible(field, options, fields)
            forced = np.full(n, -1, dtype=np.intp)
            if field in self.default:
                forced[groups == USUAL] = self.default[field]
            budgets = self.config.guardrails.budgets
            remaining = budget_limits(budgets, field, values, decisions, usage)
            order, cuts = np.flatnonzero(rows), None
            if remaining:
                arrival = keyed_uniforms(self.keys, ARRIVAL_STREAM + stream)
                order = order[np.argsort(arrival[order], kind="stable")]
                cuts = BudgetCuts(arrival, day.cuts.get(field, {})) if day else None
            draw = draw_with_budgets(
                self._distribution(policy, field),
                eligible,
                order,
                keyed_uniforms(self.keys, stream),
                designated,
                q,
                forced,
                remaining,
                cuts,
            )
            skipped |= draw.skipped
            rows &= ~draw.skipped
            fields[field], applies[field] = draw, rows.copy()
            if field == "channel" and SEND_NOTHING in values:
                rows &= draw.index != values.index(SEND_NOTHING)
        return _Draws(fields, applies, live & ~skipped, designated, q, skipped)

    def _explorers(self, policy_rows: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.bool_], float]:
        """Who draws from the policy, and the share q of the policy group that does."""
        ceiling = self.config.guardrails.max_exploration_share
        if ceiling is None:
            return policy_rows, 1.0
        u = keyed_uniforms(self.keys, EXPLORE_STREAM)
        candidates = u[policy_rows]
        exploration = self.limits.exploration or Exploration.of(
            len(candidates),
            ceiling,
            self.limits.usage,
            lambda k: float(np.partition(candidates, k - 1)[k - 1]),
        )
        return policy_rows & (u <= exploration.threshold), exploration.q

    def _eligible(
        self, field: str, options: SendOptions, drawn: dict[str, FieldDraw]
    ) -> npt.NDArray[np.bool_]:
        """(n, V): channels with an allowed slot (and sending nothing, when allowed); the
        drawn channel's allowed slots; every message variant."""
        n, values = len(self.audience), self.catalog.values[field]
        if field == "channel":
            return channel_eligibility(options.allowed, values)
        if field == "send_slot":
            channel = np.minimum(drawn["channel"].index, options.allowed.shape[1] - 1)
            return options.allowed[np.arange(n), channel, :]
        return np.ones((n, len(values)), dtype=bool)

    def _distribution(self, policy: Policy, field: str) -> Distribution:
        model = self.models[field]
        features = _model_features(self.audience, model.feature_names)
        cost = self._cost(field)
        seed = int(hashlib.sha1(f"{self.model_version}|{field}".encode()).hexdigest()[:15], 16)

        def distribution(
            rows: npt.NDArray[np.intp], eligible: npt.NDArray[np.bool_]
        ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
            every_row = np.array_equal(rows, np.arange(len(features)))
            scores = Scores(model, features if every_row else features[rows], cost)
            return policy.action_probabilities(scores, eligible, seed), scores.mean

        return distribution

    def _cost(self, field: str) -> npt.NDArray[np.float64] | None:
        return channel_costs(self.config.guardrails, field, self.catalog.values[field])

    def frame(
        self,
        draws: _Draws,
        options: SendOptions,
        skip: npt.NDArray[np.object_],
        detail: npt.NDArray[np.object_],
    ) -> pd.DataFrame:
        n, groups, live = len(self.audience), self.groups, draws.live
        rows = np.arange(n)
        policy = live & (groups == POLICY)
        joint_draw, joint_greedy = np.ones(n), np.ones(n)
        predicted, baselines, fields_applied = np.zeros(n), np.zeros(n), np.zeros(n)
        explored = np.zeros(n, dtype=bool)
        columns: dict[str, Any] = {}
        for field in self.catalog.fields:
            draw, applies = draws.fields[field], draws.applies[field]
            labels = self.channel_labels if field == "channel" else self.catalog.values[field]
            index = draw.index
            if field == "channel":
                index = np.where(live & (groups == HOLDOUT), len(labels) - 1, index)
                columns[field] = _labels(labels, index, live)
            else:
                columns[field] = _labels(labels, index, applies)
            joint_draw *= np.where(applies, draw.p[rows, draw.index], 1.0)
            joint_greedy *= np.where(applies, draw.index == draw.greedy, 1.0)
            explored |= applies & (draw.index != draw.greedy)
            propensity = np.where(applies, draw.propensity, np.nan)
            columns[f"{field}_propensity"] = np.where(live & (groups == HOLDOUT), 1.0, propensity)
            cost = self._cost(field)
            means = draw.score if cost is None else draw.score + cost  # the model's own means
            mixture = draws.q * draw.p
            mixture[rows, draw.greedy] += 1 - draws.q
            predicted += np.where(applies, means[rows, draw.index], 0.0)
            baselines += np.where(applies, (mixture * means).sum(axis=1), 0.0)
            fields_applied += applies
        joint = draws.q * joint_draw + (1 - draws.q) * joint_greedy
        expected = baselines / np.maximum(fields_applied, 1) + predicted - baselines
        algorithm = np.select([groups == HOLDOUT, groups == USUAL], [1, 2], 0).astype(np.intp)
        frame = pd.DataFrame(
            {
                "decision_id": _text(self.audience.decision_ids),
                "campaign_id": _labels((self.config.campaign_id,), np.zeros(n, dtype=np.intp)),
                "customer_id": _text(self.audience.customer_ids),
                "decision_date": pd.Timestamp(self.config.as_of),
                "decision_group": _labels(GROUPS, groups.astype(np.intp)),
                "is_holdout": groups == HOLDOUT,
                "timezone": _text(self.audience.timezones)
                if self.audience.timezones is not None
                else _labels(("",), np.zeros(n, dtype=np.intp), np.zeros(n, dtype=bool)),
                **{f: columns[f] for f in self.catalog.fields},
                "send_at_utc": self._send_at(draws, options),
                **{f"{f}_propensity": columns[f"{f}_propensity"] for f in self.catalog.fields},
                "propensity": np.where(policy, joint, np.where(live, 1.0, np.nan)),
                "expected_reward": np.where(live & (groups != HOLDOUT), expected, np.nan),
                "is_exploration": policy & explored,
                "algorithm": _labels(
                    (self.policy_name, "holdout", "business_as_usual"), algorithm, live
                ),
                "model_version": _labels((self.model_version,), np.zeros(n, dtype=np.intp)),
                "skip_reason": pd.array(skip, dtype="string[pyarrow]"),
                "skip_detail": pd.array(detail, dtype="string[pyarrow]"),
                "eligible_sends": self._eligible_sends(options, live),
            }
        )
        frame["decision_date"] = frame["decision_date"].dt.date
        return frame

    def _eligible_sends(
        self, options: SendOptions, live: npt.NDArray[np.bool_]
    ) -> pd.api.extensions.ExtensionArray:
        """What the guardrails allowed each customer, for off-policy evaluation: the
        allowed ``channel@slot`` pairs, comma-separated (``none`` too when sending nothing
        is a value). Built once per distinct pattern, not per customer."""
        n, channels = len(self.audience), real_channels(self.catalog)
        slots = self.catalog.values["send_slot"]
        patterns, which = unique_rows(options.allowed.reshape(n, -1))
        pairs = [f"{c}@{s}" for c in channels for s in slots]
        nothing = [SEND_NOTHING] if SEND_NOTHING in self.catalog.values["channel"] else []
        labels = tuple(",".join([*np.asarray(pairs)[row].tolist(), *nothing]) for row in patterns)
        return _labels(labels, which, live)

    def _send_at(self, draws: _Draws, options: SendOptions) -> npt.NDArray[np.datetime64]:
        """The slot's UTC time in the customer's zone; as_of 00:00 UTC when nothing is sent
        (the window of organic conversions starts there); NaT when skipped."""
        n = len(self.audience)
        send_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
        sent = draws.applies["send_slot"]
        times = self.limits.send_times
        if times is not None and sent.any():
            slot = draws.fields["send_slot"].index
            send_at[sent] = times.utc[options.zone[sent], slot[sent]]
        send_at[draws.live & ~sent] = np.datetime64(self.config.as_of, "us")
        return send_at


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
        "decision_group": "string",
        "is_holdout": "bool",
        "timezone": "string",
        **dict.fromkeys(catalog_fields, "string"),
        "send_at_utc": "datetime64[us]",
        **dict.fromkeys((f"{f}_propensity" for f in catalog_fields), "float64"),
        "propensity": "float64",
        "expected_reward": "float64",
        "is_exploration": "bool",
        "algorithm": "string",
        "model_version": "string",
        "skip_reason": "string",
        "skip_detail": "string",
        "eligible_sends": "string",
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
    """Which values each customer may get by consent alone, (n, V): channels by opt-in
    (sending nothing always), every value of the other fields (benchmarks compare
    policies on these)."""
    n, values = len(audience), catalog.values[field]
    if field != "channel":
        return np.ones((n, len(values)), dtype=bool)
    no_limits = GuardrailsConfig((), None, {}, (), None)
    options = send_options(catalog, no_limits, audience.flags, None, None)
    return channel_eligibility(options.allowed, values)
