"""Recommendations end to end: the demo world with its workout catalog and hidden item
preferences (``World.with_recommendations``) runs through real ``dbt build``s, the
recommender's models included. The message field ``workout`` recommends a workout and the
policy chooses its strategy (personalized, popular, new_in_category, none) per customer,
as an ordinary field; the recommended item is synced with the message.

The truth (``decisioning.world``, "Recommendations"): an item of a focused customer's
favourite category adds about +0.9 to their click logit, any item costs an explorer 0.3.
The reward here is the click alone (a Bernoulli of about 0.1, not organic conversions'
noise), with about 6,000 policy decisions a day whose rewards are final two builds later:
the last two of five days learn from one to three days of rewards. What the world knows
and the policy does not (who is focused, their favourite category) only enters the
assertions; the policy sees the features customer_features derives from the item events.

Bounds: a traffic share is the mean, over the segment's decisions, of the policy's
probability of that value (the model and its Monte Carlo draws are fixed by the seeds),
estimated with a binomial standard error; the fitted model's difference between two values
is compared with its posterior standard deviation. Both at 3 standard errors.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from decisioning.catalog import Catalog
from decisioning.config import RECOMMENDATION_STRATEGIES, Config
from decisioning.demo import (
    DAILY_ONLY,
    RECOMMENDATION_FIELD,
    create_sources,
    recommendation_settings,
    simulate_day,
)
from decisioning.posterior import models_from_frame
from decisioning.project import Project, merge_settings
from decisioning.world import World, generate_world

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2026, 1, 1)
DAYS = 5
LAST_DAYS = 2
CUSTOMERS = 8000
SEED = 7
FIELD = RECOMMENDATION_FIELD
ITEM_STRATEGIES = tuple(s for s in RECOMMENDATION_STRATEGIES if s != "none")
SETTINGS = {
    # The click alone: the recommendation acts on it (the world's β is a click-logit term).
    "reward": {
        "attribution_window_hours": 24,
        "weights": {"open": 0.0, "click": 1.0, "conversion": 0.0, "unsubscribe": 0.0},
    },
    # Everyone, every day: about 6,000 policy decisions a day.
    "audience": {"inactive_days": None, "recontact_days": 1, "max_per_day": CUSTOMERS},
    "guardrails": {"budgets": [], "frequency_caps": []},
}

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, World, Config]]:
    database = tmp_path_factory.mktemp("recommendation_field") / "recommendation_field.duckdb"
    project = Project.open(ROOT, database)
    settings = _settings(project)
    config = project.config(settings)
    world = generate_world(CUSTOMERS, seed=SEED, start=START).with_recommendations(FIELD)
    create_sources(database, world, SEED)
    for day in range(DAYS):
        as_of = START + dt.timedelta(days=day)
        # Without the data tests, a third of each build (the other end-to-end tests run them).
        no_tests = ("--exclude-resource-type", "test")
        project.build({**settings, "as_of": as_of.isoformat()}, *DAILY_ONLY, *no_tests)
        simulate_day(database, world, as_of, config.attribution_window_hours)
    yield project, world, config


def _settings(project: Project) -> dict[str, Any]:
    """SETTINGS with the demo's recommendation field, workout."""
    fields = project.config(SETTINGS).message_fields
    return merge_settings(SETTINGS, recommendation_settings(fields))


def _query(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database)) as con:
        return con.sql(sql).df()


def _last_day() -> dt.date:
    return START + dt.timedelta(days=DAYS - 1)


def test_the_strategies_are_the_fields_values(run: tuple[Project, World, Config]) -> None:
    project, _, config = run
    catalog = _query(
        project.database, "select * from main.action_catalog order by field, value_position"
    )
    strategies = catalog[catalog["field"] == FIELD]
    assert tuple(strategies["value_id"]) == config.recommendations.strategies
    assert strategies["is_recommendation"].all() and strategies["is_active"].all()
    assert not catalog.loc[catalog["field"] != FIELD, "is_recommendation"].any()
    assert strategies["content"].str.len().gt(0).all()
    # The policy's action features for a strategy: its labels only, not its text's tags.
    values = Catalog.from_frame(catalog, config.fields)
    names = values.action_feature_names[FIELD]
    ordered = config.recommendations.strategies
    tags = {"tag_recommends_item", *(f"tag_strategy_{v}" for v in ordered)}
    assert set(names) == {"bias", *tags, *(f"id_{v}" for v in ordered)}
    log = _query(project.database, f"select {FIELD}, {FIELD}_propensity from main.decision_log")
    sent = log[FIELD].notna()
    assert set(log.loc[sent, FIELD]) == set(config.recommendations.strategies)
    assert log.loc[sent, f"{FIELD}_propensity"].between(0, 1, inclusive="right").all()


