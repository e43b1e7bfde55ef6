r"""Auto-Tune: when a field's winners plateau, an LLM writes new variants in their style.

Plateau rule (``PlateauRule``, settings ``autotune.plateau``), per message field, on the
policy group's finalized rewards (model ``variant_daily_rewards``). Take the field's last
``days`` decision dates with rewards, up to ``as_of``. On each date d, every active value v
with at least ``min_rewards`` rewards to date has a mean reward to date with a normal
standard error,

.. math::  \bar r_v(d) = \frac{S_v}{n_v}, \qquad
           se_v(d) = \sqrt{\frac{Q_v / n_v - \bar r_v^2}{n_v}}

(S, Q: sums of rewards and of their squares), and a probability of being best
``P(v = argmax_u N(r̄_u, se_u²))`` (``variants.probability_best``). The field has plateaued
when one value leads on every one of those dates with that probability at least
``min_probability_best``, and its mean to date moved by at most ``max_relative_change``:
``|r̄(d_last) - r̄(d_first)| <= max_relative_change · |r̄(d_first)|``. A field with a pending
candidate, or candidates written within ``cooldown_days``, waits.

Every generated text passes ``check_text`` (length per channel, banned words, known
placeholders only, no links, no duplicate of an existing variant or candidate) or is
recorded as rejected with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from decisioning.config import AutotuneConfig, PlateauRule
from decisioning.variants import probability_best

SHOWN_PER_SIDE = 3
"""Winners and losers shown to the model, each."""

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LINK = re.compile(r"https?://|www\.", re.I)
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class FieldState:
    """A field's standing on ``as_of``: whether it plateaued and why (``reason``), and per
    value at the last date (``values``: value_id, rewards, mean_reward, probability_best)."""

    field: str
    plateaued: bool
    reason: str
    leader: str | None
    values: pd.DataFrame


def detect_plateaus(
    daily: pd.DataFrame,
    active: Mapping[str, Iterable[str]],
    rule: PlateauRule,
    as_of: dt.date,
) -> dict[str, FieldState]:
    """Apply the plateau rule to each field of ``active`` (field -> active value ids).

    ``daily``: field, value_id, decision_date, rewards, reward_sum, reward_sum_squares.
    """
    day = pd.to_datetime(daily["decision_date"]).dt.date
    daily = daily.assign(decision_date=day)[day <= as_of]
    return {
        field: _field_state(
            field, daily[(daily["field"] == field) & daily["value_id"].isin(list(values))], rule
        )
        for field, values in active.items()
    }


def _field_state(field: str, rows: pd.DataFrame, rule: PlateauRule) -> FieldState:
    dates = sorted(rows["decision_date"].unique())
    empty = pd.DataFrame(columns=["value_id", "rewards", "mean_reward", "probability_best"])
    if len(dates) < rule.days:
        reason = f"{len(dates)} of {rule.days} dates with finalized rewards"
        return FieldState(field, False, reason, None, empty)
    leaders, probabilities, means = [], [], []
    table = empty
    for day in dates[-rule.days :]:
        table = standings(rows[rows["decision_date"] <= day], rule, day)
        if table.empty:
            reason = f"no value has {rule.min_rewards} rewards by {day}"
            return FieldState(field, False, reason, None, table)
        top = table.iloc[0]
        leaders.append(top["value_id"])
        probabilities.append(float(top["probability_best"]))
        means.append(float(top["mean_reward"]))
    leader = leaders[-1]
    if len(set(leaders)) > 1:
        reason = f"the leader changed over the last {rule.days} dates ({', '.join(leaders)})"
        return FieldState(field, False, reason, leader, table)
    if min(probabilities) < rule.min_probability_best:
        reason = (
            f"{leader} leads but its probability of being best fell to {min(probabilities):.2f}"
            f" (needs {rule.min_probability_best:.2f})"
        )
        return FieldState(field, False, reason, leader, table)
    change = abs(means[-1] - means[0]) / max(abs(means[0]), 1e-12)
    if change > rule.max_relative_change:
        reason = f"{leader}'s reward still moves ({change:.1%} over {rule.days} dates)"
        return FieldState(field, False, reason, leader, table)
    reason = (
        f"{leader} has led for {rule.days} dates with probability of being best >= "
        f"{min(probabilities):.2f} and a flat reward ({change:.1%} change)"
    )
    return FieldState(field, True, reason, leader, table)


def standings(rows: pd.DataFrame, rule: PlateauRule, day: dt.date) -> pd.DataFrame:
    """Per value with at least ``min_rewards``: rewards, mean reward to date and the
    probability of being best, best first."""
    per_value = rows.groupby("value_id")[["rewards", "reward_sum", "reward_sum_squares"]].sum()
    per_value = per_value[per_value["rewards"] >= rule.min_rewards]
    if per_value.empty:
        return pd.DataFrame(columns=["value_id", "rewards", "mean_reward", "probability_best"])
    n = per_value["rewards"].to_numpy(float)
    mean = per_value["reward_sum"].to_numpy(float) / n
    variance = np.maximum(per_value["reward_sum_squares"].to_numpy(float) / n - mean**2, 0.0)
    se = np.sqrt(variance / n)
    table = pd.DataFrame(
        {
            "value_id": per_value.index.astype(str),
            "rewards": n.astype(np.int64),
            "mean_reward": mean,
            "probability_best": probability_best(mean, se, f"autotune|{day}"),
        }
    )
    return table.sort_values("mean_reward", ascending=False, ignore_index=True)


def generation_schema(count: int) -> dict[str, Any]:
    """JSON schema of the model's answer: ``count`` variants, each a text and why."""
    variant = {
        "type": "object",
        "properties": {"content": {"type": "string"}, "rationale": {"type": "string"}},
        "required": ["content", "rationale"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "variants": {"type": "array", "items": variant, "minItems": 1, "maxItems": count}
        },
        "required": ["variants"],
        "additionalProperties": False,
    }


