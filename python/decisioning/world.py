"""A simulated fitness-app business for the demo: a win-back campaign with a hidden truth.

``generate_world`` draws customers (the warehouse's ``customers`` source), a year of product
events before ``start`` (``World.history``) and hidden per-customer traits. The loop then
runs day by day: ``World.organic_events`` is the day's background activity, and
``World.respond`` is how customers react to the messages the policy decided. Because the
response model is known, ``World.expected_reward`` and ``World.oracle_actions`` measure
what the policy learned against the truth.

Ground truth
------------
Observables of customer ``i``: plan, platform (app = ios/android), age (``a = (age - 40)/15``),
opt-ins, past activity. Hidden traits are noisy functions of them (each ``z ~ N(0, 1)``)::

    price sensitivity  p = σ(-0.7 + 1.6 monthly - 0.7 a + 0.8 z)
    preferred hour     h = clip(14.5 - 3.5 a + 2 z, 6, 23.5)      local time
    goal orientation   g = σ(0.1 + 0.6 a + 0.6 annual + z)        streaks/progress vs novelty
    personal touch     t = σ(-0.2 + a + 0.8 z)
    responsiveness     r = 0.5 z;   sms fan ~ Bernoulli(0.08)
    channel affinity   e_email = 0.15 + 0.3 a + 0.35 web + 0.3 z
                       e_push  = -0.4 + 0.7 app - 0.3 a + 0.3 z
                       e_sms   = -0.85 + 1.55 fan + 0.2 z
    activity rate      λ(u) = λ0 for u ≤ L, λ0 (φ + (1 - φ) e^{-(u - L)/τ}) after the lapse L,
                       λ0 = 0.075 e^{0.5 z} events/day, φ = 0.06, τ = 10 days; ~45% lapsed
                       before start, the others lapse Exp(200 days) after it.

An action (c, s, l, g, o) = (channel, send slot, subject line, greeting, offer) sent at u
with an attribution window W::

    m_s          = exp(-½ (Δ(hour_s, h) / 2.5)²)                 slot match, circular hours
    P(deliver)   = d_c = .97 email, .98 push, .99 sms
    P(open|dlv)  = σ(-0.8 + e_c + 1.1 (m_s - ½) + S_l + r)
    P(click|open)= σ(-0.9 + G_g + O_o + K_lo + r/2)
    P(conv|click)= σ(V_o + 0.6 ln(λ0/0.075) - 0.3 ln(1 + D/30))    D = days since the lapse
    P(unsub|dlv) = σ(logit(.005, .008, .015)_c + 1.2 (1 - m_s) - 0.5 e_c)
    P(organic)   = 1 - exp(-ρ ∫_u^{u+W} λ),  ρ = 0.45 the workout share of events

    S: miss_you .05 + .7(t-½); streak -.05 + 1.1(g-½) - .35a; new_classes -1.1(g-½) - .2a;
       discount -.2 + 1.8(p-½); question 0; progress -.05 + 1.1(g-½) + .35a; + 0.2 z each
    G: first_name 1.1(t-½); hey -(t-½) - .15a; coach .7(g-½) - .05; none -.2
    O: none -.3; discount_20 -.15 + 2.1(p-½); free_week .15 - (g-½) - .3a; plan 1.25(g-½) + .3a
    V: none 0; discount_20 .4p; free_week .2 - .2a; plan .7g
    K: subject-offer coherence (_COHERENCE), e.g. sl_discount without a discount: -1.2

With p_open = d_c P(open|dlv), p_click = P(click|open), p_msg = p_open p_click P(conv|click)::

    E[reward] = w_open p_open + w_click p_open p_click
                + w_conversion (1 - (1 - p_msg)(1 - P(organic))) + w_unsubscribe d_c P(unsub|dlv)

``respond`` samples exactly these events (a conversion is a ``workout_completed`` product
event in the window), so realized rewards average to ``expected_reward``; ``realized_rewards``
gives each decision's reward from the same draws without building the events. Channel ``""``
(or null) means no message: no message events, only the organic conversion, and
``E[reward] = w_conversion P(organic)``.

Drift
-----
``World.with_drifts(AppealDrift(field, value, start, κ), ...)`` makes the truth non-stationary.
The term ``x_v`` of variant ``v`` (open logit: e_c + r for a channel, 1.1 (m_s - ½) for a
slot, S_l for a subject line; click logit: G_g for a greeting, O_o for an offer) becomes::

    x_v(u) = x_v + κ max(0, u - start)          u - start in days, start at 00:00 UTC

evaluated at each decision's send time ``u`` by ``respond``, ``realized_rewards``,
``expected_reward``, ``oracle_actions``, ``uniform_expected_reward`` and
``best_fixed_action`` alike (their default ``send_at`` is ``World.start`` 00:00).

New variants
------------
Message variants may join the catalog mid-run (e.g. LLM-written ``subject_line_gen_3fa2c1d0``).
``World.with_variants(NewVariant(field, value, like, δ), ...)`` registers ``value``: it behaves
like the base variant ``like`` of its field, its logit term shifted by ``δ``::

    subject line  S_v = S_like + δ,  K_vo = K_like,o      greeting  G_v = G_like + δ
    offer         O_v = O_like + δ,  V_v = V_like,  K_lv = K_l,like   (only the click term moves)

Any other non-empty value of a message field (never registered, e.g. written by a real LLM) is
a neutral new text: each of its terms is the customer's mean over the field's base values,
e.g. ``S = ⅙ Σ_l S_l``, ``O = ¼ Σ_o O_o``, ``V = ¼ Σ_o V_o``, and its coherence is ``K = 0``.
Both use the stationary terms: a drift of ``like`` does not carry over, but an ``AppealDrift``
may name a registered variant. Channels and send slots stay fixed (unknown ones raise).
``respond``, ``realized_rewards`` and ``expected_reward`` take any of these values;
``oracle_actions``, ``uniform_expected_reward`` and ``best_fixed_action`` choose among the base
values unless ``values`` lists the message values to choose from.

Recommendations
---------------
``World.with_recommendations(field)`` adds a catalog of 30 workouts (``catalog_items()``), 6 in
each of the 5 ``CATEGORIES``, and hidden item preferences. Workout ``j`` of category ``k_j``
and rank ``r_j`` in it (``WORKOUTS`` order) has the popularity weight ``w_j = π_k / (H_6 r_j)``,
``π = (.3, .25, .2, .15, .1)`` over CATEGORIES, ``H_6 = Σ_{r≤6} 1/r``. The first five of a
category were created 400-520 days before start; the last is new, created 10, 20, ... 50 days
before start (CATEGORIES order). Customer ``i`` has a favourite category ``c_i ~ π`` and a
focus ``f_i``: half are focused, ``f_i ~ U(0.7, 0.95)``, the others explorers, ``f_i = 0``.
Every ``workout_completed`` event (``history``, ``organic_events``, ``respond``) then carries
an ``item_id``, drawn among the workouts created by then (renormalized) with::

    P(j) ∝ f_i w_j 1[k_j = c_i] / Σ_{l: k_l = c_i} w_l + (1 - f_i) w_j

except that a message-driven conversion of a decision that recommended an item is that item.
The recommended item ``j`` (the decisions' ``<field>_item_id`` column for ``respond`` and
``realized_rewards``; ``actions["<field>_item_id"]`` for ``expected_reward``) adds to the
click logit::

    β_i(j) = f_i (1.2 · 1[k_j = c_i] - 0.3 · 1[k_j ≠ c_i]) - 0.3 (1 - f_i),   β_i(none) = 0

An item of the favourite category helps a focused customer (+0.9 at ``f = 0.8``), another
hurts a little (-0.3); any item costs an explorer 0.3 (clutter). So recommending from the
customer's own history helps focused customers and not explorers. ``oracle_actions``,
``uniform_expected_reward`` and ``best_fixed_action`` leave the recommendation out (``β = 0``).
Everything this adds draws from its own random streams: customers, events, responses and
rewards of a world without recommendations are exactly those of the same world before, and
those of a world with them differ only by the ``item_id`` column and ``β``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

CHANNELS = ("email", "push", "sms")
OPT_IN_COLUMNS = ("email_opt_in", "push_opt_in", "sms_opt_in")
SEND_SLOTS = {"h08": 8, "h12": 12, "h18": 18, "h21": 21}
SUBJECT_LINES = (
    "sl_miss_you",
    "sl_streak",
    "sl_new_classes",
    "sl_discount",
    "sl_question",
    "sl_progress",
)
GREETINGS = ("gr_first_name", "gr_hey", "gr_coach", "gr_none")
OFFERS = ("of_none", "of_discount_20", "of_free_week", "of_plan")
PLATFORMS = ("ios", "android", "web")
FIELDS = ("channel", "send_slot", "subject_line", "greeting", "offer")
ACTION_VALUES: dict[str, tuple[str, ...]] = {
    "channel": CHANNELS,
    "send_slot": tuple(SEND_SLOTS),
    "subject_line": SUBJECT_LINES,
    "greeting": GREETINGS,
    "offer": OFFERS,
}
MESSAGE_FIELDS = ("subject_line", "greeting", "offer")
TIMEZONES: dict[str, float] = {
    "America/New_York": 0.25,
    "America/Chicago": 0.12,
    "America/Denver": 0.05,
    "America/Los_Angeles": 0.15,
    "Europe/London": 0.12,
    "Europe/Berlin": 0.12,
    "Asia/Kolkata": 0.05,
    "Asia/Tokyo": 0.07,
    "Australia/Sydney": 0.07,
}
FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "James",
    "Mia", "Lucas", "Amelia", "Mateo", "Harper", "Ethan", "Aisha", "Yuki", "Priya", "Hannah",
    "Lukas", "Chloe", "Daniel", "Grace", "Omar", "Sara", "Leon", "Maya", "Ravi", "Zoe",
    "Jack", "Lily", "Felix", "Nora", "Kenji", "Anna", "Carlos", "Emily", "Arjun", "Charlotte",
)  # fmt: skip
PRICES = {"monthly": 14.99, "annual": 119.99}
WINDOW_HOURS = 72.0
_MESSAGE_EVENTS = ("sent", "delivered", "bounce", "open", "click", "unsubscribe")
_PRODUCT_EVENTS = ("app_open", "workout_completed", "subscription_renewed")

_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR
_HISTORY_DAYS = 365
# Truth model constants (see the module docstring).
_DELIVERY = np.array([0.97, 0.98, 0.99])
_UNSUB_BASE = np.log(np.array([0.005, 0.008, 0.015]) / (1 - np.array([0.005, 0.008, 0.015])))
_ALPHA, _GAMMA, _DELTA = -0.8, -0.9, 0.0
_SLOT_WIDTH, _SLOT_WEIGHT = 2.5, 1.1
_RATE_MEAN = 0.075  # events per day of an engaged customer (median of λ_i0)
_FLOOR, _TAU = 0.06, 10.0  # φ: residual share of activity once lapsed; τ: decay in days
_WORKOUT_SHARE, _RENEWAL_SHARE = 0.45, 0.02  # ρ and the renewal share of product events
# Subject-offer coherence K[l, o]: a discount subject without a discount disappoints.
_COHERENCE = np.array(
    [
        [0.0, 0.0, 0.2, 0.2],  # sl_miss_you
        [0.0, -0.2, 0.1, 0.3],  # sl_streak
        [0.0, -0.2, 0.4, 0.0],  # sl_new_classes
        [-1.2, 0.5, -0.6, -1.2],  # sl_discount
        [0.0, 0.0, 0.2, 0.2],  # sl_question
        [0.0, -0.2, 0.0, 0.4],  # sl_progress
    ]
)

# The truth's array of the logit term of each field's values (columns in ACTION_VALUES order,
# then the registered NewVariants of the field).
_TERMS = {
    "channel": "open_channel",
    "send_slot": "open_slot",
    "subject_line": "open_subject",
    "greeting": "click_greeting",
    "offer": "click_offer",
}

# Recommendations (see the module docstring): the catalog and the truth of β.
CATEGORIES = ("strength", "cardio", "yoga", "hiit", "mobility")
WORKOUTS: dict[str, tuple[str, ...]] = {
    "strength": (
        "Full-Body Strength", "Kettlebell Basics", "Upper-Body Builder", "Leg Day Power",
        "Dumbbell Circuit", "Core Strength Lab",
    ),
    "cardio": (
        "Morning Run Intervals", "Indoor Cycling Climb", "Rowing Endurance", "Stair Sprints",
        "Jump Rope Cardio", "Dance Cardio Party",
    ),
    "yoga": (
        "Sunrise Flow", "Power Yoga", "Yin for Recovery", "Yoga for Runners", "Vinyasa Basics",
        "Bedtime Stretch Yoga",
    ),
    "hiit": (
        "20-Minute HIIT Burn", "Tabata Blast", "HIIT and Abs", "Bodyweight HIIT",
        "Sprint HIIT Ladder", "Low-Impact HIIT",
    ),
    "mobility": (
        "Hip Mobility", "Desk Break Stretch", "Foam Roller Reset", "Shoulder Mobility",
        "Full-Body Mobility Flow", "Ankle and Knee Care",
    ),
}  # fmt: skip
_CATEGORY_SHARES = np.array([0.3, 0.25, 0.2, 0.15, 0.1])  # π
_FOCUSED_SHARE, _FOCUS_LOW, _FOCUS_HIGH = 0.5, 0.7, 0.95
_MATCH, _MISMATCH, _CLUTTER = 1.2, 0.3, 0.3
_ITEM_STREAM = 7  # random streams [seed, 7, ...]: 0 traits, 1 history, 2 organic, 3 responses

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class NewVariant:
    """A message variant joining mid-run: behaves like ``like``, its logit + ``logit_shift``."""

    field: str
    value: str
    like: str
    logit_shift: float = 0.0

    def __post_init__(self) -> None:
        if self.field not in MESSAGE_FIELDS:
            raise ValueError(
                f"NewVariant: {self.field!r} is not a message field; expected one of "
                f"{MESSAGE_FIELDS}"
            )
        known = ACTION_VALUES[self.field]
        if not isinstance(self.value, str) or not self.value:
            raise ValueError(f"NewVariant: value must be a non-empty string, got {self.value!r}")
        if self.value in known:
            raise ValueError(
                f"NewVariant: {self.field} {self.value!r} collides with a known value; "
                f"known: {known}"
            )
        if self.like not in known:
            raise ValueError(
                f"NewVariant {self.value!r}: like={self.like!r} is not a known {self.field}; "
                f"known: {known}"
            )
        if not np.isfinite(self.logit_shift):
            raise ValueError(f"NewVariant {self.value!r}: logit_shift must be finite")


@dataclass(frozen=True)
class AppealDrift:
    """The logit term of ``value`` (of action ``field``) moves by ``logit_per_day`` a day
    from ``start`` (00:00 UTC) on: ``+ logit_per_day · max(0, days since start)``.

    A message field's ``value`` may be a registered ``NewVariant``: ``World.with_drifts``
    checks it against the world's values."""

    field: str
    value: str
    start: dt.date
    logit_per_day: float

    def __post_init__(self) -> None:
        if self.field not in ACTION_VALUES:
            raise ValueError(f"AppealDrift: unknown field {self.field!r}; known: {FIELDS}")
        if self.field not in MESSAGE_FIELDS:
            _check_drift(self, ACTION_VALUES[self.field])


