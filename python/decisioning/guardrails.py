"""Guardrails: what each customer may be sent, and the day's limits, before anything is drawn.

* **Send options** (n, channels, send slots): a channel needs its opt-in and every column
  in its ``requires``; a slot must fall outside the campaign's and the channel's quiet
  hours in the customer's own time zone (``send_times``, computed in SQL with the zone's
  daylight-saving rules); and outside what the frequency caps block (``send_blocks``).
* **Budgets** per field value and day, enforced exactly by drawing in a random arrival
  order and removing a value from the choice of everyone after the customer who used up
  its budget (``draw_with_budgets``).
* **Exploration ceiling**: exactly ``floor(max_exploration_share x policy decisions)``
  customers, ranked by a keyed uniform, draw from the policy; the rest get the greedy
  action.

Customers left without any send option are skipped, with a reason code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from decisioning.catalog import SEND_NOTHING, Catalog
from decisioning.config import Budget, Config, ConfigError, GuardrailsConfig
from decisioning.keyed_random import draw_index

Mask = npt.NDArray[np.bool_]
Index = npt.NDArray[np.intp]

SKIP_REASONS = (
    "suppressed",
    "no_eligible_channel",
    "unknown_timezone",
    "quiet_hours",
    "frequency_cap",
    "budget_exhausted",
)
"""Why a customer got no decision, in the order they are checked."""


@dataclass(frozen=True)
class SendTimes:
    """When each send slot falls in each time zone today (model ``send_times``): the UTC
    instant ``utc`` and the local minute of the day ``local_minute``, both (zones, slots)."""

    timezones: tuple[str, ...]
    utc: npt.NDArray[np.datetime64]
    local_minute: npt.NDArray[np.int32]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, slots: tuple[str, ...]) -> SendTimes:
        """From rows (timezone, send_slot, send_at_utc, local_send_at)."""
        zones = tuple(sorted(frame["timezone"].astype(str).unique()))
        zone = pd.Index(zones).get_indexer(pd.Index(frame["timezone"].astype(str)))
        slot = pd.Index(slots).get_indexer(pd.Index(frame["send_slot"].astype(str)))
        keep = slot >= 0
        utc = np.full((len(zones), len(slots)), np.datetime64("NaT"), dtype="datetime64[us]")
        utc[zone[keep], slot[keep]] = pd.to_datetime(frame["send_at_utc"]).to_numpy()[keep]
        local = pd.to_datetime(frame["local_send_at"])
        minute = np.full((len(zones), len(slots)), -1, dtype=np.int32)
        minute[zone[keep], slot[keep]] = (local.dt.hour * 60 + local.dt.minute).to_numpy()[keep]
        return cls(zones, utc, minute)

    def zone_index(self, timezones: Any) -> Index:
        """Each customer's zone row, -1 for a zone without send times."""
        found = pc.index_in(pa.array(timezones, pa.string()), pa.array(self.timezones))
        index: Index = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.intp)
        return index


@dataclass(frozen=True)
class SendOptions:
    """What each customer may be sent: ``allowed`` (n, channels, slots) over the catalog's
    real channels (not ``none``) and slots; ``skip`` (n,) the reason code where nothing is
    allowed, else None; ``zone`` (n,) each customer's row in ``SendTimes`` (-1: unknown)."""

    allowed: Mask
    skip: npt.NDArray[np.object_]
    zone: Index

    def channels(self) -> Mask:
        """(n, channels): channels with at least one allowed slot."""
        return np.asarray(self.allowed.any(axis=2), dtype=bool)


