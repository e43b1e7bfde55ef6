"""The demo world: source contracts, determinism, truth consistency and calibration."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from decisioning.config import OPTIONAL_SOURCE_COLUMNS, SOURCE_COLUMNS
from decisioning.world import (
    ACTION_VALUES,
    CATEGORIES,
    CHANNELS,
    FIELDS,
    OPT_IN_COLUMNS,
    PRICES,
    SEND_SLOTS,
    TIMEZONES,
    AppealDrift,
    NewVariant,
    Response,
    World,
    generate_world,
)

SEED = 11
START = dt.date(2026, 1, 1)
WEIGHTS = {"open": 0.1, "click": 0.3, "conversion": 1.0, "unsubscribe": -0.5}
WINDOW = 72.0
TEXT = pd.StringDtype(na_value=np.nan)  # pandas' default "str" dtype
TS = np.dtype("datetime64[us]")


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(50_000, seed=SEED, start=START)


@pytest.fixture(scope="module")
def history(world: World) -> pd.DataFrame:
    return world.history()


@pytest.fixture(scope="module")
def lapsing(world: World, history: pd.DataFrame) -> np.ndarray:
    """Customers with no product event in the 14 days before start and at least one opt-in."""
    cutoff = pd.Timestamp(START) - pd.Timedelta(days=14)
    recent = set(history.loc[history["occurred_at"] >= cutoff, "customer_id"])
    customers = world.customers
    keep = ~customers["customer_id"].isin(recent) & customers[list(OPT_IN_COLUMNS)].any(axis=1)
    return customers.loc[keep, "customer_id"].to_numpy(dtype=object)


@pytest.fixture(scope="module")
def big_world() -> World:
    return generate_world(200_000, seed=SEED + 1, start=START)


@pytest.fixture(scope="module")
def decisions(big_world: World) -> pd.DataFrame:
    """One uniformly random action per customer, sent at the slot's local hour, days 0-6."""
    return random_decisions(big_world, np.random.default_rng(5), days=7)


@pytest.fixture(scope="module")
def response(big_world: World, decisions: pd.DataFrame) -> Response:
    return big_world.respond(decisions, WINDOW)


def random_decisions(world: World, rng: np.random.Generator, days: int) -> pd.DataFrame:
    customers = world.customers
    n = len(customers)
    frame = pd.DataFrame(
        {
            "decision_id": [f"d{i:08d}" for i in rng.permutation(n)],
            "customer_id": customers["customer_id"].to_numpy(dtype=object),
        }
    )
    for field in FIELDS:
        values = np.asarray(ACTION_VALUES[field], dtype=object)
        frame[field] = values[rng.integers(0, len(values), n)]
    local = pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, days, n), unit="D")
    local = local + pd.to_timedelta(frame["send_slot"].map(SEND_SLOTS).to_numpy(), unit="h")
    send = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    for zone, rows in customers.groupby("timezone").groups.items():
        stamps = pd.DatetimeIndex(local[rows]).tz_localize(str(zone), nonexistent="shift_forward")
        send[rows] = stamps.tz_convert("UTC").tz_localize(None).as_unit("us")
    frame["send_at_utc"] = send
    return frame


def realized_reward(decisions: pd.DataFrame, response: Response) -> pd.DataFrame:
    """Per decision: opened, clicked, converted, unsubscribed (0/1) and the reward."""
    events = response.message_events
    flags = pd.crosstab(events["decision_id"], events["event_type"]).gt(0).astype(float)
    flags = flags.reindex(decisions["decision_id"], fill_value=0.0)
    conv = response.product_events.merge(
        decisions[["decision_id", "customer_id", "send_at_utc"]], on="customer_id"
    )
    inside = (conv["occurred_at"] >= conv["send_at_utc"]) & (
        conv["occurred_at"] < conv["send_at_utc"] + pd.Timedelta(hours=WINDOW)
    )
    converted = decisions["decision_id"].isin(conv.loc[inside, "decision_id"]).to_numpy()
    out = pd.DataFrame(
        {
            name: flags[name].to_numpy() if name in flags else np.zeros(len(decisions))
            for name in ("open", "click", "unsubscribe")
        }
    )
    out["conversion"] = converted.astype(float)
    out["reward"] = sum(WEIGHTS[k] * out[k] for k in WEIGHTS)
    return out


def actions_of(decisions: pd.DataFrame) -> dict[str, np.ndarray]:
    return {f: decisions[f].to_numpy(dtype=object) for f in FIELDS}


# -- customers and product events --------------------------------------------------------


def test_customers_follow_the_source_contract(world: World) -> None:
    c = world.customers
    attributes = ["has_app_token", "first_name", "plan", "platform", "age"]
    assert list(c.columns) == [*SOURCE_COLUMNS["customers"], *attributes]
    for name in ("customer_id", "timezone", "first_name", "plan", "platform"):
        assert c[name].dtype == TEXT, name
    assert c["created_at"].dtype == TS
    assert all(c[col].dtype == bool for col in OPT_IN_COLUMNS)
    assert c["age"].dtype == np.int64 and c["age"].between(18, 75).all()
    assert c["customer_id"].is_unique and c["customer_id"].str.fullmatch(r"c\d{7}").all()
    assert set(c["timezone"]) == set(TIMEZONES)
    assert set(c["plan"]) == {"monthly", "annual"} and set(c["platform"]) == {
        "ios",
        "android",
        "web",
    }
    start = pd.Timestamp(START)
    assert (c["created_at"] < start).all()
    assert (c["created_at"] >= start - pd.Timedelta(days=3 * 365 + 1)).all()
    share = c[list(OPT_IN_COLUMNS)].mean()
    assert 0.87 < share["email_opt_in"] < 0.95
    assert 0.55 < share["push_opt_in"] < 0.66
    assert 0.25 < share["sms_opt_in"] < 0.35
    assert 0.01 < (~c[list(OPT_IN_COLUMNS)].any(axis=1)).mean() < 0.035
    app = c["platform"] != "web"
    assert c.loc[app, "push_opt_in"].mean() > 3 * c.loc[~app, "push_opt_in"].mean()


def test_history_schema_size_and_timing(world: World, history: pd.DataFrame) -> None:
    assert list(history.columns) == ["customer_id", "event_name", "occurred_at", "value"]
    assert history["customer_id"].dtype == TEXT and history["event_name"].dtype == TEXT
    assert history["occurred_at"].dtype == TS and history["value"].dtype == np.float64
    assert history["occurred_at"].is_monotonic_increasing
    start = pd.Timestamp(START)
    assert history["occurred_at"].min() >= start - pd.Timedelta(days=365)
    assert history["occurred_at"].max() < start
    per_customer = len(history) / len(world.customers)
    assert 17 < per_customer < 24, per_customer
    share = history["event_name"].value_counts(normalize=True)
    assert set(share.index) == {"app_open", "workout_completed", "subscription_renewed"}
    assert 0.005 < share["subscription_renewed"] < 0.05
    by_name = history.groupby("event_name")["value"]
    assert by_name.max()["app_open"] == 0.0
    assert by_name.min()["workout_completed"] > 0
    assert set(by_name.unique()["subscription_renewed"]) <= set(PRICES.values())
    created = history.merge(world.customers[["customer_id", "created_at"]], on="customer_id")
    assert (created["occurred_at"] >= created["created_at"]).all()


def test_most_customers_are_lapsing(world: World, history: pd.DataFrame) -> None:
    cutoff = pd.Timestamp(START) - pd.Timedelta(days=14)
    recent = history.loc[history["occurred_at"] >= cutoff, "customer_id"].nunique()
    share = 1 - recent / len(world.customers)
    assert 0.55 < share < 0.68, share