@dataclass
class Response:
    """What came back from one batch of sends.

    ``message_events``: decision_id, customer_id, event_type (sent, delivered, bounce, open,
    click, unsubscribe), occurred_at. ``product_events``: the ``workout_completed``
    conversions (message-driven and organic) in the window, value = minutes.
    ``unsubscribed``: customer_id, channel, for flipping the opt-in flag.
    """

    message_events: pd.DataFrame
    product_events: pd.DataFrame
    unsubscribed: pd.DataFrame


@dataclass
class _Truth:
    """Hidden per-customer traits and the logit components of the response model."""

    tz_code: IntArray
    preferred_hour: FloatArray
    rate0: FloatArray  # λ_i0, product events per day before the lapse
    lapse_day: FloatArray  # L_i, days relative to start (negative: lapsed before start)
    created_day: FloatArray  # signup, days relative to start
    open_channel: FloatArray  # (n, 3): α + e_ic + r_i
    open_slot: FloatArray  # (n, 4)
    open_subject: FloatArray  # (n, 6)
    click_greeting: FloatArray  # (n, 4): γ + G_ig + r_i / 2
    click_offer: FloatArray  # (n, 4)
    conv_offer: FloatArray  # (n, 4): δ + V_io + activity terms
    unsub: FloatArray  # (n, 3, 4)
    is_monthly: BoolArray


