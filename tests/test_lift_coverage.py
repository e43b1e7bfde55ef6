"""Coverage of the lift marts' intervals on simulated rewards with a known truth, through dbt.

K independent campaigns (one replication each) with three groups of known means: every
customer has a random engagement effect e ~ Beta(A, B) shared by all their decisions (1 to
3, on distinct days), so decisions of one customer are correlated. Per decision, given e:
opened ~ Bern(open * e); clicked = opened and Bern(click); converted ~ Bern(e * (C0 + (C1 -
C0) * clicked)); unsubscribed ~ Bern(unsubscribe); reward = the config's weighted sum. The
true per-decision means are population expectations, exact: E[e] = A / (A + B),
E[e^2] = A (A + 1) / ((A + B)(A + B + 1)), so open_rate = open E[e], click_rate =
open click E[e], conversion_rate = C0 E[e] + (C1 - C0) open click E[e^2]. The holdout is
sent nothing (open = 0): it only converts organically.

The file holds only ``main.rewards``; ``dbt run --select int_lift_moments lift_daily
lift_summary`` reads it through ``ref('rewards')``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from decisioning.config import DEFAULTS
from decisioning.project import Project

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
K = 400  # campaigns = independent replications
DAYS = 4
START = dt.date(2026, 1, 1)
SEED = 20260101
A, B = 0.3, 0.7  # customer effect e ~ Beta(A, B): strong, so clustering matters
C0, C1 = 0.25, 0.9  # conversion probability / e, without and with a click
DECISIONS_PER_CUSTOMER = {1: 0.2, 2: 0.3, 3: 0.5}
PENDING_SHARE = 0.5  # of the last day's decisions: attribution window still open
WEIGHTS: dict[str, float] = DEFAULTS["reward"]["weights"]
METRICS = ("reward", "open_rate", "click_rate", "conversion_rate", "unsubscribe_rate")
COLUMNS = {
    "open_rate": "opened",
    "click_rate": "clicked",
    "conversion_rate": "converted",
    "unsubscribe_rate": "unsubscribed",
}
COMPARISONS = (
    ("policy", "holdout"),
    ("business_as_usual", "holdout"),
    ("policy", "business_as_usual"),
)
Z = 1.959963984540054
LOW = 0.95 - 3 * math.sqrt(0.95 * 0.05 / K)
HIGH = 0.95 + 3 * math.sqrt(0.95 * 0.05 / K)


@dataclass(frozen=True)
class Group:
    customers: int  # per campaign
    open: float  # P(open | e) = open * e
    click: float  # P(click | open)
    unsubscribe: float


GROUPS = {
    "policy": Group(300, 0.9, 0.35, 0.01),
    "business_as_usual": Group(200, 0.7, 0.3, 0.01),
    "holdout": Group(150, 0.0, 0.0, 0.0),  # sent nothing
}


def true_means(group: str) -> dict[str, float]:
    """Population expectation of each metric per decision, from the generative model."""
    spec = GROUPS[group]
    mean_e = A / (A + B)
    mean_e2 = A * (A + 1) / ((A + B) * (A + B + 1))
    rates = {
        "open_rate": spec.open * mean_e,
        "click_rate": spec.open * spec.click * mean_e,
        "conversion_rate": C0 * mean_e + (C1 - C0) * spec.open * spec.click * mean_e2,
        "unsubscribe_rate": spec.unsubscribe,
    }
    rates["reward"] = (
        WEIGHTS["open"] * rates["open_rate"]
        + WEIGHTS["click"] * rates["click_rate"]
        + WEIGHTS["conversion"] * rates["conversion_rate"]
        + WEIGHTS["unsubscribe"] * rates["unsubscribe_rate"]
    )
    return rates


def simulate(seed: int) -> pd.DataFrame:
    """One row per decision: campaign, group, customer, day, is_final and outcomes."""
    rng = np.random.default_rng(seed)
    frames = []
    for group, spec in GROUPS.items():
        m = K * spec.customers
        campaign = np.repeat(np.arange(K), spec.customers)
        effect = rng.beta(A, B, m)
        n = rng.choice(
            list(DECISIONS_PER_CUSTOMER), size=m, p=list(DECISIONS_PER_CUSTOMER.values())
        )
        customer = np.repeat(np.arange(m), n)
        position = np.arange(customer.size) - np.repeat(np.cumsum(n) - n, n)
        day = np.argsort(rng.random((m, DAYS)), axis=1)[customer, position]  # distinct days
        e = effect[customer]
        size = customer.size
        opened = rng.random(size) < spec.open * e
        clicked = opened & (rng.random(size) < spec.click)
        converted = rng.random(size) < e * (C0 + (C1 - C0) * clicked)
        unsubscribed = rng.random(size) < spec.unsubscribe
        pending = (day == DAYS - 1) & (rng.random(size) < PENDING_SHARE)
        frames.append(
            pd.DataFrame(
                {
                    "campaign": campaign[customer],
                    "decision_group": group,
                    "customer": customer,
                    "day": day,
                    "is_final": ~pending,
                    "opened": opened.astype(np.int64),
                    "clicked": clicked.astype(np.int64),
                    "converted": converted.astype(np.int64),
                    "unsubscribed": unsubscribed.astype(np.int64),
                }
            )
        )
    decisions = pd.concat(frames, ignore_index=True)
    decisions["reward"] = sum(
        WEIGHTS[component] * decisions[column]
        for component, column in [
            ("open", "opened"),
            ("click", "clicked"),
            ("conversion", "converted"),
            ("unsubscribe", "unsubscribed"),
        ]
    )
    return decisions


def write_rewards(database: Path, decisions: pd.DataFrame) -> None:
    """``main.rewards`` as the rewards model writes it (outcomes null while pending)."""
    with duckdb.connect(str(database)) as con:
        con.register("decisions", decisions)
        outcomes = ",\n".join(
            f"case when is_final then {c} end as {c}"
            for c in ("opened", "clicked", "converted", "unsubscribed", "reward")
        )
        con.execute(
            f"""
            create table main.rewards as
            select
                concat_ws('-', 'd', campaign, decision_group, customer, day) as decision_id,
                'c' || lpad(cast(campaign as varchar), 3, '0') as campaign_id,
                decision_group || '-' || cast(customer as varchar) as customer_id,
                cast(date '{START.isoformat()}' + cast(day as integer) as date)
                    as decision_date,
                decision_group,
                decision_group = 'holdout' as is_holdout,
                cast(date '{START.isoformat()}' + cast(day as integer) as timestamp)
                    + interval 8 hour as send_at_utc,
                cast(date '{START.isoformat()}' + cast(day as integer) as timestamp)
                    + interval 80 hour as window_end_at,
                is_final,
                case when is_final then 1 end as delivered,
                {outcomes}
            from decisions
            """
        )


@dataclass
class Run:
    decisions: pd.DataFrame
    summary: pd.DataFrame
    daily: pd.DataFrame
    moments: pd.DataFrame


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    database = tmp_path_factory.mktemp("lift") / "lift.duckdb"
    decisions = simulate(SEED)
    write_rewards(database, decisions)
    Project.open(ROOT, database).dbt(
        ["run", "--select", "int_lift_moments", "lift_daily", "lift_summary"]
    )
    with duckdb.connect(str(database)) as con:
        tables = {
            name: con.sql(f"select * from main.{name}").df()
            for name in ("lift_summary", "lift_daily", "int_lift_moments")
        }
    decisions["campaign_id"] = [f"c{c:03d}" for c in decisions["campaign"]]
    yield Run(decisions, tables["lift_summary"], tables["lift_daily"], tables["int_lift_moments"])


def customer_sums(decisions: pd.DataFrame) -> pd.DataFrame:
    """Finalized decisions summed per campaign, group and customer: n, y per metric and
    whether any of the customer's decisions has a nonzero value (<metric>_nonzero)."""
    final = decisions[decisions["is_final"]].rename(columns={c: m for m, c in COLUMNS.items()})
    final = final.assign(**{f"{m}_nonzero": (final[m] != 0).astype(int) for m in METRICS})
    return (
        final.groupby(["campaign_id", "decision_group", "customer"])
        .agg(
            n=("day", "size"),
            **{m: (m, "sum") for m in METRICS},
            **{f"{m}_nonzero": (f"{m}_nonzero", "max") for m in METRICS},
        )
        .reset_index()
    )


