"""The ``decisioning`` config block: defaults, validation and typed access.

One source of truth for every setting. The dbt project reads the same defaults through
the generated macro ``macros/config/decisioning_defaults.sql`` (``make defaults``), and
the root model ``decisioning_config`` validates the block before any other model runs.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
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
}
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
    },
    "features": {"lookback_days": 90, "categorical": {}, "numeric": []},
    "audience": {"inactive_days": None, "recontact_days": 7, "max_per_day": None},
    "reward": {
        "attribution_window_hours": 72,
        "weights": {"open": 0.1, "click": 0.3, "conversion": 1.0, "unsubscribe": -0.5},
        "conversion_events": [],
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
    "holdout": {"share": 0.1, "salt": "holdout-v1", "default_action": {}},
}


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
    share: float
    salt: str
    default_action: dict[str, str]


@dataclass(frozen=True)
class Config:
    """A validated ``decisioning`` block. ``raw`` keeps the full merged dict."""

    campaign_id: str
    as_of: dt.date
    message_fields: tuple[str, ...]
    policy: PolicyConfig
    holdout: HoldoutConfig
    reward_weights: dict[str, float]
    attribution_window_hours: float
    raw: dict[str, Any]

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
        reward_weights=_weights(raw["reward"]["weights"]),
        attribution_window_hours=_positive(
            raw["reward"]["attribution_window_hours"], "reward.attribution_window_hours"
        ),
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
    if not 0 <= value < upper:
        raise ConfigError(f"decisioning.{where}: must be in [0, {upper:g}), got {value!r}.")
    return float(value)


def _probability(value: Any, where: str) -> float:
    if not 0 <= value <= 1:
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
    return HoldoutConfig(
        share=_share(h["share"], "holdout.share"),
        salt=str(h["salt"]),
        default_action=dict(action),
    )


def _weights(weights: Mapping[str, Any]) -> dict[str, float]:
    for name, value in weights.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"decisioning.reward.weights.{name}: expected a number, got {value!r}."
            )
    return {c: float(weights.get(c, 0.0)) for c in REWARD_COMPONENTS}


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
