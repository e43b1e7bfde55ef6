"""A decision day: everything the ``decisions`` model needs besides the audience.

The catalog, each value's posterior, the send times per time zone and what was logged
today are small, so they are read once and go whole to wherever the audience is decided:
this process on DuckDB, every batch of a vectorized UDF on Snowflake
(``decisioning.snowpark_scoring``). A customer's decision depends only on their row and
the day, except for the two guardrails that count the whole day (the exploration ceiling,
and offer budgets, passed in as ``Exploration`` and ``DayBudgets``), so batches give the
same decisions as one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from decisioning.catalog import Catalog
from decisioning.config import Config
from decisioning.decide import (
    Audience,
    DayBudgets,
    Limits,
    budget_takers,
    decide,
    empty_decisions,
    live_keys,
)
from decisioning.guardrails import Exploration, SendTimes, Usage, block_triples
from decisioning.posterior import FieldModel, models_from_frame

BUDGET_EXHAUSTED = "budget_exhausted"
"""An optional audience column: rows the day's budgets left with nothing (batches)."""


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
        budgets: DayBudgets | None = None,
    ) -> pd.DataFrame:
        """Decisions for rows of ``audience`` given their ``send_blocks`` rows: the whole
        audience, or one batch of it with what the whole day fixes (``exploration``,
        ``budgets``, and a ``budget_exhausted`` column marking rows budgets left with
        nothing)."""
        if audience.empty:
            return empty_decisions(self.catalog.fields)
        frame: pd.DataFrame = self._run(decide, audience, blocks, exploration, budgets)
        return frame

    def budget_takers(
        self,
        audience: pd.DataFrame,
        blocks: pd.DataFrame,
        field: str,
        exploration: Exploration | None,
        budgets: DayBudgets,
    ) -> npt.NDArray[np.intp]:
        """Each row's drawn value index for ``field`` (-1: not drawn) under ``budgets``."""
        drawn: npt.NDArray[np.intp] = self._run(
            budget_takers, audience, blocks, exploration, budgets, field
        )
        return drawn

    def _run(
        self,
        step: Callable[..., Any],
        audience: pd.DataFrame,
        blocks: pd.DataFrame,
        exploration: Exploration | None,
        budgets: DayBudgets | None,
        *extra: Any,
    ) -> Any:
        """``step(audience, models, catalog, config, version, days_running, limits, *extra)``
        on the rows of ``audience``."""
        people = self._audience(audience)
        limits = self._limits(people, audience, blocks, exploration, budgets)
        return step(
            people,
            self.models,
            self.catalog,
            self.config,
            self.model_version,
            self.days_running,
            limits,
            *extra,
        )

    def live_keys(self, audience: pd.DataFrame, blocks: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Each row's exploration key (``decide.live_keys``): the first pass when batches
        are decided apart."""
        people = self._audience(audience)
        limits = self._limits(people, audience, blocks, None, None)
        return live_keys(people, self.catalog, self.config, limits)

    def _audience(self, frame: pd.DataFrame) -> Audience:
        channels = self.config.guardrails.channels.values()
        required = tuple(sorted({c for rules in channels for c in rules.requires}))
        return Audience.from_frame(frame, required)

    def _limits(
        self,
        people: Audience,
        audience: pd.DataFrame,
        blocks: pd.DataFrame,
        exploration: Exploration | None,
        budgets: DayBudgets | None,
    ) -> Limits:
        skipped = None
        if BUDGET_EXHAUSTED in audience:
            skipped = audience[BUDGET_EXHAUSTED].fillna(False).to_numpy(dtype=bool)
        return Limits(
            send_times=self.send_times,
            blocks=block_triples(blocks, people.decision_ids, self.catalog),
            usage=self.usage,
            exploration=exploration,
            budgets=budgets,
            budget_skipped=skipped,
        )
