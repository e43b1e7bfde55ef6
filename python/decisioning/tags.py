"""Semantic tags of message variants: what a variant *is*, shared across variants.

The policy crosses customer features with these tags, so what it learns about one variant
("price-sensitive customers open subject lines that mention a price") carries over to
similar ones, and a new variant starts from what its tags predict.

Two sources, merged: rules on the content (below), and labels the catalog gives in its
``tags`` column (``;``-separated, e.g. ``tone:playful;theme:progress``).
"""

from __future__ import annotations

import re

_PRICE = re.compile(r"\d\s*%|[$€£¥]\s*\d|\d\s*[$€£¥]|\b(price|discount|save|sale|off)\b", re.I)
_URGENCY = re.compile(r"\b(today|tonight|now|hurry|last chance|ends|limited|only)\b", re.I)
_FREE = re.compile(r"\bfree\b", re.I)
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_LABEL = re.compile(r"[^a-z0-9]+")
LONG_CONTENT_CHARS = 30


def rule_tags(content: str | None) -> set[str]:
    """Tags read off the content by fixed rules.

    ``empty`` (no content, e.g. "no greeting"), ``personalized`` (a ``{placeholder}``),
    ``has_emoji``, ``mentions_price``, ``mentions_free``, ``urgency``, ``question``, and
    ``long`` (more than 30 characters).
    """
    text = (content or "").strip()
    if not text:
        return {"empty"}
    checks = {
        "personalized": bool(_PLACEHOLDER.search(text)),
        "has_emoji": any(_is_emoji(c) for c in text),
        "mentions_price": bool(_PRICE.search(text)),
        "mentions_free": bool(_FREE.search(text)),
        "urgency": bool(_URGENCY.search(text)),
        "question": text.endswith("?"),
        "long": len(text) > LONG_CONTENT_CHARS,
    }
    return {name for name, hit in checks.items() if hit}


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