def test_decisions_to_sync_carry_the_recommended_item(
    run: tuple[Project, World, Config],
) -> None:
    """``<field>_id`` is the strategy; ``<field>`` and ``<field>_item_id`` the recommender's
    item for the customer under it (customer_strategy_items), a catalog item, null for
    none."""
    project, world, _ = run
    sync = _query(project.database, "select * from main.decisions_to_sync")
    columns = list(sync.columns)
    at = columns.index(f"{FIELD}_id")
    assert columns[at : at + 3] == [f"{FIELD}_id", FIELD, f"{FIELD}_item_id"]
    assert (pd.to_datetime(sync["decision_date"]).dt.date == _last_day()).all()
    assert sync["decision_id"].is_unique and sync["customer_id"].is_unique
    items = _query(
        project.database,
        "select customer_id, strategy, item_id, item_name from main.customer_strategy_items",
    )
    joined = sync.merge(
        items,
        how="left",
        left_on=["customer_id", f"{FIELD}_id"],
        right_on=["customer_id", "strategy"],
    )
    assert len(joined) == len(sync)
    none = joined[f"{FIELD}_id"] == "none"
    assert none.any() and (~none).any()
    assert joined.loc[none, [FIELD, f"{FIELD}_item_id"]].isna().all().all()
    recommended = joined[~none]
    assert (recommended[f"{FIELD}_item_id"].fillna("") == recommended["item_id"].fillna("")).all()
    assert (recommended[FIELD].fillna("") == recommended["item_name"].fillna("")).all()
    catalog = world.catalog_items().set_index("item_id")["name"]
    shown = recommended[recommended[f"{FIELD}_item_id"].notna()]
    assert shown[f"{FIELD}_item_id"].isin(catalog.index).all()
    assert (shown[FIELD].to_numpy() == catalog[shown[f"{FIELD}_item_id"]].to_numpy()).all()
    for strategy in ITEM_STRATEGIES:  # each has an item for everyone (its fallbacks)
        rows = recommended[recommended[f"{FIELD}_id"] == strategy]
        assert len(rows) > 50 and rows[f"{FIELD}_item_id"].notna().all(), strategy


def test_features_tell_focused_customers_apart(run: tuple[Project, World, Config]) -> None:
    """x_top_category_share: focused customers (most workouts in one category) far above
    explorers; both features reach the logged contexts the policy learns from."""
    project, world, _ = run
    features = _query(
        project.database,
        "select customer_id, x_items_done, x_top_category_share from main.customer_features",
    )
    assert features["x_items_done"].ge(0).all()
    assert features["x_top_category_share"].between(0, 1).all()
    active = features[features["x_items_done"] > 0]
    focused = world.item_preferences(active["customer_id"].to_numpy(dtype=object))["focused"]
    share = active["x_top_category_share"].to_numpy()
    assert share[focused.to_numpy()].mean() > share[~focused.to_numpy()].mean() + 0.2
    contexts = _query(project.database, "select * from main.decision_contexts limit 1")
    assert {"x_items_done", "x_top_category_share"} <= set(contexts.columns)


def _decisions(project: Project, world: World) -> pd.DataFrame:
    """The policy's decisions that sent a message, with the world's segment."""
    log = _query(
        project.database,
        f"select decision_id, decision_date, customer_id, {FIELD} as strategy "
        f"from main.decision_log where decision_group = 'policy' and {FIELD} is not null",
    )
    preferences = world.item_preferences(log["customer_id"].to_numpy(dtype=object))
    return log.assign(focused=preferences["focused"].to_numpy())


def _truly_best(project: Project, world: World, customers: pd.Series) -> str:
    """The item strategy whose items (today's customer_strategy_items) lift these
    customers' click logit most under the world's truth (β = 0 where there is no item)."""
    items = _query(
        project.database, "select customer_id, strategy, item_id from main.customer_strategy_items"
    )
    offered = items.pivot_table(
        index="customer_id", columns="strategy", values="item_id", aggfunc="first"
    ).reindex(pd.Index(customers))
    ids = customers.to_numpy(dtype=object)
    lift = {
        s: world.recommendation_logit(ids, offered[s].to_numpy(dtype=object)).mean()
        for s in ITEM_STRATEGIES
        if s in offered
    }
    best = max(lift, key=lambda s: lift[s])
    assert lift[best] > 0.3, lift  # the world makes recommending pay for focused customers
    return best


def _share(rows: pd.DataFrame, value: str) -> tuple[float, float]:
    """Share of ``value`` and its binomial variance."""
    p = float((rows["strategy"] == value).mean())
    return p, p * (1 - p) / len(rows)


