"""The demo: a simulated fitness app runs its win-back campaign through the loop, day by day.

Each day: ``dbt build`` with that day as ``as_of``; the simulated customers respond to
``decisions_to_sync``; their message and product events are appended to the sources. The
catalog is tagged first (``decisioning tag``); with ``llm.enabled``, Auto-Tune runs after
every day's responses and its approved variants join the next day's catalog. With
``recommendations``, the app's workout catalog is a source too, workouts carry their item,
and a fourth message field, ``workout``, recommends one: the policy chooses its strategy.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from decisioning.catalog import SEND_NOTHING
from decisioning.config import Config
from decisioning.decide import GROUPS
from decisioning.project import Project, merge_settings
from decisioning.report import write_report
from decisioning.world import ACTION_VALUES, SEND_SLOTS, NewVariant, World, generate_world

MARKER_TABLE = "raw.demo_world"
FIELDS = ("channel", "send_slot", "subject_line", "greeting", "offer")
RECOMMENDATION_FIELD = "workout"
"""The demo's recommendation field (``run_demo(recommendations=True)``)."""
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")
DAILY_ONLY = ("--exclude", "path:models/reporting", *NO_UNIT_TESTS)


@dataclass
class DemoResult:
    """Per-day truth from the simulator and the warehouse's own measurements."""

    daily: pd.DataFrame
    rewards: pd.DataFrame
    traffic: pd.DataFrame
    skips: pd.DataFrame
    candidates: pd.DataFrame
    database: Path
    recommendations: pd.DataFrame = dataclass_field(default_factory=pd.DataFrame)