def test_activity_hours_follow_local_time(world: World, history: pd.DataFrame) -> None:
    """Events cluster around each customer's local preferred hour, not UTC noon."""
    tz = history.merge(world.customers[["customer_id", "timezone"]], on="customer_id")
    tokyo = tz.loc[tz["timezone"] == "Asia/Tokyo", "occurred_at"].dt.hour
    new_york = tz.loc[tz["timezone"] == "America/New_York", "occurred_at"].dt.hour
    assert tokyo.between(0, 15).mean() > 0.6
    assert new_york.between(12, 23).mean() > 0.6


def test_same_seed_same_world_other_seed_other_world() -> None:
    a, b, c = (generate_world(3_000, seed=s, start=START) for s in (1, 1, 2))
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.history(), b.history())
    day = START + dt.timedelta(days=3)
    pd.testing.assert_frame_equal(a.organic_events(day), b.organic_events(day))
    assert not a.customers["created_at"].equals(c.customers["created_at"])
    assert not a.history().equals(c.history())


def test_organic_events_of_a_day(world: World, lapsing: np.ndarray) -> None:
    day = START + dt.timedelta(days=2)
    events = world.organic_events(day)
    assert list(events.columns) == ["customer_id", "event_name", "occurred_at", "value"]
    assert events["customer_id"].dtype == TEXT and events["occurred_at"].dtype == TS
    begin = pd.Timestamp(day)
    assert events["occurred_at"].between(begin, begin + pd.Timedelta(days=1), "left").all()
    pd.testing.assert_frame_equal(events, world.organic_events(day))
    assert not events.equals(world.organic_events(day + dt.timedelta(days=1)))
    per_day = len(events) / len(world.customers)
    assert 0.02 < per_day < 0.1, per_day
    # Lapsing customers are most of the base but far less active per head.
    base_share = len(lapsing) / len(world.customers)
    event_share = events["customer_id"].isin(set(lapsing)).mean()
    per_head = (event_share / base_share) / ((1 - event_share) / (1 - base_share))
    assert per_head < 0.4, per_head


# -- responses -------------------------------------------------------------------------


def test_response_schema(response: Response) -> None:
    m = response.message_events
    p = response.product_events
    u = response.unsubscribed
    assert list(m.columns) == ["decision_id", "customer_id", "event_type", "occurred_at"]
    assert list(p.columns) == ["customer_id", "event_name", "occurred_at", "value"]
    assert list(u.columns) == ["customer_id", "channel"]
    assert all(m[c].dtype == TEXT for c in ("decision_id", "customer_id", "event_type"))
    assert all(u[c].dtype == TEXT for c in u.columns) and p["customer_id"].dtype == TEXT
    assert m["occurred_at"].dtype == TS and p["occurred_at"].dtype == TS
    assert set(m["event_type"]) == {"sent", "delivered", "bounce", "open", "click", "unsubscribe"}
    assert set(p["event_name"]) == {"workout_completed"} and (p["value"] > 0).all()
    assert set(u["channel"]) <= set(CHANNELS)


def test_response_event_logic(decisions: pd.DataFrame, response: Response) -> None:
    events = response.message_events.merge(
        decisions[["decision_id", "customer_id", "send_at_utc"]],
        on=["decision_id", "customer_id"],
        how="left",
    )
    assert events["send_at_utc"].notna().all()
    after = events["occurred_at"] - events["send_at_utc"]
    assert (after >= pd.Timedelta(0)).all() and (after < pd.Timedelta(hours=WINDOW)).all()
    sent = events[events["event_type"] == "sent"]
    assert sent["decision_id"].is_unique and len(sent) == len(decisions)
    assert (sent["occurred_at"] == sent["send_at_utc"]).all()
    first = events.pivot_table(
        index="decision_id", columns="event_type", values="occurred_at", aggfunc="min"
    )
    count = pd.crosstab(events["decision_id"], events["event_type"])
    assert (count.drop(columns="sent") <= 1).all().all()
    assert ((count["delivered"] + count["bounce"]) == 1).all()
    assert 0.97 <= count["delivered"].mean() <= 0.99
    for later, earlier in (("open", "delivered"), ("click", "open"), ("unsubscribe", "delivered")):
        has = first[later].notna()
        assert first.loc[has, earlier].notna().all(), f"{later} without {earlier}"
        assert (first.loc[has, later] >= first.loc[has, earlier]).all()
    unsub = events.loc[events["event_type"] == "unsubscribe", "customer_id"]
    assert sorted(unsub) == sorted(response.unsubscribed["customer_id"])
    conv = response.product_events.merge(
        decisions[["customer_id", "send_at_utc"]], on="customer_id"
    )
    lag = conv["occurred_at"] - conv["send_at_utc"]
    assert (lag >= pd.Timedelta(0)).all() and (lag < pd.Timedelta(hours=WINDOW)).all()


def test_realized_reward_matches_expected_reward(
    big_world: World, decisions: pd.DataFrame, response: Response
) -> None:
    """Sampling is exactly the truth: realized means sit within 3 standard errors."""
    realized = realized_reward(decisions, response)
    ids = decisions["customer_id"].to_numpy(dtype=object)
    send = decisions["send_at_utc"]
    expected = big_world.expected_reward(ids, actions_of(decisions), WEIGHTS, send_at=send)
    n = len(decisions)
    gap = realized["reward"].to_numpy() - expected
    se = gap.std(ddof=1) / np.sqrt(n)
    print(f"\nrealized {realized['reward'].mean():.4f} expected {expected.mean():.4f} se {se:.4f}")
    assert abs(gap.mean()) < 3 * se
    # Each component too, with its own weight vector.
    for name in WEIGHTS:
        one = big_world.expected_reward(ids, actions_of(decisions), {name: 1.0}, send_at=send)
        gap = realized[name].to_numpy() - one
        assert abs(gap.mean()) < 3 * gap.std(ddof=1) / np.sqrt(n), name


