"""The daily batch loop of the learning benchmark, in memory, on the demo world.

Each simulated day does what one ``dbt build`` does, with the same core functions the dbt
Python models call: fit the posterior from decayed sufficient statistics of finalized
rewards (``statistics_frame`` computes in numpy what ``policy_statistics`` computes in
SQL), decide for the day's audience (``decide``), then let the world respond. Rewards
become final when their window has closed at a later day's ``as_of``, as in ``rewards``.

Customer features are what ``customer_features`` computes from the world's customers and
their year of product history at the start (held fixed over the run; message-engagement
features start at their prior, as for a new campaign).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import md5
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from decisioning.catalog import SEND_NOTHING, Catalog
from decisioning.config import Config, load_config
from decisioning.decide import Audience, decide
from decisioning.policies import policy_class
from decisioning.posterior import fit_models, model_version, statistics_frame
from decisioning.world import FIELDS, World

ROOT = Path(__file__).resolve().parents[1]
OPT_INS = ("email_opt_in", "push_opt_in", "sms_opt_in")
Array = npt.NDArray[np.float64]


def catalog_frame(inactive: tuple[str, ...] = ()) -> pd.DataFrame:
    """The ``action_catalog`` rows from the project's seeds; ``inactive`` value ids off."""
    channels = pd.read_csv(ROOT / "seeds/channels.csv")
    slots = pd.read_csv(ROOT / "seeds/send_slots.csv")
    variants = pd.read_csv(ROOT / "seeds/message_variants.csv").fillna("")
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "field": "channel",
                    "value_id": channels["channel"],
                    "content": channels["display_name"],
                    "tags": "",
                    "opt_in_column": channels["opt_in_column"],
                }
            ),
            pd.DataFrame(
                {
                    "field": "send_slot",
                    "value_id": slots["send_slot"],
                    "content": slots["display_name"],
                    "tags": "",
                }
            ),
            variants.rename(columns={"variant_id": "value_id"})[
                ["field", "value_id", "content", "tags"]
            ],
        ],
        ignore_index=True,
    )
    frame["is_active"] = ~frame["value_id"].isin(inactive)
    return frame


def observed_features(world: World, categorical: dict[str, list[str]]) -> pd.DataFrame:
    """``customer_features``' x_ columns at the world's start, one row per customer."""
    as_of = pd.Timestamp(world.start)
    customers = world.customers.set_index("customer_id")
    events = world.history()
    age = (as_of - events["occurred_at"]).dt.total_seconds() / 86400
    grouped = events.assign(
        in_30d=age <= 30,
        in_90d=age <= 90,
        conversion=(age <= 90) & (events["event_name"] == "workout_completed"),
    ).groupby("customer_id")
    activity = pd.DataFrame(
        {
            "last": grouped["occurred_at"].max(),
            "events_30d": grouped["in_30d"].sum(),
            "events_90d": grouped["in_90d"].sum(),
            "conversions": grouped["conversion"].sum(),
        }
    ).reindex(customers.index)
    last = activity["last"].fillna(customers["created_at"])
    since = ((as_of - last).dt.total_seconds() / 86400).clip(upper=365)
    tenure = (as_of - customers["created_at"]).dt.total_seconds() / 86400
    x = pd.DataFrame(index=customers.index)
    x["x_intercept"] = 1.0
    x["x_recency"] = np.log1p(since) / np.log(366)
    x["x_events_30d"] = np.log1p(activity["events_30d"].fillna(0))
    x["x_events_lookback"] = np.log1p(activity["events_90d"].fillna(0))
    x["x_conversions_lookback"] = np.log1p(activity["conversions"].fillna(0))
    x["x_tenure"] = (tenure / 365).clip(upper=5.0)
    for channel in ("email", "push", "sms"):
        x[f"x_{channel}_opt_in"] = customers[f"{channel}_opt_in"].astype(float)
        x[f"x_{channel}_open_rate"] = 1 / 4
        x[f"x_{channel}_click_rate"] = 0.5 / 10
    for attribute, levels in sorted(categorical.items()):
        for level in levels:
            x[f"x_{attribute}_{level}"] = (customers[attribute] == level).astype(float)
    x["x_age"] = (customers["age"] - customers["age"].mean()) / customers["age"].std(ddof=0)
    return x