def group_statistics(decisions: pd.DataFrame) -> pd.DataFrame:
    """Per campaign, group and metric, recomputed in pandas: the mean, the clustered
    variance, the naive variance s^2 / N that treats decisions as independent, and the
    customers with a nonzero value."""
    sums = customer_sums(decisions)
    final = decisions[decisions["is_final"]].rename(columns={c: m for m, c in COLUMNS.items()})
    keys = ["campaign_id", "decision_group"]
    rows = []
    for metric in METRICS:
        frame = sums[keys + ["n", metric, f"{metric}_nonzero"]].rename(
            columns={metric: "y", f"{metric}_nonzero": "nonzero"}
        )
        totals = frame.groupby(keys).agg(
            customers=("n", "size"),
            decisions=("n", "sum"),
            sum_y=("y", "sum"),
            nonzero=("nonzero", "sum"),
        )
        frame = frame.join(totals[["decisions", "sum_y"]], on=keys)
        frame["residual2"] = (frame["y"] - frame["sum_y"] / frame["decisions"] * frame["n"]) ** 2
        stats = totals.assign(
            mean=totals["sum_y"] / totals["decisions"],
            residual2=frame.groupby(keys)["residual2"].sum(),
        )
        g = stats["customers"]
        stats["variance"] = stats["residual2"] / stats["decisions"] ** 2 * g / (g - 1)
        naive = final.groupby(keys)[metric].agg(["var", "size"])
        stats["naive_variance"] = naive["var"] / naive["size"]
        rows.append(stats.reset_index().assign(metric=metric))
    return pd.concat(rows, ignore_index=True)


