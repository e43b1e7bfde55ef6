"""The ``decisioning`` config block: defaults, validation and typed access.

One source of truth for every setting. The dbt project reads the same defaults through
the generated macro ``macros/config/decisioning_defaults.sql`` (``make defaults``), and
the root model ``decisioning_config`` validates the block before any other model runs.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALGORITHMS = (
    "thompson_sampling",
    "linucb",
    "epsilon_greedy",
    "uniform_random",
    "ab_then_commit",
    "campaign_thompson_sampling",
)
REWARD_COMPONENTS = ("open", "click", "conversion", "unsubscribe")
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "customer_id",
        "created_at",
        "timezone",
        "email_opt_in",
        "push_opt_in",
        "sms_opt_in",
    ),
    "product_events": ("customer_id", "event_name", "occurred_at", "value"),
    "message_events": ("decision_id", "customer_id", "event_type", "occurred_at"),
    "suppressions": ("customer_id", "reason", "expires_at"),
    "historical_decisions": ("decision_id", "customer_id", "decided_at", "propensity"),
    "catalog_items": ("item_id", "name", "category", "active"),
}
"""Each source's required columns. ``historical_decisions`` also has a column per decided
field it logged and, optionally, each field's propensity (``<field>_propensity``), the
sends it allowed (``eligible_sends``) and the features (``x_*``) the old system saw."""
OPTIONAL_SOURCE_COLUMNS = {"product_events": {"item_id"}, "catalog_items": {"created_at"}}
"""Columns a source may have beside its contract: the item an event was about, when an item
joined the catalog (else its first event)."""
FIXED_FIELDS = ("channel", "send_slot")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")

DEFAULTS: dict[str, Any] = {
    "campaign_id": "campaign",
    "as_of": None,
    "sources": {
        "database": None,
        "schema": "raw",
        "customers": {"table": "customers", "columns": {}},
        "product_events": {"table": "product_events", "columns": {}},
        "message_events": {"table": "message_events", "columns": {}},
        "suppressions": {"table": None, "columns": {}},
        "historical_decisions": {"table": None, "columns": {}},
        "catalog_items": {"table": None, "columns": {}},
    },
    "features": {"lookback_days": 90, "categorical": {}, "numeric": []},
    "audience": {"inactive_days": None, "recontact_days": 7, "max_per_day": None},
    "reward": {
        "attribution_window_hours": 72,
        "weights": {"open": 0.1, "click": 0.3, "conversion": 1.0, "unsubscribe": -0.5},
        "conversion_events": [],
        "goals": [],
    },
    "policy": {
        "algorithm": "thompson_sampling",
        "prior_variance": 0.1,
        "half_life_days": 30.0,
        "propensity_floor": 0.01,
        "monte_carlo_draws": 64,
        "epsilon": 0.1,
        "ucb_alpha": 1.0,
        "test_days": 14,
        "send_nothing": False,
    },
    "message_fields": ["subject_line", "greeting", "offer"],
    "holdout": {
        "share": 0.1,
        "salt": "holdout-v1",
        "business_as_usual_share": 0.0,
        "default_action": {},
    },
    "guardrails": {
        "frequency_caps": [],
        "quiet_hours": None,
        "channels": {},
        "budgets": [],
        "max_exploration_share": None,
    },
    "evaluation": {"policies": [], "min_effective_sample_size": 100},
    "history": {"warm_start_weight": 1.0, "train_share": 0.5},
    "recommendations": {
        "field": None,
        "strategies": ["personalized", "popular", "new_in_category", "none"],
        "events": [],
        "top_k": 10,
        "lookback_days": 180,
        "exclude_recent_days": 14,
        "new_item_days": 60,
        "neighbors": 50,
        "evaluation_days": 14,
    },
    "llm": {
        "enabled": False,
        "model": None,
        "base_url": None,
        "api_key_env": "OPENAI_API_KEY",
        "timeout_seconds": 30,
        "max_retries": 3,
        "max_tokens_per_run": 50_000,
        "concurrency": 4,
    },
    "autotune": {
        "fields": [],
        "plateau": {
            "days": 5,
            "min_probability_best": 0.9,
            "max_relative_change": 0.05,
            "min_rewards": 200,
        },
        "cooldown_days": 7,
        "variants_per_run": 3,
        "auto_approve": False,
        "max_auto_approved_per_day": 1,
        "brand_guidelines": None,
        "banned_words": [],
        "placeholders": ["first_name"],
        "max_characters": {},
    },
}
DEFAULT_MODEL = "gpt-4.1-mini"
CHANNEL_MAX_CHARACTERS = {"sms": 160}
"""Length limits that apply unless ``autotune.max_characters`` sets the channel's own."""
_TIME_OF_DAY = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


