"""A decision day: everything the ``decisions`` model needs besides the audience.

The catalog, each value's posterior, the send times per time zone and what was logged
today are small, so they are read once and go whole to wherever the audience is decided:
this process on DuckDB, every batch of a vectorized UDF on Snowflake
(``decisioning.snowpark_scoring``). A customer's decision depends only on their row and
the day, except for the two guardrails that count the whole day (the exploration ceiling,
passed in as ``Exploration``, and offer budgets), so batches give the same decisions as
one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from decisioning.catalog import Catalog
from decisioning.config import Config
from decisioning.decide import (
    Audience,
    Limits,
    decide,
    empty_decisions,
    explorer_uniforms,
)
from decisioning.guardrails import Exploration, SendTimes, Usage, block_triples
from decisioning.posterior import FieldModel, models_from_frame


@dataclass(frozen=True)
class DecisionDay:
    """The day's config, catalog, models, send times and usage."""

    config: Config
    catalog: Catalog
    models: dict[str, FieldModel]
    model_version: str
    days_running: int
    send_times: SendTimes
    usage: Usage

    @classmethod
    def from_frames(
        cls,
        config: Config,
        catalog: pd.DataFrame,
        parameters: pd.DataFrame,
        progress: pd.DataFrame,
        send_times: pd.DataFrame,
        today: pd.DataFrame,
    ) -> DecisionDay:
        """From the models ``action_catalog``, ``policy_model``, ``campaign_progress``,
        ``send_times`` and the campaign's rows of ``decision_log`` dated today."""
        values = Catalog.from_frame(catalog, config.fields, config.policy.send_nothing)
        return cls(
            config=config,
            catalog=values,
            models=models_from_frame(parameters, values),
            model_version=str(parameters["model_version"].iloc[0]),
            days_running=int(progress["days_running"].iloc[0]),
            send_times=SendTimes.from_frame(send_times, values.values["send_slot"]),
            usage=Usage.from_frame(today, values.fields),
        )

    def decide(
        self,
        audience: pd.DataFrame,
        blocks: pd.DataFrame,
        exploration: Exploration | None = None,
    ) -> pd.DataFrame:
        """Decisions for rows of ``audience`` given their ``send_blocks`` rows; the whole
        audience, or one batch of it with the day's ``exploration``."""
        if audience.empty:
            return empty_decisions(self.catalog.fields)
        people = self._audience(audience)
        limits = self._limits(people, blocks, exploration)
        return decide(
            people,
            self.models,
            self.catalog,
            self.config,
            self.model_version,
            self.days_running,
            limits,
        )

    def explorer_uniforms(
        self, audience: pd.DataFrame, blocks: pd.DataFrame
    ) -> npt.NDArray[np.float64]:
        """Each live policy row's keyed exploration uniform, NaN elsewhere (the first of
        two passes when batches are decided apart under an exploration ceiling)."""
        people = self._audience(audience)
        return explorer_uniforms(
            people, self.catalog, self.config, self._limits(people, blocks, None)
        )

    def _audience(self, frame: pd.DataFrame) -> Audience:
        channels = self.config.guardrails.channels.values()
        required = tuple(sorted({c for rules in channels for c in rules.requires}))
        return Audience.from_frame(frame, required)

    def _limits(
        self, audience: Audience, blocks: pd.DataFrame, exploration: Exploration | None
    ) -> Limits:
        return Limits(
            send_times=self.send_times,
            blocks=block_triples(blocks, audience.decision_ids, self.catalog),
            usage=self.usage,
            exploration=exploration,
        )