def compared(run: Run) -> pd.DataFrame:
    """lift_summary with each row's truth and pandas' recomputed group statistics."""
    stats = group_statistics(run.decisions)
    frame = run.summary
    for side in ("treatment", "control"):
        renamed = stats.rename(
            columns={
                c: f"{side}_{c}_pd"
                for c in stats.columns
                if c not in ("campaign_id", "decision_group", "metric")
            }
        ).rename(columns={"decision_group": f"{side}_group"})
        frame = frame.merge(renamed, on=["campaign_id", f"{side}_group", "metric"], how="left")
    truth = {g: true_means(g) for g in GROUPS}
    frame["true_lift"] = [
        truth[t][m] - truth[c][m]
        for t, c, m in frame[["treatment_group", "control_group", "metric"]].itertuples(index=False)
    ]
    frame["true_ratio"] = [
        truth[t][m] / truth[c][m] if truth[c][m] > 0 else np.nan
        for t, c, m in frame[["treatment_group", "control_group", "metric"]].itertuples(index=False)
    ]
    return frame


@pytest.fixture(scope="module")
def summary(run: Run) -> pd.DataFrame:
    return compared(run)


def coverage(frame: pd.DataFrame, low: str, high: str, truth: str) -> pd.Series:
    """Share of campaigns whose [low, high] holds the truth, per comparison and metric,
    over the rows where normal_approximation_ok."""
    ok = frame[frame["normal_approximation_ok"] & frame[low].notna() & frame[truth].notna()]
    covered = (ok[low] <= ok[truth]) & (ok[truth] <= ok[high])
    grouped = covered.groupby([ok["treatment_group"], ok["control_group"], ok["metric"]])
    return grouped.mean()[grouped.size() >= 0.9 * K]