class Learner(Protocol):
    """What the loop needs from a policy: decide for a day, learn from finalized rewards."""

    name: str

    def decide(self, day: int, audience: Audience, as_of: dt.date) -> pd.DataFrame:
        """Decisions frame with the catalog fields and ``propensity`` (one row per customer)."""
        ...

    def learn(self, log: pd.DataFrame, contexts: Array, as_of: dt.date) -> None:
        """Refit from every logged decision (``log``, with ``reward``, ``is_final``)."""
        ...


@dataclass
class CoreLearner:
    """A ``decisioning`` policy, fitted and decided exactly as the dbt models do."""

    config: Config
    catalog: Catalog
    feature_names: tuple[str, ...]
    models: dict[str, Any] = field(default_factory=dict)
    version: str = "start"

    @property
    def name(self) -> str:
        return self.config.policy.algorithm

    def learn(self, log: pd.DataFrame, contexts: Array, as_of: dt.date) -> None:
        final = log["is_final"].to_numpy()
        policy = self.config.policy
        age = (pd.Timestamp(as_of) - pd.to_datetime(log["decision_date"][final])).dt.days
        half_life = policy.half_life_days
        weights = (
            np.ones(int(final.sum())) if half_life is None else 0.5 ** (age.to_numpy() / half_life)
        )
        actions = {f: log[f].to_numpy(dtype=object)[final] for f in self.catalog.fields}
        rewards = log["reward"].to_numpy(dtype=float)[final]
        stats = statistics_frame(contexts[final], self.feature_names, actions, rewards, weights)
        contextual = policy_class(policy.algorithm).contextual
        used = self.feature_names if contextual else ("x_intercept",)
        self.models = fit_models(
            stats, self.catalog, used, policy.prior_variance, self.feature_names
        )
        self.version = model_version({"as_of": as_of.isoformat()}, stats)

    def decide(self, day: int, audience: Audience, as_of: dt.date) -> pd.DataFrame:
        if not self.models:
            self.learn(
                _empty_log(self.catalog.fields), np.zeros((0, len(self.feature_names))), as_of
            )
        config = load_config({**self.config.raw, "as_of": as_of.isoformat()})
        return decide(audience, self.models, self.catalog, config, self.version, day)


def _empty_log(fields: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "decision_date": pd.Series(dtype="datetime64[ns]"),
            "is_final": pd.Series(dtype=bool),
            "reward": pd.Series(dtype=float),
            **{f: pd.Series(dtype=object) for f in fields},
        }
    )


@dataclass
class Scenario:
    """What changes in the world or catalog during a run."""

    name: str = "base"
    new_variant: tuple[str, str, int] | None = None  # (field, value, first active day)
    world_change: Callable[[World], World] | None = None


@dataclass
class RunSettings:
    days: int = 30
    per_day: int = 2000
    recontact_days: int = 7
    window_hours: float = 72.0
    send_nothing: bool = False
    weights: dict[str, float] = field(
        default_factory=lambda: {"open": 0.1, "click": 0.3, "conversion": 1.0, "unsubscribe": -0.5}
    )


SLOT_HOURS = pd.read_csv(ROOT / "seeds/send_slots.csv").set_index("send_slot")["local_hour"]


def send_times(tz: np.ndarray, slots: np.ndarray, day: dt.date) -> Any:
    """UTC send time of each decision (customer time zones ``tz``, send ``slots``), as
    ``decision_log`` schedules it: the slot's local hour on the customer's local date at
    as_of (next day if already past); send nothing at as_of 00:00 UTC."""
    hours = SLOT_HOURS
    as_of = pd.Timestamp(day, tz="UTC")
    out = np.full(len(tz), as_of.tz_localize(None).to_datetime64())
    for zone in np.unique(tz):
        rows = (tz == zone) & pd.notna(slots)
        if not rows.any():
            continue
        local_start = as_of.tz_convert(zone)
        midnight = local_start.normalize().tz_localize(None)
        slot = midnight + pd.to_timedelta(hours.loc[slots[rows]].to_numpy(), unit="h")
        slot_local = pd.DatetimeIndex(slot).tz_localize(
            zone, ambiguous=True, nonexistent="shift_forward"
        )
        late = slot_local < local_start
        slot_local = slot_local.where(~late, slot_local + pd.Timedelta(hours=24))
        out[rows] = slot_local.tz_convert("UTC").tz_localize(None).to_numpy()
    return out