def send_options(
    catalog: Catalog,
    guardrails: GuardrailsConfig,
    flags: dict[str, Mask],
    timezones: Any,
    send_times: SendTimes | None,
    blocks: tuple[Index, Index, Index] | None = None,
) -> SendOptions:
    """Channel x slot options per customer, and why customers without any are skipped.

    ``flags``: boolean customer columns (opt-ins and ``requires`` columns); ``blocks``:
    (row, channel index or -1 for all, slot index) triples the frequency caps forbid.
    Without ``send_times`` (tests, benchmarks) every slot is allowed and quiet hours must
    not be configured.
    """
    channels = real_channels(catalog)
    slots = catalog.values["send_slot"]
    n = len(next(iter(flags.values()))) if flags else 0
    opted = np.ones((n, len(channels)), dtype=bool)
    for c, channel in enumerate(channels):
        rules = guardrails.channels.get(channel)
        for column in (catalog.channel_opt_in[channel], *(rules.requires if rules else ())):
            if column not in flags:
                raise ConfigError(
                    f"decisioning.guardrails.channels.{channel}: customer column {column!r} "
                    "is not in the audience; add it to the customers source."
                )
            opted[:, c] &= flags[column]
    if send_times is None:
        if _has_quiet_hours(guardrails):
            raise ValueError("Quiet hours need the send_times model; pass send_times.")
        zone = np.zeros(n, dtype=np.intp)
        timely: Mask = np.ones((1, len(channels), len(slots)), dtype=bool)
    else:
        zone = send_times.zone_index(timezones)
        timely = _outside_quiet_hours(send_times, channels, guardrails)
    allowed = opted[:, :, None] & np.where((zone >= 0)[:, None, None], timely[zone], False)
    timely_allowed = allowed.any(axis=(1, 2))
    if blocks is not None and len(blocks[0]):
        rows, block_channels, block_slots = blocks
        every = block_channels < 0
        allowed[rows[every], :, block_slots[every]] = False
        allowed[rows[~every], block_channels[~every], block_slots[~every]] = False
    skip = np.full(n, None, dtype=object)
    skip[~allowed.any(axis=(1, 2))] = "frequency_cap"
    skip[~timely_allowed] = "quiet_hours"
    skip[zone < 0] = "unknown_timezone"
    skip[~opted.any(axis=1)] = "no_eligible_channel"
    return SendOptions(allowed, skip, zone)


def real_channels(catalog: Catalog) -> tuple[str, ...]:
    """The catalog's channels that send something (all but ``none``)."""
    return tuple(c for c in catalog.values["channel"] if c != SEND_NOTHING)


def channel_eligibility(allowed: Mask, values: tuple[str, ...]) -> Mask:
    """(n, channel values) from ``allowed`` (n, real channels, slots): a real channel with an
    allowed slot; sending nothing, where it is a value, always."""
    real = iter(np.asarray(allowed.any(axis=2)).T)
    columns = [
        np.ones(len(allowed), dtype=bool) if c == SEND_NOTHING else next(real) for c in values
    ]
    return np.column_stack(columns)


def channel_costs(
    guardrails: GuardrailsConfig, field: str, values: tuple[str, ...]
) -> npt.NDArray[np.float64] | None:
    """Each value's cost in reward units (the channels'; None for other fields or when no
    channel has rules)."""
    if field != "channel" or not guardrails.channels:
        return None
    return np.array([guardrails.channel_cost(c) for c in values])


def _has_quiet_hours(guardrails: GuardrailsConfig) -> bool:
    return guardrails.quiet_hours is not None or any(
        r.quiet_hours is not None for r in guardrails.channels.values()
    )


def _outside_quiet_hours(
    send_times: SendTimes, channels: tuple[str, ...], guardrails: GuardrailsConfig
) -> Mask:
    """(zones, channels, slots): the slot has a send time outside every quiet hours that
    apply to the channel, at its local time of day in that zone."""
    minute = send_times.local_minute
    known = minute >= 0
    timely = np.repeat(known[:, None, :], len(channels), axis=1)
    for c, channel in enumerate(channels):
        rules = guardrails.channels.get(channel)
        for quiet in (guardrails.quiet_hours, rules.quiet_hours if rules else None):
            if quiet is not None:
                timely[:, c, :] &= ~np.asarray(quiet.contains(minute), dtype=bool)
    return timely


def block_triples(
    frame: pd.DataFrame, decision_ids: Any, catalog: Catalog
) -> tuple[Index, Index, Index]:
    """Rows of ``send_blocks`` (decision_id, channel or null, send_slot) as index triples
    into the audience and the catalog (channel -1: every channel)."""
    if frame.empty:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, empty
    row = pc.index_in(pa.array(frame["decision_id"], pa.string()), pa.array(decision_ids))
    row = pc.fill_null(row, -1).to_numpy(zero_copy_only=False).astype(np.intp)
    channel = pd.Index(real_channels(catalog)).get_indexer(pd.Index(frame["channel"]))
    slot = pd.Index(catalog.values["send_slot"]).get_indexer(pd.Index(frame["send_slot"]))
    channel = np.where(frame["channel"].isna().to_numpy(), -1, channel)
    keep = (row >= 0) & (slot >= 0) & (frame["channel"].isna().to_numpy() | (channel >= 0))
    return row[keep], channel[keep], slot[keep]