def run_demo(
    customers: int = 50_000,
    days: int = 30,
    seed: int = 0,
    start: dt.date = dt.date(2026, 1, 1),
    overrides: dict[str, Any] | None = None,
    project: Project | None = None,
    progress: bool = True,
    new_variants: tuple[NewVariant, ...] = (),
    history_days: int = 0,
    recommendations: bool = False,
) -> DemoResult:
    """Simulate ``days`` turns of the loop on a fresh demo database; return what happened.

    ``new_variants``: how the simulated customers take to variants Auto-Tune may write
    (others behave like an average variant of their field). ``history_days``: first load
    that many days of the previous system's decisions (``simulate_history``, a tenth of the
    customers a day) as ``historical_decisions``, to warm-start and evaluate before launch.
    ``recommendations``: the world's workout catalog and item preferences
    (``World.with_recommendations``), loaded as ``raw.catalog_items``, and the message field
    ``workout`` whose strategy the policy chooses (``recommendation_settings``)."""
    from decisioning.llm_steps import autotune, tag_catalog

    project = project or Project.open()
    settings = overrides or {}
    if history_days:
        history_source = {"historical_decisions": {"table": "historical_decisions"}}
        settings = merge_settings(settings, {"sources": history_source})
    if recommendations:
        fields = project.config(settings).message_fields
        settings = merge_settings(settings, recommendation_settings(fields))
    config = project.config(settings)
    world = generate_world(n_customers=customers, seed=seed, start=start)
    world = world.with_variants(*new_variants) if new_variants else world
    world = world.with_recommendations(RECOMMENDATION_FIELD) if recommendations else world
    create_sources(project.database, world, seed)
    if history_days:
        window = config.attribution_window_hours
        load_history(project.database, world, history_days, customers // 10, window, seed)
    tag_catalog(project, project.config({**settings, "as_of": start.isoformat()}))
    daily = []
    for day in _progress(range(days), progress, "Simulating days"):
        as_of = start + dt.timedelta(days=day)
        # The reporting marts are snapshots rebuilt from the history: the last day builds
        # them. The SQL unit tests check logic, not data (`dbt build` runs them).
        last = day == days - 1
        project.build(
            {**settings, "as_of": as_of.isoformat()}, *(NO_UNIT_TESTS if last else DAILY_ONLY)
        )
        simulate_day(project.database, world, as_of, config.attribution_window_hours)
        decided = _decided(project.database, as_of, config)
        items = _strategy_items(project.database, config)
        values = _message_values(project.database)
        daily.append(_truth(world, decided, as_of, config, values, items))
        if config.llm.enabled and not last:
            autotune(project, project.config({**settings, "as_of": as_of.isoformat()}), stage=False)
    with duckdb.connect(str(project.database)) as con:
        rewards = con.sql(
            "select decision_date, decision_group, count(*) as decisions, "
            "avg(reward) as mean_reward from main.rewards "
            "where is_final and decision_group <> 'historical' group by all order by all"
        ).df()
        traffic = con.sql(
            f"select log.decision_date, {', '.join(f'log.{f}' for f in config.fields)}, "
            "log.customer_id, rewards.reward "
            "from main.decision_log as log "
            "left join main.rewards on rewards.decision_id = log.decision_id "
            "where log.decision_group = 'policy'"
        ).df()
        skips = con.sql(
            "select reason, count(*) as customers from main.decision_skips "
            "group by all order by customers desc"
        ).df()
        candidates = con.sql(
            "select created_on, variant_id, status, content, rejection_reason "
            "from main.variant_candidates order by created_at, variant_id"
        ).df()
    strategies = recommendation_traffic(world, traffic) if recommendations else pd.DataFrame()
    traffic = traffic.drop(columns="customer_id")
    return DemoResult(
        pd.DataFrame(daily), rewards, traffic, skips, candidates, project.database, strategies
    )


def recommendation_settings(message_fields: tuple[str, ...]) -> dict[str, Any]:
    """The settings the demo adds for recommendations: the field ``workout`` (its strategies
    the defaults'), the catalog source, the events that do an item, and no recommendation
    for business as usual."""
    return {
        "message_fields": [*(f for f in message_fields if f != RECOMMENDATION_FIELD)]
        + [RECOMMENDATION_FIELD],
        "recommendations": {"field": RECOMMENDATION_FIELD, "events": ["workout_completed"]},
        "sources": {"catalog_items": {"table": "catalog_items"}},
        "holdout": {"default_action": {RECOMMENDATION_FIELD: "none"}},
    }


def recommendation_traffic(world: World, traffic: pd.DataFrame) -> pd.DataFrame:
    """The policy's recommendation strategies by the world's hidden segment (focused or
    explorer): decisions, traffic share on the first and last 3 days, measured reward."""
    column = world.recommendation_field
    frame = traffic[traffic[column].notna()] if column in traffic else traffic.iloc[:0]
    if frame.empty or column is None:
        return pd.DataFrame()
    focused = world.item_preferences(frame["customer_id"].to_numpy())["focused"].to_numpy()
    frame = frame.assign(segment=np.where(focused, "focused", "explorer"))
    dates = sorted(frame["decision_date"].unique())
    rows = []
    for segment, group in frame.groupby("segment"):
        first = group[group["decision_date"].isin(dates[:3])]
        last = group[group["decision_date"].isin(dates[-3:])]
        for strategy, chosen in group.groupby(column):
            rows.append(
                {
                    "segment": segment,
                    "strategy": strategy,
                    "decisions": len(chosen),
                    "traffic_first": (first[column] == strategy).mean(),
                    "traffic_last": (last[column] == strategy).mean(),
                    "rewards": int(chosen["reward"].notna().sum()),
                    "mean_reward": chosen["reward"].mean(),
                }
            )
    return pd.DataFrame(rows).sort_values(["segment", "strategy"], ignore_index=True)


def _progress(items: range, enabled: bool, label: str) -> Any:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="day", file=sys.stderr)


def create_sources(database: Path, world: World, seed: int) -> None:
    """A fresh demo database with the raw sources; refuses to touch any other database."""
    if database.exists():
        with duckdb.connect(str(database)) as con:
            is_demo = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'raw' and table_name = 'demo_world'"
            ).fetchone()
        if not is_demo or not is_demo[0]:
            raise FileExistsError(
                f"{database} exists and is not a demo database. Set DECISIONING_DUCKDB_PATH "
                "to another file for the demo."
            )
        database.unlink()
        Path(f"{database}.wal").unlink(missing_ok=True)
    with duckdb.connect(str(database)) as con:
        con.execute("create schema raw")
        catalog = {"catalog_items": world.catalog_items()} if world.items is not None else {}
        for name, frame in {
            **catalog,
            "customers": world.customers,
            "product_events": world.history(),
            "suppressions": demo_suppressions(world, seed),
            "message_events": pd.DataFrame(
                {
                    "decision_id": pd.Series(dtype=str),
                    "customer_id": pd.Series(dtype=str),
                    "event_type": pd.Series(dtype=str),
                    "occurred_at": pd.Series(dtype="datetime64[us]"),
                }
            ),
        }.items():
            con.register("frame", frame)
            con.execute(f"create table raw.{name} as select * from frame")
            con.unregister("frame")
        con.execute(
            f"create table {MARKER_TABLE} as select ? as seed, ? as customers, ? as start",
            [seed, len(world.customers), world.start],
        )