@dataclass(frozen=True)
class _Items:
    """The workout catalog and each customer's hidden item preferences (module docstring,
    "Recommendations")."""

    field: str  # the recommendation field: decisions carry ``<field>_item_id``
    ids: pa.Array  # item ids, CATEGORIES then WORKOUTS order
    category: IntArray  # (J,) k_j
    weight: FloatArray  # (J,) w_j, summing to 1
    created_day: FloatArray  # (J,) days relative to start
    favourite: IntArray  # (n,) c_i
    focus: FloatArray  # (n,) f_i

    def draw(self, rng: np.random.Generator, who: IntArray, when: FloatArray) -> IntArray:
        """An item per event of customers ``who`` at ``when`` (days relative to start):
        the favourite category with probability ``f_i``, else any category, by popularity
        among the items created by then (a draw of a later item is drawn again)."""
        out = np.empty(len(who), dtype=np.int64)
        todo = np.arange(len(who))
        while len(todo):
            customers = who[todo]
            favourite = rng.random(len(todo)) < self.focus[customers]
            category = np.where(favourite, self.favourite[customers], -1)
            u = rng.random(len(todo))
            pick = np.empty(len(todo), dtype=np.int64)
            for k in range(-1, len(CATEGORIES)):
                rows = np.flatnonzero(category == k)
                items = np.arange(len(self.weight)) if k < 0 else np.flatnonzero(self.category == k)
                cumulative = np.cumsum(self.weight[items])
                at = np.searchsorted(cumulative / cumulative[-1], u[rows], side="right")
                pick[rows] = items[np.minimum(at, len(items) - 1)]
            ok = self.created_day[pick] <= when[todo]
            out[todo[ok]] = pick[ok]
            todo = todo[~ok]
        return out

    def logit(self, idx: IntArray, item: IntArray) -> FloatArray:
        """``β_i(j)`` of recommending item code ``item`` (-1: none) to customers ``idx``."""
        focus = self.focus[idx]
        match = self.category[np.maximum(item, 0)] == self.favourite[idx]
        beta = np.where(match, _MATCH * focus, -_MISMATCH * focus) - _CLUTTER * (1 - focus)
        return np.asarray(np.where(item >= 0, beta, 0.0))

    def codes(self, values: Any, what: str) -> IntArray:
        """Item ids to codes, null (or "") to -1; an unknown id raises."""
        ids = _strings(values)
        code = np.asarray(pc.fill_null(pc.index_in(ids, value_set=self.ids), -1).to_numpy())
        missing = pc.fill_null(pc.equal(ids, ""), True).to_numpy(zero_copy_only=False)
        bad = (code < 0) & ~missing
        if bad.any():
            shown = sorted({str(v) for v in ids.filter(pa.array(bad)).to_pylist()})[:3]
            raise ValueError(f"{what}: unknown item id(s) {shown}; see World.catalog_items()")
        return code.astype(np.int64)


def _make_items(seed: int, n: int, field_name: str) -> _Items:
    """The catalog (fixed) and the customers' preferences (stream [seed, 7, 0])."""
    rng = np.random.default_rng([seed, _ITEM_STREAM, 0])
    per = len(WORKOUTS[CATEGORIES[0]])
    category = np.repeat(np.arange(len(CATEGORIES)), per)
    rank = np.tile(np.arange(1, per + 1), len(CATEGORIES))
    weight = _CATEGORY_SHARES[category] / rank / np.sum(1.0 / np.arange(1, per + 1))
    old = np.arange(len(category)) - category  # 0..24 over the first five of each category
    created = np.where(rank < per, -520.0 + 5.0 * old, -10.0 * (category + 1))
    ids = [f"wo_{k * per + r + 1:02d}" for k in range(len(CATEGORIES)) for r in range(per)]
    focused = rng.random(n) < _FOCUSED_SHARE
    return _Items(
        field=field_name,
        ids=pa.array(ids, type=pa.string()),
        category=category.astype(np.int64),
        weight=weight,
        created_day=created,
        favourite=rng.choice(len(CATEGORIES), n, p=_CATEGORY_SHARES).astype(np.int64),
        focus=np.where(focused, rng.uniform(_FOCUS_LOW, _FOCUS_HIGH, n), 0.0),
    )


@dataclass
class _Outcomes:
    """What happened to each decision (in decision-id order) and the draws that time it."""

    order: IntArray  # input row of each
    ids: pa.Array
    idx: IntArray
    channel: IntArray  # -1: no message
    send: IntArray  # µs since the epoch
    sent: BoolArray
    delivered: BoolArray
    opened: BoolArray
    clicked: BoolArray
    converted: BoolArray  # message-driven
    organic: BoolArray
    unsubscribed: BoolArray
    draws: FloatArray  # (12, n)
    rng: np.random.Generator
    key: int  # the hash of the decision ids the generators are seeded with
    items: IntArray | None  # the recommended item's code (-1: none); None: no column


