"""Candidate policies evaluated on an imported history (``evaluate_history``).

The history is another system's: which of 80 products to show in which of 3 page slots.
It logs no channel and no send slot (the catalog's fixed fields), only the product and the
joint propensity; the page slot is context (x_slot_1..3, one-hot). A known logging policy
(a softmax of a slot-dependent preference over products p00..p78, p79 at a fixed 0.1%)
chooses; clicks are drawn from a known per-(product, slot) click probability, so every
true value is known exactly. 30 days of 3,000 decisions; 10% have no propensity.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from decisioning.catalog import Catalog
from decisioning.config import Config, load_config
from decisioning.evaluation import ESTIMATORS, LoggedDecisions, evaluate_history

START = dt.date(2025, 11, 1)
DAYS, PER_DAY = 30, 3000
SLOTS, PRODUCTS = 3, 80
PRODUCT_IDS = tuple(f"p{j:02d}" for j in range(PRODUCTS))
RARE, RARE_PROPENSITY = PRODUCTS - 1, 0.001
NO_PROPENSITY_SHARE = 0.1
FIXED_PRODUCT = 7
MIN_ESS = 100


def click_probability() -> np.ndarray:
    """(slots, products): the true click probability of each product in each slot."""
    j, s = np.arange(PRODUCTS), np.arange(SLOTS)[:, None]
    return 0.04 + 0.06 * (1 + np.cos(2 * np.pi * (j / PRODUCTS - s / SLOTS)))


def logging_probability() -> np.ndarray:
    """(slots, products): the old system's policy; the rare product at a fixed 0.1%."""
    j, s = np.arange(PRODUCTS - 1), np.arange(SLOTS)[:, None]
    preference = np.exp(np.cos(2 * np.pi * (j / PRODUCTS - s / SLOTS - 0.05)))
    p = np.empty((SLOTS, PRODUCTS))
    p[:, :RARE] = (1 - RARE_PROPENSITY) * preference / preference.sum(axis=1, keepdims=True)
    p[:, RARE] = RARE_PROPENSITY
    return p


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    rows = [("channel", c, f"{c}_opt_in") for c in ("email", "push", "sms")]
    rows += [("send_slot", s, None) for s in ("h08", "h12", "h18", "h21")]
    rows += [("product", p, None) for p in PRODUCT_IDS]
    frame = pd.DataFrame(rows, columns=["field", "value_id", "opt_in_column"])
    frame["is_active"] = True
    return Catalog.from_frame(frame, ("channel", "send_slot", "product"))


def make_config(policies: list[dict[str, object]], train_share: float = 0.5) -> Config:
    return load_config(
        {
            "as_of": (START + dt.timedelta(days=DAYS)).isoformat(),
            "message_fields": ["product"],
            "history": {"train_share": train_share},
            "evaluation": {"policies": policies, "min_effective_sample_size": MIN_ESS},
        }
    )