def load_history(
    database: Path, world: World, days: int, per_day: int, window_hours: float, seed: int
) -> pd.DataFrame:
    """``simulate_history`` loaded as the ELT would: ``raw.historical_decisions`` and the
    decisions' message and product events appended to the sources. Returns the history."""
    gap = math.ceil(window_hours / 24) + 1  # windows never overlap: rewards are exact
    history = simulate_history(world, days, per_day, seed, gap)
    # The background activity of those days is already in world.history(): no organic draws.
    sent = history.rename(columns={"decided_at": "send_at_utc"})
    response = world.respond(sent, window_hours, organic=False)
    with duckdb.connect(str(database)) as con:
        con.register("frame", history)
        con.execute("create or replace table raw.historical_decisions as select * from frame")
        con.unregister("frame")
        _append_rows(con, "raw.message_events", response.message_events)
        _append_rows(con, "raw.product_events", response.product_events)
        _apply_unsubscribes(con, response.unsubscribed)
    return history


LOGGED_CHANNEL_WEIGHTS = np.array([3.0, 2.0, 1.0])
LOGGED_SLOT_PROBABILITIES = np.array([0.4, 0.3, 0.2, 0.1])


def logging_probabilities(customers: pd.DataFrame) -> dict[str, np.ndarray]:
    """The known policy of the system the demo company used before: per customer (n, V)
    probabilities of each field's values. The channel leans on age (older: email) within
    the opt-ins (push also needs an app token); slots and message values are skewed, the
    same for everyone."""
    eligible = customers[["email_opt_in", "push_opt_in", "sms_opt_in"]].to_numpy(bool).copy()
    eligible[:, 1] &= customers["has_app_token"].to_numpy(bool)
    age = ((customers["age"].to_numpy(float) - 40.0) / 15.0)[:, None]
    channel = LOGGED_CHANNEL_WEIGHTS * np.exp(age * np.array([0.8, -0.6, 0.0])) * eligible
    with np.errstate(invalid="ignore"):
        probabilities = {"channel": channel / channel.sum(axis=1, keepdims=True)}
    n = len(customers)
    probabilities["send_slot"] = np.tile(LOGGED_SLOT_PROBABILITIES, (n, 1))
    for field in FIELDS[2:]:
        skew = np.linspace(2.0, 1.0, len(ACTION_VALUES[field]))
        probabilities[field] = np.tile(skew / skew.sum(), (n, 1))
    return probabilities


def simulate_history(
    world: World, days: int, per_day: int, seed: int, recontact_days: int = 7
) -> pd.DataFrame:
    """The ``days`` before ``world.start`` as the previous system ran the campaign: each day
    ``per_day`` random customers with an eligible channel, not decided for in the
    ``recontact_days`` before, get an action drawn from
    ``logging_probabilities``, sent at the slot's local hour. The log has the action, its
    propensity and each field's (missing for 5% of the rows, sent by hand), the sends it
    allowed and the features it saw that need no event history (opt-ins, tenure, plan,
    platform, age); the rest of the feature vector it did not log."""
    rng = np.random.default_rng([seed, 5])
    customers = world.customers
    probabilities = logging_probabilities(customers)
    reachable = np.flatnonzero(np.isfinite(probabilities["channel"]).all(axis=1))
    last_decided = np.full(len(customers), -(10**6))
    frames = []
    for day in range(-days, 0):
        date = world.start + dt.timedelta(days=day)
        created = customers["created_at"].to_numpy()[reachable] < np.datetime64(date)
        known = reachable[created & (last_decided[reachable] <= day - recontact_days)]
        who = rng.choice(known, size=min(per_day, len(known)), replace=False)
        last_decided[who] = day
        frame = pd.DataFrame({"decision_id": [f"legacy-{date}-{i}" for i in range(len(who))]})
        frame["customer_id"] = customers["customer_id"].to_numpy()[who].astype(str)
        propensity = np.ones(len(who))
        for field, p in probabilities.items():
            cumulative = np.cumsum(p[who], axis=1)
            chosen = (rng.random((len(who), 1)) > cumulative).sum(axis=1)
            chosen = np.minimum(chosen, p.shape[1] - 1)
            frame[field] = np.asarray(ACTION_VALUES[field], dtype=object)[chosen]
            frame[f"{field}_propensity"] = p[who, chosen]
            propensity *= p[who, chosen]
        allowed = np.isfinite(probabilities["channel"][who]) & (probabilities["channel"][who] > 0)
        frame["eligible_sends"] = _eligible_sends(allowed)
        frame["decided_at"] = _local_hour_utc(
            date, frame["send_slot"], customers["timezone"].to_numpy()[who]
        )
        by_hand = rng.random(len(who)) < 0.05
        frame["propensity"] = np.where(by_hand, np.nan, propensity)
        for field in probabilities:
            frame.loc[by_hand, f"{field}_propensity"] = np.nan
        frames.append(pd.concat([frame, _logged_context(customers, who, date)], axis=1))
    return pd.concat(frames, ignore_index=True)