@dataclass(eq=False)
class World:
    """The simulated business. ``customers`` is the warehouse source; ``_truth`` is hidden."""

    seed: int
    start: dt.date
    customers: pd.DataFrame
    _truth: _Truth = field(repr=False)
    _index: pd.Index = field(repr=False)
    _ids: pa.Array = field(repr=False)
    drifts: tuple[AppealDrift, ...] = ()
    variants: tuple[NewVariant, ...] = ()
    items: _Items | None = field(default=None, repr=False)  # with_recommendations
    # Per field: the known values (ACTION_VALUES, then the registered variants); derived.
    _values: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    _value_sets: dict[str, pa.Array] = field(init=False, repr=False)
    # K over the known subject lines and offers, plus a last row and column of 0 (unknown).
    _coherence: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._values = {
            name: base + tuple(v.value for v in self.variants if v.field == name)
            for name, base in ACTION_VALUES.items()
        }
        self._value_sets = {k: pa.array(v, type=pa.string()) for k, v in self._values.items()}
        rows, cols = (
            [*range(len(ACTION_VALUES[f])), *(_like(v) for v in self.variants if v.field == f)]
            for f in ("subject_line", "offer")
        )
        self._coherence = np.pad(_COHERENCE[np.ix_(rows, cols)], ((0, 1), (0, 1)))
        for name in MESSAGE_FIELDS:
            if getattr(self._truth, _TERMS[name]).shape[1] != len(self._values[name]):
                raise ValueError(f"World: {name} terms do not match the variants (with_variants)")
        for drift in self.drifts:
            _check_drift(drift, self._values[drift.field])

    def with_drifts(self, *drifts: AppealDrift) -> World:
        """A copy of this world whose appeal drifts are ``drifts`` (replacing any before).

        Customers and hidden traits are shared; only the drift of the truth differs.
        """
        for drift in drifts:
            if not isinstance(drift, AppealDrift):
                raise TypeError(f"with_drifts: expected AppealDrift, got {type(drift).__name__}")
        return replace(self, drifts=tuple(drifts))  # checks their values

    def with_variants(self, *variants: NewVariant) -> World:
        """A copy of this world that knows ``variants`` (replacing any before); see the module
        docstring, "New variants".

        Customers and traits are shared; the term arrays of the fields with new variants are
        extended once by a column per variant (``like``'s column plus the shift). The drifts
        are kept and must not name a variant left out.
        """
        seen: set[tuple[str, str]] = set()
        for v in variants:
            if not isinstance(v, NewVariant):
                raise TypeError(f"with_variants: expected NewVariant, got {type(v).__name__}")
            if (v.field, v.value) in seen:
                raise ValueError(f"with_variants: {v.field} {v.value!r} given twice")
            seen.add((v.field, v.value))
        t = self._truth

        def extend(terms: FloatArray, name: str, shift: bool = True) -> FloatArray:
            k = len(ACTION_VALUES[name])
            new = [v for v in variants if v.field == name]
            if not new:
                return terms[:, :k]
            out = np.empty((len(terms), k + len(new)))
            out[:, :k] = terms[:, :k]
            for j, v in enumerate(new):
                out[:, k + j] = terms[:, _like(v)] + (v.logit_shift if shift else 0.0)
            return out

        truth = replace(
            t,
            open_subject=extend(t.open_subject, "subject_line"),
            click_greeting=extend(t.click_greeting, "greeting"),
            click_offer=extend(t.click_offer, "offer"),
            conv_offer=extend(t.conv_offer, "offer", shift=False),
        )
        return replace(self, _truth=truth, variants=tuple(variants))  # checks the drifts

    def with_recommendations(self, field_name: str = "workout") -> World:
        """A copy of this world with the workout catalog and item preferences (module
        docstring, "Recommendations"): its workouts carry an ``item_id`` and ``respond``
        reads the recommended item from the decisions' ``<field_name>_item_id`` column.

        Customers and every other trait and draw are shared; deterministic given the seed.
        """
        if not isinstance(field_name, str) or not field_name or field_name in FIELDS:
            raise ValueError(
                f"with_recommendations: {field_name!r} must name the recommendation field, "
                f"not one of {FIELDS}"
            )
        return replace(self, items=_make_items(self.seed, len(self.customers), field_name))

    @property
    def recommendation_field(self) -> str | None:
        """The message field whose ``<field>_item_id`` ``respond`` reads, if any."""
        return self.items.field if self.items is not None else None

    def catalog_items(self) -> pd.DataFrame:
        """The ``catalog_items`` source: item_id, name, category, active, created_at."""
        items = self._recommending()
        created = pd.Timestamp(self.start) + pd.to_timedelta(items.created_day, unit="D")
        names = [name for category in CATEGORIES for name in WORKOUTS[category]]
        return pd.DataFrame(
            {
                "item_id": pd.array(items.ids.to_pylist(), dtype="str"),
                "name": pd.array(names, dtype="str"),
                "category": _text(CATEGORIES, items.category),
                "active": np.ones(len(names), dtype=bool),
                "created_at": np.asarray(created, dtype="datetime64[us]"),
            }
        )

    def item_preferences(self, customer_ids: pd.Series | np.ndarray) -> pd.DataFrame:
        """The hidden preferences of these customers: favourite_category, focus (``f_i``)
        and focused (``f_i > 0``), in input order."""
        items = self._recommending()
        idx = self._locate(customer_ids)
        return pd.DataFrame(
            {
                "favourite_category": np.asarray(CATEGORIES, dtype=object)[items.favourite[idx]],
                "focus": items.focus[idx],
                "focused": items.focus[idx] > 0,
            }
        )

    def recommendation_logit(
        self, customer_ids: pd.Series | np.ndarray, item_ids: pd.Series | np.ndarray
    ) -> FloatArray:
        """``β_i(j)``, the click-logit shift of recommending ``item_ids`` (null: none)."""
        items = self._recommending()
        idx = self._locate(customer_ids)
        return items.logit(idx, items.codes(item_ids, "item_ids"))

    def _recommending(self) -> _Items:
        if self.items is None:
            raise ValueError("This world has no item catalog: use world.with_recommendations().")
        return self.items

    # -- product activity ---------------------------------------------------------------

    def history(self) -> pd.DataFrame:
        """Product events of the 365 days before ``start``, sorted by time.

        Per customer, a Poisson process of rate ``λ_i(u)`` from signup on: constant before the
        lapse, then decaying to ``φ λ_i0``. Sampled exactly as the superposition of a flat
        piece, a floor and a truncated exponential; each event keeps its day and takes a time
        of day around the customer's (local) preferred hour.
        """
        rng = np.random.default_rng([self.seed, 1])
        t = self._truth
        begin = np.maximum(t.created_day, -float(_HISTORY_DAYS))
        flat_end = np.minimum(t.lapse_day, 0.0)
        decay_begin = np.maximum(begin, t.lapse_day)
        lapsed = t.lapse_day < 0
        mass_flat = t.rate0 * np.clip(flat_end - begin, 0.0, None)
        mass_floor = np.where(lapsed, t.rate0 * _FLOOR * np.clip(-decay_begin, 0.0, None), 0.0)
        head = np.exp(-(decay_begin - t.lapse_day) / _TAU)
        tail = np.exp(t.lapse_day / _TAU)
        mass_decay = np.where(lapsed, t.rate0 * (1 - _FLOOR) * _TAU * (head - tail), 0.0)
        pieces = []
        for mass, kind in ((mass_flat, 0), (mass_floor, 1), (mass_decay, 2)):
            who = np.repeat(np.arange(len(mass)), rng.poisson(np.clip(mass, 0.0, None)))
            u = rng.random(len(who))
            if kind == 0:
                when = begin[who] + u * (flat_end[who] - begin[who])
            elif kind == 1:
                when = decay_begin[who] + u * (-decay_begin[who])
            else:
                when = decay_begin[who] + _truncated_exponential(u, _TAU, -decay_begin[who])
            pieces.append((who, when))
        who = np.concatenate([p[0] for p in pieces])
        when = np.concatenate([p[1] for p in pieces])
        day = np.clip(np.floor(when), -_HISTORY_DAYS, -1).astype(np.int64)
        return self._events(rng, who, day, self._item_rng(1))

    def organic_events(self, day: dt.date) -> pd.DataFrame:
        """Background product events on ``day`` (00:00-24:00 UTC) from the current rates.

        Counts are ``Poisson(∫_day λ_i)``; deterministic per (seed, day).
        """
        rng = np.random.default_rng([self.seed, 2, day.toordinal()])
        t = self._truth
        d0 = float((day - self.start).days)
        begin = np.maximum(t.created_day, d0)
        mass = np.clip(self._cumulative_rate(d0 + 1.0) - self._cumulative_rate(begin), 0.0, None)
        who = np.repeat(np.arange(len(mass)), rng.poisson(mass))
        days = np.full(len(who), int(d0), dtype=np.int64)
        return self._events(rng, who, days, self._item_rng(2, day.toordinal()))

    # -- responses ----------------------------------------------------------------------

    def respond(
        self, decisions: pd.DataFrame, window_hours: float = WINDOW_HOURS, *, organic: bool = True
    ) -> Response:
        """Sample how customers react to ``decisions`` within ``window_hours`` of each send.

        ``decisions``: decision_id, customer_id, channel, send_slot, send_at_utc and the
        message fields (``<field>_id`` columns are preferred over ``<field>`` when both
        exist, as in ``decisions_to_sync``). Channel ``""`` or null sends nothing (the other
        fields may then be null): no message events, only the organic conversion. Every event
        falls in ``[send_at_utc, send_at_utc + window)``. Deterministic: the generator is
        seeded by the world seed and a hash of the sorted decision ids, and draws are made in
        decision-id order. ``organic=False`` leaves out the organic conversions (use it when
        ``organic_events`` for the window's days are loaded too, which already hold them).
        Message values may be new variants, registered or not (module docstring).
        """
        n = len(decisions)
        if n == 0:
            return _empty_response(self.items is not None)
        out = self._outcomes(decisions, window_hours, organic)
        ids, idx, send, draws = out.ids, out.idx, out.send, out.draws
        minutes = _workout_minutes(out.rng, n)

        # Delays in whole seconds after the send, all inside [0, window - 1 s].
        window = window_hours * _US_PER_HOUR - 1e6
        t_dlv = np.minimum(draws[6] * 60e6, window)  # within a minute
        open_mean = np.array([3.0, 0.5, 0.3])[out.channel] * _US_PER_HOUR
        t_open = t_dlv + _truncated_exponential(draws[7], open_mean, window - t_dlv)
        t_click = t_open + _truncated_exponential(draws[8], 4 * 60e6, window - t_open)
        t_conv = t_click + _truncated_exponential(draws[9], 8.0 * _US_PER_HOUR, window - t_click)
        t_organic = draws[10] * window
        t_unsub = t_dlv + _truncated_exponential(draws[11], 2.0 * _US_PER_HOUR, window - t_dlv)

        rows = [
            (out.sent, np.zeros(n)),
            (out.delivered, t_dlv),
            (out.sent & ~out.delivered, t_dlv),
            (out.opened, t_open),
            (out.clicked, t_click),
            (out.unsubscribed, t_unsub),
        ]  # in _MESSAGE_EVENTS order
        which = np.concatenate([np.flatnonzero(m) for m, _ in rows])
        kind = np.concatenate([np.full(int(m.sum()), e) for e, (m, _) in enumerate(rows)])
        message_events = _frame(
            {
                "decision_id": (ids, which),
                "customer_id": (self._ids, idx[which]),
                "event_type": (_MESSAGE_EVENTS, kind),
            },
            np.concatenate([send[m] + _whole_seconds(t[m]) for m, t in rows]),
            tiebreak=which * len(_MESSAGE_EVENTS) + kind,
        )
        converted, organic_hit = out.converted, out.organic
        hit = np.concatenate([np.flatnonzero(converted), np.flatnonzero(organic_hit)])
        at = np.concatenate(
            [
                send[converted] + _whole_seconds(t_conv[converted]),
                send[organic_hit] + _whole_seconds(t_organic[organic_hit]),
            ]
        )
        columns: dict[str, Any] = {
            "customer_id": (self._ids, idx[hit]),
            "event_name": (_PRODUCT_EVENTS, np.full(len(hit), 1)),
            "value": minutes[hit],
        }
        if self.items is not None:
            items = self._response_items(self.items, out, hit, int(converted.sum()), at)
            columns["item_id"] = (self.items.ids, items)
        product_events = _frame(columns, at, tiebreak=np.arange(len(hit)))
        unsub = pd.DataFrame(
            {
                "customer_id": _text(self._ids, idx[out.unsubscribed]),
                "channel": _text(CHANNELS, out.channel[out.unsubscribed]),
            }
        )
        return Response(message_events, product_events, unsub)

    def _response_items(
        self, items: _Items, out: _Outcomes, hit: IntArray, converted: int, at: IntArray
    ) -> IntArray:
        """The workouts' items: the recommended one for the first ``converted`` (message-
        driven) when there is one, else drawn (stream [seed, 7, 3, hash of the ids])."""
        recommended = out.items[hit] if out.items is not None else np.full(len(hit), -1)
        chosen = np.where(np.arange(len(hit)) < converted, recommended, -1)
        rest = np.flatnonzero(chosen < 0)
        rng = np.random.default_rng([self.seed, _ITEM_STREAM, 3, out.key])
        when = (at[rest] - _date_us(self.start)) / _US_PER_DAY
        chosen[rest] = items.draw(rng, out.idx[hit[rest]], when)
        return np.asarray(chosen, dtype=np.int64)

    def realized_rewards(
        self,
        decisions: pd.DataFrame,
        weights: Mapping[str, float],
        window_hours: float = WINDOW_HOURS,
        *,
        organic: bool = True,
    ) -> np.ndarray:
        """The reward of each decision (input order) from the draws ``respond`` makes.

        ``w_open opened + w_click clicked + w_conversion (message or organic conversion)
        + w_unsubscribe unsubscribed``: what the warehouse computes from ``respond``'s events
        when a customer's windows do not overlap (else it also credits the other decision's
        conversions). ``weights`` as in ``expected_reward``; no event frames are built.
        """
        if len(decisions) == 0:
            return np.zeros(0)
        out = self._outcomes(decisions, window_hours, organic)
        w = _weights(weights)
        reward = (
            w[0] * out.opened
            + w[1] * out.clicked
            + w[2] * (out.converted | out.organic)
            + w[3] * out.unsubscribed
        )
        realized = np.empty(len(reward))
        realized[out.order] = reward
        return realized

    def expected_reward(
        self,
        customer_ids: pd.Series | np.ndarray,
        actions: Mapping[str, np.ndarray],
        weights: Mapping[str, float],
        *,
        window_hours: float = WINDOW_HOURS,
        send_at: pd.Series | np.ndarray | None = None,
    ) -> np.ndarray:
        """Exact ``E[reward]`` of ``actions[field][i]`` for customer ``i`` (module docstring).

        ``weights`` has keys open, click, conversion, unsubscribe (missing keys weigh 0).
        ``send_at`` (UTC) places the window for the organic term and is when the drifts are
        evaluated; default ``start`` 00:00. Channel ``""`` (or null) means no message (the
        other fields may then be null): ``w_conversion · P(organic)``. Message values may be
        new variants, registered or not (module docstring). With recommendations,
        ``actions["<field>_item_id"]`` (optional) is the recommended item (null: none).
        """
        idx = self._locate(customer_ids)
        items = None
        if self.items is not None and f"{self.items.field}_item_id" in actions:
            column = f"{self.items.field}_item_id"
            items = self.items.codes(actions[column], column)
        prob = self._probabilities(
            idx,
            _action_codes(actions, self._value_sets),
            self._send_times(send_at, len(idx)),
            window_hours,
            items,
        )
        w = _weights(weights)
        p_open = prob["deliver"] * prob["open_given_delivery"]
        p_msg = p_open * prob["click"] * prob["conversion"]
        return np.asarray(
            w[0] * p_open
            + w[1] * p_open * prob["click"]
            + w[2] * (1 - (1 - p_msg) * (1 - prob["organic"]))
            + w[3] * prob["deliver"] * prob["unsubscribe"]
        )

    def oracle_actions(
        self,
        customer_ids: pd.Series | np.ndarray,
        eligible_channels: np.ndarray | None,
        weights: Mapping[str, float],
        *,
        window_hours: float = WINDOW_HOURS,
        send_at: pd.Series | np.ndarray | None = None,
        values: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, np.ndarray]:
        """The best action per customer under the truth: argmax of ``expected_reward``.

        Exact and vectorized: the reward is ``b + p_open(c, s, l)·Q(l, g, o) + w_u p_u(c, s)``
        with ``p_open > 0``, so the best (greeting, offer) for each subject line maximizes
        ``Q``; then 3·4·L (channel, slot, subject) candidates remain. ``eligible_channels``:
        bool (n, 3) in CHANNELS order, None = the opt-ins. Customers with no eligible channel
        get channel ``""`` (skipped) and their best message otherwise. ``values``: per message
        field, the values to choose among (e.g. the catalog's, new variants included);
        default and for fields left out, the base values (ACTION_VALUES).
        """
        idx = self._locate(customer_ids)
        eligible = self._eligible(idx, eligible_channels)
        send = self._send_times(send_at, len(idx))
        labels, cols = self._choices(values)
        n_sl, n_gr, n_of = (len(labels[f]) for f in MESSAGE_FIELDS)
        best = np.empty(len(idx), dtype=np.int64)
        best_go = np.empty((len(idx), n_sl), dtype=np.int64)
        for chunk in _chunks(len(idx)):
            base, p_open, q, p_unsub = self._reward_parts(
                idx[chunk], send[chunk], window_hours, weights, cols
            )
            q_flat = q.reshape(len(q), n_sl, n_gr * n_of)
            best_go[chunk] = q_flat.argmax(axis=2)
            q_max = q_flat.max(axis=2)
            total = p_open * q_max[:, None, None, :] + p_unsub[:, :, :, None]
            total = np.where(eligible[chunk][:, :, None, None], total, -np.inf)
            best[chunk] = total.reshape(len(total), -1).argmax(axis=1)
        c, s, sl = np.unravel_index(best, (3, 4, n_sl))
        g, o = np.unravel_index(best_go[np.arange(len(idx)), sl], (n_gr, n_of))
        channel = np.asarray(CHANNELS, dtype=object)[c]
        channel[~eligible.any(axis=1)] = ""
        return {
            "channel": channel,
            "send_slot": np.asarray(tuple(SEND_SLOTS), dtype=object)[s],
            "subject_line": np.asarray(labels["subject_line"], dtype=object)[sl],
            "greeting": np.asarray(labels["greeting"], dtype=object)[g],
            "offer": np.asarray(labels["offer"], dtype=object)[o],
        }

    def uniform_expected_reward(
        self,
        customer_ids: pd.Series | np.ndarray,
        eligible_channels: np.ndarray | None,
        weights: Mapping[str, float],
        *,
        window_hours: float = WINDOW_HOURS,
        send_at: pd.Series | np.ndarray | None = None,
        values: Mapping[str, Sequence[str]] | None = None,
    ) -> np.ndarray:
        """``E[reward]`` of a uniformly random eligible action, per customer (NaN if none).

        ``values`` as in ``oracle_actions``: the message values drawn from.
        """
        idx = self._locate(customer_ids)
        eligible = self._eligible(idx, eligible_channels)
        send = self._send_times(send_at, len(idx))
        labels, cols = self._choices(values)
        n_sl = len(labels["subject_line"])
        out = np.empty(len(idx))
        for chunk in _chunks(len(idx)):
            base, p_open, q, p_unsub = self._reward_parts(
                idx[chunk], send[chunk], window_hours, weights, cols
            )
            q_mean = q.reshape(len(q), n_sl, -1).mean(axis=2)
            per_channel = (p_open * q_mean[:, None, None, :]).mean(axis=(2, 3))
            per_channel += p_unsub.mean(axis=2)
            mask = eligible[chunk]
            with np.errstate(invalid="ignore"):
                out[chunk] = base + (per_channel * mask).sum(axis=1) / mask.sum(axis=1)
        return out

    def best_fixed_action(
        self,
        customer_ids: pd.Series | np.ndarray,
        eligible_channels: np.ndarray | None,
        weights: Mapping[str, float],
        *,
        window_hours: float = WINDOW_HOURS,
        send_at: pd.Series | np.ndarray | None = None,
        values: Mapping[str, Sequence[str]] | None = None,
    ) -> tuple[dict[str, str], float]:
        """The single action with the highest mean ``E[reward]`` over these customers.

        A customer not eligible for its channel gets the first eligible one (CHANNELS order);
        customers with none are left out. Returns the action and its mean expected reward.
        ``values`` as in ``oracle_actions``: the message values to choose among.
        """
        idx = self._locate(customer_ids)
        eligible = self._eligible(idx, eligible_channels)
        keep: BoolArray = np.asarray(eligible.any(axis=1))
        send = self._send_times(send_at, len(idx))[keep]
        idx, eligible = idx[keep], eligible[keep]
        first = eligible.argmax(axis=1)
        labels, cols = self._choices(values)
        total = np.zeros((3, 4, *(len(labels[f]) for f in MESSAGE_FIELDS)))
        rows = np.arange(len(idx))
        for chunk in _chunks(len(idx)):
            base, p_open, q, p_unsub = self._reward_parts(
                idx[chunk], send[chunk], window_hours, weights, cols
            )
            r = rows[: len(base)]
            for channel in range(3):
                eff = np.where(eligible[chunk, channel], channel, first[chunk])
                po = p_open[r, eff]  # (m, 4, L)
                total[channel] += np.einsum("msl,mlgo->slgo", po, q)
                total[channel] += p_unsub[r, eff].sum(axis=0)[:, None, None, None] + base.sum()
        mean = total / max(len(idx), 1)
        c, s, sl, g, o = (int(k) for k in np.unravel_index(int(mean.argmax()), mean.shape))
        action = {
            "channel": CHANNELS[c],
            "send_slot": tuple(SEND_SLOTS)[s],
            "subject_line": labels["subject_line"][sl],
            "greeting": labels["greeting"][g],
            "offer": labels["offer"][o],
        }
        return action, float(mean.max())

    # -- internals ----------------------------------------------------------------------

    def _outcomes(self, decisions: pd.DataFrame, window_hours: float, organic: bool) -> _Outcomes:
        """The draws behind ``respond`` and ``realized_rewards``, in decision-id order.

        ``draws[0..5]`` decide delivery, open, click, conversion, organic conversion and
        unsubscribe (each ``draw < p``); ``draws[6..11]`` time them; ``rng`` goes on.
        """
        n = len(decisions)
        raw_ids = _strings(decisions["decision_id"].astype(str))
        order = pc.sort_indices(raw_ids).to_numpy().astype(np.int64)  # draws in id order
        ids = raw_ids.take(order)
        idx = self._locate(decisions["customer_id"])[order]
        actions = _decision_actions(decisions)
        codes = {k: v[order] for k, v in _action_codes(actions, self._value_sets).items()}
        send_at = decisions["send_at_utc"]
        if send_at.isna().any():
            raise ValueError("send_at_utc: null, also needed to place a no-message window")
        send = _as_us(send_at)[order]
        items = None
        if self.items is not None and f"{self.items.field}_item_id" in decisions.columns:
            column = f"{self.items.field}_item_id"
            items = self.items.codes(decisions[column], column)[order]
            items[codes["channel"] < 0] = -1  # nothing sent, nothing recommended
        prob = self._probabilities(idx, codes, send, window_hours, items)
        joined = pc.binary_join(pa.ListArray.from_arrays([0, n], ids), "\x1f")[0].as_py()
        digest = hashlib.blake2b(joined.encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "little")
        rng = np.random.default_rng([self.seed, key])
        draws = rng.random((12, n))
        delivered = draws[0] < prob["deliver"]
        opened = delivered & (draws[1] < prob["open_given_delivery"])
        clicked = opened & (draws[2] < prob["click"])
        return _Outcomes(
            order=order,
            ids=ids,
            idx=idx,
            channel=codes["channel"],
            send=send,
            sent=codes["channel"] >= 0,
            delivered=delivered,
            opened=opened,
            clicked=clicked,
            converted=clicked & (draws[3] < prob["conversion"]),
            organic=(draws[4] < prob["organic"]) if organic else np.zeros(n, dtype=bool),
            unsubscribed=delivered & (draws[5] < prob["unsubscribe"]),
            draws=draws,
            rng=rng,
            key=key,
            items=items,
        )

    def _locate(self, customer_ids: pd.Series | np.ndarray) -> IntArray:
        ids = customer_ids if isinstance(customer_ids, pd.Series) else pd.Index(customer_ids)
        idx = self._index.get_indexer(ids)  # type: ignore[arg-type]  # a Series works too
        if (idx < 0).any():
            unknown = np.asarray(customer_ids, dtype=object)[idx < 0][:3]
            raise KeyError(f"unknown customer_id(s): {list(unknown)}")
        return np.asarray(idx, dtype=np.int64)

    def _eligible(self, idx: IntArray, eligible_channels: np.ndarray | None) -> BoolArray:
        if eligible_channels is None:
            return self.customers[list(OPT_IN_COLUMNS)].to_numpy(dtype=bool)[idx]
        eligible = np.asarray(eligible_channels, dtype=bool)
        if eligible.shape != (len(idx), 3):
            raise ValueError(f"eligible_channels: expected shape ({len(idx)}, 3)")
        return eligible

    def _send_times(self, send_at: pd.Series | np.ndarray | None, n: int) -> IntArray:
        if send_at is None:
            return np.full(n, _date_us(self.start), dtype=np.int64)
        return _as_us(send_at)

    def _cumulative_rate(self, day: FloatArray | float, idx: IntArray | None = None) -> FloatArray:
        """``Λ_i(u) = ∫^u λ_i``, up to a constant, at ``u`` days relative to ``start``."""
        t = self._truth
        rate0 = t.rate0 if idx is None else t.rate0[idx]
        lapse = t.lapse_day if idx is None else t.lapse_day[idx]
        past = np.clip(np.asarray(day) - lapse, 0.0, None)
        decayed = _FLOOR * past + (1 - _FLOOR) * _TAU * -np.expm1(-past / _TAU)
        return np.asarray(rate0 * (np.minimum(day, lapse) + decayed))

    def _organic(self, idx: IntArray, send_us: IntArray, window_hours: float) -> FloatArray:
        start = (send_us - _date_us(self.start)) / _US_PER_DAY
        end = start + window_hours / 24.0
        t = self._truth
        start = np.maximum(start, t.created_day[idx])
        rate = self._cumulative_rate(end, idx) - self._cumulative_rate(start, idx)
        return np.asarray(-np.expm1(-_WORKOUT_SHARE * np.clip(rate, 0.0, None)))

    def _choices(
        self, values: Mapping[str, Sequence[str]] | None
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, IntArray | None]]:
        """Per message field, the values to choose among and their codes (as in
        ``_action_codes``; None: the base values)."""
        labels = {name: ACTION_VALUES[name] for name in MESSAGE_FIELDS}
        cols: dict[str, IntArray | None] = dict.fromkeys(MESSAGE_FIELDS)
        for name, chosen in (values or {}).items():
            if name not in MESSAGE_FIELDS:
                raise ValueError(
                    f"values: {name!r} is not a message field; expected keys among "
                    f"{MESSAGE_FIELDS} (channels: eligible_channels)"
                )
            given = (chosen,) if isinstance(chosen, str) else tuple(chosen)
            if not given or len(set(given)) < len(given):
                raise ValueError(f"values[{name!r}]: expected distinct values, got {given}")
            if not all(isinstance(v, str) and v for v in given):
                raise ValueError(f"values[{name!r}]: expected non-empty strings, got {given}")
            known = {v: k for k, v in enumerate(self._values[name])}
            labels[name] = given
            cols[name] = np.array([known.get(v, len(known)) for v in given], dtype=np.int64)
        return labels, cols

    def _drift_shifts(self, send_us: IntArray) -> list[tuple[str, int, FloatArray]]:
        """Per drift: its field, the code of its value and its logit shift at the send times."""
        day = (send_us - _date_us(self.start)) / _US_PER_DAY
        return [
            (
                drift.field,
                self._values[drift.field].index(drift.value),
                drift.logit_per_day * np.clip(day - (drift.start - self.start).days, 0.0, None),
            )
            for drift in self.drifts
        ]

    def _logits(
        self, idx: IntArray, send_us: IntArray, cols: Mapping[str, IntArray | None] | None = None
    ) -> dict[str, FloatArray]:
        """Per field, the logit term of each value to choose among, (m, k), with the drifts at
        the send times: open (channel, send_slot, subject_line), click (greeting, offer).
        ``cols[field]``: the values' codes, default (and always for channel, send_slot) the
        base values."""
        t = self._truth
        cols = cols or {}
        terms = {
            f: _columns(getattr(t, _TERMS[f]), idx, len(ACTION_VALUES[f]), cols.get(f))
            for f in FIELDS
        }  # copies: the drifts below leave the truth alone
        for name, k, shift in self._drift_shifts(send_us) if self.drifts else ():
            chosen = cols.get(name)
            if chosen is None:
                hit = np.array([k] if k < len(ACTION_VALUES[name]) else [], dtype=np.int64)
            else:
                hit = np.flatnonzero(chosen == k)
            terms[name][:, hit] += shift[:, None]
        return terms

    def _probabilities(
        self,
        idx: IntArray,
        codes: Mapping[str, IntArray],
        send_us: IntArray,
        window_hours: float,
        items: IntArray | None = None,
    ) -> dict[str, FloatArray]:
        """Per row; a code -1 (none) reads a placeholder that ``deliver = 0`` cancels.
        ``items``: the recommended item's code per row (-1: none), adding ``β`` to the click
        logit."""
        t = self._truth
        c, s, sl, o = (codes[f] for f in ("channel", "send_slot", "subject_line", "offer"))
        x = {
            f: _gather(getattr(t, _TERMS[f]), idx, codes[f], len(ACTION_VALUES[f])) for f in FIELDS
        }
        for name, k, shift in self._drift_shifts(send_us) if self.drifts else ():
            hit = codes[name] == k
            x[name][hit] += shift[hit]
        recommended: FloatArray | float = 0.0
        if items is not None and self.items is not None:
            recommended = self.items.logit(idx, items)
        return {
            "deliver": np.where(c >= 0, _DELIVERY[c], 0.0),
            "open_given_delivery": _sigmoid(x["channel"] + x["send_slot"] + x["subject_line"]),
            "click": _sigmoid(x["greeting"] + x["offer"] + self._coherence[sl, o] + recommended),
            "conversion": _sigmoid(_gather(t.conv_offer, idx, o, len(OFFERS))),
            "unsubscribe": _sigmoid(t.unsub[idx, c, s]),
            "organic": self._organic(idx, send_us, window_hours),
        }

    def _reward_parts(
        self,
        idx: IntArray,
        send_us: IntArray,
        window_hours: float,
        weights: Mapping[str, float],
        cols: Mapping[str, IntArray | None] | None = None,
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """``reward = base + p_open[c, s, l] · q[l, g, o] + p_unsub[c, s]`` per customer.

        Shapes: base (m,), p_open (m, 3, 4, L), q (m, L, G, O), p_unsub (m, 3, 4), with the
        weights folded into ``base``, ``q`` and ``p_unsub``; L, G, O count the message values
        ``cols`` (as in ``_logits``; by default the base values: 6, 4, 4).
        """
        t = self._truth
        cols = cols or {}
        w = _weights(weights)
        x = self._logits(idx, send_us, cols)
        organic = self._organic(idx, send_us, window_hours)
        sl, o = (cols.get(f) for f in ("subject_line", "offer"))
        coherence = self._coherence[
            np.ix_(
                np.arange(len(SUBJECT_LINES)) if sl is None else sl,
                np.arange(len(OFFERS)) if o is None else o,
            )
        ]
        p_open = _DELIVERY[None, :, None, None] * _sigmoid(
            x["channel"][:, :, None, None]
            + x["send_slot"][:, None, :, None]
            + x["subject_line"][:, None, None, :]
        )
        p_click = _sigmoid(
            x["greeting"][:, None, :, None]
            + x["offer"][:, None, None, :]
            + coherence[None, :, None, :]
        )
        p_conv = _sigmoid(_columns(t.conv_offer, idx, len(OFFERS), o))[:, None, None, :]
        q = w[0] + p_click * (w[1] + w[2] * (1 - organic)[:, None, None, None] * p_conv)
        p_unsub = w[3] * _DELIVERY[None, :, None] * _sigmoid(t.unsub[idx])
        return w[2] * organic, p_open, q, p_unsub

    def _item_rng(self, *stream: int) -> np.random.Generator | None:
        """The generator of a stream of item draws; None without recommendations."""
        if self.items is None:
            return None
        return np.random.default_rng([self.seed, _ITEM_STREAM, *stream])

    def _events(
        self,
        rng: np.random.Generator,
        who: IntArray,
        day: IntArray,
        item_rng: np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Product events for customers ``who`` on ``day`` (relative to start, UTC days);
        with ``item_rng`` (recommendations), workouts draw their item from it."""
        t = self._truth
        local = (t.preferred_hour[who] + rng.normal(0.0, 2.0, len(who))) % 24.0
        offsets = _utc_offsets(
            int(day.min()) if len(day) else 0, int(day.max()) + 1 if len(day) else 1, self.start
        )
        first_day = int(day.min()) if len(day) else 0
        utc_hour = (local - offsets[t.tz_code[who], day - first_day]) % 24.0
        second = (utc_hour * 3600.0).astype(np.int64) * 1_000_000
        at = _date_us(self.start) + day * _US_PER_DAY + second
        created = np.round(t.created_day[who] * 86_400).astype(np.int64) * 1_000_000
        keep = at >= _date_us(self.start) + created
        who, at = who[keep], at[keep]
        kind = rng.random(len(who))
        name = np.where(
            kind < _RENEWAL_SHARE, 2, np.where(kind < _RENEWAL_SHARE + _WORKOUT_SHARE, 1, 0)
        )
        price = np.where(t.is_monthly[who], PRICES["monthly"], PRICES["annual"])
        minutes = _workout_minutes(rng, len(who))
        value = np.choose(name, [np.zeros(len(who)), minutes, price])
        columns: dict[str, Any] = {
            "customer_id": (self._ids, who),
            "event_name": (_PRODUCT_EVENTS, name),
            "value": value,
        }
        if self.items is not None and item_rng is not None:
            workout = np.flatnonzero(name == 1)
            item = np.full(len(who), -1, dtype=np.int64)
            when = (at[workout] - _date_us(self.start)) / _US_PER_DAY
            item[workout] = self.items.draw(item_rng, who[workout], when)
            columns["item_id"] = (self.items.ids, item)
        return _frame(columns, at)


def generate_world(
    n_customers: int = 50_000, seed: int = 0, start: dt.date = dt.date(2026, 1, 1)
) -> World:
    """Draw customers, their hidden traits and activity; deterministic given ``seed``."""
    rng = np.random.default_rng([seed, 0])
    n = n_customers
    z = rng.standard_normal((9, n))

    age = np.clip(np.round(18 + 57 * rng.beta(2.0, 3.2, n)), 18, 75).astype(np.int64)
    a = (age - 40) / 15
    web = rng.random(n) < np.clip(0.08 + 0.55 * (age - 18) / 57, 0.0, 1.0)
    ios = rng.random(n) < 0.55
    platform = np.where(web, 2, np.where(ios, 0, 1))
    monthly = rng.random(n) < np.clip(0.75 - 0.15 * a, 0.2, 0.95)
    tz_names = tuple(TIMEZONES)
    tz_code = rng.choice(len(tz_names), n, p=np.array(list(TIMEZONES.values()))).astype(np.int64)
    created_day = -rng.uniform(1.0, 3 * 365.0, n)
    created_day = np.floor(created_day * 86_400) / 86_400  # whole seconds

    # Hidden traits.
    price = _sigmoid(-0.7 + 1.6 * monthly - 0.7 * a + 0.8 * z[0])
    preferred = np.clip(14.5 - 3.5 * a + 2.0 * z[1], 6.0, 23.5)
    goal = _sigmoid(0.1 + 0.6 * a + 0.6 * ~monthly + z[2])
    personal = _sigmoid(-0.2 + 1.0 * a + 0.8 * z[3])
    sms_fan = rng.random(n) < 0.08
    email_opt = rng.random(n) < 0.92
    push_opt = rng.random(n) < np.where(web, 0.12, 0.8)
    sms_opt = rng.random(n) < np.where(sms_fan, 0.75, 0.26)
    responsive = 0.5 * z[4]

    # Activity and lapse: a lapse at L_i days (before start for lapsed customers).
    rate0 = _RATE_MEAN * np.exp(0.5 * z[5])
    lapse_p = _sigmoid(-0.15 + 0.4 * monthly - 0.3 * (goal - 0.5) - 0.8 * (z[5] > 0.8))
    lapsed = (rng.random(n) < lapse_p) & (created_day < -21)
    lapse_day = np.where(
        lapsed,
        np.maximum(-14.0 - rng.exponential(150.0, n), created_day + 3.0),
        rng.exponential(200.0, n),
    )
    depth = np.clip(-lapse_day, 0.0, None)

    # Logit components of the response model.
    affinity = np.stack(  # e_ic
        [
            0.15 + 0.3 * a + 0.35 * web + 0.3 * z[6],
            -0.4 + 0.7 * ~web - 0.3 * a + 0.3 * z[7],
            -0.85 + 1.55 * sms_fan + 0.2 * z[8],
        ],
        axis=1,
    )
    slot_hours = np.array(list(SEND_SLOTS.values()), dtype=float)
    gap = np.abs(preferred[:, None] - slot_hours[None, :])
    gap = np.minimum(gap, 24 - gap)
    match = np.exp(-0.5 * (gap / _SLOT_WIDTH) ** 2)
    subject = np.stack(  # S_il, plus an idiosyncratic taste per subject line
        [
            0.05 + 0.7 * (personal - 0.5),
            -0.05 + 1.1 * (goal - 0.5) - 0.35 * a,
            -1.1 * (goal - 0.5) - 0.2 * a,
            -0.2 + 1.8 * (price - 0.5),
            np.zeros(n),
            -0.05 + 1.1 * (goal - 0.5) + 0.35 * a,
        ],
        axis=1,
    ) + 0.2 * rng.standard_normal((n, 6))
    greeting = np.stack(  # G_ig
        [
            1.1 * (personal - 0.5),
            -1.0 * (personal - 0.5) - 0.15 * a,
            0.7 * (goal - 0.5) - 0.05,
            np.full(n, -0.2),
        ],
        axis=1,
    )
    offer = np.stack(  # O_io
        [
            np.full(n, -0.3),
            -0.15 + 2.1 * (price - 0.5),
            0.15 - 1.0 * (goal - 0.5) - 0.3 * a,
            1.25 * (goal - 0.5) + 0.3 * a,
        ],
        axis=1,
    )
    activity = 0.6 * np.log(rate0 / _RATE_MEAN) - 0.3 * np.log1p(depth / 30.0)
    conversion = np.stack(  # V_io
        [np.zeros(n), 0.4 * price, 0.2 - 0.2 * a, 0.7 * goal], axis=1
    )
    unsub = _UNSUB_BASE[None, :, None] + 1.2 * (1 - match)[:, None, :] - 0.5 * affinity[:, :, None]

    ids = np.char.add("c", np.char.zfill(np.arange(1, n + 1).astype(str), 7)).astype(object)
    created_at = pd.Timestamp(start) + pd.to_timedelta(np.round(created_day * 86_400), unit="s")
    customers = pd.DataFrame(
        {
            "customer_id": _text(ids, np.arange(n)),
            "created_at": np.asarray(created_at, dtype="datetime64[us]"),
            "timezone": _text(tz_names, tz_code),
            "email_opt_in": email_opt,
            "push_opt_in": push_opt,
            "sms_opt_in": sms_opt,
            # A push needs the app's device token; a separate stream keeps the rest as is.
            "has_app_token": push_opt & (np.random.default_rng([seed, 1]).random(n) < 0.85),
            "first_name": _text(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n)),
            "plan": _text(("annual", "monthly"), monthly.astype(np.int64)),
            "platform": _text(PLATFORMS, platform),
            "age": age,
        }
    )
    truth = _Truth(
        tz_code=tz_code,
        preferred_hour=preferred,
        rate0=rate0,
        lapse_day=lapse_day,
        created_day=created_day,
        open_channel=_ALPHA + affinity + responsive[:, None],
        open_slot=_SLOT_WEIGHT * (match - 0.5),
        open_subject=subject,
        click_greeting=_GAMMA + greeting + 0.5 * responsive[:, None],
        click_offer=offer,
        conv_offer=_DELTA + activity[:, None] + conversion,
        unsub=unsub,
        is_monthly=monthly,
    )
    return World(seed, start, customers, truth, pd.Index(ids), pa.array(ids, type=pa.string()))


# -- helpers ------------------------------------------------------------------------------


def _sigmoid(x: Any) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float))))


def _weights(weights: Mapping[str, float]) -> tuple[float, float, float, float]:
    return (
        float(weights.get("open", 0.0)),
        float(weights.get("click", 0.0)),
        float(weights.get("conversion", 0.0)),
        float(weights.get("unsubscribe", 0.0)),
    )


def _truncated_exponential(u: FloatArray, mean: Any, bound: Any) -> FloatArray:
    """Inverse CDF of an exponential with ``mean`` truncated to ``[0, bound]``."""
    bound = np.clip(bound, 0.0, None)
    return np.asarray(-mean * np.log1p(-u * -np.expm1(-bound / mean)))


def _whole_seconds(delay_us: FloatArray) -> IntArray:
    return np.asarray(np.floor(delay_us / 1e6).astype(np.int64) * 1_000_000)


def _workout_minutes(rng: np.random.Generator, n: int) -> FloatArray:
    return np.round(5.0 + rng.gamma(3.0, 9.0, n), 1)


def _date_us(day: dt.date) -> int:
    return int(np.datetime64(day, "us").astype(np.int64))


def _as_us(values: Any) -> IntArray:
    return np.asarray(pd.to_datetime(values).to_numpy(dtype="datetime64[us]").astype(np.int64))


def _utc_offsets(first: int, last: int, start: dt.date) -> FloatArray:
    """Hours ahead of UTC per (timezone, day) at noon UTC, days ``first..last-1`` from start."""
    noon = pd.date_range(
        pd.Timestamp(start) + pd.Timedelta(days=first, hours=12),
        periods=last - first,
        freq="D",
        tz="UTC",
    )
    out = np.empty((len(TIMEZONES), len(noon)))
    for k, zone in enumerate(TIMEZONES):
        local = noon.tz_convert(zone).tz_localize(None)
        out[k] = (local - noon.tz_localize(None)).total_seconds() / 3600.0
    return out


def _decision_actions(decisions: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        name: decisions[f"{name}_id" if f"{name}_id" in decisions.columns else name]
        for name in FIELDS
    }


def _strings(values: Any) -> pa.Array:
    """``values`` as an Arrow string array, None, NaN and NA as null (no copy for ``str``)."""
    try:
        array = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all strings
        objects = np.asarray(values, dtype=object)
        array = pa.array([None if pd.isna(v) else str(v) for v in objects], type=pa.string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _action_codes(
    actions: Mapping[str, Any], value_sets: Mapping[str, pa.Array]
) -> dict[str, IntArray]:
    """Value ids to positions among the known values ``value_sets``, -1 for none.

    Channel ``""`` or null means no message; the other fields of such rows may be null too.
    Any other value of a message field unknown to the world gets ``len(value_sets[field])``
    (it behaves as the mean of the base values).
    """
    codes: dict[str, IntArray] = {}
    no_message: BoolArray | None = None
    for name in FIELDS:  # channel first
        values = _strings(actions[name])
        found = pc.index_in(values, value_set=value_sets[name])
        code = np.asarray(pc.fill_null(found, -1).to_numpy(), dtype=np.int64)
        missing = pc.fill_null(pc.equal(values, ""), True).to_numpy(zero_copy_only=False)
        no_message = missing if no_message is None else no_message
        if name in MESSAGE_FIELDS:
            code = np.where((code < 0) & ~missing, len(value_sets[name]), code)
        bad = (code < 0) & ~(no_message & missing)
        if bad.any():
            shown = sorted({str(v) for v in values.filter(pa.array(bad)).to_pylist()})[:3]
            where = " of a message" if name != "channel" else ""
            raise ValueError(
                f"{name}: unknown value(s){where} {shown}; known: {ACTION_VALUES[name]}"
            )
        codes[name] = code
    return codes


def _gather(terms: FloatArray, idx: IntArray, code: IntArray, k: int) -> FloatArray:
    """``terms[idx, code]`` per row: code -1 (none) reads a placeholder, a code past the last
    column (an unknown value) the row's mean of the first ``k`` columns (the base values)."""
    last = terms.shape[1] - 1
    out = np.asarray(terms[idx, np.minimum(code, last)])
    unknown = code > last
    if unknown.any():
        out[unknown] = terms[idx[unknown], :k].mean(axis=1)
    return out


def _columns(terms: FloatArray, idx: IntArray, k: int, cols: IntArray | None) -> FloatArray:
    """``terms[idx]`` at columns ``cols`` (default the first ``k``, the base values), (m, j); a
    column past the last (an unknown value) is the row's mean of the first ``k``."""
    if cols is None:
        return np.asarray(terms[idx] if terms.shape[1] == k else terms[idx, :k])
    last = terms.shape[1] - 1
    out = np.asarray(terms[idx[:, None], np.minimum(cols, last)[None, :]])
    unknown = cols > last
    if unknown.any():
        out[:, unknown] = terms[idx, :k].mean(axis=1, keepdims=True)
    return out


def _like(variant: NewVariant) -> int:
    """The column of the base value a new variant behaves like."""
    return ACTION_VALUES[variant.field].index(variant.like)


def _check_drift(drift: AppealDrift, known: Sequence[str]) -> None:
    if drift.value not in known:
        raise ValueError(
            f"AppealDrift: unknown {drift.field} {drift.value!r}; known: {tuple(known)}"
        )


def _chunks(n: int, size: int = 20_000) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)] or [slice(0, 0)]


