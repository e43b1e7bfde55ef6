"""The daily decision batch: holdout, eligibility, propensities, reproducibility."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd
import pytest

from decisioning.catalog import Catalog, CatalogError
from decisioning.config import Config, ConfigError, load_config
from decisioning.decide import HOLDOUT, POLICY, USUAL, decide, empty_decisions
from decisioning.keyed_random import decision_keys, keyed_uniforms
from decisioning.policies import Scores, make_policy
from decisioning.posterior import FieldModel, fit_models
from tests.conftest import DEFAULT_ACTION, FIELDS, make_audience, statistics_frame


def _models(catalog: Catalog, d: int = 4, seed: int = 0) -> dict[str, FieldModel]:
    """Fitted on synthetic data where each value has its own reward level."""
    rng = np.random.default_rng(seed)
    frames = []
    for field, values in catalog.values.items():
        data = {}
        for k, value in enumerate(values):
            x = np.column_stack([np.ones(200), rng.normal(size=(200, d - 1))])
            data[value] = (x, 0.1 * k + rng.normal(scale=0.3, size=200), np.ones(200))
        frames.append(statistics_frame(field, data))
    names = tuple(f"x_{i}" for i in range(d))
    return fit_models(pd.concat(frames, ignore_index=True), catalog, names, prior_variance=1.0)


def test_one_decision_per_customer_with_valid_columns(catalog, config, audience) -> None:  # type: ignore[no-untyped-def]
    frame = decide(audience, _models(catalog), catalog, config, "v1")
    assert len(frame) == len(audience.decision_ids)
    assert frame["decision_id"].is_unique
    assert list(frame.columns) == list(empty_decisions(catalog.fields).columns)
    assert ((frame["propensity"] > 0) & (frame["propensity"] <= 1)).all()
    assert set(frame["channel"]) <= {*catalog.values["channel"], "none"}  # none: the holdout
    for field in FIELDS[1:]:
        assert set(frame[field].dropna()) <= set(catalog.values[field])


def test_holdout_gets_nothing_and_business_as_usual_the_default_action(catalog, config) -> None:  # type: ignore[no-untyped-def]
    audience = make_audience(4000)
    codes = np.random.default_rng(5).choice(
        [POLICY, HOLDOUT, USUAL], len(audience), p=[0.6, 0.2, 0.2]
    )
    audience = dataclasses.replace(audience, groups=codes.astype(np.int8))
    frame = decide(audience, _models(catalog), catalog, config, "v1")
    holdout = frame[(codes == HOLDOUT)]
    assert len(holdout) > 0 and holdout["is_holdout"].all()
    assert (holdout["channel"] == "none").all() and holdout[list(FIELDS[1:])].isna().all().all()
    assert (holdout["propensity"] == 1.0).all() and (holdout["algorithm"] == "holdout").all()
    usual = frame[codes == USUAL]
    assert (usual["propensity"] == 1.0).all() and (usual["algorithm"] == "business_as_usual").all()
    for field in FIELDS[1:]:
        assert (usual[field] == DEFAULT_ACTION[field]).all()
    # Customers without email fall back to their first eligible channel.
    flags = {k: v[codes == USUAL] for k, v in audience.flags.items()}
    first = np.where(flags["push_opt_in"], "push", "sms")
    expected = np.where(flags["email_opt_in"], "email", first)
    assert (usual["channel"].to_numpy() == expected).all()


def test_channels_respect_opt_ins(catalog, config, audience) -> None:  # type: ignore[no-untyped-def]
    frame = decide(audience, _models(catalog), catalog, config, "v1")
    for channel in ("email", "push", "sms"):
        chosen = frame["channel"].to_numpy() == channel
        assert audience.flags[f"{channel}_opt_in"][chosen].all()


def test_propensity_is_the_product_of_the_fields_probabilities(catalog, config, audience) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    frame = decide(audience, models, catalog, config, "v1")
    policy = make_policy(config.policy)

    expected = np.ones(len(frame))
    for field in FIELDS:
        eligible = (
            np.stack([audience.flags[f"{c}_opt_in"] for c in catalog.values["channel"]], axis=1)
            if field == "channel"
            else np.ones((len(frame), len(catalog.values[field])), dtype=bool)
        )
        seed = int(hashlib.sha1(f"v1|{field}".encode()).hexdigest()[:15], 16)
        p = policy.action_probabilities(Scores(models[field], audience.features), eligible, seed)
        index = pd.Index(catalog.values[field]).get_indexer(frame[field])
        expected *= p[np.arange(len(frame)), index]
    policy_rows = ~frame["is_holdout"].to_numpy()
    assert np.allclose(frame["channel_propensity"][policy_rows], 1 / 3, atol=1)  # a probability
    assert np.allclose(frame["propensity"].to_numpy()[policy_rows], expected[policy_rows])


def test_choices_follow_the_probabilities(catalog, audience) -> None:  # type: ignore[no-untyped-def]
    # Uniform over 4 subject lines: each share is binomial(n, 1/4).
    config = load_config(
        {
            "policy": {"algorithm": "uniform_random", "propensity_floor": 0.0},
            "holdout": {"share": 0.0},
        }
    )
    big = make_audience(40_000, holdout_share=0.0)
    frame = decide(big, _models(catalog), catalog, config, "v1")
    shares = frame["subject_line"].value_counts(normalize=True)
    assert np.all(np.abs(shares - 0.25) < 4 * np.sqrt(0.25 * 0.75 / len(frame)))
    assert np.allclose(frame["propensity"], 1 / 3 * 1 / 3 * 1 / 4 * 1 / 2 * 1 / 3, rtol=0, atol=0.1)


def test_decisions_are_reproducible_and_independent_of_row_order(catalog, config, audience) -> None:  # type: ignore[no-untyped-def]
    models = _models(catalog)
    first = decide(audience, models, catalog, config, "v1").set_index("decision_id")
    order = np.random.default_rng(3).permutation(len(audience.decision_ids))
    shuffled = dataclasses.replace(
        audience,
        decision_ids=audience.decision_ids[order],
        customer_ids=audience.customer_ids[order],
        groups=audience.group_codes()[order],
        flags={k: v[order] for k, v in audience.flags.items()},
        features=audience.features[order],
    )
    second = decide(shuffled, models, catalog, config, "v1").set_index("decision_id")
    pd.testing.assert_frame_equal(first, second.loc[first.index])


def test_draws_use_the_decision_ids_own_uniforms(catalog, audience) -> None:  # type: ignore[no-untyped-def]
    config = load_config(
        {
            "policy": {"algorithm": "uniform_random", "propensity_floor": 0.0},
            "holdout": {"share": 0.0},
        }
    )
    audience = dataclasses.replace(audience, groups=None)
    frame = decide(audience, _models(catalog), catalog, config, "v1")
    u = keyed_uniforms(decision_keys(audience.decision_ids), stream=FIELDS.index("offer"))
    assert (frame["offer"].to_numpy() == np.array(["o1", "o2", "o3"])[(u * 3).astype(int)]).all()


def test_a_floor_too_high_for_the_catalog_is_a_config_error(catalog, audience) -> None:  # type: ignore[no-untyped-def]
    config = load_config({"policy": {"propensity_floor": 0.4}, "holdout": {"share": 0.0}})
    with pytest.raises(ConfigError, match=r"propensity_floor: 0.4 is above 1/3"):
        decide(audience, _models(catalog), catalog, config, "v1")


def test_default_action_errors_name_the_field(catalog, audience) -> None:  # type: ignore[no-untyped-def]
    broken = {**DEFAULT_ACTION, "offer": "o9"}
    config: Config = load_config(
        {"holdout": {"business_as_usual_share": 0.2, "default_action": broken}}
    )
    with pytest.raises(ConfigError, match=r"default_action.offer: 'o9' is not an active offer"):
        decide(audience, _models(catalog), catalog, config, "v1")
    partial = {k: v for k, v in DEFAULT_ACTION.items() if k != "greeting"}
    config = load_config({"holdout": {"business_as_usual_share": 0.2, "default_action": partial}})
    with pytest.raises(ConfigError, match="default_action: missing greeting"):
        decide(audience, _models(catalog), catalog, config, "v1")


def test_a_field_without_active_values_is_a_catalog_error() -> None:
    frame = pd.DataFrame(
        {
            "field": ["channel", "send_slot", "offer"],
            "value_id": ["email", "h08", "o1"],
            "opt_in_column": ["email_opt_in", None, None],
            "is_active": [True, True, False],
        }
    )
    with pytest.raises(
        CatalogError, match=r"'offer' has no active value in seeds/message_variants.csv"
    ):
        Catalog.from_frame(frame, ("channel", "send_slot", "offer"))


def test_recommendation_strategies_are_features_by_their_labels_only() -> None:
    """A recommendation field's values (is_recommendation) take their catalog labels, never
    the tags of their content; other message fields keep theirs. Its value none is an
    ordinary value, not sending nothing."""
    rows = [
        ("channel", "email", "email_opt_in", "", "Email", False),
        ("send_slot", "h08", None, "", "8am", False),
        ("offer", "o1", None, "", "20% off your next month", False),
        ("workout", "personalized", None, "strategy:personalized;recommends_item", "Pick", True),
        ("workout", "none", None, "strategy:none", "No recommendation", True),
    ]
    columns = ["field", "value_id", "opt_in_column", "tags", "content", "is_recommendation"]
    frame = pd.DataFrame(rows, columns=columns).assign(is_active=True)
    catalog = Catalog.from_frame(frame, ("channel", "send_slot", "offer", "workout"))
    assert catalog.values["workout"] == ("personalized", "none")
    assert catalog.action_feature_names["workout"] == (
        "bias",
        "tag_recommends_item",
        "tag_strategy_none",
        "tag_strategy_personalized",
        "id_personalized",
        "id_none",
    )
    assert "tag_offer_type_discount" in catalog.action_feature_names["offer"]


def test_customers_without_an_eligible_channel_are_skipped(catalog, config, audience) -> None:  # type: ignore[no-untyped-def]
    for column in audience.flags.values():
        column[:3] = False
    frame = decide(audience, _models(catalog), catalog, config, "v1")
    assert (frame["skip_reason"].iloc[:3] == "no_eligible_channel").all()
    assert frame["skip_reason"].iloc[3:].isna().all()
    assert frame[["channel", "propensity"]].iloc[:3].isna().all().all()


def test_features_must_match_the_model(catalog, config) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="different features"):
        decide(make_audience(10, d=3), _models(catalog, d=4), catalog, config, "v1")


def test_send_nothing_is_a_channel_that_leaves_the_message_empty(audience) -> None:  # type: ignore[no-untyped-def]
    rows = [("channel", c, f"{c}_opt_in") for c in ("email", "push", "sms")]
    rows += [("send_slot", "h08", None), ("subject_line", "s1", None), ("subject_line", "s2", None)]
    rows += [("greeting", "g1", None), ("offer", "o1", None)]
    frame = pd.DataFrame(rows, columns=["field", "value_id", "opt_in_column"]).assign(
        is_active=True
    )
    catalog = Catalog.from_frame(frame, FIELDS, send_nothing=True)
    assert catalog.values["channel"] == ("email", "push", "sms", "none")
    config = load_config(
        {
            "policy": {"algorithm": "uniform_random", "propensity_floor": 0.0},
            "holdout": {"share": 0.2, "default_action": {**DEFAULT_ACTION, "subject_line": "s1"}},
        }
    )
    decisions = decide(audience, _models(catalog), catalog, config, "v1")
    silent = (decisions["channel"] == "none").to_numpy()
    policy_rows = ~decisions["is_holdout"].to_numpy()
    eligible = np.stack([audience.flags[f"{c}_opt_in"] for c in ("email", "push", "sms")], 1)
    k = eligible.sum(axis=1) + 1  # sending nothing is always eligible
    assert silent[policy_rows].any() and silent[~policy_rows].all()  # the holdout: nothing
    assert (
        decisions.loc[silent, ["send_slot", "subject_line", "greeting", "offer"]].isna().all().all()
    )
    # Uniform: the propensity of sending nothing is 1/k, of a message 1/k * 1/2 (subject).
    expected = np.where(silent, 1 / k, 1 / k / 2)
    assert np.allclose(decisions["propensity"][policy_rows], expected[policy_rows])
    with pytest.raises(CatalogError, match="'none' is reserved"):
        Catalog.from_frame(frame.replace({"sms": "none"}), FIELDS)
