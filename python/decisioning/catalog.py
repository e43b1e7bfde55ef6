"""The action catalog: the values the policy may choose for each field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from decisioning.config import FIXED_FIELDS, ConfigError
from decisioning.tags import feature_tags, label_tags

SEND_NOTHING = "none"
"""The channel value that sends no message (``policy.send_nothing``)."""


class CatalogError(ValueError):
    """The action catalog (seeds/*.csv) cannot be decided over."""


@dataclass(frozen=True)
class Catalog:
    """Active values per field, in catalog order, each channel's opt-in column, and each
    value's action features.

    ``action_features[field]`` has shape (V, k): a ``bias`` column (what the field's values
    share), one ``tag_*`` column per semantic tag of the field's message variants
    (``decisioning.tags``), then one ``id_*`` indicator per value (what is its own); each
    row scaled to unit length.
    """

    values: dict[str, tuple[str, ...]]
    channel_opt_in: dict[str, str]
    action_features: dict[str, npt.NDArray[np.float64]]
    action_feature_names: dict[str, tuple[str, ...]]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.values)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, fields: tuple[str, ...], send_nothing: bool = False
    ) -> Catalog:
        """Build from the ``action_catalog`` model (field, value_id, content, tags,
        semantic_tags, opt_in_column, is_active, value_position: the values' order, else the
        rows'; optional is_recommendation: the values are recommendation strategies, whose
        action features use their labels only, not tags of their content). ``send_nothing``
        adds the channel value ``none``."""
        if "value_position" in frame:
            frame = frame.sort_values("value_position", kind="stable")
        active = frame[frame["is_active"].astype(bool)]
        values: dict[str, tuple[str, ...]] = {}
        for field in fields:
            ids = tuple(active.loc[active["field"] == field, "value_id"].astype(str))
            if field == "channel" and SEND_NOTHING in ids:
                raise CatalogError(
                    f"seeds/channels.csv: the channel id {SEND_NOTHING!r} is reserved for "
                    "sending nothing (policy.send_nothing); rename that channel."
                )
            if not ids:
                where = (
                    "seeds/channels.csv"
                    if field == "channel"
                    else "seeds/send_slots.csv"
                    if field == "send_slot"
                    else "seeds/message_variants.csv"
                )
                raise CatalogError(
                    f"Field {field!r} has no active value in {where}: "
                    "add one or set active=true on an existing row."
                )
            values[field] = ids
        unknown = set(frame["field"]) - set(fields)
        if unknown:
            raise CatalogError(
                f"seeds/message_variants.csv has field(s) {sorted(unknown)} that "
                "decisioning.message_fields does not list: add them there, or remove the rows."
            )
        channels = active[active["field"] == "channel"]
        opt_in = dict(
            zip(
                channels["value_id"].astype(str), channels["opt_in_column"].astype(str), strict=True
            )
        )
        if send_nothing and "channel" in values:
            values["channel"] += (SEND_NOTHING,)
        strategies = set()
        if "is_recommendation" in active:
            marked = active["is_recommendation"].fillna(False).astype(bool)
            strategies = set(active.loc[marked, "field"])
        features, names = {}, {}
        for field, ids in values.items():
            rows = active[active["field"] == field]
            rows = rows.set_index(rows["value_id"].astype(str))
            plain = field in strategies
            tags = {v: _tags(rows, v, plain) if field not in FIXED_FIELDS else set() for v in ids}
            features[field], names[field] = action_features(ids, tags)
        return cls(values, opt_in, features, names)

    def default_action(self, action: Mapping[str, str]) -> dict[str, int]:
        """Index of each field's configured default value; errors name what to fix."""
        missing = [f for f in self.fields if f not in action]
        if missing:
            raise ConfigError(
                f"decisioning.holdout.default_action: missing {', '.join(missing)}. "
                "The business-as-usual group gets this action; set one catalog id per field."
            )
        extra = sorted(set(action) - set(self.fields))
        if extra:
            raise ConfigError(f"decisioning.holdout.default_action: unknown field(s) {extra}.")
        index: dict[str, int] = {}
        for field in self.fields:
            if action[field] not in self.values[field]:
                raise ConfigError(
                    f"decisioning.holdout.default_action.{field}: {action[field]!r} is not an "
                    f"active {field}. Active: {', '.join(self.values[field])}."
                )
            index[field] = self.values[field].index(action[field])
        return index


def action_features(
    value_ids: tuple[str, ...], tags: Mapping[str, set[str]]
) -> tuple[npt.NDArray[np.float64], tuple[str, ...]]:
    """The (V, k) action-feature matrix ``[bias | tags | identity]`` and its column names.

    Each row has unit length, so under the isotropic prior every value's score has the
    same prior variance however many tags it carries; the tags only decide what it shares.
    """
    vocabulary = sorted(set().union(*tags.values())) if tags else []
    names = ("bias", *(f"tag_{t}" for t in vocabulary), *(f"id_{v}" for v in value_ids))
    matrix = np.zeros((len(value_ids), len(names)))
    matrix[:, 0] = 1.0
    for row, value in enumerate(value_ids):
        for t in tags.get(value, set()):
            matrix[row, 1 + vocabulary.index(t)] = 1.0
        matrix[row, 1 + len(vocabulary) + row] = 1.0
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True), names


def _tags(rows: pd.DataFrame, value_id: str, labels_only: bool = False) -> set[str]:
    """A value's schema tags (stored by ``decisioning tag``, else the rules') plus its
    catalog labels (``tags`` column); only the labels when ``labels_only``."""
    if value_id not in rows.index:
        return set()
    row = rows.loc[value_id]
    content, labels, stored = (row.get(c) for c in ("content", "tags", "semantic_tags"))
    if labels_only:
        return label_tags(labels if isinstance(labels, str) else None)
    return feature_tags(
        content if isinstance(content, str) else None, stored if isinstance(stored, str) else None
    ) | label_tags(labels if isinstance(labels, str) else None)