def parse_variants(value: Any) -> list[dict[str, str]]:
    """The model's variants, checked against ``generation_schema``."""
    if not isinstance(value, Mapping) or set(value) != {"variants"}:
        raise ValueError("expected an object with the single key 'variants'")
    items = value["variants"]
    if not isinstance(items, list) or not items:
        raise ValueError("'variants' must be a non-empty list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or set(item) != {"content", "rationale"}:
            raise ValueError(f"variants[{i}]: expected keys content and rationale")
        if not all(isinstance(item[k], str) for k in ("content", "rationale")):
            raise ValueError(f"variants[{i}]: content and rationale must be text")
        out.append({"content": item["content"].strip(), "rationale": item["rationale"].strip()})
    return out


def length_limit(settings: AutotuneConfig, channels: Iterable[str]) -> tuple[int, str] | None:
    """The tightest ``max_characters`` among ``channels`` (any variant may go out on any
    active channel), with the channel; None when none is limited."""
    limits = [(settings.max_characters[c], c) for c in channels if c in settings.max_characters]
    return min(limits) if limits else None


def normalized(text: str) -> str:
    """Text compared for duplicates: case, punctuation, emoji and spacing ignored."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def check_text(
    text: str,
    settings: AutotuneConfig,
    limit: tuple[int, str] | None,
    existing: Mapping[str, str],
) -> str | None:
    """Why ``text`` may not become a variant, or None. ``existing``: normalized text ->
    the variant (or candidate) id that has it."""
    if not text.strip():
        return "empty text"
    if limit and len(text) > limit[0]:
        return f"{len(text)} characters, over the {limit[1]} limit of {limit[0]}"
    for word in settings.banned_words:
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I):
            return f"banned word {word!r}"
    for name in _PLACEHOLDER.findall(text):
        if name not in settings.placeholders:
            allowed = ", ".join("{" + p + "}" for p in settings.placeholders) or "none"
            return f"unknown placeholder {{{name}}} (allowed: {allowed})"
    if _PLACEHOLDER.sub("", text).count("{") or _PLACEHOLDER.sub("", text).count("}"):
        return "unbalanced braces"
    if _LINK.search(text):
        return "contains a link (the engagement tool adds links)"
    twin = existing.get(normalized(text))
    if twin is not None:
        return f"duplicate of {twin}"
    return None


def generation_messages(
    campaign_id: str,
    field: str,
    state: FieldState,
    texts: Mapping[str, str],
    tags: Mapping[str, Iterable[str]],
    settings: AutotuneConfig,
    limit: tuple[int, str] | None,
    guidelines: str,
) -> list[dict[str, str]]:
    """The chat messages asking for ``variants_per_run`` new variants of ``field``: the
    rules, the brand guidelines, and the winners and losers with their measured reward,
    probability of being best and tags."""
    rules = [
        f"Write exactly {settings.variants_per_run} new, distinct texts.",
        "Use only these placeholders, in braces exactly as shown: "
        + (", ".join("{" + p + "}" for p in settings.placeholders) or "none")
        + ".",
        "No links.",
    ]
    if limit:
        rules.append(f"At most {limit[0]} characters each (the {limit[1]} limit).")
    if settings.banned_words:
        rules.append("Never use: " + ", ".join(settings.banned_words) + ".")
    system = (
        f"You write the {field.replace('_', ' ')} of marketing messages. A learning system "
        "tests every text you write on real customers and keeps what wins, so write new "
        "ideas in the style of the winners, not copies of them.\n"
        "Rules:\n- " + "\n- ".join(rules) + "\n"
        "Brand guidelines:\n" + (guidelines.strip() or "(none given)")
    )

    def shown(rows: pd.DataFrame) -> list[dict[str, Any]]:
        records: list[Any] = rows.to_dict("records")
        return [
            {
                "text": texts.get(row["value_id"], ""),
                "mean_reward": round(float(row["mean_reward"]), 4),
                "rewards": int(row["rewards"]),
                "probability_best": round(float(row["probability_best"]), 3),
                "tags": sorted(tags.get(row["value_id"], ())),
            }
            for row in records
        ]

    values = state.values
    winners = values.head(SHOWN_PER_SIDE)
    losers = values.iloc[len(winners) :].tail(SHOWN_PER_SIDE)
    tried = sorted(set(texts.values()) - {""})
    user = {
        "campaign": campaign_id,
        "field": field,
        "why_now": state.reason,
        "winners": shown(winners),
        "losers": shown(losers.iloc[::-1]),
        "every_existing_text": tried,
        "task": (
            f"Write {settings.variants_per_run} new {field.replace('_', ' ')} texts likely to "
            "beat the winners. Say in each rationale which winning trait it builds on."
        ),
    }
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": json.dumps(user, ensure_ascii=False, indent=1)},
    ]