def _eligible_sends(channels: np.ndarray) -> list[str]:
    """``channel@slot,...`` for each row of allowed channels (n, 3), every slot allowed."""
    pairs = [",".join(f"{c}@{s}" for s in SEND_SLOTS) for c in ACTION_VALUES["channel"]]
    return [",".join(p for p, ok in zip(pairs, row, strict=True) if ok) for row in channels]


def _local_hour_utc(date: dt.date, slots: pd.Series, timezones: np.ndarray) -> np.ndarray:
    """UTC times of each slot's local hour on ``date`` in each customer's time zone."""
    local = pd.Timestamp(date) + pd.to_timedelta(slots.map(SEND_SLOTS).to_numpy(), unit="h")
    utc = np.empty(len(slots), dtype="datetime64[us]")
    for zone in np.unique(timezones):
        rows = timezones == zone
        stamps = pd.DatetimeIndex(local[rows]).tz_localize(
            zone, nonexistent="shift_forward", ambiguous=True
        )
        utc[rows] = stamps.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[us]")
    return utc


def _logged_context(customers: pd.DataFrame, who: np.ndarray, date: dt.date) -> pd.DataFrame:
    """The features (``customer_features``' names and scales) the previous system logged."""
    picked = customers.iloc[who].reset_index(drop=True)
    age = customers["age"].to_numpy(float)
    age_us = np.datetime64(date, "us") - picked["created_at"].to_numpy("datetime64[us]")
    tenure = age_us.astype(np.int64) / 86_400e6
    context: dict[str, Any] = {
        f"x_{c}_opt_in": picked[f"{c}_opt_in"].astype(float) for c in ("email", "push", "sms")
    }
    context["x_tenure"] = np.minimum(tenure / 365.0, 5.0)
    for attribute, levels in (
        ("plan", ("monthly", "annual")),
        ("platform", ("ios", "android", "web")),
    ):
        for level in levels:
            context[f"x_{attribute}_{level}"] = (picked[attribute] == level).astype(float)
    context["x_age"] = (picked["age"].to_numpy(float) - age.mean()) / age.std()
    return pd.DataFrame(context)


def demo_suppressions(world: World, seed: int, share: float = 0.02) -> pd.DataFrame:
    """A suppression list as a CRM would keep it: complaints and legal holds that never
    expire, and recent purchasers suppressed for their first week."""
    rng = np.random.default_rng([seed, 2])
    who = np.flatnonzero(rng.random(len(world.customers)) < share)
    reasons = np.array(["complaint", "legal_hold", "recent_purchase"])[rng.integers(0, 3, len(who))]
    expires = np.datetime64(world.start, "us") + rng.integers(1, 8, len(who)) * np.timedelta64(
        1, "D"
    )
    expires[reasons != "recent_purchase"] = np.datetime64("NaT")
    return pd.DataFrame(
        {
            "customer_id": world.customers["customer_id"].to_numpy()[who].astype(str),
            "reason": reasons,
            "expires_at": expires,
        }
    )


def simulate_day(
    database: Path, world: World, as_of: dt.date, window_hours: float, organic: bool = True
) -> pd.DataFrame:
    """After the day's build: customers respond to ``decisions_to_sync`` and their message
    events, product events (responses and, once a day, organic activity) and unsubscribes
    land in the sources, as the engagement tool and the ELT would load them. Returns
    today's messages."""
    with duckdb.connect(str(database)) as con:
        sent = con.execute(
            "select * from main.decisions_to_sync where decision_date = ?", [as_of]
        ).df()
        # Organic activity is loaded once, from organic_events, not again with responses.
        response = world.respond(sent, window_hours, organic=False)
        _append_rows(con, "raw.message_events", response.message_events)
        organic_events = world.organic_events(as_of) if organic else None
        product_events = pd.concat([response.product_events, organic_events])
        _append_rows(con, "raw.product_events", product_events)
        _apply_unsubscribes(con, response.unsubscribed)
    return sent