def _text(labels: Any, codes: Any) -> pd.api.extensions.ExtensionArray:
    """A ``str`` column of ``labels[codes]`` (null where a code is negative), built in Arrow
    (fast for millions of rows)."""
    if not isinstance(labels, pa.Array):
        labels = pa.array(list(labels), type=pa.string())
    codes = np.asarray(codes, dtype=np.int64)
    missing = codes < 0  # null
    indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
    column: pd.api.extensions.ExtensionArray = pd.array(labels.take(indices), dtype="str")
    return column


def _frame(
    columns: Mapping[str, Any], occurred_at: IntArray, tiebreak: IntArray | None = None
) -> pd.DataFrame:
    """Rows sorted by time, then ``tiebreak``; ``(labels, codes)`` columns become ``str``.

    ``occurred_at`` (µs since the epoch) becomes a tz-naive UTC datetime64[us] column placed
    before ``value``; other columns become float.
    """
    if tiebreak is None:
        order = np.argsort(occurred_at, kind="stable")
    else:
        order = np.lexsort((tiebreak, occurred_at))
    data: dict[str, Any] = {}
    for name, column in columns.items():
        if name == "value":
            data["occurred_at"] = occurred_at[order].astype("datetime64[us]")
        if isinstance(column, tuple):
            data[name] = _text(column[0], np.asarray(column[1])[order])
        else:
            data[name] = np.asarray(column, dtype=float)[order]
    if "occurred_at" not in data:
        data["occurred_at"] = occurred_at[order].astype("datetime64[us]")
    return pd.DataFrame(data)


def _empty_response(items: bool = False) -> Response:
    text = pd.Series(dtype="str")
    at = pd.Series(dtype="datetime64[us]")
    product = {
        "customer_id": text,
        "event_name": text,
        "occurred_at": at,
        "value": pd.Series(dtype=float),
    }
    return Response(
        pd.DataFrame(
            {"decision_id": text, "customer_id": text, "event_type": text, "occurred_at": at}
        ),
        pd.DataFrame({**product, "item_id": text} if items else product),
        pd.DataFrame({"customer_id": text, "channel": text}),
    )