class ConfigError(ValueError):
    """A setting in the ``decisioning`` var is missing, unknown, mistyped or out of range."""


@dataclass(frozen=True)
class PolicyConfig:
    algorithm: str
    prior_variance: float
    half_life_days: float | None
    propensity_floor: float
    monte_carlo_draws: int
    epsilon: float
    ucb_alpha: float
    test_days: int
    send_nothing: bool


@dataclass(frozen=True)
class HoldoutConfig:
    """Groups by a salted hash u of the customer id: holdout (no message) when
    ``u < share``, business as usual (``default_action``) when ``u < share +
    business_as_usual_share``, the policy otherwise."""

    share: float
    salt: str
    business_as_usual_share: float
    default_action: dict[str, str]


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``max_messages`` per customer in any ``days`` x 24 h (of ``channel`` only,
    when set), counting every campaign in the decision log."""

    max_messages: int
    days: int
    channel: str | None


@dataclass(frozen=True)
class QuietHours:
    """Local times of day when nothing is sent, ``[start, end)`` in minutes after
    midnight; wraps past midnight when ``start > end``."""

    start_minute: int
    end_minute: int

    def contains(self, minute: Any) -> Any:
        """Whether local time(s) of day ``minute`` fall in the quiet hours."""
        if self.start_minute <= self.end_minute:
            return (minute >= self.start_minute) & (minute < self.end_minute)
        return (minute >= self.start_minute) | (minute < self.end_minute)


@dataclass(frozen=True)
class ChannelRules:
    """Per-channel guardrails: a cost in reward units the channel must earn, its own
    quiet hours (on top of the campaign's), and customer columns that must be true."""

    cost: float
    quiet_hours: QuietHours | None
    requires: tuple[str, ...]


@dataclass(frozen=True)
class Budget:
    """At most ``max_count`` decisions a day, or ``max_share`` of the day's decisions, may
    get ``value`` of ``field``."""

    field: str
    value: str
    max_count: int | None
    max_share: float | None

    def limit(self, decisions: int) -> int:
        """The day's limit when ``decisions`` are made that day."""
        if self.max_count is not None:
            return self.max_count
        return math.floor((self.max_share or 0.0) * decisions + 1e-9)


@dataclass(frozen=True)
class GuardrailsConfig:
    frequency_caps: tuple[FrequencyCap, ...]
    quiet_hours: QuietHours | None
    channels: dict[str, ChannelRules]
    budgets: tuple[Budget, ...]
    max_exploration_share: float | None

    def channel_cost(self, channel: str) -> float:
        rules = self.channels.get(channel)
        return rules.cost if rules else 0.0


@dataclass(frozen=True)
class PolicySpec:
    """A policy to evaluate off-policy: fixed ``actions`` for some fields; the fields it
    leaves out follow the logged choice."""

    name: str
    description: str
    actions: dict[str, str]


@dataclass(frozen=True)
class EvaluationConfig:
    """Off-policy evaluation (model ``policy_evaluation``): the user's policies, and the
    effective sample size below which an estimate is flagged as unsupported."""

    policies: tuple[PolicySpec, ...]
    min_effective_sample_size: int


@dataclass(frozen=True)
class HistoryConfig:
    """The imported ``historical_decisions``: how much a historical reward counts in the
    policy's statistics next to a live one (0: not at all), and the share of its
    decisions, oldest first and cut at a day boundary, that candidate policies train on
    before being evaluated on the rest."""

    warm_start_weight: float
    train_share: float


RECOMMENDATION_STRATEGIES = ("personalized", "popular", "new_in_category", "none")
"""What a ``recommendation`` field's values mean: the customer's top item by co-occurrence
with what they did, the most popular item, the newest item of their favourite category, or
no recommendation."""


@dataclass(frozen=True)
class RecommendationConfig:
    """A message field whose values are recommendation ``strategies`` (the bandit chooses
    one per customer; the recommender models pick the item). ``events``: the product events
    that count as doing an item (empty: every event with an ``item_id``); items done within
    ``exclude_recent_days`` are not recommended again; ``top_k`` items per customer in
    ``customer_recommendations`` from ``lookback_days`` of events, ``neighbors`` similar
    items kept per item; an item is new for ``new_item_days``; the offline quality holds
    out the last ``evaluation_days``."""

    field: str | None
    strategies: tuple[str, ...]
    events: tuple[str, ...]
    top_k: int
    lookback_days: int
    exclude_recent_days: int
    new_item_days: int
    neighbors: int
    evaluation_days: int


@dataclass(frozen=True)
class LLMConfig:
    """The OpenAI-compatible endpoint of the LLM steps (tagging, Auto-Tune).

    ``model`` and ``base_url`` fall back to ``$OPENAI_MODEL`` / ``$OPENAI_BASE_URL``, then to
    OpenAI's; the key is read from the environment variable ``api_key_env``.
    """

    enabled: bool
    model: str | None
    base_url: str | None
    api_key_env: str
    timeout_seconds: float
    max_retries: int
    max_tokens_per_run: int
    concurrency: int


@dataclass(frozen=True)
class PlateauRule:
    """A field has plateaued on a day when, on each of its last ``days`` decision dates
    with finalized rewards, the same value leads (highest mean reward to date, among values
    with at least ``min_rewards``), its probability of being best is at least
    ``min_probability_best``, and its mean reward to date moved by at most
    ``max_relative_change`` (relative) from the first of those dates to the last."""

    days: int
    min_probability_best: float
    max_relative_change: float
    min_rewards: int


@dataclass(frozen=True)
class AutotuneConfig:
    """Auto-Tune: which fields it writes for, when, how many, and the rules every text
    must pass (``max_characters`` per channel, with ``CHANNEL_MAX_CHARACTERS`` underneath)."""

    fields: tuple[str, ...]
    plateau: PlateauRule
    cooldown_days: int
    variants_per_run: int
    auto_approve: bool
    max_auto_approved_per_day: int
    brand_guidelines: str | None
    banned_words: tuple[str, ...]
    placeholders: tuple[str, ...]
    max_characters: dict[str, int]


@dataclass(frozen=True)
class Goal:
    """A behavioural goal in the reward: 1 when the customer has at least ``at_least``
    product events named ``event`` in ``[send, send + within_days days)``, else 0; the
    reward adds ``weight`` times it (rewards column ``goal_<name>``)."""

    name: str
    event: str
    at_least: int
    within_days: int
    weight: float

    @property
    def window_hours(self) -> float:
        return 24.0 * self.within_days


BUILT_IN_POLICIES = (
    "logged",
    "current",
    "current_greedy",
    "uniform_random",
    "best_combination",
    "contextual_thompson_sampling",
    "campaign_thompson_sampling",
)


@dataclass(frozen=True)
class Config:
    """A validated ``decisioning`` block. ``raw`` keeps the full merged dict."""

    campaign_id: str
    as_of: dt.date
    message_fields: tuple[str, ...]
    policy: PolicyConfig
    holdout: HoldoutConfig
    guardrails: GuardrailsConfig
    evaluation: EvaluationConfig
    history: HistoryConfig
    recommendations: RecommendationConfig
    llm: LLMConfig
    autotune: AutotuneConfig
    reward_weights: dict[str, float]
    attribution_window_hours: float
    reward_goals: tuple[Goal, ...]
    raw: dict[str, Any]

    @property
    def reward_window_hours(self) -> float:
        """How long after the send a reward stays pending: the attribution window or the
        longest goal window, whichever is longer."""
        return max([self.attribution_window_hours, *(g.window_hours for g in self.reward_goals)])

    @property
    def fields(self) -> tuple[str, ...]:
        """Every decided field, in order: channel, send slot, then the message fields."""
        return FIXED_FIELDS + self.message_fields


def merge(
    defaults: Mapping[str, Any], overrides: Mapping[str, Any], path: str = ""
) -> dict[str, Any]:
    """Deep-merge ``overrides`` onto ``defaults``; unknown keys are an error.

    Mappings that hold user-named keys (column maps, categorical levels, the default
    action) are replaced, not merged.
    """
    merged = copy.deepcopy(dict(defaults))
    for key, value in overrides.items():
        where = f"{path}{key}"
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "(none)"
            raise ConfigError(f"decisioning.{where}: unknown setting. Known here: {known}.")
        default = defaults[key]
        if isinstance(default, Mapping) and default and isinstance(value, Mapping):
            merged[key] = merge(default, value, f"{where}.")
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(
    overrides: Mapping[str, Any] | str | None, run_date: dt.date | None = None
) -> Config:
    """Validate the user's ``decisioning`` block (a mapping or its JSON) over the defaults.

    ``run_date`` is the UTC date the build started; it is ``as_of`` when the block has none.
    """
    if isinstance(overrides, str):
        overrides = json.loads(overrides) if overrides.strip() else {}
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise ConfigError("decisioning: expected a mapping of settings, got " + _kind(overrides))
    raw = merge(DEFAULTS, overrides)
    _check_types(raw, DEFAULTS)
    as_of = _as_of(raw["as_of"], run_date)
    raw["as_of"] = as_of.isoformat()
    return Config(
        campaign_id=_identifier(raw["campaign_id"], "campaign_id"),
        as_of=as_of,
        message_fields=_message_fields(raw["message_fields"]),
        policy=_policy(raw["policy"]),
        holdout=_holdout(raw["holdout"]),
        guardrails=_guardrails(raw["guardrails"], FIXED_FIELDS + tuple(raw["message_fields"])),
        evaluation=_evaluation(raw["evaluation"], FIXED_FIELDS + tuple(raw["message_fields"])),
        history=_history(raw["history"]),
        recommendations=_recommendations(raw),
        llm=_llm(raw["llm"]),
        autotune=_autotune(
            raw["autotune"], tuple(raw["message_fields"]), raw["recommendations"]["field"]
        ),
        reward_weights=_weights(raw["reward"]["weights"]),
        attribution_window_hours=_positive(
            raw["reward"]["attribution_window_hours"], "reward.attribution_window_hours"
        ),
        reward_goals=_goals(raw["reward"]["goals"]),
        raw=_validated_rest(raw),
    )


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _check_types(raw: Mapping[str, Any], defaults: Mapping[str, Any], path: str = "") -> None:
    """Each value must have its default's type (``None`` defaults accept numbers and text)."""
    for key, default in defaults.items():
        value, where = raw[key], f"decisioning.{path}{key}"
        if default is None or value is None:
            continue
        if isinstance(default, bool) or isinstance(value, bool):
            ok = isinstance(value, bool) and isinstance(default, bool)
        elif isinstance(default, int | float):
            ok = isinstance(value, int | float)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise ConfigError(f"{where}: expected {type(default).__name__}, got {_kind(value)}.")
        if isinstance(default, Mapping) and default:
            _check_types(value, default, f"{path}{key}.")


def _as_of(value: Any, run_date: dt.date | None) -> dt.date:
    if value is None:
        return run_date or dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            f"decisioning.as_of: expected a date like 2026-01-31, got {value!r}."
        ) from None


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ConfigError(
            f"decisioning.{where}: {value!r} must be lower-case letters, digits and underscores, "
            "starting with a letter."
        )
    return value