def _append_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    con.register("frame", frame)
    columns = ", ".join(frame.columns)
    con.execute(f"insert into {table} ({columns}) select {columns} from frame")
    con.unregister("frame")


def _apply_unsubscribes(con: duckdb.DuckDBPyConnection, unsubscribed: pd.DataFrame) -> None:
    """What the engagement tool syncs back: the opt-in flag of the channel turns off."""
    for channel, group in unsubscribed.groupby("channel"):
        con.register("gone", group[["customer_id"]])
        con.execute(
            f"update raw.customers set {channel}_opt_in = false "
            "where customer_id in (select customer_id from gone)"
        )
        con.unregister("gone")


def _decided(database: Path, as_of: dt.date, config: Config) -> pd.DataFrame:
    """Today's logged decisions, sending nothing included (channel "" for the simulator),
    with the recommended item (``<field>_item_id`` from ``decisions_to_sync``) if any."""
    item = config.recommendations.field
    extra = f", sync.{item}_item_id" if item else ""
    with duckdb.connect(str(database)) as con:
        decided = con.execute(
            f"select log.*{extra} from main.decision_log as log "
            "left join main.decisions_to_sync as sync on sync.decision_id = log.decision_id "
            "where log.decision_date = ? and log.campaign_id = ?",
            [as_of, config.campaign_id],
        ).df()
    decided["channel"] = decided["channel"].replace({SEND_NOTHING: ""})
    return decided


def _strategy_items(database: Path, config: Config) -> pd.DataFrame | None:
    """Today's item per customer and recommendation strategy (customer_id, strategy,
    item_id), when recommending."""
    if not config.recommendations.field:
        return None
    with duckdb.connect(str(database)) as con:
        items: pd.DataFrame = con.sql(
            "select customer_id, strategy, item_id from main.customer_strategy_items "
            "where item_id is not null"
        ).df()
    return items


def _message_values(database: Path) -> dict[str, list[str]]:
    """The active message variants of the day's catalog, per message field."""
    with duckdb.connect(str(database)) as con:
        rows = con.sql(
            "select field, value_id from main.action_catalog where is_active and field in "
            f"({', '.join(repr(f) for f in FIELDS[2:])})"
        ).fetchall()
    return {f: [v for field, v in rows if field == f] for f in FIELDS[2:]}