def report(name: str, shares: pd.Series) -> str:
    lines = [f"{name} (bounds {LOW:.3f}..{HIGH:.3f}, K={K}):"]
    lines += [f"  {t} vs {c}, {m}: {s:.3f}" for (t, c, m), s in shares.items()]
    return "\n".join(lines)


def test_absolute_lift_intervals_cover_the_truth(summary: pd.DataFrame) -> None:
    shares = coverage(summary, "lift_ci_low", "lift_ci_high", "true_lift")
    print(report("absolute lift coverage", shares))
    # reward and conversion against both baselines; every metric but the rare unsubscribe
    # for policy vs business_as_usual (the holdout's open/click rates are 0: not ok).
    assert len(shares) == 8, shares
    assert ((shares >= LOW) & (shares <= HIGH)).all(), report("out of bounds", shares)


def test_relative_lift_intervals_cover_the_truth(summary: pd.DataFrame) -> None:
    frame = summary.assign(
        true_relative_lift=summary["true_ratio"] - 1,
    )
    shares = coverage(frame, "relative_lift_ci_low", "relative_lift_ci_high", "true_relative_lift")
    print(report("relative lift coverage", shares))
    assert len(shares) == 8, shares
    assert ((shares >= LOW) & (shares <= HIGH)).all(), report("out of bounds", shares)


def test_ignoring_the_clustering_by_customer_under_covers(summary: pd.DataFrame) -> None:
    """Same data, naive s^2/N variances (decisions as independent): too narrow."""
    frame = summary.assign(
        naive_half_width=Z
        * np.sqrt(summary["treatment_naive_variance_pd"] + summary["control_naive_variance_pd"]),
        clustered_se=np.sqrt(summary["treatment_variance_pd"] + summary["control_variance_pd"]),
    )
    frame["naive_low"] = frame["lift"] - frame["naive_half_width"]
    frame["naive_high"] = frame["lift"] + frame["naive_half_width"]
    naive = coverage(frame, "naive_low", "naive_high", "true_lift")
    clustered = coverage(frame, "lift_ci_low", "lift_ci_high", "true_lift")
    print(report("naive (unclustered) absolute lift coverage", naive))
    assert naive.mean() < clustered.mean() - 0.02
    open_rate = ("policy", "business_as_usual", "open_rate")
    assert naive[open_rate] < LOW, report("naive", naive)
    rows = frame[frame["metric"] == "open_rate"]
    ratio = (rows["naive_half_width"] / Z / rows["clustered_se"]).mean()
    assert ratio < 0.9, ratio


def test_normal_approximation_flag_follows_its_rule(summary: pd.DataFrame) -> None:
    rule = (
        (summary["treatment_customers_pd"] >= 30)
        & (summary["control_customers_pd"] >= 30)
        & (summary["treatment_nonzero_pd"] >= 10)
        & (summary["control_nonzero_pd"] >= 10)
    )
    assert (summary["normal_approximation_ok"] == rule).all()
    # The holdout is sent nothing: its open and click rates are structurally 0.
    structural = summary[
        (summary["control_group"] == "holdout")
        & summary["metric"].isin(["open_rate", "click_rate"])
    ]
    assert len(structural) == 2 * 2 * K and not structural["normal_approximation_ok"].any()
    # A rare event (1% unsubscribes, a few per group) is flagged in nearly every campaign.
    rare = summary[summary["metric"] == "unsubscribe_rate"]
    assert (~rare["normal_approximation_ok"]).mean() > 0.95


