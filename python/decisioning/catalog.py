"""The action catalog: the values the policy may choose for each field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from decisioning.config import ConfigError


class CatalogError(ValueError):
    """The action catalog (seeds/*.csv) cannot be decided over."""


@dataclass(frozen=True)
class Catalog:
    """Active values per field, in catalog order, and each channel's opt-in column."""

    values: dict[str, tuple[str, ...]]
    channel_opt_in: dict[str, str]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.values)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, fields: tuple[str, ...]) -> Catalog:
        """Build from the ``action_catalog`` model (field, value_id, opt_in_column, is_active)."""
        active = frame[frame["is_active"].astype(bool)]
        values: dict[str, tuple[str, ...]] = {}
        for field in fields:
            ids = tuple(active.loc[active["field"] == field, "value_id"].astype(str))
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
        return cls(values=values, channel_opt_in=opt_in)

    def default_action(self, action: Mapping[str, str]) -> dict[str, int]:
        """Index of each field's configured default value; errors name what to fix."""
        missing = [f for f in self.fields if f not in action]
        if missing:
            raise ConfigError(
                f"decisioning.holdout.default_action: missing {', '.join(missing)}. "
                "The holdout group gets this action; set one catalog id per field."
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