def test_the_policy_learns_which_customers_a_recommendation_helps(
    run: tuple[Project, World, Config],
) -> None:
    """On the last days, the strategy whose items help focused customers most (by the
    truth) gets more than its uniform share of them, and more of them than of explorers,
    whom every item costs a little; explorers get no recommendation more often than
    focused customers."""
    project, world, config = run
    decisions = _decisions(project, world)
    dates = sorted(decisions["decision_date"].unique())
    last = decisions[decisions["decision_date"].isin(dates[-LAST_DAYS:])]
    focused, explorers = last[last["focused"]], last[~last["focused"]]
    best = _truly_best(project, world, focused["customer_id"])
    uniform = 1 / len(config.recommendations.strategies)

    p_focused, v_focused = _share(focused, best)
    p_explorers, v_explorers = _share(explorers, best)
    assert p_focused - uniform > 3 * math.sqrt(v_focused), (best, p_focused)
    assert p_focused - p_explorers > 3 * math.sqrt(v_focused + v_explorers), (
        best,
        p_focused,
        p_explorers,
    )
    none_focused, w_focused = _share(focused, "none")
    none_explorers, w_explorers = _share(explorers, "none")
    assert none_explorers - none_focused > 3 * math.sqrt(w_focused + w_explorers), (
        none_focused,
        none_explorers,
    )


def test_the_fitted_model_ranks_the_strategies_by_segment(
    run: tuple[Project, World, Config],
) -> None:
    """The last day's model: for focused customers the truly best strategy's mean score
    exceeds none's by more than 3 posterior standard deviations, and by 3 more than for
    explorers. Scores are linear in x, so a segment's mean difference is
    ``x̄' (m_best - m_none)`` with variance at most ``x̄' (S_best + S_none) x̄`` (the values'
    covariance through their shared bias is positive and left out: conservative)."""
    project, world, config = run
    catalog = Catalog.from_frame(
        _query(project.database, "select * from main.action_catalog"), config.fields
    )
    parameters = _query(project.database, "select * from main.policy_model")
    model = models_from_frame(parameters, catalog)[FIELD]
    decisions = _decisions(project, world)
    last = decisions[decisions["decision_date"] == decisions["decision_date"].max()]
    contexts = _query(project.database, "select * from main.decision_contexts")
    x = last.merge(contexts, on="decision_id")
    best = _truly_best(project, world, last.loc[last["focused"], "customer_id"])
    b, n = model.value_ids.index(best), model.value_ids.index("none")
    difference = model.mean[b] - model.mean[n]
    covariance = model.covariance[b] + model.covariance[n]
    names = list(model.feature_names)

    def mean_features(rows: pd.Series) -> np.ndarray:
        return x.loc[rows.to_numpy(), names].to_numpy(dtype=float).mean(axis=0)

    x_focused, x_explorers = mean_features(x["focused"]), mean_features(~x["focused"])
    gain = float(x_focused @ difference)
    assert gain > 3 * math.sqrt(float(x_focused @ covariance @ x_focused)), gain
    contrast = x_focused - x_explorers
    gap = float(contrast @ difference)
    assert gap > 3 * math.sqrt(float(contrast @ covariance @ contrast)), (gain, gap)


def test_reporting_marts_measure_the_recommender_and_the_strategies(
    run: tuple[Project, World, Config],
) -> None:
    """recommendation_strategy_performance counts every finalized policy decision once,
    in the kind its features gave; recommendation_quality scores both methods on the same
    held-out customers."""
    project, _, _ = run
    settings = {**_settings(project), "as_of": _last_day().isoformat()}
    marts = (
        "int_recommendation_training_interactions",  # the daily builds leave reporting out
        "recommendation_quality",
        "recommendation_strategy_performance",
    )
    project.build(settings, "--select", *marts, "--exclude-resource-type", "unit_test")
    performance = _query(project.database, "select * from main.recommendation_strategy_performance")
    finalized = _query(
        project.database,
        f"select log.{FIELD} as strategy, rewards.reward from main.decision_log as log "
        "inner join main.rewards on rewards.decision_id = log.decision_id "
        "where log.decision_group = 'policy' and rewards.is_final",
    )
    assert performance["decisions"].sum() == len(finalized) > 0
    by_strategy = performance.groupby("strategy")["decisions"].sum()
    assert by_strategy.to_dict() == finalized.groupby("strategy").size().to_dict()
    assert set(performance["customer_kind"]) <= {"no item history", "focused", "varied"}
    assert (performance["ci_low"] <= performance["mean_reward"]).all()
    assert (performance["mean_reward"] <= performance["ci_high"]).all()
    total = (performance["mean_reward"] * performance["decisions"]).sum()
    assert math.isclose(total, finalized["reward"].sum(), rel_tol=1e-9)

    quality = _query(project.database, "select * from main.recommendation_quality")
    assert set(quality["method"]) == {"co_occurrence", "popularity"}
    assert quality.groupby("k")["customers"].nunique().eq(1).all()  # the same customers
    assert (quality["customers_hit"] <= quality["customers"]).all()
    hit_rates = quality.sort_values("k").groupby("method")["hit_rate"]
    assert hit_rates.apply(lambda rates: rates.is_monotonic_increasing).all()
