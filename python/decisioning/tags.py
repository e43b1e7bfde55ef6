"""Semantic tags of message variants: what a variant *is*, in one vocabulary for all.

The policy crosses customer features with these tags, so what it learns about one variant
("price-sensitive customers open subject lines that mention a price") carries over to
similar ones, and a new variant starts from what its tags predict.

The tag schema (version ``SCHEMA_VERSION``) has two parts:

- **semantic** fields (``SEMANTIC``), read by an LLM (``decisioning tag`` with
  ``llm.enabled``) or, offline, by fixed keyword rules: tone, structure, emotional framing,
  urgency and offer type, each one value of a closed list;
- **surface** fields (``surface_tags``), always computed by rules because they are facts of
  the text: length (short up to 25 characters, medium up to 50, long beyond), personalized
  (a ``{placeholder}``), has_emoji, has_number and mentions_price.

A variant's policy tags (``feature_tags``) are ``field_value`` for every semantic field not
``none``, ``length_<bucket>``, each true flag, plus the catalog's own labels (its ``tags``
column, ``;``-separated, e.g. ``tone:playful;theme:progress``). Empty content (e.g. "no
greeting") has the single tag ``empty``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

SCHEMA_VERSION = 1
SEMANTIC: dict[str, tuple[str, ...]] = {
    "tone": ("warm", "playful", "urgent", "motivational", "informative"),
    "structure": ("statement", "question", "command", "announcement"),
    "emotional_framing": ("loss", "gain", "achievement", "curiosity", "belonging", "none"),
    "urgency": ("none", "low", "high"),
    "offer_type": ("none", "discount", "free_trial", "upgrade", "content"),
}
FLAGS = ("personalized", "has_emoji", "has_number", "mentions_price")
LENGTHS = ((25, "short"), (50, "medium"))

_PRICE = re.compile(r"\d\s*%|[$€£¥]\s*\d|\d\s*[$€£¥]|\b(price|discount|save|sale|off)\b", re.I)
_HIGH_URGENCY = re.compile(r"\b(today|tonight|now|hurry|last chance|ends|limited|only)\b", re.I)
_LOW_URGENCY = re.compile(r"\b(soon|this week|don't miss|before)\b", re.I)
_FREE = re.compile(r"\bfree\b", re.I)
_UPGRADE = re.compile(r"\b(upgrade|plan|premium|annual|pro)\b", re.I)
_CONTENT = re.compile(r"\b(class|classes|workout|workouts|program|routine|session)\b", re.I)
_LOSS = re.compile(r"\b(miss|missed|lose|losing|lost|expire|expires|waiting|slipping)\b", re.I)
_ACHIEVEMENT = re.compile(r"\b(streak|progress|goal|goals|record|milestone|stronger)\b", re.I)
_NOVELTY = re.compile(r"\b(new|discover|just dropped|introducing|meet)\b", re.I)
_BELONGING = re.compile(r"\b(together|community|friends|team|join us|everyone)\b", re.I)
_WARM = re.compile(r"\b(miss you|welcome back|we miss|thinking of you|hey|hi)\b", re.I)
_COMMAND = re.compile(
    r"^(come|get|try|join|start|save|claim|keep|see|grab|take|book|unlock|don't|let's)\b", re.I
)
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_NUMBER = re.compile(r"\d")
_LABEL = re.compile(r"[^a-z0-9]+")


class TagError(ValueError):
    """Tags that do not fit the schema (e.g. an LLM's answer); the message says where."""


def content_hash(content: str) -> str:
    """The cache key of a text: md5 of its UTF-8 bytes, hex (``md5()`` in SQL gives the same)."""
    return hashlib.md5(content.encode("utf-8")).hexdigest()


def surface_tags(content: str) -> dict[str, Any]:
    """The schema's surface fields, read off the text."""
    text = content.strip()
    length = next((name for limit, name in LENGTHS if len(text) <= limit), "long")
    return {
        "length": length,
        "personalized": bool(_PLACEHOLDER.search(text)),
        "has_emoji": any(_is_emoji(c) for c in text),
        "has_number": bool(_NUMBER.search(text)),
        "mentions_price": bool(_PRICE.search(text)),
    }


def rule_tags(content: str) -> dict[str, Any]:
    """The full schema by fixed rules (the offline tagger): keyword lists decide the
    semantic fields, first match wins, in the order the code reads."""
    text = content.strip()
    surface = surface_tags(text)
    urgency = (
        "high" if _HIGH_URGENCY.search(text) else "low" if _LOW_URGENCY.search(text) else "none"
    )
    if surface["mentions_price"]:
        offer = "discount"
    elif _FREE.search(text):
        offer = "free_trial"
    elif _UPGRADE.search(text):
        offer = "upgrade"
    elif _CONTENT.search(text):
        offer = "content"
    else:
        offer = "none"
    if _LOSS.search(text):
        framing = "loss"
    elif _ACHIEVEMENT.search(text):
        framing = "achievement"
    elif offer in ("discount", "free_trial"):
        framing = "gain"
    elif _BELONGING.search(text):
        framing = "belonging"
    elif text.endswith("?") or _NOVELTY.search(text):
        framing = "curiosity"
    else:
        framing = "none"
    if text.endswith("?"):
        structure = "question"
    elif _COMMAND.search(text):
        structure = "command"
    elif _NOVELTY.search(text):
        structure = "announcement"
    else:
        structure = "statement"
    if urgency == "high":
        tone = "urgent"
    elif surface["personalized"] or _WARM.search(text):
        tone = "warm"
    elif surface["has_emoji"] or text.endswith("!"):
        tone = "playful"
    elif framing == "achievement":
        tone = "motivational"
    else:
        tone = "informative"
    semantic = {
        "tone": tone,
        "structure": structure,
        "emotional_framing": framing,
        "urgency": urgency,
        "offer_type": offer,
    }
    return {**semantic, **surface}


def semantic_json_schema() -> dict[str, Any]:
    """The JSON schema of the semantic fields (structured output, strict mode)."""
    return {
        "type": "object",
        "properties": {name: {"type": "string", "enum": list(v)} for name, v in SEMANTIC.items()},
        "required": list(SEMANTIC),
        "additionalProperties": False,
    }


def validate_semantic(value: Any) -> dict[str, str]:
    """An LLM's semantic tags, checked against the schema; ``TagError`` says what is wrong."""
    if not isinstance(value, Mapping):
        raise TagError(f"expected an object with {', '.join(SEMANTIC)}, got {type(value).__name__}")
    extra = sorted(set(value) - set(SEMANTIC))
    if extra:
        raise TagError(f"unknown tag field(s) {extra}")
    out = {}
    for name, allowed in SEMANTIC.items():
        if name not in value:
            raise TagError(f"missing tag field {name!r}")
        if value[name] not in allowed:
            raise TagError(f"{name}: {value[name]!r} is not one of {', '.join(allowed)}")
        out[name] = str(value[name])
    return out


def full_tags(content: str, semantic: Mapping[str, str]) -> dict[str, Any]:
    """An LLM's semantic fields (already ``validate_semantic``-ed) with the surface fields
    the rules read."""
    return {**semantic, **surface_tags(content)}


def feature_tags(content: str | None, tags: Mapping[str, Any] | str | None) -> set[str]:
    """The policy's tags of a variant: its schema tags (stored ``tags`` as a mapping or its
    JSON; the rule tagger's when there are none), or ``empty`` for empty content."""
    text = (content or "").strip()
    if not text:
        return {"empty"}
    if isinstance(tags, str) and tags.strip():
        tags = json.loads(tags)
    schema = dict(tags) if isinstance(tags, Mapping) and tags else rule_tags(text)
    out = {f"{name}_{schema[name]}" for name in SEMANTIC if schema.get(name, "none") != "none"}
    out.add(f"length_{schema['length']}")
    out.update(flag for flag in FLAGS if schema.get(flag))
    return out


def label_tags(labels: str | None) -> set[str]:
    """The catalog's own labels, normalized: ``"Tone: Playful; urgent"`` -> tone_playful, urgent."""
    out = set()
    for label in (labels or "").split(";"):
        name = _LABEL.sub("_", label.strip().lower()).strip("_")
        if name:
            out.add(name)
    return out


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return code >= 0x1F000 or 0x2600 <= code <= 0x27BF