def test_response_is_deterministic(big_world: World, decisions: pd.DataFrame) -> None:
    part = decisions.iloc[:20_000]
    first = big_world.respond(part, WINDOW)
    again = big_world.respond(part.sample(frac=1.0, random_state=3), WINDOW)
    for name in ("message_events", "product_events", "unsubscribed"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
    renamed = part.assign(decision_id=part["decision_id"] + "x")
    other = big_world.respond(renamed, WINDOW)
    assert not first.message_events["event_type"].equals(other.message_events["event_type"])


def test_respond_prefers_id_columns_and_can_skip_organic(
    big_world: World, decisions: pd.DataFrame
) -> None:
    """decisions_to_sync carries ids in <field>_id and the rendered text in <field>."""
    part = decisions.iloc[:20_000]
    synced = part.copy()
    for field in ("subject_line", "greeting", "offer"):
        synced[f"{field}_id"] = synced[field]
        synced[field] = "rendered text"
    pd.testing.assert_frame_equal(
        big_world.respond(part).message_events, big_world.respond(synced).message_events
    )
    with_organic = big_world.respond(part).product_events
    without = big_world.respond(part, organic=False).product_events
    assert 0 < len(without) < len(with_organic)
    empty = big_world.respond(part.iloc[:0])
    assert empty.message_events.empty and list(empty.product_events.columns) == [
        "customer_id",
        "event_name",
        "occurred_at",
        "value",
    ]


# -- truth: oracle, uniform, best single action --------------------------------------------


def brute_force(
    world: World, ids: np.ndarray, eligible: np.ndarray, send_at: np.ndarray | None = None
) -> np.ndarray:
    """Expected reward of every action for every customer: (n, 1152), -inf if ineligible."""
    combos = list(itertools.product(*(ACTION_VALUES[f] for f in FIELDS)))
    out = np.empty((len(ids), len(combos)))
    for k, combo in enumerate(combos):
        actions = {
            f: np.full(len(ids), v, dtype=object) for f, v in zip(FIELDS, combo, strict=True)
        }
        reward = world.expected_reward(ids, actions, WEIGHTS, send_at=send_at)
        out[:, k] = np.where(eligible[:, CHANNELS.index(combo[0])], reward, -np.inf)
    return out


def test_oracle_matches_brute_force(world: World, lapsing: np.ndarray) -> None:
    ids = lapsing[:40]
    rng = np.random.default_rng(0)
    eligible = rng.random((len(ids), 3)) < 0.6
    eligible[0] = [False, False, True]
    eligible[1] = False
    oracle = world.oracle_actions(ids, eligible, WEIGHTS)
    rewards = brute_force(world, ids, eligible)
    combos = list(itertools.product(*(ACTION_VALUES[f] for f in FIELDS)))
    for i in range(len(ids)):
        chosen = tuple(oracle[f][i] for f in FIELDS)
        if not eligible[i].any():
            assert chosen[0] == ""
            continue
        assert chosen == combos[int(rewards[i].argmax())], i
    assert oracle["channel"][0] == "sms"
    usable = eligible.any(axis=1)
    uniform = world.uniform_expected_reward(ids, eligible, WEIGHTS)
    brute_mean = np.array([r[np.isfinite(r)].mean() for r in rewards[usable]])
    np.testing.assert_allclose(uniform[usable], brute_mean, rtol=1e-10)
    assert np.isnan(uniform[1])
    # Without eligibility the opt-ins apply.
    by_opt_in = world.oracle_actions(ids, None, WEIGHTS)
    opt_in = world.customers.set_index("customer_id").loc[ids, list(OPT_IN_COLUMNS)].to_numpy()
    assert all(opt_in[i, CHANNELS.index(c)] for i, c in enumerate(by_opt_in["channel"]))


def test_best_fixed_action_matches_brute_force(world: World, lapsing: np.ndarray) -> None:
    ids = lapsing[:60]
    opt_in = world.customers.set_index("customer_id").loc[ids, list(OPT_IN_COLUMNS)].to_numpy()
    first = opt_in.argmax(axis=1)
    all_channels = brute_force(world, ids, np.ones_like(opt_in))
    combos = list(itertools.product(*(ACTION_VALUES[f] for f in FIELDS)))
    index = {c: k for k, c in enumerate(combos)}
    means = []
    for combo in combos:
        fallback = [
            index[
                (
                    combo[0] if opt_in[i, CHANNELS.index(combo[0])] else CHANNELS[first[i]],
                    *combo[1:],
                )
            ]
            for i in range(len(ids))
        ]
        means.append(all_channels[np.arange(len(ids)), fallback].mean())
    action, value = world.best_fixed_action(ids, None, WEIGHTS)
    assert value == pytest.approx(max(means), rel=1e-10)
    assert tuple(action[f] for f in FIELDS) == combos[int(np.argmax(means))]


def test_no_message_is_organic_conversion_only(world: World, lapsing: np.ndarray) -> None:
    ids = lapsing[:100]
    actions = {f: np.full(len(ids), ACTION_VALUES[f][0], dtype=object) for f in FIELDS}
    actions["channel"] = np.full(len(ids), "", dtype=object)
    skip = world.expected_reward(ids, actions, WEIGHTS)
    organic = world.expected_reward(ids, actions, {"conversion": 1.0})
    np.testing.assert_allclose(skip, organic)
    assert 0 < organic.mean() < 0.1


def test_calibration_on_lapsing_customers(world: World, lapsing: np.ndarray) -> None:
    """A contextual policy has a lot to gain: uniform < best single action < oracle."""
    uniform = world.uniform_expected_reward(lapsing, None, WEIGHTS).mean()
    action, best_single = world.best_fixed_action(lapsing, None, WEIGHTS)
    oracle_actions = world.oracle_actions(lapsing, None, WEIGHTS)
    oracle = world.expected_reward(lapsing, oracle_actions, WEIGHTS)
    print(
        f"\nlapsing customers {len(lapsing)}: uniform {uniform:.4f}, best single {best_single:.4f} "
        f"{action}, oracle {oracle.mean():.4f} ({oracle.mean() / uniform:.2f}x uniform, best "
        f"single {best_single / oracle.mean():.0%} of oracle)"
    )
    assert 0.10 <= uniform <= 0.15
    assert oracle.mean() >= 1.8 * uniform
    assert best_single <= 0.8 * oracle.mean()
    assert best_single > uniform
    per_customer = world.uniform_expected_reward(lapsing, None, WEIGHTS)
    assert (oracle >= per_customer - 1e-12).all()
    # The best action differs across customers: no action is best for more than a third.
    best = pd.DataFrame(oracle_actions)
    assert best.value_counts(normalize=True).iloc[0] < 0.33
    assert len(best.drop_duplicates()) > 50
    for field in FIELDS:
        assert best[field].nunique() >= 3, field


def test_segments_prefer_what_the_story_says(world: World, lapsing: np.ndarray) -> None:
    c = world.customers.set_index("customer_id").loc[lapsing]
    best = pd.DataFrame(world.oracle_actions(lapsing, None, WEIGHTS), index=c.index)
    young_app = (c["age"] < 30) & (c["platform"] != "web") & c["push_opt_in"]
    older_annual = (c["age"] > 55) & (c["plan"] == "annual")
    assert (best.loc[young_app, "channel"] == "push").mean() > 0.5
    assert best.loc[young_app, "send_slot"].isin(["h18", "h21"]).mean() > 0.7
    assert (best.loc[young_app, "greeting"] == "gr_hey").mean() > 0.8
    assert (best.loc[older_annual, "offer"] == "of_plan").mean() > 0.8
    assert (best.loc[older_annual, "greeting"] == "gr_first_name").mean() > 0.5
    assert best.loc[older_annual, "send_slot"].isin(["h08", "h12"]).mean() > 0.9
    monthly = c["plan"] == "monthly"
    assert (best.loc[monthly, "offer"] == "of_discount_20").mean() > 2 * (
        best.loc[~monthly, "offer"] == "of_discount_20"
    ).mean()


# -- drift ----------------------------------------------------------------------------------

DELIVERY = {"email": 0.97, "push": 0.98, "sms": 0.99}  # d_c of the module docstring


def days_after_start(days: np.ndarray) -> np.ndarray:
    """Send times (UTC, µs) ``days`` after START 00:00 UTC."""
    offset = np.round(np.asarray(days) * 86_400e6).astype("timedelta64[us]")
    return np.datetime64(START, "us") + offset


def logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def test_appeal_drift_validates_and_with_drifts_copies(world: World) -> None:
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        AppealDrift("colour", "red", START, -0.1)
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        AppealDrift("channel", "fax", START, -0.1)
    # A message value is checked against the world's values, new variants included.
    with pytest.raises(ValueError, match="unknown offer 'of_nope'"):
        world.with_drifts(AppealDrift("offer", "of_nope", START, -0.1))
    with pytest.raises(ValueError, match="unknown subject_line 'email'"):
        world.with_drifts(AppealDrift("subject_line", "email", START, -0.1))
    with pytest.raises(TypeError, match="AppealDrift"):
        world.with_drifts(("offer", "of_plan", START, -0.1))  # type: ignore[arg-type]
    drift = AppealDrift("offer", "of_plan", START, -0.1)
    drifted = world.with_drifts(drift)
    assert drifted.drifts == (drift,) and world.drifts == ()
    assert drifted.customers is world.customers and drifted.seed == world.seed
    assert drifted.with_drifts().drifts == ()


def test_drift_shifts_the_variant_logit_from_its_start(world: World, lapsing: np.ndarray) -> None:
    """Open logit of sl_streak: -0.2/day, click logit of of_plan: +0.15/day, from day 4."""
    n = 3_000
    ids = lapsing[:n]
    rng = np.random.default_rng(7)
    actions = {
        f: np.asarray(ACTION_VALUES[f], dtype=object)[rng.integers(0, len(ACTION_VALUES[f]), n)]
        for f in FIELDS
    }
    days = rng.uniform(0.0, 10.0, n)  # about 40% before the drifts start
    send = days_after_start(days)
    drift_start = START + dt.timedelta(days=4)
    drifted = world.with_drifts(
        AppealDrift("subject_line", "sl_streak", drift_start, -0.2),
        AppealDrift("offer", "of_plan", drift_start, 0.15),
    )
    since = np.clip(days - 4.0, 0.0, None)
    streak = actions["subject_line"] == "sl_streak"
    plan = actions["offer"] == "of_plan"
    assert streak.sum() > 300 and plan.sum() > 500 and (since > 0).mean() > 0.5

    def parts(w: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        opened = w.expected_reward(ids, actions, {"open": 1.0}, send_at=send)
        clicked = w.expected_reward(ids, actions, {"click": 1.0}, send_at=send)
        return opened, clicked, w.expected_reward(ids, actions, WEIGHTS, send_at=send)

    (open0, click0, reward0), (open1, click1, reward1) = parts(world), parts(drifted)
    d_c = np.array([DELIVERY[c] for c in actions["channel"]])
    open_shift = logit(open1 / d_c) - logit(open0 / d_c)
    click_shift = logit(click1 / open1) - logit(click0 / open0)  # P(click | open)
    np.testing.assert_allclose(open_shift, np.where(streak, -0.2 * since, 0.0), atol=1e-9)
    np.testing.assert_allclose(click_shift, np.where(plan, 0.15 * since, 0.0), atol=1e-9)
    before = since == 0
    np.testing.assert_array_equal(reward1[before], reward0[before])
    after = ~before
    assert (reward1[after & streak & ~plan] < reward0[after & streak & ~plan]).all()
    assert (reward1[after & plan & ~streak] > reward0[after & plan & ~streak]).all()
    np.testing.assert_array_equal(reward1[~streak & ~plan], reward0[~streak & ~plan])


def test_oracle_and_best_fixed_action_drop_a_decayed_variant(
    world: World, lapsing: np.ndarray
) -> None:
    """of_plan and sl_discount lose 1 logit a day from day 2 (the best single action before
    uses sl_discount)."""
    decayed = world.with_drifts(
        AppealDrift("offer", "of_plan", START + dt.timedelta(days=2), -1.0),
        AppealDrift("subject_line", "sl_discount", START + dt.timedelta(days=2), -1.0),
    )
    n = len(lapsing)
    early, late = days_after_start(np.full(n, 1.5)), days_after_start(np.full(n, 10.0))
    before = decayed.oracle_actions(lapsing, None, WEIGHTS, send_at=early)
    after = decayed.oracle_actions(lapsing, None, WEIGHTS, send_at=late)
    assert (before["offer"] == "of_plan").mean() > 0.25
    assert (before["subject_line"] == "sl_discount").mean() > 0.1
    assert not (after["offer"] == "of_plan").any()
    assert not (after["subject_line"] == "sl_discount").any()
    fixed_before, _ = decayed.best_fixed_action(lapsing, None, WEIGHTS, send_at=early)
    fixed_after, _ = decayed.best_fixed_action(lapsing, None, WEIGHTS, send_at=late)
    assert fixed_before["subject_line"] == "sl_discount"
    assert fixed_after["subject_line"] != "sl_discount" and fixed_after["offer"] != "of_plan"
    # A worse variant lowers the uniform policy's reward of every customer.
    uniform = world.uniform_expected_reward(lapsing, None, WEIGHTS, send_at=late)
    assert (decayed.uniform_expected_reward(lapsing, None, WEIGHTS, send_at=late) < uniform).all()


def test_drift_is_the_same_truth_everywhere(world: World, lapsing: np.ndarray) -> None:
    """oracle, uniform and best single action agree with brute force over expected_reward
    when every field drifts and send times differ per customer."""
    ids = lapsing[100:140]
    begin = START + dt.timedelta(days=1)
    drifted = world.with_drifts(
        AppealDrift("channel", "push", begin, -0.3),
        AppealDrift("send_slot", "h21", begin, -0.25),
        AppealDrift("subject_line", "sl_question", begin, 0.3),
        AppealDrift("greeting", "gr_hey", begin, -0.4),
        AppealDrift("offer", "of_free_week", begin, 0.2),
    )
    send = days_after_start(np.random.default_rng(2).uniform(0.0, 8.0, len(ids)))
    eligible = np.ones((len(ids), 3), dtype=bool)
    rewards = brute_force(drifted, ids, eligible, send)
    stationary = brute_force(world, ids, eligible, send)
    assert np.abs(rewards - stationary).max() > 0.02  # the drifts matter here
    combos = list(itertools.product(*(ACTION_VALUES[f] for f in FIELDS)))
    oracle = drifted.oracle_actions(ids, eligible, WEIGHTS, send_at=send)
    for i in range(len(ids)):
        assert tuple(oracle[f][i] for f in FIELDS) == combos[int(rewards[i].argmax())], i
    uniform = drifted.uniform_expected_reward(ids, eligible, WEIGHTS, send_at=send)
    np.testing.assert_allclose(uniform, rewards.mean(axis=1), rtol=1e-10)
    action, value = drifted.best_fixed_action(ids, eligible, WEIGHTS, send_at=send)
    assert value == pytest.approx(rewards.mean(axis=0).max(), rel=1e-10)
    assert tuple(action[f] for f in FIELDS) == combos[int(rewards.mean(axis=0).argmax())]


# -- sending nothing, realized rewards ---------------------------------------------------------


def without_message(decisions: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """A copy where ``share`` of the rows send nothing: channel None, NaN, NA or "" and the
    other fields null (object columns) as a policy that may skip would log them."""
    out = decisions.astype({f: object for f in FIELDS})
    rows = np.flatnonzero(np.random.default_rng(seed).random(len(out)) < share)
    nulls = np.array([None, np.nan, pd.NA, ""], dtype=object)
    for k, field in enumerate(FIELDS):
        out.iloc[rows, out.columns.get_loc(field)] = nulls[(np.arange(len(rows)) + k) % 4]
    return out


def test_sending_nothing_is_organic_conversion_only(
    big_world: World, decisions: pd.DataFrame
) -> None:
    part = without_message(decisions.iloc[:60_000], 0.5, seed=4)
    silent = part["channel"].isna() | (part["channel"] == "")
    assert 0.45 < silent.mean() < 0.55
    response = big_world.respond(part, WINDOW)
    events = response.message_events
    assert not events["decision_id"].isin(set(part.loc[silent, "decision_id"])).any()
    assert (events["event_type"] == "sent").sum() == (~silent).sum()
    assert not response.unsubscribed["customer_id"].isin(set(part.loc[silent, "customer_id"])).any()
    # Expected reward: w_conversion · P(organic), whatever the other weights.
    quiet = part[silent]
    ids, send = quiet["customer_id"].to_numpy(dtype=object), quiet["send_at_utc"]
    organic = big_world.expected_reward(ids, actions_of(quiet), {"conversion": 1.0}, send_at=send)
    weights = {"open": 0.7, "click": 0.9, "conversion": 2.5, "unsubscribe": -3.0}
    reward = big_world.expected_reward(ids, actions_of(quiet), weights, send_at=send)
    np.testing.assert_allclose(reward, 2.5 * organic, rtol=1e-12)
    filled = {f: np.full(len(ids), ACTION_VALUES[f][1], dtype=object) for f in FIELDS}
    filled["channel"][:] = ""
    filled_reward = big_world.expected_reward(ids, filled, weights, send_at=send)
    np.testing.assert_allclose(filled_reward, reward, rtol=1e-12)
    assert 0.005 < organic.mean() < 0.1
    # P(organic) is what respond samples: the silent customers' conversions in the window.
    converted = realized_reward(part, response)["conversion"].to_numpy()[silent.to_numpy()]
    gap = converted - organic
    assert abs(gap.mean()) < 4 * gap.std(ddof=1) / np.sqrt(len(gap))
    without_organic = big_world.respond(part, WINDOW, organic=False).product_events
    assert not without_organic["customer_id"].isin(set(quiet["customer_id"])).any()


def test_null_fields_only_for_rows_that_send_nothing(
    big_world: World, decisions: pd.DataFrame
) -> None:
    part = decisions.iloc[:100].copy()
    part.loc[part.index[3], "subject_line"] = None
    with pytest.raises(ValueError, match=r"subject_line: unknown value\(s\) of a message"):
        big_world.respond(part)
    with pytest.raises(ValueError, match="subject_line"):
        big_world.realized_rewards(part, WEIGHTS)
    part = decisions.iloc[:100].copy()
    part.loc[part.index[5], "channel"] = "fax"
    with pytest.raises(ValueError, match=r"channel: unknown value\(s\) \['fax'\]"):
        big_world.respond(part)
    part = decisions.iloc[:100].copy()
    part.loc[part.index[0], "send_at_utc"] = pd.NaT
    with pytest.raises(ValueError, match="send_at_utc"):
        big_world.realized_rewards(part, WEIGHTS)


def test_realized_rewards_are_respond_s_rewards(big_world: World, decisions: pd.DataFrame) -> None:
    """Same draws as respond: equal, decision by decision, to the reward from its events."""
    world = big_world.with_drifts(AppealDrift("channel", "email", START, -0.2))
    part = without_message(decisions.iloc[:40_000], 0.2, seed=5)
    for organic in (True, False):
        from_events = realized_reward(part, world.respond(part, WINDOW, organic=organic))
        assert from_events["conversion"].mean() > 0.01 and from_events["open"].mean() > 0.05
        for name in WEIGHTS:
            one = world.realized_rewards(part, {name: 1.0}, WINDOW, organic=organic)
            np.testing.assert_array_equal(one, from_events[name].to_numpy(), err_msg=name)
        reward = world.realized_rewards(part, WEIGHTS, WINDOW, organic=organic)
        np.testing.assert_allclose(reward, from_events["reward"].to_numpy(), atol=1e-12)
    # Input order is kept: shuffling the rows shuffles the rewards.
    shuffled = part.sample(frac=1.0, random_state=8)
    again = world.realized_rewards(shuffled, WEIGHTS, WINDOW)
    expected = pd.Series(world.realized_rewards(part, WEIGHTS, WINDOW), index=part.index)
    np.testing.assert_array_equal(again, expected.loc[shuffled.index].to_numpy())
    assert world.realized_rewards(part.iloc[:0], WEIGHTS).shape == (0,)


def test_realized_rewards_average_to_expected_reward(
    big_world: World, decisions: pd.DataFrame
) -> None:
    """Under drift and with 10% sending nothing: the mean gap is within 4 standard errors,
    while the stationary truth is far off (so a sampler ignoring the drift would fail)."""
    begin = START + dt.timedelta(days=1)
    world = big_world.with_drifts(
        AppealDrift("channel", "email", begin, -0.4),
        AppealDrift("greeting", "gr_first_name", begin, 0.4),
        AppealDrift("offer", "of_discount_20", begin, -0.5),
    )
    part = without_message(decisions, 0.1, seed=6)
    ids, send = part["customer_id"].to_numpy(dtype=object), part["send_at_utc"]
    realized = world.realized_rewards(part, WEIGHTS, WINDOW)
    expected = world.expected_reward(ids, actions_of(part), WEIGHTS, send_at=send)
    gap = realized - expected
    se = gap.std(ddof=1) / np.sqrt(len(gap))
    assert abs(gap.mean()) < 4 * se, (gap.mean(), se)
    stationary = big_world.expected_reward(ids, actions_of(part), WEIGHTS, send_at=send)
    assert abs(realized.mean() - stationary.mean()) > 10 * se


# -- new variants ------------------------------------------------------------------------------

GEN_SL = "subject_line_gen_3fa2c1d0"
GEN_GR = "greeting_gen_0b7d9e41"
GEN_OF = "offer_gen_5c2a8f13"
UNKNOWN = {f: f"{f}_gen_ffffffff" for f in ("subject_line", "greeting", "offer")}


def random_actions(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        f: np.asarray(ACTION_VALUES[f], dtype=object)[rng.integers(0, len(ACTION_VALUES[f]), n)]
        for f in FIELDS
    }


def twin(value: str) -> str:
    return f"gen_{value}"


def test_new_variant_without_shift_is_its_like(world: World, lapsing: np.ndarray) -> None:
    """A twin of every base message value (shift 0): the same reward, bit for bit, whatever
    the message values are swapped for their twins (so coherence is the like's too)."""
    twins = [
        NewVariant(f, twin(v), like=v)
        for f in ("subject_line", "greeting", "offer")
        for v in ACTION_VALUES[f]
    ]
    known = world.with_variants(*twins)
    assert known.variants == tuple(twins) and world.variants == ()
    assert known.customers is world.customers
    n = 5_000
    ids, actions = lapsing[:n], random_actions(n, seed=1)
    send = days_after_start(np.random.default_rng(2).uniform(0.0, 6.0, n))
    for weights in (WEIGHTS, {"open": 1.0}, {"click": 1.0}, {"conversion": 1.0}):
        reference = world.expected_reward(ids, actions, weights, send_at=send)
        for swapped in (["subject_line"], ["offer"], ["subject_line", "greeting", "offer"]):
            renamed = dict(actions)
            for f in swapped:
                renamed[f] = np.array([twin(v) for v in actions[f]], dtype=object)
            reward = known.expected_reward(ids, renamed, weights, send_at=send)
            np.testing.assert_array_equal(reward, reference, err_msg=f"{weights} {swapped}")
    # Only the sl_streak twin, as the brief's example.
    streak = dict(actions, subject_line=np.full(n, "sl_streak", dtype=object))
    gen = dict(actions, subject_line=np.full(n, GEN_SL, dtype=object))
    one = world.with_variants(NewVariant("subject_line", GEN_SL, like="sl_streak"))
    np.testing.assert_array_equal(
        one.expected_reward(ids, gen, WEIGHTS), world.expected_reward(ids, streak, WEIGHTS)
    )


@pytest.mark.parametrize(
    ("field", "value", "like"),
    [
        ("subject_line", GEN_SL, "sl_streak"),
        ("greeting", GEN_GR, "gr_coach"),
        ("offer", GEN_OF, "of_free_week"),
    ],
)
def test_a_positive_shift_raises_every_customer_s_reward(
    world: World, lapsing: np.ndarray, field: str, value: str, like: str
) -> None:
    """The shift moves one logit term (the open term for a subject line, the click term for a
    greeting or an offer) up, and every weight but the unsubscribe one (untouched) is > 0."""
    shifted = world.with_variants(NewVariant(field, value, like=like, logit_shift=0.3))
    n = 5_000
    ids, actions = lapsing[:n], random_actions(n, seed=3)
    base = shifted.expected_reward(ids, dict(actions, **{field: np.full(n, like)}), WEIGHTS)
    new = shifted.expected_reward(ids, dict(actions, **{field: np.full(n, value)}), WEIGHTS)
    assert (new > base).all()
    # Exactly the shift on the logit of its step.
    step = {
        "subject_line": ("open", None),
        "greeting": ("click", "open"),
        "offer": ("click", "open"),
    }
    top, bottom = step[field]

    def step_logit(a: dict[str, np.ndarray]) -> np.ndarray:
        p = shifted.expected_reward(ids, a, {top: 1.0})
        under = (
            np.array([DELIVERY[c] for c in a["channel"]])
            if bottom is None
            else shifted.expected_reward(ids, a, {bottom: 1.0})
        )
        return logit(p / under)

    gap = step_logit(dict(actions, **{field: np.full(n, value)})) - step_logit(
        dict(actions, **{field: np.full(n, like)})
    )
    np.testing.assert_allclose(gap, 0.3, atol=1e-8)


def test_an_unknown_value_is_the_mean_of_the_base_values(world: World, lapsing: np.ndarray) -> None:
    """An unregistered id: each logit term is the customer's mean over the base values, with
    coherence 0, from the stationary truth (registered variants and drifts left out)."""
    n = 3_000
    ids = lapsing[:n]
    actions = random_actions(n, seed=4)
    actions["subject_line"] = np.full(n, UNKNOWN["subject_line"], dtype=object)  # K = 0
    other = world.with_variants(
        NewVariant("subject_line", GEN_SL, like="sl_discount", logit_shift=3.0),
        NewVariant("offer", GEN_OF, like="of_plan", logit_shift=3.0),
    ).with_drifts(AppealDrift("subject_line", "sl_streak", START, 1.0))
    d_c = np.array([DELIVERY[c] for c in actions["channel"]])

    def logits(w: World, field: str, values: tuple[str, ...]) -> np.ndarray:
        """Per value (columns): the open logit, the click logit given an open and the
        conversion logit given a click, (3, n, k)."""
        out = np.empty((3, n, len(values)))
        quiet = dict(actions, channel=np.full(n, "", dtype=object))
        organic = w.expected_reward(ids, quiet, {"conversion": 1.0})
        for k, value in enumerate(values):
            a = dict(actions, **{field: np.full(n, value, dtype=object)})
            opened, clicked, converted = (
                w.expected_reward(ids, a, {name: 1.0}) for name in ("open", "click", "conversion")
            )
            p_msg = 1 - (1 - converted) / (1 - organic)
            out[:, :, k] = [logit(opened / d_c), logit(clicked / opened), logit(p_msg / clicked)]
        return out

    for field in ("subject_line", "greeting", "offer"):
        base = logits(world, field, ACTION_VALUES[field]).mean(axis=2)
        for w in (world, other):
            unknown = logits(w, field, (UNKNOWN[field],))[:, :, 0]
            # A base subject line has its own coherence with the offer: no click logit then.
            steps = [0, 2] if field == "subject_line" else [0, 1, 2]
            np.testing.assert_allclose(
                unknown[steps], base[steps], rtol=0, atol=1e-7, err_msg=field
            )
    # Coherence 0 with an unknown offer, even for sl_discount (-1.2 without a discount).
    actions["offer"] = np.full(n, UNKNOWN["offer"], dtype=object)
    discount = logits(world, "subject_line", ("sl_discount", UNKNOWN["subject_line"]))[1]
    np.testing.assert_allclose(discount[:, 0], discount[:, 1], rtol=0, atol=1e-7)
    # Hence its reward lies between the best and the worst base value's, customer by customer.
    rewards = np.stack(
        [
            world.expected_reward(ids, dict(actions, greeting=np.full(n, v)), WEIGHTS)
            for v in (*ACTION_VALUES["greeting"], UNKNOWN["greeting"])
        ],
        axis=1,
    )
    assert (rewards[:, -1] > rewards[:, :-1].min(axis=1)).all()
    assert (rewards[:, -1] < rewards[:, :-1].max(axis=1)).all()


def test_respond_to_new_and_unknown_variants(big_world: World, decisions: pd.DataFrame) -> None:
    """Decisions naming a registered variant (drifting) or an id the world never heard of,
    as decisions_to_sync logs them: realized rewards average to expected_reward."""
    world = big_world.with_variants(
        NewVariant("subject_line", GEN_SL, like="sl_streak", logit_shift=0.8),
        NewVariant("offer", GEN_OF, like="of_discount_20", logit_shift=-0.5),
    ).with_drifts(AppealDrift("subject_line", GEN_SL, START + dt.timedelta(days=3), -0.3))
    part = without_message(decisions.iloc[:120_000], 0.1, seed=9)
    rng = np.random.default_rng(10)
    sends = part["channel"].notna() & (part["channel"] != "")
    for field, new in (
        ("subject_line", [GEN_SL, UNKNOWN["subject_line"]]),
        ("greeting", [UNKNOWN["greeting"]]),
        ("offer", [GEN_OF, UNKNOWN["offer"]]),
    ):
        swap = sends & (rng.random(len(part)) < 0.25 * len(new))
        part.loc[swap, field] = np.asarray(new, dtype=object)[rng.integers(0, len(new), swap.sum())]
        part[f"{field}_id"] = part[field]
        part[field] = part[field].where(~sends, "rendered text")
    new_sl = part["subject_line_id"].isin([GEN_SL, UNKNOWN["subject_line"]]).to_numpy()
    assert 0.4 < new_sl.mean() < 0.5

    response = world.respond(part, WINDOW)
    sent = response.message_events.query("event_type == 'sent'")["decision_id"]
    assert set(sent) == set(part.loc[sends, "decision_id"])
    from_events = realized_reward(part, response)
    realized = world.realized_rewards(part, WEIGHTS, WINDOW)
    np.testing.assert_allclose(realized, from_events["reward"].to_numpy(), atol=1e-12)
    ids, send = part["customer_id"].to_numpy(dtype=object), part["send_at_utc"]
    actions = {
        f: part[f"{f}_id" if f"{f}_id" in part else f].to_numpy(dtype=object) for f in FIELDS
    }
    expected = world.expected_reward(ids, actions, WEIGHTS, send_at=send)
    for rows in (np.ones(len(part), dtype=bool), new_sl):
        gap = realized[rows] - expected[rows]
        se = gap.std(ddof=1) / np.sqrt(rows.sum())
        assert abs(gap.mean()) < 4 * se, (gap.mean(), se)
    # The sampler follows the variants' own truth: a shifted sl_streak is well apart.
    gen = part["subject_line_id"].isin([GEN_SL]).to_numpy()
    as_like = dict(actions, subject_line=np.where(gen, "sl_streak", actions["subject_line"]))
    like = world.expected_reward(ids, as_like, {"open": 1.0}, send_at=send)[gen]
    opened = from_events["open"].to_numpy()[gen]
    assert opened.mean() - like.mean() > 10 * opened.std(ddof=1) / np.sqrt(gen.sum())


def test_oracle_chooses_among_the_values_it_is_given(world: World, lapsing: np.ndarray) -> None:
    """Default: the base values, new variants or not. With ``values`` (new, unknown and
    drifting ones included): oracle, uniform and best single action agree with brute force."""
    strong = world.with_variants(
        NewVariant("subject_line", GEN_SL, like="sl_question", logit_shift=2.0),
        NewVariant("offer", GEN_OF, like="of_plan", logit_shift=0.2),
    )
    ids = lapsing[:2_000]
    base = world.oracle_actions(ids, None, WEIGHTS)
    for f, v in strong.oracle_actions(ids, None, WEIGHTS).items():
        np.testing.assert_array_equal(v, base[f], err_msg=f)
    assert strong.best_fixed_action(ids, None, WEIGHTS) == world.best_fixed_action(
        ids, None, WEIGHTS
    )
    values = {"subject_line": [*ACTION_VALUES["subject_line"], GEN_SL]}
    assert (
        strong.oracle_actions(ids, None, WEIGHTS, values=values)["subject_line"] == GEN_SL
    ).mean() > 0.9

    drifted = strong.with_drifts(
        AppealDrift("subject_line", GEN_SL, START + dt.timedelta(days=1), -0.4),
        AppealDrift("offer", "of_plan", START + dt.timedelta(days=1), 0.2),
    )
    ids = lapsing[200:230]
    send = days_after_start(np.random.default_rng(3).uniform(0.0, 8.0, len(ids)))
    values = {
        "subject_line": ["sl_streak", GEN_SL, "sl_discount", UNKNOWN["subject_line"]],
        "offer": [*ACTION_VALUES["offer"], GEN_OF, UNKNOWN["offer"]],
    }
    choices = {f: values.get(f, ACTION_VALUES[f]) for f in FIELDS}
    combos = list(itertools.product(*(choices[f] for f in FIELDS)))
    n, k = len(ids), len(combos)
    flat = {
        f: np.tile(np.array([c[j] for c in combos], dtype=object), n) for j, f in enumerate(FIELDS)
    }
    rewards = drifted.expected_reward(
        np.repeat(ids, k), flat, WEIGHTS, send_at=np.repeat(send, k)
    ).reshape(n, k)
    eligible = np.ones((n, 3), dtype=bool)
    oracle = drifted.oracle_actions(ids, eligible, WEIGHTS, send_at=send, values=values)
    for i in range(n):
        assert tuple(oracle[f][i] for f in FIELDS) == combos[int(rewards[i].argmax())], i
    assert {GEN_SL, "sl_streak"} & set(oracle["subject_line"])
    uniform = drifted.uniform_expected_reward(ids, eligible, WEIGHTS, send_at=send, values=values)
    np.testing.assert_allclose(uniform, rewards.mean(axis=1), rtol=1e-10)
    action, value = drifted.best_fixed_action(ids, eligible, WEIGHTS, send_at=send, values=values)
    assert value == pytest.approx(rewards.mean(axis=0).max(), rel=1e-10)
    assert tuple(action[f] for f in FIELDS) == combos[int(rewards.mean(axis=0).argmax())]


def test_new_variants_are_validated(world: World) -> None:
    with pytest.raises(ValueError, match="'channel' is not a message field"):
        NewVariant("channel", "fax", like="sms")
    with pytest.raises(ValueError, match="like='sl_nope' is not a known subject_line"):
        NewVariant("subject_line", GEN_SL, like="sl_nope")
    with pytest.raises(ValueError, match="like='gr_hey' is not a known subject_line"):
        NewVariant("subject_line", GEN_SL, like="gr_hey")
    with pytest.raises(ValueError, match="offer 'of_plan' collides with a known value"):
        NewVariant("offer", "of_plan", like="of_none")
    with pytest.raises(ValueError, match="non-empty string"):
        NewVariant("greeting", "", like="gr_hey")
    with pytest.raises(ValueError, match="logit_shift must be finite"):
        NewVariant("greeting", GEN_GR, like="gr_hey", logit_shift=float("nan"))
    variant = NewVariant("subject_line", GEN_SL, like="sl_streak", logit_shift=0.5)
    with pytest.raises(TypeError, match="NewVariant"):
        world.with_variants(("subject_line", GEN_SL, "sl_streak"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"subject_line '{GEN_SL}' given twice"):
        world.with_variants(variant, NewVariant("subject_line", GEN_SL, like="sl_question"))
    # Replacing, like with_drifts; a drift may name a variant only while it is registered.
    drift = AppealDrift("subject_line", GEN_SL, START, -0.1)
    with pytest.raises(ValueError, match=f"unknown subject_line '{GEN_SL}'"):
        world.with_drifts(drift)
    drifted = world.with_variants(variant).with_drifts(drift)
    other = NewVariant("offer", GEN_OF, like="of_plan")
    with pytest.raises(ValueError, match=f"unknown subject_line '{GEN_SL}'"):
        drifted.with_variants(other)
    assert drifted.with_variants(variant, other).variants == (variant, other)
    assert world.with_variants(variant).with_variants().variants == ()
    # values: message fields only, distinct non-empty values; channels and slots stay fixed.
    ids = world.customers["customer_id"].to_numpy(dtype=object)[:10]
    with pytest.raises(ValueError, match="'channel' is not a message field"):
        world.oracle_actions(ids, None, WEIGHTS, values={"channel": ["email"]})
    with pytest.raises(ValueError, match="distinct"):
        world.best_fixed_action(ids, None, WEIGHTS, values={"offer": ["of_plan", "of_plan"]})
    with pytest.raises(ValueError, match="non-empty"):
        world.uniform_expected_reward(ids, None, WEIGHTS, values={"offer": ["of_plan", ""]})
    actions = {f: np.full(len(ids), ACTION_VALUES[f][0], dtype=object) for f in FIELDS}
    with pytest.raises(ValueError, match=r"send_slot: unknown value\(s\) of a message \['h99'\]"):
        world.expected_reward(ids, dict(actions, send_slot=np.full(len(ids), "h99")), WEIGHTS)


# -- recommendations ------------------------------------------------------------------------

REC = "workout"
ITEM = f"{REC}_item_id"
PI = np.array([0.3, 0.25, 0.2, 0.15, 0.1])  # category shares, module docstring


@pytest.fixture(scope="module")
def rec_pair() -> tuple[World, World]:
    """A world and the same world with recommendations."""
    plain = generate_world(20_000, seed=SEED + 2, start=START)
    return plain, plain.with_recommendations(REC)


def test_recommendations_leave_everything_else_as_it_was(rec_pair: tuple[World, World]) -> None:
    """Own random streams: the same customers, events (plus item_id), responses and rewards
    whenever no item is recommended."""
    plain, rec = rec_pair
    assert plain.recommendation_field is None and rec.recommendation_field == REC
    pd.testing.assert_frame_equal(plain.customers, rec.customers)
    pd.testing.assert_frame_equal(plain.history(), rec.history().drop(columns="item_id"))
    day = START + dt.timedelta(days=1)
    pd.testing.assert_frame_equal(
        plain.organic_events(day), rec.organic_events(day).drop(columns="item_id")
    )
    decisions = random_decisions(plain, np.random.default_rng(3), days=2).iloc[:5000]
    for frame in (decisions, decisions.assign(**{ITEM: None})):
        a, b = plain.respond(frame), rec.respond(frame)
        pd.testing.assert_frame_equal(a.message_events, b.message_events)
        pd.testing.assert_frame_equal(a.product_events, b.product_events.drop(columns="item_id"))
        assert np.array_equal(
            plain.realized_rewards(frame, WEIGHTS), rec.realized_rewards(frame, WEIGHTS)
        )
    ids, send = decisions["customer_id"], decisions["send_at_utc"]
    actions = actions_of(decisions)
    assert np.array_equal(
        plain.expected_reward(ids, actions, WEIGHTS, send_at=send),
        rec.expected_reward(ids, {**actions, ITEM: np.full(len(ids), None)}, WEIGHTS, send_at=send),
    )


def test_catalog_items_follow_the_source_contract(rec_pair: tuple[World, World]) -> None:
    _, rec = rec_pair
    items = rec.catalog_items()
    expected = [*SOURCE_COLUMNS["catalog_items"], *sorted(OPTIONAL_SOURCE_COLUMNS["catalog_items"])]
    assert list(items.columns) == expected
    assert len(items) == 30 and items["item_id"].is_unique and items["name"].is_unique
    assert (items.groupby("category").size() == 6).all() and set(items["category"]) == set(
        CATEGORIES
    )
    assert items["active"].all() and (items["created_at"] < pd.Timestamp(START)).all()
    new = items["created_at"] >= pd.Timestamp(START) - pd.Timedelta(days=60)
    assert new.sum() == 5 and items.loc[new, "category"].is_unique


def test_workouts_carry_items_by_preference(rec_pair: tuple[World, World]) -> None:
    """Every workout, and nothing else, has a catalog item created before it. The share of
    a customer's workouts in their favourite category is ``P = (f E_c/W_c + (1 - f) E_c) /
    (f E_c/W_c + (1 - f) E)`` per event (E: the weight of the items created by then, E_c of
    those in c, W_c of all of c): observed within 4 binomial standard errors, focused
    customers far above explorers (whose P is about Σ π² = 0.225)."""
    _, rec = rec_pair
    history = rec.history()
    workout = history["event_name"] == "workout_completed"
    assert history.loc[workout, "item_id"].notna().all()
    assert history.loc[~workout, "item_id"].isna().all()
    items = rec.catalog_items().set_index("item_id")
    events = history[workout].join(items[["category", "created_at"]], on="item_id")
    assert (events["occurred_at"] >= events["created_at"]).all()
    preferences = rec.item_preferences(events["customer_id"].to_numpy(dtype=object))
    hit = events["category"].to_numpy() == preferences["favourite_category"].to_numpy()
    # Each event's probability of its customer's favourite category (module docstring).
    rank = np.tile(np.arange(1, 7), 5)
    category = np.repeat(np.arange(5), 6)
    weight = PI[category] / rank / np.sum(1 / np.arange(1, 7))
    exists = events["occurred_at"].to_numpy()[:, None] >= items["created_at"].to_numpy()[None, :]
    favourite = preferences["favourite_category"].map(CATEGORIES.index).to_numpy()
    in_favourite = category[None, :] == favourite[:, None]
    f = preferences["focus"].to_numpy()
    whole = (weight * in_favourite).sum(axis=1)
    e_c = (weight * in_favourite * exists).sum(axis=1)
    e_all = (weight * exists).sum(axis=1)
    p = (f * e_c / whole + (1 - f) * e_c) / (f * e_c / whole + (1 - f) * e_all)
    focused = preferences["focused"].to_numpy()
    for segment in (focused, ~focused):
        se = np.sqrt(np.sum(p[segment] * (1 - p[segment]))) / segment.sum()
        assert abs(hit[segment].mean() - p[segment].mean()) < 4 * se
    assert hit[focused].mean() > 0.8 and hit[~focused].mean() < 0.3
    assert 0.4 < focused.mean() < 0.6
    # The same draws continue after start: organic events and responses carry items too.
    organic = rec.organic_events(START + dt.timedelta(days=3))
    assert organic.loc[organic["event_name"] == "workout_completed", "item_id"].notna().all()


def test_a_recommended_item_shifts_the_click_logit_by_beta(rec_pair: tuple[World, World]) -> None:
    """``β = f (1.2 match - 0.3 mismatch) - 0.3 (1 - f)``, exactly in ``expected_reward``, and
    ``respond``'s clicks average to it within 4 standard errors in each (segment, match)."""
    _, rec = rec_pair
    decisions = random_decisions(rec, np.random.default_rng(9), days=2)
    ids = decisions["customer_id"].to_numpy(dtype=object)
    preferences = rec.item_preferences(ids)
    items = rec.catalog_items()
    rng = np.random.default_rng(4)
    recommended = items["item_id"].to_numpy(dtype=object)[rng.integers(0, 30, len(ids))]
    recommended[rng.random(len(ids)) < 0.2] = None
    category = items.set_index("item_id")["category"].reindex(recommended).to_numpy()
    match = category == preferences["favourite_category"].to_numpy()
    f = preferences["focus"].to_numpy()
    beta = np.where(match, 1.2 * f, -0.3 * f) - 0.3 * (1 - f)
    beta[pd.isna(recommended)] = 0.0
    np.testing.assert_allclose(rec.recommendation_logit(ids, recommended), beta)

    send = decisions["send_at_utc"]
    actions = actions_of(decisions)
    clicks = {"click": 1.0}
    opened = rec.expected_reward(ids, actions, {"open": 1.0}, send_at=send)
    without = rec.expected_reward(ids, actions, clicks, send_at=send)
    shown = rec.expected_reward(ids, {**actions, ITEM: recommended}, clicks, send_at=send)
    sent = opened > 0
    np.testing.assert_allclose(
        logit(shown[sent] / opened[sent]) - logit(without[sent] / opened[sent]), beta[sent]
    )
    realized = rec.realized_rewards(decisions.assign(**{ITEM: recommended}), clicks)
    assert set(np.unique(realized)) <= {0.0, 1.0}
    focused = preferences["focused"].to_numpy()
    for rows in (focused & match, focused & ~match, ~focused & ~pd.isna(recommended)):
        se = np.sqrt(np.sum(shown[rows] * (1 - shown[rows]))) / rows.sum()
        assert abs(realized[rows].mean() - shown[rows].mean()) < 4 * se
    lift = shown[focused & match].mean() - without[focused & match].mean()
    assert lift > 0.03 and shown[~focused].mean() < without[~focused].mean()


def test_message_conversions_are_the_recommended_item(rec_pair: tuple[World, World]) -> None:
    _, rec = rec_pair
    decisions = random_decisions(rec, np.random.default_rng(6), days=2)
    items = rec.catalog_items()["item_id"].to_numpy(dtype=object)
    recommended = items[np.arange(len(decisions)) % len(items)]
    recommended[::3] = None
    frame = decisions.assign(**{ITEM: recommended})
    # Without organic conversions every workout of the response is message-driven.
    events = rec.respond(frame, organic=False).product_events
    assert len(events) > 100 and events["item_id"].notna().all()
    expected = frame.set_index("customer_id")[ITEM].reindex(events["customer_id"]).to_numpy()
    shown = ~pd.isna(expected)
    assert shown.any() and (~shown).any()
    assert (events["item_id"].to_numpy()[shown] == expected[shown]).all()
    assert set(events["item_id"]) <= set(items)
    empty = rec.respond(frame.iloc[:0]).product_events
    assert list(empty.columns) == [*events.columns]


def test_recommendations_are_validated(rec_pair: tuple[World, World]) -> None:
    plain, rec = rec_pair
    with pytest.raises(ValueError, match="no item catalog"):
        plain.catalog_items()
    with pytest.raises(ValueError, match="must name the recommendation field"):
        plain.with_recommendations("offer")
    decisions = random_decisions(rec, np.random.default_rng(1), days=1).iloc[:10]
    with pytest.raises(ValueError, match=r"workout_item_id: unknown item id\(s\) \['wo_99'\]"):
        rec.respond(decisions.assign(**{ITEM: "wo_99"}))
    assert rec.with_recommendations(REC).catalog_items().equals(rec.catalog_items())