@dataclass(frozen=True)
class Usage:
    """What this campaign already logged today (a rebuild deciding customers who were not
    in the first build): counts that the day's limits include."""

    decisions: int = 0
    policy_decisions: int = 0
    explorations: int = 0
    values: tuple[tuple[str, str, int], ...] = ()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, fields: tuple[str, ...]) -> Usage:
        """From today's logged rows (decision_group, is_exploration, one column per field)."""
        if frame.empty:
            return cls()
        policy = frame["decision_group"] == "policy"
        counted = [(f, str(v), int(k)) for f in fields for v, k in frame[f].value_counts().items()]
        return cls(
            len(frame),
            int(policy.sum()),
            int((policy & frame["is_exploration"].astype(bool)).sum()),
            tuple(counted),
        )

    def used(self, field: str, value: str) -> int:
        return sum(k for f, v, k in self.values if f == field and v == value)


def budget_limits(
    budgets: Iterable[Budget], field: str, values: tuple[str, ...], decisions: int, usage: Usage
) -> dict[int, int]:
    """Remaining budget per budgeted value index of ``field`` for a day of ``decisions``
    decisions (this build's and those already logged)."""
    remaining = {}
    for budget in budgets:
        if budget.field == field:
            limit = budget.limit(decisions) - usage.used(field, budget.value)
            remaining[values.index(budget.value)] = max(limit, 0)
    return remaining


def check_guardrails(config: Config, catalog: Catalog) -> None:
    """Settings that name catalog ids, or depend on the catalog's size."""
    channels = real_channels(catalog)
    guardrails = config.guardrails
    for name in guardrails.channels:
        if name not in channels:
            raise ConfigError(
                f"decisioning.guardrails.channels.{name}: not an active channel. "
                f"Active: {', '.join(channels)}."
            )
    for i, cap in enumerate(guardrails.frequency_caps):
        if cap.channel is not None and cap.channel not in channels:
            raise ConfigError(
                f"decisioning.guardrails.frequency_caps[{i}].channel: {cap.channel!r} is not "
                f"an active channel. Active: {', '.join(channels)}."
            )
    for i, budget in enumerate(guardrails.budgets):
        values = [
            v
            for v in catalog.values[budget.field]
            if budget.field != "channel" or v != SEND_NOTHING
        ]  # a recommendation field's "none" is an ordinary value
        if budget.value not in values:
            raise ConfigError(
                f"decisioning.guardrails.budgets[{i}].value: {budget.value!r} is not an active "
                f"{budget.field}. Active: {', '.join(values)}."
            )
    floor, ceiling = config.policy.propensity_floor, guardrails.max_exploration_share
    most = max(len(v) for v in catalog.values.values())
    if ceiling is not None and floor * most > ceiling:
        raise ConfigError(
            f"decisioning.guardrails.max_exploration_share: {ceiling:g} leaves too little "
            f"exploration for policy.propensity_floor {floor:g} with {most} values in a field "
            f"(needs at least {floor * most:g}). Raise it or lower the floor."
        )


@dataclass(frozen=True)
class Exploration:
    """Who explores under ``max_exploration_share``: live policy rows whose keyed uniform
    is at most ``threshold`` (the quota-th smallest of the day's), a share ``q`` of them.
    Fixed for the whole day, so batches of the audience can be decided apart."""

    threshold: float
    q: float

    @classmethod
    def of(
        cls, candidates: int, ceiling: float, usage: Usage, kth: Callable[[int], float]
    ) -> Exploration:
        """For ``candidates`` live policy rows today; ``kth(k)``: the k-th smallest of their
        keyed uniforms. The quota is ``floor(ceiling (n + n_logged)) - explorations_logged``,
        clipped to [0, n]: exactly that many rows explore, a uniformly random subset."""
        quota = math.floor(ceiling * (candidates + usage.policy_decisions) + 1e-9)
        quota = min(max(quota - usage.explorations, 0), candidates)
        if quota == 0:
            return cls(-math.inf, 0.0)
        threshold = math.inf if quota == candidates else kth(quota)
        return cls(threshold, quota / candidates)


@dataclass(frozen=True)
class BudgetCuts:
    """Where a field's budgeted values ran out in the day's arrival order: value ``v`` is
    spent for rows whose ``arrival`` uniform is above ``after[v]``."""

    arrival: npt.NDArray[np.float64]
    after: Mapping[int, float]


@dataclass
class FieldDraw:
    """One field's outcome for the rows it was drawn for: the chosen index, the probability
    it had (``propensity``, the mixture of drawing and greedy), the distribution drawn
    from (``p``), each value's score (``score``, from the distribution) and the greedy
    index, and rows skipped because budgets left no value."""

    index: Index
    propensity: npt.NDArray[np.float64]
    p: npt.NDArray[np.float64]
    score: npt.NDArray[np.float64]
    greedy: Index
    skipped: Mask


Distribution = Callable[[Index, Mask], tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]
"""(rows, eligible (rows, V)) -> the policy's probabilities and each value's score (its
posterior mean less any cost; the greedy value has the highest), both (rows, V)."""


