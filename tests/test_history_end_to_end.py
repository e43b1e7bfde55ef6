"""Bring your own history, end to end: four weeks of a known logging policy's decisions
before launch (``decisioning.demo.simulate_history``) are loaded as ``historical_decisions``
with their outcomes; one ``dbt build`` on launch day warm-starts the policy and evaluates
candidate policies on the later part of the history, checked against the simulator's
exact expected rewards. Bounds: 3 standard errors of the estimate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from decisioning.catalog import Catalog
from decisioning.demo import NO_UNIT_TESTS, create_sources, load_history
from decisioning.evaluation import LoggedDecisions, fixed_choice, target_policy
from decisioning.project import BuildError, Project
from decisioning.world import ACTION_VALUES, World, generate_world
from tests.test_evaluation import chosen_actions, true_value

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2026, 1, 1)
THIN = {field: values[-1] for field, values in ACTION_VALUES.items()}
SETTINGS = {
    "as_of": START.isoformat(),
    "sources": {"historical_decisions": {"table": "historical_decisions"}},
    "evaluation": {
        "policies": [
            {"name": "email_midday", "actions": {"channel": "email", "send_slot": "h12"}},
            {"name": "one_combination", "actions": THIN},
        ]
    },
}

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, World]]:
    database = tmp_path_factory.mktemp("history") / "history.duckdb"
    project = Project.open(ROOT, database)
    world = generate_world(n_customers=3000, seed=7, start=START)
    create_sources(database, world, seed=7)
    load_history(database, world, days=28, per_day=400, window_hours=72, seed=7)
    project.build(SETTINGS, *NO_UNIT_TESTS)
    yield project, world


def _query(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database)) as con:
        return con.sql(sql).df()


def _estimates(database: Path, policy: str) -> pd.DataFrame:
    return _query(
        database,
        "select * from main.policy_evaluation "
        f"where logs = 'historical_decisions' and policy = '{policy}'",
    ).set_index("estimator")


def test_history_warm_starts_day_one(built: tuple[Project, World]) -> None:
    """Every finalized historical reward is in the statistics, so launch day's model
    already predicts rewards at the history's level: the policy group's expected rewards
    average within a quarter of the history's mean reward, where the prior alone says 0."""
    project, _ = built
    final = _query(
        project.database,
        "select count(*) as n, avg(reward) as mean_reward from main.rewards "
        "where decision_group = 'historical' and is_final",
    )
    statistics = _query(project.database, "select * from main.policy_statistics")
    assert final["n"][0] > 8_000
    assert statistics.loc[statistics["field"] == "channel", "n_rewards"].sum() == final["n"][0]
    decided = _query(
        project.database, "select * from main.decision_log where decision_group = 'policy'"
    )
    assert len(decided) > 500
    history_mean = final["mean_reward"][0]
    assert abs(decided["expected_reward"].mean() - history_mean) < 0.25 * history_mean


def test_estimates_cover_the_simulators_truth(built: tuple[Project, World]) -> None:
    """On the evaluated (later) decisions: the logged policy's own estimate and a second
    known policy's IPS and DR estimates are within 3 standard errors of the truth."""
    project, world = built
    config = project.config(SETTINGS)
    catalog = Catalog.from_frame(
        _query(project.database, "select * from main.action_catalog"), config.fields
    )
    logged_rows = _estimates(project.database, "logged")
    trained_to = logged_rows["trained_to"].iloc[0]
    frame = _query(
        project.database,
        "select evaluated.*, history.customer_id, history.decided_at as send_at_utc "
        "from main.int_historical_decisions as evaluated "
        "inner join main.stg_decisioning__historical_decisions as history using (decision_id) "
        f"where evaluated.decision_date >= '{trained_to.date()}' "
        "and evaluated.propensity is not null",
    )
    logged = LoggedDecisions.from_frame(frame, catalog)
    assert logged_rows.loc["on_policy", "decisions"] == len(frame) > 2500
    assert logged_rows["decisions_without_propensity"].iloc[0] > 0
    logged_truth = true_value(world, frame, {f: frame[f].to_numpy() for f in ACTION_VALUES})
    on_policy = logged_rows.loc["on_policy"]
    assert abs(on_policy["estimate"] - logged_truth) < 3 * on_policy["standard_error"]

    action = {"channel": 0, "send_slot": ACTION_VALUES["send_slot"].index("h12")}
    target = target_policy("email_midday", "", logged, catalog, fixed_choice(action), tuple(action))
    truth = true_value(world, frame, chosen_actions(target, frame), config.reward_weights)
    estimates = _estimates(project.database, "email_midday")
    assert (estimates["verdict"] == "evaluable").all()
    for estimator in ("ips", "dr"):
        row = estimates.loc[estimator]
        assert abs(row["estimate"] - truth) < 3 * row["standard_error"], (estimator, truth)


def test_candidates_are_evaluated_and_thin_support_is_flagged(
    built: tuple[Project, World],
) -> None:
    """Both Thompson sampling candidates get all three estimators; a single combination of
    five fields, which the logging policy almost never chose, is not evaluable."""
    project, _ = built
    for policy in ("contextual_thompson_sampling", "campaign_thompson_sampling"):
        estimates = _estimates(project.database, policy)
        assert set(estimates.index) == {"ips", "snips", "dr"}
        assert estimates["estimate"].notna().all()
    thin = _estimates(project.database, "one_combination")
    assert (thin["verdict"] == "not evaluable").all()
    assert thin["warning"].str.contains("effective sample size").all()


def test_a_bad_history_stops_the_build_with_counts(built: tuple[Project, World]) -> None:
    """Propensities of 0 and above 1, duplicate ids and outcomes before their decision are
    counted in one error, and the next day's build writes nothing."""
    project, _ = built
    log_size = _query(project.database, "select count(*) as n from main.decision_log")["n"][0]
    with duckdb.connect(str(project.database)) as con:
        con.execute(
            "update raw.historical_decisions set propensity = 0 where decision_id in "
            "(select decision_id from raw.historical_decisions order by decision_id limit 3)"
        )
        con.execute(
            "update raw.historical_decisions set propensity = 1.5 where decision_id in "
            "(select decision_id from raw.historical_decisions order by decision_id desc limit 2)"
        )
        con.execute(
            "insert into raw.historical_decisions select * from raw.historical_decisions "
            "order by decision_id limit 4 offset 10"
        )
        con.execute(
            "insert into raw.message_events select decision_id, customer_id, 'open', "
            "decided_at - interval 1 hour from raw.historical_decisions "
            "order by decision_id limit 2 offset 100"
        )
    later = {**SETTINGS, "as_of": (START + dt.timedelta(days=1)).isoformat()}
    with pytest.raises(BuildError) as error:
        project.build(later, *NO_UNIT_TESTS)
    message = str(error.value)
    assert "5 row(s) with propensity outside (0, 1]" in message
    assert "4 duplicate decision_id value(s)" in message
    assert "2 message event(s) before the decision" in message
    after = _query(project.database, "select count(*) as n from main.decision_log")["n"][0]
    assert after == log_size