def test_summary_matches_a_pandas_recount(run: Run, summary: pd.DataFrame) -> None:
    assert len(summary) == K * len(COMPARISONS) * len(METRICS)
    assert (summary["ci_method"] == "welch_t_clustered_by_customer").all()
    for side in ("treatment", "control"):
        assert (summary[f"{side}_customers"] == summary[f"{side}_customers_pd"]).all()
        assert (summary[f"{side}_decisions"] == summary[f"{side}_decisions_pd"]).all()
        np.testing.assert_allclose(summary[f"{side}_mean"], summary[f"{side}_mean_pd"], rtol=1e-9)
    vt, vc = summary["treatment_variance_pd"], summary["control_variance_pd"]
    gt, gc = summary["treatment_customers_pd"], summary["control_customers_pd"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (vt + vc) ** 2 / (vt**2 / (gt - 1) + vc**2 / (gc - 1))
    np.testing.assert_allclose(summary["degrees_of_freedom"], df, rtol=1e-6)
    g = [
        (Z**3 + Z) / 4,
        (5 * Z**5 + 16 * Z**3 + 3 * Z) / 96,
        (3 * Z**7 + 19 * Z**5 + 17 * Z**3 - 15 * Z) / 384,
        (79 * Z**9 + 776 * Z**7 + 1482 * Z**5 - 1920 * Z**3 - 945 * Z) / 92160,
    ]
    t = (Z + (g[0] + (g[1] + (g[2] + g[3] / df) / df) / df) / df).fillna(Z)
    np.testing.assert_allclose(
        summary["lift_ci_high"] - summary["lift"], t * np.sqrt(vt + vc), rtol=1e-6, atol=1e-12
    )
    # Pending decisions are counted, not used.
    pending = (
        (~run.decisions["is_final"])
        .groupby([run.decisions["campaign_id"], run.decisions["decision_group"]])
        .sum()
    )
    expected = [
        pending[(c, t)] + pending[(c, g)]
        for c, t, g in summary[["campaign_id", "treatment_group", "control_group"]].itertuples(
            index=False
        )
    ]
    assert (summary["pending_decisions"] == expected).all()
    assert (summary["last_decision_date"] == pd.Timestamp(START + dt.timedelta(DAYS - 1))).all()
    # The summary is lift_daily's last to_date row.
    last = run.daily[
        (run.daily["period"] == "to_date")
        & (run.daily["decision_date"] == pd.Timestamp(START + dt.timedelta(DAYS - 1)))
    ]
    keys = ["campaign_id", "treatment_group", "control_group", "metric"]
    merged = summary.merge(last, on=keys, suffixes=("", "_daily"))
    assert len(merged) == len(summary)
    np.testing.assert_allclose(merged["lift_ci_low"], merged["lift_ci_low_daily"], rtol=1e-12)


def test_to_date_moments_match_a_brute_force_recount(run: Run) -> None:
    """The linear-time to_date moments equal a recount of every decision up to each date."""
    moments = run.moments[run.moments["period"] == "to_date"]
    keys = ["campaign_id", "decision_group", "metric", "decision_date"]
    expected = []
    for day in range(DAYS):
        sums = customer_sums(run.decisions[run.decisions["day"] <= day])
        for metric in METRICS:
            y, n = sums[metric], sums["n"]
            frame = pd.DataFrame(
                {
                    "campaign_id": sums["campaign_id"],
                    "decision_group": sums["decision_group"],
                    "customers": 1,
                    "decisions": n,
                    "sum_y": y,
                    "sum_y_squared": y * y,
                    "sum_n_y": n * y,
                    "sum_n_squared": n * n,
                    "nonzero_customers": sums[f"{metric}_nonzero"],
                }
            )
            totals = frame.groupby(["campaign_id", "decision_group"]).sum().reset_index()
            expected.append(
                totals.assign(metric=metric, decision_date=pd.Timestamp(START + dt.timedelta(day)))
            )
    merged = pd.concat(expected).merge(moments, on=keys, suffixes=("", "_dbt"), validate="1:1")
    assert len(merged) == len(moments) == K * len(GROUPS) * len(METRICS) * DAYS
    for column in ("customers", "decisions", "sum_n_squared", "nonzero_customers"):
        assert (merged[column] == merged[f"{column}_dbt"]).all(), column
    for column in ("sum_y", "sum_y_squared", "sum_n_y"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_dbt"], rtol=1e-9, atol=1e-9)
