"""Every guardrail on at once, over several days of real `dbt build`s, on the demo world.

Two campaigns write to the same decision log (so frequency caps count across campaigns),
across the US daylight-saving change of 2026-03-08. Each build runs the guardrail tests
(tests/dbt/guardrail_*.sql) on the day's decisions and would fail on a violation; the
tests here check the whole history again, independently, in pandas, and check that the
guardrails bound (they were not vacuous). The last tests break one guardrail at a time in
a copy of the log and show the project's tests catch it.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from decisioning.demo import DAILY_ONLY, create_sources, simulate_day
from decisioning.project import BuildError, Project
from decisioning.world import generate_world

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2026, 3, 5)
DAYS = 6
FLOOR = 0.01
CEILING = 0.3
SHARE, USUAL = 0.1, 0.1
CAPS = ((2, 7, None), (1, 7, "sms"))  # (max_messages, days, channel)
QUIET = {None: ("22:00", "08:00"), "sms": ("20:00", "10:00")}
BUDGETS = {
    ("offer", "of_discount_20"): ("max_share", 0.05),
    ("subject_line", "sl_discount"): ("max_count", 25),
}
GUARDRAILS = {
    "frequency_caps": [
        {"max_messages": n, "days": d, **({"channel": c} if c else {})} for n, d, c in CAPS
    ],
    "quiet_hours": {"start": QUIET[None][0], "end": QUIET[None][1]},
    "channels": {
        "sms": {"cost": 0.02, "quiet_hours": {"start": QUIET["sms"][0], "end": QUIET["sms"][1]}},
        "push": {"requires": ["has_app_token"]},
    },
    "budgets": [{"field": f, "value": v, k: limit} for (f, v), (k, limit) in BUDGETS.items()],
    "max_exploration_share": CEILING,
}
CAMPAIGNS = {
    "winback": {"audience": {"inactive_days": 14, "recontact_days": 3, "max_per_day": 900}},
    "newsletter": {"audience": {"inactive_days": None, "recontact_days": 2, "max_per_day": 900}},
}

pytestmark = pytest.mark.e2e


def _settings(campaign: str, as_of: dt.date) -> dict[str, object]:
    return {
        "campaign_id": campaign,
        "as_of": as_of.isoformat(),
        "reward": {"attribution_window_hours": 24},
        "policy": {"propensity_floor": FLOOR},
        "holdout": {"share": SHARE, "business_as_usual_share": USUAL},
        "guardrails": GUARDRAILS,
        **CAMPAIGNS[campaign],
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, Path]]:
    database = tmp_path_factory.mktemp("guardrails") / "guardrails.duckdb"
    project = Project.open(ROOT, database)
    world = generate_world(n_customers=4000, seed=11, start=START)
    create_sources(database, world, seed=11)
    for day in range(DAYS):
        as_of = START + dt.timedelta(days=day)
        for k, campaign in enumerate(CAMPAIGNS):
            # Fails on any guardrail violation (the guardrail tests run in every build).
            project.build(_settings(campaign, as_of), *DAILY_ONLY)
            simulate_day(database, world, as_of, 24.0, organic=k == 0)
    yield project, database


def _query(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database)) as con:
        return con.sql(sql).df()


def _messages(database: Path) -> pd.DataFrame:
    return _query(database, "select * from main.decision_log where channel != 'none'")


def test_frequency_caps_hold_across_campaigns_in_every_rolling_window(run) -> None:  # type: ignore[no-untyped-def]
    _, database = run
    messages = _messages(database)
    assert messages["campaign_id"].nunique() == 2
    for max_messages, days, channel in CAPS:
        counted = messages if channel is None else messages[messages["channel"] == channel]
        t = counted.sort_values("send_at_utc")
        for _, times in t.groupby("customer_id")["send_at_utc"]:
            stamps = times.to_numpy()
            # Messages in (s - days, s] for each message time s: exact for every window.
            first = np.searchsorted(stamps, stamps - np.timedelta64(days, "D"), side="right")
            assert (np.arange(1, len(stamps) + 1) - first).max() <= max_messages
    skips = _query(database, "select reason, count(*) as n from main.decision_skips group by 1")
    assert dict(zip(skips["reason"], skips["n"], strict=True)).get("frequency_cap", 0) > 0


def test_sends_fall_outside_quiet_hours_in_local_time_across_daylight_saving(run) -> None:  # type: ignore[no-untyped-def]
    _, database = run
    messages = _messages(database)
    minutes = np.empty(len(messages), dtype=int)
    for zone, rows in messages.groupby("timezone").groups.items():
        local = (
            pd.DatetimeIndex(messages.loc[rows, "send_at_utc"])
            .tz_localize("UTC")
            .tz_convert(zoneinfo.ZoneInfo(str(zone)))
        )
        minutes[messages.index.get_indexer(rows)] = local.hour * 60 + local.minute
    for channel, (start, end) in QUIET.items():
        s, e = (int(x[:2]) * 60 + int(x[3:]) for x in (start, end))
        rows = np.ones(len(messages), bool) if channel is None else messages["channel"] == channel
        quiet = (minutes >= s) | (minutes < e)  # both wrap past midnight
        assert not (quiet & rows).any()
    sms_slots = set(messages.loc[messages["channel"] == "sms", "send_slot"])
    assert sms_slots and sms_slots <= {"h12", "h18"}  # 08:00 and 21:00 are quiet for SMS
    assert (pd.to_datetime(messages["decision_date"]) >= pd.Timestamp("2026-03-08")).any()


def test_budgets_are_exact_per_day_and_bind(run) -> None:  # type: ignore[no-untyped-def]
    _, database = run
    log = _query(database, "select * from main.decision_log")
    bound = 0
    for (field, value), (kind, limit) in BUDGETS.items():
        for _, day in log.groupby(["campaign_id", "decision_date"]):
            cap = limit if kind == "max_count" else math.floor(limit * len(day) + 1e-9)
            used = int((day[field] == value).sum())
            assert used <= cap
            bound += used == cap
    assert bound > 0


def test_suppressed_customers_and_channels_without_consent_get_nothing(run) -> None:  # type: ignore[no-untyped-def]
    _, database = run
    violations = _query(
        database,
        "select count(*) as n from main.decision_log as log "
        "join raw.suppressions as s on s.customer_id = log.customer_id "
        "and (s.expires_at is null or s.expires_at > cast(log.decision_date as timestamp))",
    )
    assert violations["n"][0] == 0
    push = _query(
        database,
        "select count(*) as n from main.decision_log as log "
        "join raw.customers as c using (customer_id) "
        "where log.channel = 'push' and not c.has_app_token",
    )
    assert push["n"][0] == 0
    skipped = _query(database, "select reason, detail from main.decision_skips")
    assert set(skipped.loc[skipped["reason"] == "suppressed", "detail"]) <= {
        "complaint",
        "legal_hold",
        "recent_purchase",
    }
    assert {"suppressed", "no_eligible_channel"} <= set(skipped["reason"])


def test_exploration_stays_between_floor_and_ceiling(run) -> None:  # type: ignore[no-untyped-def]
    _, database = run
    policy = _query(database, "select * from main.decision_log where decision_group = 'policy'")
    per_day = policy.groupby(["campaign_id", "decision_date"])["is_exploration"].agg(
        ["sum", "size"]
    )
    assert (per_day["sum"] <= np.floor(CEILING * per_day["size"] + 1e-9)).all()
    assert (per_day["sum"] > 0).all()
    for field in ("channel", "send_slot", "subject_line", "greeting", "offer"):
        p = policy[f"{field}_propensity"].dropna()
        assert (p >= FLOOR - 1e-12).all() and (p <= 1).all()


def test_holdout_integrity_groups_by_salted_hash_and_shares_in_binomial_bounds(run) -> None:  # type: ignore[no-untyped-def]
    _, database = run
    log = _query(database, "select * from main.decision_log")
    groups = log.groupby("customer_id")["decision_group"].nunique()
    assert (groups == 1).all()
    holdout = log[log["decision_group"] == "holdout"]
    assert (holdout["channel"] == "none").all() and holdout["subject_line"].isna().all()
    skips = _query(database, "select customer_id, decision_group from main.decision_skips")
    # The shares of everyone assigned, decided or skipped (skips are group-blind by design).
    customers = pd.concat([log, skips]).drop_duplicates("customer_id")
    n = len(customers)
    for group, share in (("holdout", SHARE), ("business_as_usual", USUAL)):
        k = (customers["decision_group"] == group).sum()
        assert abs(k - n * share) <= 4 * math.sqrt(n * share * (1 - share)) + 1


BREAKS = {
    "guardrail_frequency_caps": "insert into main.bad_decisions select bad.* replace "
    "(md5(decision_id || k) as decision_id, send_at_utc + k * interval 1 minute as send_at_utc) "
    "from (select * from main.bad_decisions where channel = 'email' limit 1) as bad "
    "cross join range(1, 3) as copies(k)",
    "guardrail_quiet_hours": "update main.bad_decisions set send_at_utc = "
    "cast(timezone('UTC', timezone(timezone, cast(decision_date as timestamp) + interval 23 hour))"
    " as timestamp) where decision_id = (select min(decision_id) from main.bad_decisions "
    "where channel = 'email')",
    "guardrail_budgets": "update main.bad_decisions set offer = 'of_discount_20' where "
    "decision_id in (select decision_id from main.bad_decisions where offer = 'of_none' limit 60)",
    "guardrail_suppressions": "insert into main.bad_decisions select bad.* replace "
    "(s.customer_id as customer_id, md5(s.customer_id) as decision_id) from "
    "(select * from main.bad_decisions where channel = 'email' limit 1) as bad cross join "
    "(select customer_id from raw.suppressions where expires_at is null limit 1) as s",
    "guardrail_channel_eligibility": "update main.bad_decisions set channel = 'push' where "
    "decision_id = (select min(b.decision_id) from main.bad_decisions as b join "
    "main.customer_features as f using (customer_id) where not f.has_app_token)",
    "guardrail_exploration": "update main.bad_decisions set offer_propensity = 0.001 where "
    "decision_id = (select min(decision_id) from main.bad_decisions where "
    "decision_group = 'policy' and offer is not null)",
    "guardrail_holdout": "update main.bad_decisions set channel = 'email' where decision_id = "
    "(select min(decision_id) from main.bad_decisions where decision_group = 'holdout')",
}


def _check_copy(project: Project, database: Path, breaking: str | None) -> None:
    last = START + dt.timedelta(days=DAYS - 1)
    with duckdb.connect(str(database)) as con:
        con.execute(
            "create or replace table main.bad_decisions as select * from main.decision_log "
            "where campaign_id = 'newsletter' and decision_date = ?",
            [last],
        )
        if breaking:
            con.execute(breaking)
    project.dbt(
        ["test", "--select", "path:tests/dbt"],
        _settings("newsletter", last),
        {"decisioning_guardrail_table": "main.bad_decisions"},
    )


def test_the_guardrail_tests_pass_on_a_faithful_copy_of_the_log(run) -> None:  # type: ignore[no-untyped-def]
    _check_copy(*run, breaking=None)


@pytest.mark.parametrize("test_name", sorted(BREAKS))
def test_a_table_breaking_one_guardrail_is_caught_by_its_test(run, test_name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BuildError) as caught:
        _check_copy(*run, breaking=BREAKS[test_name])
    assert test_name in str(caught.value)