def draw_with_budgets(
    distribution: Distribution,
    eligible: Mask,
    order: Index,
    u: npt.NDArray[np.float64],
    draws: Mask,
    q: float,
    forced: Index,
    remaining: dict[int, int],
    cuts: BudgetCuts | None = None,
) -> FieldDraw:
    """Draw one field for ``order`` (rows in arrival order) as if one customer at a time.

    Row i draws from the policy with uniform ``u[i]`` where ``draws[i]`` (an explorer),
    else takes the greedy value; ``forced[i] >= 0`` fixes its value (the business-as-usual
    default, falling back to the first eligible). Its propensity is
    ``q p(a) + (1 - q) 1[a = greedy]`` (1 for forced rows). A budgeted value v with
    ``remaining[v]`` left is removed from the eligible set of every row after the one that
    uses it up, and those rows draw again, with the same uniform, from the policy's
    probabilities renormalized over the values left: the propensity logged is that of the
    distribution each customer actually faced. The policy is evaluated once per row. Given
    the day's ``cuts`` (found by earlier passes over the whole audience), each row's spent
    values are known and it draws once.
    """
    n, n_values = len(u), eligible.shape[1]
    out = FieldDraw(
        np.zeros(n, dtype=np.intp),
        np.ones(n),
        np.zeros((n, n_values)),
        np.zeros((n, n_values)),
        np.zeros(n, dtype=np.intp),
        np.zeros(n, dtype=bool),
    )
    eligible = eligible.copy()
    for value, left in remaining.items():
        if left <= 0:
            eligible[:, value] = False
    empty = ~eligible[order].any(axis=1)
    out.skipped[order[empty]] = True
    tail = order[~empty]
    policy_p, score = distribution(tail, eligible[tail])
    out.score[tail] = score
    position = np.zeros(n, dtype=np.intp)
    position[tail] = np.arange(len(tail))
    if cuts is not None:
        for value, spent_after in cuts.after.items():
            eligible[tail[cuts.arrival[tail] > spent_after], value] = False
        empty = ~eligible[tail].any(axis=1)
        out.skipped[tail[empty]] = True
        tail = tail[~empty]
    unspent = {} if cuts is not None else remaining  # with the cuts known: one pass
    while len(tail):
        p, greedy = _restricted(policy_p[position[tail]], score[position[tail]], eligible[tail])
        chosen = np.where(draws[tail], draw_index(p, u[tail]), greedy)
        fallback = np.argmax(eligible[tail], axis=1)
        fixed = forced[tail]
        fixed_ok = (fixed >= 0) & eligible[tail, np.maximum(fixed, 0)]
        chosen = np.where(fixed >= 0, np.where(fixed_ok, fixed, fallback), chosen)
        rows = np.arange(len(tail))
        out.index[tail], out.greedy[tail], out.p[tail] = chosen, greedy, p
        mixture = q * p[rows, chosen] + (1 - q) * (chosen == greedy)
        out.propensity[tail] = np.where(fixed >= 0, 1.0, mixture)
        cut = _first_exhaustion(chosen, unspent)
        if cut is None:
            break
        for value in unspent:
            unspent[value] -= int((chosen[:cut] == value).sum())
        spent = [v for v, left in unspent.items() if left <= 0]
        later = tail[cut:]
        eligible[later[:, None], np.array(spent)[None, :]] = False
        empty = ~eligible[later].any(axis=1)
        out.skipped[later[empty]] = True
        tail = later[~empty]
    return out


def _restricted(
    p: npt.NDArray[np.float64], score: npt.NDArray[np.float64], eligible: Mask
) -> tuple[npt.NDArray[np.float64], Index]:
    """The policy's probabilities renormalized over the values still ``eligible`` (all
    on the greedy value where none of them had any), and the greedy value among them."""
    greedy: Index = np.where(eligible, score, -np.inf).argmax(axis=1)
    p = np.where(eligible, p, 0.0)
    total = p.sum(axis=1, keepdims=True)
    none_left = total[:, 0] <= 0
    p[none_left, greedy[none_left]], total[none_left] = 1.0, 1.0
    return p / total, greedy


def _first_exhaustion(chosen: Index, remaining: dict[int, int]) -> int | None:
    """The position right after the row that uses up the earliest budget, if a budget
    runs out before the last row."""
    cut: int | None = None
    for value, left in remaining.items():
        takers = np.flatnonzero(chosen == value)
        if left > 0 and len(takers) >= left:
            cut = min(cut or len(chosen), int(takers[left - 1]) + 1)
    return cut if cut is not None and cut < len(chosen) else None