def history(days: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """One decision per entry of ``days`` (day offsets from START), as
    ``int_historical_decisions`` gives them; ``slot`` (0-based) kept for the truth."""
    rng = np.random.default_rng(seed)
    n = len(days)
    slot = rng.integers(0, SLOTS, n)
    p = logging_probability()[slot]
    product = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    propensity = p[np.arange(n), product]
    propensity[rng.random(n) < NO_PROPENSITY_SHARE] = np.nan
    frame = pd.DataFrame(
        {
            "decision_id": [f"h{i}" for i in range(n)],
            "decision_date": [START + dt.timedelta(days=int(d)) for d in days],
            "channel": None,
            "send_slot": None,
            "product": np.asarray(PRODUCT_IDS, dtype=object)[product],
            "channel_propensity": np.nan,
            "send_slot_propensity": np.nan,
            "product_propensity": np.nan,
            "propensity": propensity,
            "eligible_sends": None,
            "fold": 0,
            "reward": (rng.random(n) < click_probability()[slot, product]).astype(float),
            "x_intercept": 1.0,
            **{f"x_slot_{k + 1}": (slot == k).astype(float) for k in range(SLOTS)},
            "slot": slot,
        }
    )
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return history(np.repeat(np.arange(DAYS), PER_DAY))


FIXED = {"name": "p07_always", "actions": {"product": PRODUCT_IDS[FIXED_PRODUCT]}}
RARE_POLICY = {"name": "p79_always", "actions": {"product": PRODUCT_IDS[RARE]}}
EMAIL = {"name": "email_p07", "actions": {"channel": "email", "product": "p07"}}


@pytest.fixture(scope="module")
def table(frame: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    config = make_config([FIXED, RARE_POLICY, EMAIL])
    return evaluate_history(LoggedDecisions.from_frame(frame, catalog), catalog, config)


def rows_of(table: pd.DataFrame, policy: str) -> pd.DataFrame:
    return table[table["policy"] == policy].set_index("estimator")


def evaluated(frame: pd.DataFrame) -> pd.DataFrame:
    """The later half of the days (equal days: the split is day DAYS / 2) with a propensity."""
    split = START + dt.timedelta(days=DAYS // 2)
    return frame[(frame["decision_date"] >= split) & frame["propensity"].notna()]


def test_every_policy_and_estimator_is_listed(table: pd.DataFrame) -> None:
    candidates = ["contextual_thompson_sampling", "campaign_thompson_sampling"]
    users = ["p07_always", "p79_always", "email_p07"]
    assert table["policy"].tolist() == ["logged"] + [p for p in candidates + users for _ in "abc"]
    assert table["estimator"].tolist() == ["on_policy"] + list(ESTIMATORS) * 5
    assert (table["logs"] == "historical_decisions").all()


def test_contextual_thompson_sampling_is_evaluated_on_the_later_part(
    frame: pd.DataFrame, table: pd.DataFrame
) -> None:
    later = evaluated(frame)
    ts = rows_of(table, "contextual_thompson_sampling")
    assert ts["is_supported"].all() and ts["warning"].isna().all()
    assert (ts["decisions"] == len(later)).all()
    assert ts["estimate"].notna().all() and (ts["standard_error"] > 0).all()
    assert (ts["effective_sample_size"] >= MIN_ESS).all()


def test_logged_row_is_the_mean_reward_of_the_evaluated_decisions(
    frame: pd.DataFrame, table: pd.DataFrame
) -> None:
    later = evaluated(frame)
    logged = rows_of(table, "logged").loc["on_policy"]
    assert logged["decisions"] == len(later)
    assert logged["estimate"] == np.mean(later["reward"].to_numpy())


def test_fixed_product_ips_is_the_closed_form_and_finds_the_true_value(
    frame: pd.DataFrame, table: pd.DataFrame
) -> None:
    """Channel and send slot follow the log (never logged): only the product's propensity
    enters, w = 1[product = p07] / propensity; and IPS is unbiased for the known value."""
    later = evaluated(frame)
    shown = (later["product"] == PRODUCT_IDS[FIXED_PRODUCT]).to_numpy()
    w = shown / later["propensity"].to_numpy()
    reward = later["reward"].to_numpy()
    fixed = rows_of(table, "p07_always")
    ips = fixed.loc["ips"]
    assert ips["estimate"] == pytest.approx(np.mean(w * reward), rel=1e-12)
    assert ips["standard_error"] == pytest.approx(np.std(w * reward, ddof=1) / np.sqrt(len(w)))
    assert (fixed["matching_decisions"] == shown.sum()).all()
    assert fixed["effective_sample_size"].iloc[0] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert fixed["is_supported"].all()
    truth = click_probability()[later["slot"].to_numpy(), FIXED_PRODUCT].mean()
    assert abs(ips["estimate"] - truth) <= 3 * ips["standard_error"]


def test_time_split_at_the_day_boundary(frame: pd.DataFrame, table: pd.DataFrame) -> None:
    split = START + dt.timedelta(days=DAYS // 2)  # half of the equal days come before it
    dates = frame["decision_date"]
    later = (dates >= split).to_numpy()
    assert (table["trained_to"] == pd.Timestamp(split)).all()
    assert (table["evaluated_from"] == pd.Timestamp(split)).all()
    assert (table["evaluated_to"] == pd.Timestamp(START + dt.timedelta(days=DAYS - 1))).all()
    missing = frame["propensity"].isna().to_numpy()
    assert missing[~later].any()  # training decisions without one are not counted
    assert (table["decisions_without_propensity"] == (later & missing).sum()).all()
    assert (table["decisions"] == (later & ~missing).sum()).all()


@pytest.mark.parametrize(
    ("per_day", "train_share", "split_day"),
    [
        ([100, 100, 100, 100], 0.5, 2),  # exactly half before day 2
        ([10, 30, 25, 35], 0.5, 2),  # 40 before day 2 <= 50 < 65 up to it
        ([70, 10, 20], 0.5, 1),  # the first day holds more than half: it still trains
        ([5, 5, 5, 85], 0.3, 3),  # 15 before day 3 <= 30 < 100
    ],
)
def test_split_date_keeps_train_share_before_it(
    catalog: Catalog, per_day: list[int], train_share: float, split_day: int
) -> None:
    days = np.repeat(np.arange(len(per_day)), per_day)
    frame = history(days, seed=1)
    config = make_config([], train_share)
    table = evaluate_history(LoggedDecisions.from_frame(frame, catalog), catalog, config)
    split = START + dt.timedelta(days=split_day)
    assert (table["trained_to"] == pd.Timestamp(split)).all()
    assert table["evaluated_from"].iloc[0] >= table["trained_to"].iloc[0]
    later = (frame["decision_date"] >= split) & frame["propensity"].notna()
    assert (table["decisions"] == later.sum()).all()


def test_a_policy_setting_an_unlogged_field_is_not_evaluable(table: pd.DataFrame) -> None:
    email = rows_of(table, "email_p07")
    assert not email["is_supported"].any()
    assert email["estimate"].isna().all()
    assert email["warning"].str.contains("sets channel,").all()
    assert not email["warning"].str.contains("product").any()


def test_a_product_the_log_almost_never_chose_is_not_supported(
    frame: pd.DataFrame, table: pd.DataFrame
) -> None:
    """p79 is logged with the same propensity everywhere: every match weighs the same, so
    the effective sample size is the number of matches, about 0.1% of the decisions."""
    later = evaluated(frame)
    matches = int((later["product"] == PRODUCT_IDS[RARE]).sum())
    rare = rows_of(table, "p79_always")
    assert 0 < matches < MIN_ESS  # about 40 expected; 100 is 9 standard deviations away
    assert (rare["matching_decisions"] == matches).all()
    assert rare["effective_sample_size"].to_numpy() == pytest.approx(matches)
    assert not rare["is_supported"].any()
    assert rare["warning"].str.contains(f"effective sample size {matches} is below").all()


def test_empty_history_gives_an_empty_frame_with_the_columns(
    frame: pd.DataFrame, catalog: Catalog, table: pd.DataFrame
) -> None:
    logged = LoggedDecisions.from_frame(frame.iloc[:0], catalog)
    empty = evaluate_history(logged, catalog, make_config([FIXED]))
    assert empty.empty
    assert empty.dtypes.to_dict() == table.dtypes.to_dict()
    assert list(empty.columns) == list(table.columns)
    required = {"is_supported", "warning", "evaluated_from", "evaluated_to", "trained_to"}
    assert required | {"decisions_without_propensity"} <= set(empty.columns)
