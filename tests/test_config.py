"""Settings: defaults, merging, and errors that name the field and the fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from decisioning.config import DEFAULTS, ConfigError, Goal, jinja_defaults_macro, load_config
from decisioning.project import project_settings

ROOT = Path(__file__).resolve().parents[1]


def test_jinja_defaults_macro_is_in_sync_with_python() -> None:
    generated = (ROOT / "macros/config/decisioning_defaults.sql").read_text()
    assert generated == jinja_defaults_macro(), "run `make defaults`"


def test_project_settings_are_valid() -> None:
    config = load_config(project_settings(ROOT), run_date=dt.date(2026, 1, 1))
    assert config.campaign_id == "winback"
    assert config.fields == ("channel", "send_slot", "subject_line", "greeting", "offer")
    assert config.as_of == dt.date(2026, 1, 1)


def test_defaults_fill_what_is_left_out() -> None:
    config = load_config({"reward": {"weights": {"open": 0.2}}}, run_date=dt.date(2026, 3, 1))
    assert config.reward_weights == {
        "open": 0.2,
        "click": 0.3,
        "conversion": 1.0,
        "unsubscribe": -0.5,
    }
    assert config.attribution_window_hours == DEFAULTS["reward"]["attribution_window_hours"]
    assert config.policy.algorithm == "thompson_sampling"


def test_reward_goals_are_typed_and_set_the_reward_window() -> None:
    assert load_config({}).reward_goals == ()
    assert load_config({}).reward_window_hours == 72
    goal = {
        "name": "two_workouts",
        "event": "workout_completed",
        "at_least": 2,
        "within_days": 7,
        "weight": 1,
    }
    short = {**goal, "name": "next_day", "within_days": 1, "weight": -0.5}
    config = load_config({"reward": {"goals": [goal, short]}})
    assert config.reward_goals == (
        Goal("two_workouts", "workout_completed", 2, 7, 1.0),
        Goal("next_day", "workout_completed", 2, 1, -0.5),
    )
    assert config.reward_window_hours == 7 * 24
    assert config.attribution_window_hours == 72
    # A goal window shorter than the attribution window does not shorten it.
    assert load_config({"reward": {"goals": [short]}}).reward_window_hours == 72


GOAL = {"name": "two_workouts", "event": "workout_completed", "at_least": 2, "within_days": 7}


def _goal(**changes: object) -> dict[str, object]:
    return {"reward": {"goals": [{**GOAL, "weight": 1.0, **changes}]}}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"reward": {"goals": {"two_workouts": GOAL}}}, "reward.goals: expected list, got dict"),
        ({"reward": {"goals": ["two_workouts"]}}, "reward.goals[0]: expected a mapping like {name"),
        (_goal(days=7), "reward.goals[0]: unknown setting(s) ['days']. Known here: name, event"),
        ({"reward": {"goals": [GOAL]}}, "reward.goals[0]: missing weight; a goal is like {name"),
        (_goal(name="Two Workouts"), "reward.goals[0].name: 'Two Workouts' must be lower-case"),
        (_goal(name="conversion"), "reward.goals[0].name: 'conversion' is taken"),
        (
            {"reward": {"goals": [{**GOAL, "weight": 1}, {**GOAL, "weight": 2}]}},
            "reward.goals[1].name: 'two_workouts' is taken",
        ),
        (_goal(event=""), "reward.goals[0].event: name a product event (event_name)"),
        (_goal(event=3), "reward.goals[0].event: name a product event (event_name)"),
        (_goal(at_least=0), "reward.goals[0].at_least: need a whole number >= 1, got 0"),
        (_goal(at_least=1.5), "reward.goals[0].at_least: need a whole number >= 1, got 1.5"),
        (_goal(within_days=0.5), "reward.goals[0].within_days: need a whole number >= 1"),
        (_goal(within_days=True), "reward.goals[0].within_days: need a whole number >= 1"),
        (_goal(weight="high"), "reward.goals[0].weight: expected a number (reward units)"),
    ],
)
def test_bad_reward_goals_name_the_field_and_the_fix(settings: object, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(settings)  # type: ignore[arg-type]
    assert message in str(error.value)


def test_json_text_is_accepted() -> None:
    assert load_config('{"as_of": "2026-02-03"}').as_of == dt.date(2026, 2, 3)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"polcy": {}}, "decisioning.polcy: unknown setting"),
        ({"policy": {"algoritm": "x"}}, "decisioning.policy.algoritm: unknown setting"),
        ({"policy": {"algorithm": "magic"}}, "unknown algorithm 'magic'. Choose one of"),
        ({"policy": {"half_life_days": -3}}, "policy.half_life_days: must be a positive number"),
        ({"policy": {"propensity_floor": 0.7}}, "policy.propensity_floor: must be in [0, 0.5)"),
        ({"policy": {"monte_carlo_draws": 2}}, "monte_carlo_draws: need an integer >= 16"),
        ({"policy": {"epsilon": 1.5}}, "policy.epsilon: must be in [0, 1], got 1.5"),
        ({"policy": {"ucb_alpha": 0}}, "policy.ucb_alpha: must be a positive number"),
        ({"policy": {"test_days": 2.5}}, "policy.test_days: need a whole number of days >= 1"),
        ({"policy": {"send_nothing": "yes"}}, "policy.send_nothing: expected bool, got str"),
        ({"holdout": {"share": 1.5}}, "holdout.share: must be in [0, 1)"),
        ({"holdout": {"share": "ten"}}, "holdout.share: expected float, got str"),
        ({"as_of": "yesterday"}, "as_of: expected a date like 2026-01-31"),
        ({"campaign_id": "Win Back!"}, "campaign_id: 'Win Back!' must be lower-case"),
        (
            {"reward": {"weights": {"revenue": 1}}},
            "reward.weights.revenue: unknown setting. Known here: click, conversion",
        ),
        ({"reward": {"weights": {"open": "high"}}}, "weights.open: expected float, got str"),
        (
            {"reward": {"attribution_window_hours": 0}},
            "attribution_window_hours: must be a positive",
        ),
        ({"message_fields": ["channel"]}, "reserved name"),
        ({"sources": {"customers": {"columns": {"id": "user_id"}}}}, "['id'] not in the contract"),
        ({"features": {"categorical": {"plan": []}}}, "features.categorical.plan: list the levels"),
        ({"audience": {"recontact_days": 0}}, "audience.recontact_days: must be a positive"),
        ("[1, 2]", "expected a mapping of settings"),
    ],
)
def test_bad_settings_name_the_field_and_the_fix(settings: object, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(settings)  # type: ignore[arg-type]
    assert message in str(error.value)


def test_autotune_never_writes_for_the_recommendation_field() -> None:
    """Its values are strategies, not texts: left out of Auto-Tune's default fields and
    refused in autotune.fields."""
    recommending = {
        "message_fields": ["subject_line", "offer", "workout"],
        "recommendations": {"field": "workout"},
        "sources": {"catalog_items": {"table": "catalog_items"}},
    }
    assert load_config(recommending).autotune.fields == ("subject_line", "offer")
    assert load_config({}).autotune.fields == ("subject_line", "greeting", "offer")
    with pytest.raises(ConfigError, match="'workout' is the recommendation field"):
        load_config({**recommending, "autotune": {"fields": ["offer", "workout"]}})