def _positive(value: Any, where: str) -> float:
    if value is None or not value > 0:
        raise ConfigError(f"decisioning.{where}: must be a positive number, got {value!r}.")
    return float(value)


def _share(value: Any, where: str, upper: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < upper:
        raise ConfigError(f"decisioning.{where}: must be in [0, {upper:g}), got {value!r}.")
    return float(value)


def _probability(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"decisioning.{where}: must be in [0, 1], got {value!r}.")
    return float(value)


def _message_fields(value: list[Any]) -> tuple[str, ...]:
    fields = tuple(_identifier(f, "message_fields[]") for f in value)
    if not fields:
        raise ConfigError("decisioning.message_fields: list at least one field, e.g. subject_line.")
    clash = set(fields) & set(FIXED_FIELDS)
    if clash or len(set(fields)) != len(fields):
        raise ConfigError(
            f"decisioning.message_fields: {list(value)} repeats a field or uses a reserved name "
            f"({', '.join(FIXED_FIELDS)})."
        )
    return fields


def _policy(p: Mapping[str, Any]) -> PolicyConfig:
    if p["algorithm"] not in ALGORITHMS:
        raise ConfigError(
            f"decisioning.policy.algorithm: unknown algorithm {p['algorithm']!r}. "
            f"Choose one of: {', '.join(ALGORITHMS)}."
        )
    half_life = p["half_life_days"]
    draws = p["monte_carlo_draws"]
    if not isinstance(draws, int) or draws < 16:
        raise ConfigError(
            f"decisioning.policy.monte_carlo_draws: need an integer >= 16, got {draws!r}."
        )
    test_days = p["test_days"]
    if not isinstance(test_days, int) or test_days < 1:
        raise ConfigError(
            f"decisioning.policy.test_days: need a whole number of days >= 1, got {test_days!r}."
        )
    return PolicyConfig(
        algorithm=p["algorithm"],
        prior_variance=_positive(p["prior_variance"], "policy.prior_variance"),
        half_life_days=None if half_life is None else _positive(half_life, "policy.half_life_days"),
        propensity_floor=_share(p["propensity_floor"], "policy.propensity_floor", 0.5),
        monte_carlo_draws=draws,
        epsilon=_probability(p["epsilon"], "policy.epsilon"),
        ucb_alpha=_positive(p["ucb_alpha"], "policy.ucb_alpha"),
        test_days=test_days,
        send_nothing=bool(p["send_nothing"]),
    )


def _holdout(h: Mapping[str, Any]) -> HoldoutConfig:
    action = h["default_action"]
    if not all(isinstance(v, str) for v in action.values()):
        raise ConfigError(
            "decisioning.holdout.default_action: values must be catalog ids (text), "
            f"got {action!r}."
        )
    if not h["salt"]:
        raise ConfigError("decisioning.holdout.salt: must be non-empty text.")
    share = _share(h["share"], "holdout.share")
    usual = _share(h["business_as_usual_share"], "holdout.business_as_usual_share")
    if share + usual >= 1:
        raise ConfigError(
            f"decisioning.holdout: share ({share:g}) + business_as_usual_share ({usual:g}) "
            "must leave the policy some customers (sum below 1)."
        )
    return HoldoutConfig(
        share=share, salt=str(h["salt"]), business_as_usual_share=usual, default_action=dict(action)
    )


def _guardrails(g: Mapping[str, Any], fields: tuple[str, ...]) -> GuardrailsConfig:
    ceiling = g["max_exploration_share"]
    if ceiling is not None:
        ceiling = _probability(ceiling, "guardrails.max_exploration_share")
    channels = g["channels"]
    if not isinstance(channels, Mapping):
        raise ConfigError(
            "decisioning.guardrails.channels: expected a mapping of channel id to rules, e.g. "
            "{sms: {cost: 0.05}}."
        )
    return GuardrailsConfig(
        frequency_caps=tuple(
            _frequency_cap(cap, f"guardrails.frequency_caps[{i}]")
            for i, cap in enumerate(g["frequency_caps"])
        ),
        quiet_hours=_quiet_hours(g["quiet_hours"], "guardrails.quiet_hours"),
        channels={
            str(c): _channel_rules(rules, f"guardrails.channels.{c}")
            for c, rules in channels.items()
        },
        budgets=_budgets(g["budgets"], fields),
        max_exploration_share=ceiling,
    )


def _settings(value: Any, where: str, known: Mapping[str, Any], example: str) -> dict[str, Any]:
    """A mapping with only ``known`` keys, over their defaults."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"decisioning.{where}: expected a mapping like {example}, got {value!r}.")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ConfigError(
            f"decisioning.{where}: unknown setting(s) {unknown}. Known here: {', '.join(known)}."
        )
    return {**known, **value}


def _whole(value: Any, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"decisioning.{where}: need a whole number >= {minimum}, got {value!r}.")
    return int(value)


def _frequency_cap(value: Any, where: str) -> FrequencyCap:
    cap = _settings(
        value,
        where,
        {"max_messages": None, "days": None, "channel": None},
        "{max_messages: 3, days: 7}",
    )
    channel = cap["channel"]
    if channel is not None and not isinstance(channel, str):
        raise ConfigError(f"decisioning.{where}.channel: expected a channel id, got {channel!r}.")
    return FrequencyCap(
        max_messages=_whole(cap["max_messages"], f"{where}.max_messages"),
        days=_whole(cap["days"], f"{where}.days"),
        channel=channel,
    )


def _quiet_hours(value: Any, where: str) -> QuietHours | None:
    if value is None:
        return None
    hours = _settings(value, where, {"start": None, "end": None}, '{start: "21:00", end: "08:00"}')
    minutes = []
    for key in ("start", "end"):
        match = _TIME_OF_DAY.match(str(hours[key]))
        if not isinstance(hours[key], str) or not match:
            raise ConfigError(
                f'decisioning.{where}.{key}: expected a local time like "21:00", '
                f"got {hours[key]!r}."
            )
        minutes.append(int(match[1]) * 60 + int(match[2]))
    if minutes[0] == minutes[1]:
        raise ConfigError(f"decisioning.{where}: start and end are equal; remove the setting.")
    return QuietHours(*minutes)


def _channel_rules(value: Any, where: str) -> ChannelRules:
    rules = _settings(
        value, where, {"cost": 0.0, "quiet_hours": None, "requires": []}, "{cost: 0.05}"
    )
    cost = rules["cost"]
    if isinstance(cost, bool) or not isinstance(cost, int | float) or cost < 0:
        raise ConfigError(
            f"decisioning.{where}.cost: expected a number >= 0 (reward units), got {cost!r}."
        )
    requires = rules["requires"]
    if not isinstance(requires, list):
        raise ConfigError(
            f"decisioning.{where}.requires: list customer columns that must be true, "
            f"e.g. [has_app_token]; got {requires!r}."
        )
    return ChannelRules(
        cost=float(cost),
        quiet_hours=_quiet_hours(rules["quiet_hours"], f"{where}.quiet_hours"),
        requires=tuple(_identifier(c, f"{where}.requires[]") for c in requires),
    )


def _budgets(value: list[Any], fields: tuple[str, ...]) -> tuple[Budget, ...]:
    budgets = []
    for i, item in enumerate(value):
        where = f"guardrails.budgets[{i}]"
        b = _settings(
            item,
            where,
            {"field": None, "value": None, "max_count": None, "max_share": None},
            "{field: offer, value: of_discount_20, max_share: 0.05}",
        )
        if b["field"] not in fields:
            raise ConfigError(
                f"decisioning.{where}.field: {b['field']!r} is not a decided field. "
                f"Choose one of: {', '.join(fields)}."
            )
        if not isinstance(b["value"], str):
            raise ConfigError(
                f"decisioning.{where}.value: expected a catalog id, got {b['value']!r}."
            )
        if (b["max_count"] is None) == (b["max_share"] is None):
            raise ConfigError(f"decisioning.{where}: set exactly one of max_count and max_share.")
        budgets.append(
            Budget(
                field=b["field"],
                value=b["value"],
                max_count=None
                if b["max_count"] is None
                else _whole(b["max_count"], f"{where}.max_count", 0),
                max_share=None
                if b["max_share"] is None
                else _probability(b["max_share"], f"{where}.max_share"),
            )
        )
    keys = [(b.field, b.value) for b in budgets]
    if len(set(keys)) != len(keys):
        raise ConfigError("decisioning.guardrails.budgets: one budget per field value.")
    return tuple(budgets)


def _evaluation(e: Mapping[str, Any], fields: tuple[str, ...]) -> EvaluationConfig:
    policies: list[PolicySpec] = []
    for i, item in enumerate(e["policies"]):
        where = f"evaluation.policies[{i}]"
        spec = _settings(
            item,
            where,
            {"name": None, "description": "", "actions": None},
            "{name: email_mornings, actions: {channel: email, send_slot: h08}}",
        )
        name = _identifier(spec["name"], f"{where}.name")
        if name in BUILT_IN_POLICIES or name in {p.name for p in policies}:
            raise ConfigError(
                f"decisioning.{where}.name: {name!r} is taken (built in: "
                f"{', '.join(BUILT_IN_POLICIES)}); choose another name."
            )
        actions = spec["actions"]
        if not isinstance(actions, Mapping) or not actions:
            raise ConfigError(
                f"decisioning.{where}.actions: map fields to catalog ids, e.g. "
                "{channel: email, offer: of_none}."
            )
        for field, value in actions.items():
            if field not in fields:
                raise ConfigError(
                    f"decisioning.{where}.actions.{field}: not a decided field. "
                    f"Choose from: {', '.join(fields)}."
                )
            if not isinstance(value, str):
                raise ConfigError(
                    f"decisioning.{where}.actions.{field}: expected a catalog id, got {value!r}."
                )
        policies.append(PolicySpec(name, str(spec["description"] or ""), dict(actions)))
    return EvaluationConfig(
        tuple(policies),
        _whole(e["min_effective_sample_size"], "evaluation.min_effective_sample_size"),
    )


def _history(h: Mapping[str, Any]) -> HistoryConfig:
    train_share = _share(h["train_share"], "history.train_share")
    if train_share == 0:
        raise ConfigError(
            "decisioning.history.train_share: must be in (0, 1): the share of the history's "
            "decisions candidate policies learn from before the rest evaluates them, e.g. 0.5."
        )
    return HistoryConfig(
        warm_start_weight=_share(h["warm_start_weight"], "history.warm_start_weight", math.inf),
        train_share=train_share,
    )


def _recommendations(raw: Mapping[str, Any]) -> RecommendationConfig:
    r, where = raw["recommendations"], "decisioning.recommendations"
    field = r["field"]
    if field is not None and field not in raw["message_fields"]:
        raise ConfigError(
            f"{where}.field: {field!r} is not a message field. List it in "
            "decisioning.message_fields too (its values are the strategies), or set null."
        )
    if field is not None and not raw["sources"]["catalog_items"]["table"]:
        raise ConfigError(
            f"{where}.field: recommending needs the catalog: set "
            "decisioning.sources.catalog_items.table to your items table."
        )
    strategies = tuple(r["strategies"])
    unknown = [s for s in strategies if s not in RECOMMENDATION_STRATEGIES]
    if unknown or not strategies or len(set(strategies)) < len(strategies):
        raise ConfigError(
            f"{where}.strategies: {list(strategies)}: list distinct strategies among "
            f"{', '.join(RECOMMENDATION_STRATEGIES)}."
        )
    if not all(isinstance(e, str) and e for e in r["events"]):
        raise ConfigError(f"{where}.events: list product event names as text, e.g. [workout].")
    return RecommendationConfig(
        field=field,
        strategies=strategies,
        events=tuple(r["events"]),
        top_k=_whole(r["top_k"], "recommendations.top_k"),
        lookback_days=_whole(r["lookback_days"], "recommendations.lookback_days"),
        exclude_recent_days=_whole(
            r["exclude_recent_days"], "recommendations.exclude_recent_days", minimum=0
        ),
        new_item_days=_whole(r["new_item_days"], "recommendations.new_item_days"),
        neighbors=_whole(r["neighbors"], "recommendations.neighbors"),
        evaluation_days=_whole(r["evaluation_days"], "recommendations.evaluation_days"),
    )


def _llm(c: Mapping[str, Any]) -> LLMConfig:
    for key in ("model", "base_url"):
        if c[key] is not None and not (isinstance(c[key], str) and c[key].strip()):
            raise ConfigError(f"decisioning.llm.{key}: expected text or null, got {c[key]!r}.")
    if not isinstance(c["api_key_env"], str) or not c["api_key_env"]:
        raise ConfigError(
            "decisioning.llm.api_key_env: name the environment variable holding the API key, "
            "e.g. OPENAI_API_KEY."
        )
    return LLMConfig(
        enabled=bool(c["enabled"]),
        model=c["model"],
        base_url=c["base_url"],
        api_key_env=c["api_key_env"],
        timeout_seconds=_positive(c["timeout_seconds"], "llm.timeout_seconds"),
        max_retries=_whole(c["max_retries"], "llm.max_retries", minimum=0),
        max_tokens_per_run=_whole(c["max_tokens_per_run"], "llm.max_tokens_per_run"),
        concurrency=_whole(c["concurrency"], "llm.concurrency"),
    )


def _autotune(
    a: Mapping[str, Any], message_fields: tuple[str, ...], recommendation: str | None = None
) -> AutotuneConfig:
    """The recommendation field's values are strategies, not texts: Auto-Tune never writes
    for it (left out of the default fields, refused in ``autotune.fields``)."""
    texts = tuple(f for f in message_fields if f != recommendation)
    fields = tuple(a["fields"]) or texts
    if recommendation is not None and recommendation in fields:
        raise ConfigError(
            f"decisioning.autotune.fields: {recommendation!r} is the recommendation field "
            "(recommendations.field); its values are strategies, not texts Auto-Tune could "
            f"write. Choose from: {', '.join(texts)} (or leave empty for all)."
        )
    unknown = [f for f in fields if f not in message_fields]
    if unknown:
        raise ConfigError(
            f"decisioning.autotune.fields: {unknown} are not message fields. "
            f"Choose from: {', '.join(texts)} (or leave empty for all)."
        )
    p = a["plateau"]
    limits = a["max_characters"]
    for channel, limit in limits.items():
        _whole(limit, f"autotune.max_characters.{channel}")
    for key in ("banned_words", "placeholders"):
        if not all(isinstance(w, str) and w.strip() for w in a[key]):
            raise ConfigError(f"decisioning.autotune.{key}: list non-empty text items.")
    guidelines = a["brand_guidelines"]
    if guidelines is not None and not isinstance(guidelines, str):
        raise ConfigError(
            "decisioning.autotune.brand_guidelines: the path of a text file (relative to the "
            f"project), got {guidelines!r}."
        )
    return AutotuneConfig(
        fields=fields,
        plateau=PlateauRule(
            days=_whole(p["days"], "autotune.plateau.days", minimum=2),
            min_probability_best=_probability(
                p["min_probability_best"], "autotune.plateau.min_probability_best"
            ),
            max_relative_change=_positive(
                p["max_relative_change"], "autotune.plateau.max_relative_change"
            ),
            min_rewards=_whole(p["min_rewards"], "autotune.plateau.min_rewards"),
        ),
        cooldown_days=_whole(a["cooldown_days"], "autotune.cooldown_days", minimum=0),
        variants_per_run=_whole(a["variants_per_run"], "autotune.variants_per_run"),
        auto_approve=bool(a["auto_approve"]),
        max_auto_approved_per_day=_whole(
            a["max_auto_approved_per_day"], "autotune.max_auto_approved_per_day", minimum=0
        ),
        brand_guidelines=guidelines,
        banned_words=tuple(w.strip() for w in a["banned_words"]),
        placeholders=tuple(w.strip() for w in a["placeholders"]),
        max_characters={**CHANNEL_MAX_CHARACTERS, **{str(c): int(v) for c, v in limits.items()}},
    )


def _weights(weights: Mapping[str, Any]) -> dict[str, float]:
    for name, value in weights.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"decisioning.reward.weights.{name}: expected a number, got {value!r}."
            )
    return {c: float(weights.get(c, 0.0)) for c in REWARD_COMPONENTS}


GOAL_EXAMPLE = (
    "{name: two_workouts, event: workout_completed, at_least: 2, within_days: 7, weight: 1.0}"
)


def _goals(value: list[Any]) -> tuple[Goal, ...]:
    goals: list[Goal] = []
    for i, item in enumerate(value):
        where = f"reward.goals[{i}]"
        keys = ("name", "event", "at_least", "within_days", "weight")
        goal = _settings(item, where, dict.fromkeys(keys), GOAL_EXAMPLE)
        missing = [k for k in keys if goal[k] is None]
        if missing:
            raise ConfigError(
                f"decisioning.{where}: missing {', '.join(missing)}; a goal is like {GOAL_EXAMPLE}."
            )
        name = _identifier(goal["name"], f"{where}.name")
        if name in REWARD_COMPONENTS or name in {g.name for g in goals}:
            raise ConfigError(
                f"decisioning.{where}.name: {name!r} is taken (reward components: "
                f"{', '.join(REWARD_COMPONENTS)}; goal names are unique); choose another name."
            )
        event = goal["event"]
        if not isinstance(event, str) or not event.strip():
            raise ConfigError(
                f"decisioning.{where}.event: name a product event (event_name), e.g. "
                f"workout_completed; got {event!r}."
            )
        weight = goal["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ConfigError(
                f"decisioning.{where}.weight: expected a number (reward units), got {weight!r}."
            )
        goals.append(
            Goal(
                name=name,
                event=event,
                at_least=_whole(goal["at_least"], f"{where}.at_least"),
                within_days=_whole(goal["within_days"], f"{where}.within_days"),
                weight=float(weight),
            )
        )
    return tuple(goals)


def _validated_rest(raw: dict[str, Any]) -> dict[str, Any]:
    """Checks for the settings only SQL reads (sources, features, audience, reward events)."""
    for source, contract in SOURCE_COLUMNS.items():
        spec = raw["sources"][source]
        if not isinstance(spec, Mapping) or set(spec) - {"table", "columns"}:
            raise ConfigError(
                f"decisioning.sources.{source}: expected {{table: ..., columns: {{...}}}}, "
                f"got {spec!r}."
            )
        unknown = set(spec.get("columns", {})) - set(contract)
        if source == "historical_decisions":
            fields = (*FIXED_FIELDS, *raw["message_fields"])
            unknown -= {*fields, *(f"{f}_propensity" for f in fields), "eligible_sends"}
            unknown = {c for c in unknown if not str(c).startswith("x_")}
        unknown -= OPTIONAL_SOURCE_COLUMNS.get(source, set())
        if unknown:
            raise ConfigError(
                f"decisioning.sources.{source}.columns: {sorted(unknown)} not in the contract. "
                f"Map contract names to your columns: {', '.join(contract)}."
            )
    features = raw["features"]
    for attribute, levels in features["categorical"].items():
        _identifier(attribute, f"features.categorical.{attribute}")
        if not isinstance(levels, list) or not levels:
            raise ConfigError(
                f"decisioning.features.categorical.{attribute}: list the levels to encode, "
                "e.g. [monthly, annual]."
            )
    for attribute in features["numeric"]:
        _identifier(attribute, "features.numeric[]")
    _positive(features["lookback_days"], "features.lookback_days")
    audience = raw["audience"]
    for key in ("inactive_days", "recontact_days", "max_per_day"):
        if audience[key] is not None:
            _positive(audience[key], f"audience.{key}")
    if not all(isinstance(e, str) for e in raw["reward"]["conversion_events"]):
        raise ConfigError("decisioning.reward.conversion_events: list event names as text.")
    return raw


def jinja_defaults_macro() -> str:
    """The dbt macro that hands ``DEFAULTS`` to Jinja (written by ``make defaults``)."""
    payload = json.dumps(DEFAULTS, sort_keys=True).replace("'", "\\'")
    return (
        "{#- Generated from python/decisioning/config.py by `make defaults`. Do not edit. -#}\n"
        "{% macro decisioning_defaults() %}\n"
        f"  {{{{ return(fromjson('{payload}')) }}}}\n"
        "{% endmacro %}\n"
    )


if __name__ == "__main__":
    print(jinja_defaults_macro(), end="")