def run(
    world: World,
    learner: Learner,
    features: pd.DataFrame,
    settings: RunSettings,
    seed: int,
    scenario: Scenario,
    on_day: Callable[[int, pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Run the loop; one row per day with the truth of what was decided.

    Columns: day, decisions, policy (mean true expected reward of the decisions),
    oracle (of the oracle's actions for the same customers), uniform, and the traffic
    share of every catalog value (``share:<field>:<value>``).
    """
    if scenario.world_change is not None:
        world = scenario.world_change(world)
    rng = np.random.default_rng([seed, 7])
    ids = features.index.to_numpy(dtype=object)
    x = features.to_numpy(dtype=float)
    customers = world.customers.set_index("customer_id").loc[ids]
    opt_ins = customers[list(OPT_INS)].to_numpy(bool)
    timezones = customers["timezone"].to_numpy(dtype=object)
    reachable = opt_ins.any(axis=1)
    last_decided = np.full(len(ids), -10_000)
    logs: list[pd.DataFrame] = []
    contexts: list[Array] = []
    rows = []
    for day in range(settings.days):
        as_of = world.start + dt.timedelta(days=day)
        if logs:
            log = pd.concat(logs, ignore_index=True)
            end = pd.to_datetime(log["send_at_utc"]) + pd.Timedelta(hours=settings.window_hours)
            log["is_final"] = end <= pd.Timestamp(as_of)
            learner.learn(log, np.concatenate(contexts), as_of)
        free = np.flatnonzero(reachable & (day - last_decided >= settings.recontact_days))
        who = np.sort(rng.choice(free, size=min(settings.per_day, len(free)), replace=False))
        last_decided[who] = day
        keys = [md5(f"{seed}|{day}|{i}".encode()).hexdigest() for i in ids[who]]
        audience = Audience(
            decision_ids=np.array(keys),
            customer_ids=ids[who].astype(str),
            flags={c: opt_ins[who, k] for k, c in enumerate(OPT_INS)},
            features=x[who],
            feature_names=tuple(features.columns),
        )
        decisions = learner.decide(day, audience, as_of)
        silent = (decisions["channel"] == SEND_NOTHING).to_numpy()
        send_at = send_times(timezones[who], decisions["send_slot"].to_numpy(dtype=object), as_of)
        actions = {
            f: np.where(silent, "" if f == "channel" else None, decisions[f].to_numpy(dtype=object))
            for f in FIELDS
        }
        frame = pd.DataFrame(
            {"decision_id": audience.decision_ids, "customer_id": ids[who], **actions}
        )
        frame["send_at_utc"] = send_at
        reward = world.realized_rewards(frame, settings.weights, settings.window_hours)
        truth = {"weights": settings.weights, "window_hours": settings.window_hours}
        expected = world.expected_reward(ids[who], actions, **truth, send_at=send_at)
        oracle_actions = world.oracle_actions(ids[who], None, **truth, send_at=send_at)
        oracle = world.expected_reward(ids[who], oracle_actions, **truth, send_at=send_at)
        if settings.send_nothing:  # the oracle may also choose to send nothing
            nothing = {f: np.full(len(who), "" if f == "channel" else None) for f in FIELDS}
            organic = world.expected_reward(ids[who], nothing, **truth, send_at=send_at)
            oracle = np.maximum(oracle, organic)
        uniform = world.uniform_expected_reward(ids[who], None, **truth, send_at=send_at)
        logged = decisions[list(FIELDS)].astype(object).where(decisions[list(FIELDS)].notna(), None)
        logged["decision_date"] = pd.Timestamp(as_of)
        logged["send_at_utc"] = send_at
        logged["reward"] = reward
        logs.append(logged)
        contexts.append(x[who])
        row: dict[str, Any] = {
            "day": day,
            "decisions": len(who),
            "policy": float(expected.mean()),
            "oracle": float(oracle.mean()),
            "uniform": float(np.nanmean(uniform)),
        }
        for f in FIELDS:
            shares = decisions[f].value_counts(normalize=True)
            for value, share in shares.items():
                row[f"share:{f}:{value}"] = float(share)
        rows.append(row)
        if on_day is not None:
            on_day(day, decisions)
    return pd.DataFrame(rows).fillna(0.0)