def _truth(
    world: World,
    sent: pd.DataFrame,
    as_of: dt.date,
    config: Config,
    values: dict[str, list[str]] | None = None,
    strategy_items: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The simulator's expected reward of today's decisions, by group, and of the oracle
    (which may also send nothing when the campaign allows it) choosing among ``values``
    (the day's message variants, Auto-Tune's included) and, when recommending, among the
    customer's ``strategy_items`` (or none) for the oracle's message."""
    row: dict[str, Any] = {"as_of": as_of, "decisions": len(sent)}
    truth: dict[str, Any] = {
        "weights": config.reward_weights,
        "window_hours": config.attribution_window_hours,
    }
    for group in GROUPS:
        frame = sent[sent["decision_group"] == group]
        row[f"{group}_customers"] = len(frame)
        if frame.empty:
            row[f"{group}_expected_reward"] = row[f"{group}_expected_reward_sd"] = np.nan
            continue
        actions = {f: frame[f"{f}_id" if f"{f}_id" in frame else f].to_numpy() for f in FIELDS}
        item = f"{world.recommendation_field}_item_id"
        if item in frame:
            actions[item] = frame[item].to_numpy()
        ids, send_at = frame["customer_id"].to_numpy(), frame["send_at_utc"].to_numpy()
        expected = world.expected_reward(ids, actions, **truth, send_at=send_at)
        row[f"{group}_expected_reward"] = float(np.mean(expected))
        row[f"{group}_expected_reward_sd"] = float(np.std(expected))
        if group == "policy":
            oracle = world.oracle_actions(ids, None, **truth, send_at=send_at, values=values)
            best = world.expected_reward(ids, oracle, **truth, send_at=send_at)
            if strategy_items is not None and world.recommendation_field:
                offered = strategy_items.pivot_table(
                    index="customer_id", columns="strategy", values="item_id", aggfunc="first"
                ).reindex(pd.Index(ids))
                for strategy in offered.columns:
                    recommended = {**oracle, item: offered[strategy].to_numpy(dtype=object)}
                    reward = world.expected_reward(ids, recommended, **truth, send_at=send_at)
                    best = np.maximum(best, reward)
            if config.policy.send_nothing:
                nothing = {f: np.full(len(ids), "" if f == "channel" else None) for f in FIELDS}
                organic = world.expected_reward(ids, nothing, **truth, send_at=send_at)
                best = np.maximum(best, organic)
            row["oracle_expected_reward"] = float(np.mean(best))
    return row


def summary(result: DemoResult, print_line: Callable[[str], None] = print) -> None:
    """What a marketer wants to see: reward by group per day, and where traffic went."""
    daily = result.daily
    print_line(
        "\nExpected reward per decision (simulator's truth): the policy, business as usual "
        "(the default action) and the holdout (sent nothing):"
    )
    print_line(
        f"{'day':>12} {'decisions':>9} {'policy':>8} {'usual':>8} {'holdout':>8} {'oracle':>8}"
    )
    for row in daily.itertuples():
        print_line(
            f"{row.as_of!s:>12} {row.decisions:>9} {row.policy_expected_reward:>8.3f} "
            f"{row.business_as_usual_expected_reward:>8.3f} {row.holdout_expected_reward:>8.3f} "
            f"{row.oracle_expected_reward:>8.3f}"
        )
    if not result.rewards.empty:
        measured = result.rewards.pivot_table(
            index="decision_date", columns="decision_group", values="mean_reward"
        )
        print_line("\nMeasured reward in the warehouse (finalized windows, table `rewards`):")
        print_line(measured.round(3).to_string())
    _traffic_summary(result.traffic, print_line)
    _recommendation_summary(result.recommendations, print_line)
    if not result.candidates.empty:
        print_line("\nVariants Auto-Tune wrote (table variant_candidates):")
        print_line(result.candidates.to_string(index=False))
    if not result.skips.empty:
        print_line("\nSkipped (no decision made), by reason, all days (table decision_skips):")
        print_line(result.skips.to_string(index=False))
    print_line(f"\nDatabase: {result.database}  (tables in schema main; sources in schema raw)")
    print_line(f"Report: {write_report(result.database)}  (open it in a browser)")


def _traffic_summary(traffic: pd.DataFrame, print_line: Callable[[str], None]) -> None:
    """Share of the policy's traffic on each field's best and worst value (by the reward the
    warehouse measured over all finalized decisions), first 3 days vs last 3 days."""
    if traffic.empty or traffic["reward"].notna().sum() == 0:
        return
    dates = sorted(traffic["decision_date"].unique())
    first = traffic[traffic["decision_date"].isin(dates[:3])]
    last = traffic[traffic["decision_date"].isin(dates[-3:])]
    print_line(
        "\nTraffic share of each field's best and worst value (measured reward), "
        "first 3 days -> last 3 days:"
    )
    for field in (c for c in traffic.columns if c not in ("decision_date", "reward")):
        measured = traffic.groupby(field)["reward"].mean().dropna().sort_values()
        for label, value in (("best", measured.index[-1]), ("worst", measured.index[0])):
            before = (first[field] == value).mean()
            after = (last[field] == value).mean()
            print_line(
                f"  {field:<13} {label:<5} {value:<15} reward {measured[value]:.3f}  "
                f"traffic {before:4.0%} -> {after:4.0%}"
            )


def _recommendation_summary(strategies: pd.DataFrame, print_line: Callable[[str], None]) -> None:
    """The recommendation strategies' traffic and reward in each hidden segment."""
    if strategies.empty:
        return
    print_line(
        f"\nRecommendation strategies ({RECOMMENDATION_FIELD}) by the simulator's hidden segment "
        "(focused: most workouts in one category; explorer: by popularity), policy traffic "
        "first 3 days -> last 3 days, measured reward:"
    )
    for row in strategies.itertuples():
        print_line(
            f"  {row.segment:<9} {row.strategy:<16} traffic {row.traffic_first:4.0%} -> "
            f"{row.traffic_last:4.0%}  reward {row.mean_reward:.3f} ({row.rewards:,} rewards)"
        )
