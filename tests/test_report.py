"""The HTML report: built from synthetic marts (fast) and from a real demo run (e2e), and
opened in headless Chromium as a person would."""

from __future__ import annotations

import datetime as dt
import html
import math
import os
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from decisioning.cli import main
from decisioning.report import CHARTS, ReportError, load, resolve_campaign, write_report

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_CHROMIUM = "DECISIONING_REQUIRE_CHROMIUM"
START = dt.date(2026, 1, 1)
PAIRS = (("policy", "holdout"), ("business_as_usual", "holdout"), ("policy", "business_as_usual"))
METRICS = ("reward", "open_rate", "click_rate", "conversion_rate", "unsubscribe_rate")
VALUES = {
    "channel": ("email", "push", "sms"),
    "send_slot": ("h08", "h12", "h18"),
    "subject_line": ("sl_miss_you", "sl_streak", "sl_new_plan", "sl_coach"),
    "greeting": ("gr_first_name", "gr_hey"),
    "offer": ("of_none", "of_discount_10", "of_discount_20"),
}

# The marts' schemas, exactly as models/reporting/ and models/policy/ build them.
SCHEMAS = {
    "lift_daily": """campaign_id varchar, decision_date date, period varchar,
        treatment_group varchar, control_group varchar, metric varchar,
        treatment_customers bigint, control_customers bigint, treatment_decisions bigint,
        control_decisions bigint, treatment_mean double, control_mean double, lift double,
        lift_ci_low double, lift_ci_high double, relative_lift double,
        relative_lift_ci_low double, relative_lift_ci_high double, degrees_of_freedom double,
        is_significant boolean, normal_approximation_ok boolean, ci_method varchar""",
    "lift_summary": """campaign_id varchar, first_decision_date date, last_decision_date date,
        treatment_group varchar, control_group varchar, metric varchar,
        treatment_customers bigint, control_customers bigint, treatment_decisions bigint,
        control_decisions bigint, treatment_mean double, control_mean double, lift double,
        lift_ci_low double, lift_ci_high double, relative_lift double,
        relative_lift_ci_low double, relative_lift_ci_high double, degrees_of_freedom double,
        is_significant boolean, normal_approximation_ok boolean, ci_method varchar,
        pending_decisions bigint""",
    "traffic_allocation": """campaign_id varchar, decision_date date, decision_group varchar,
        field varchar, value_id varchar, decisions bigint, share double,
        mean_propensity double""",
    "variant_performance": """campaign_id varchar, as_of date, field varchar, value_id varchar,
        sends bigint, sends_today bigint, rewards bigint, mean_reward double,
        posterior_mean double, posterior_ci_low double, posterior_ci_high double,
        probability_best double, traffic_share_today double, model_version varchar""",
    "policy_evaluation": """campaign_id varchar, as_of date, logs varchar, policy varchar,
        description varchar, estimator varchar, estimate double, standard_error double,
        ci_low double, ci_high double, decisions bigint, matching_decisions bigint,
        effective_sample_size double, is_supported boolean, verdict varchar, warning varchar,
        evaluated_from date, evaluated_to date, trained_to date,
        decisions_without_propensity bigint""",
    "decision_skips": """decision_id varchar, campaign_id varchar, customer_id varchar,
        decision_date date, decision_group varchar, reason varchar, detail varchar,
        logged_at timestamp""",
    "recommendation_quality": """method varchar, k integer, customers bigint,
        test_items bigint, customers_hit bigint, hit_rate double, hit_rate_ci_low double,
        hit_rate_ci_high double, recall double, trained_to timestamp, evaluated_to timestamp""",
    "recommendation_strategy_performance": """campaign_id varchar, as_of date,
        strategy varchar, customer_kind varchar, decisions bigint, mean_reward double,
        ci_low double, ci_high double""",
}


# Synthetic marts ------------------------------------------------------------------------


def _lift_row(
    rng: np.random.Generator, means: dict[str, float], sizes: dict[str, int], pair: tuple[str, str]
) -> dict[str, Any]:
    treatment, control = pair
    mt, mc = means[treatment], means[control]
    nt, nc = sizes[treatment], sizes[control]
    vt, vc = max(mt, 0.01) * 0.6 / nt, max(mc, 0.01) * 0.6 / nc
    se = float(np.sqrt(vt + vc))
    relative_se = float(np.sqrt(vt / mt**2 + vc / mc**2))
    lift, ratio = mt - mc, np.log(mt / mc)
    return {
        "treatment_group": treatment,
        "control_group": control,
        "treatment_customers": int(nt * 0.97),
        "control_customers": int(nc * 0.97),
        "treatment_decisions": nt,
        "control_decisions": nc,
        "treatment_mean": mt,
        "control_mean": mc,
        "lift": lift,
        "lift_ci_low": lift - 1.96 * se,
        "lift_ci_high": lift + 1.96 * se,
        "relative_lift": mt / mc - 1,
        "relative_lift_ci_low": float(np.exp(ratio - 1.96 * relative_se) - 1),
        "relative_lift_ci_high": float(np.exp(ratio + 1.96 * relative_se) - 1),
        "degrees_of_freedom": float(min(nt, nc) - 1),
        "is_significant": abs(lift) > 1.96 * se,
        "normal_approximation_ok": min(nt, nc) > 200 or rng.random() < 0.5,
        "ci_method": "welch_t_clustered_by_customer",
    }


HISTORY_FROM = dt.date(2025, 11, 1)
# policy: (description, estimate, effective sample size); estimators' estimates differ by
# 0.01 (on_policy 0.01 below, DR 0.01 above); below 100 effective decisions: not evaluable.
HISTORY = {
    "logged": ("What your previous system earned", 0.23, 12_000.0),
    "contextual_thompson_sampling": ("Trained on the decisions before 2025-11-01", 0.30, 2500.0),
    "campaign_thompson_sampling": ("Campaign-level Thompson sampling", 0.26, 3000.0),
    "discount_20_always": ("User policy: 20% off", 0.35, 40.0),
    "sms_only": ("User policy: sms", math.nan, 0.0),
}


def evaluation_rows(
    policies: dict[str, tuple[str, float, float]], columns: dict[str, Any]
) -> list[dict[str, Any]]:
    """``policy_evaluation`` rows of ``policies`` (description, estimate, effective sample
    size), with ``columns`` in every row."""
    rows = []
    for policy, (description, estimate, ess) in policies.items():
        estimators = ("on_policy",) if policy == "logged" else ("ips", "snips", "dr")
        for i, estimator in enumerate(estimators):
            value = estimate + 0.01 * (i - 1)
            se = 0.004 * np.sqrt(4000 / ess) if ess else math.nan
            supported = ess >= 100
            warning = (
                f"effective sample size {ess:.0f} < 100: thin support, the logs rarely chose "
                "what this policy would"
                if ess
                else "sets channel, which the history does not log"
            )
            rows.append(
                {
                    **columns,
                    "policy": policy,
                    "description": description,
                    "estimator": estimator,
                    "estimate": value,
                    "standard_error": se,
                    "ci_low": value - 1.96 * se,
                    "ci_high": value + 1.96 * se,
                    "matching_decisions": min(int(ess * 3), columns["decisions"]),
                    "effective_sample_size": ess,
                    "is_supported": supported,
                    "verdict": "evaluable" if supported else "not evaluable",
                    "warning": None if supported else warning,
                }  # fmt: skip
            )
    return rows


def synthetic_marts(
    campaign: str = "winback", days: int = 30, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """Plausible rows of every mart the report reads: a policy that learns over ``days``
    (the last day's rewards still pending)."""
    rng = np.random.default_rng(seed)
    dates = [START + dt.timedelta(days=d) for d in range(days)]
    finalized = dates[:-1]
    base = {"reward": 0.30, "open_rate": 0.25, "click_rate": 0.06, "conversion_rate": 0.04}
    base["unsubscribe_rate"] = 0.005
    daily: list[dict[str, Any]] = []
    totals = {g: 0 for g in ("policy", "business_as_usual", "holdout")}
    sums = {(g, m): 0.0 for g in totals for m in METRICS}
    for day, date in enumerate(finalized):
        learned = 1 - np.exp(-day / 7)
        sizes = {"policy": 4000 + int(rng.integers(0, 400)), "business_as_usual": 500}
        sizes["holdout"] = 500 + int(rng.integers(0, 40))
        for metric in METRICS:
            uplift = {"policy": 1.15 + 0.5 * learned, "business_as_usual": 1.15, "holdout": 0.8}
            means = {g: base[metric] * u * (1 + rng.normal(0, 0.08)) for g, u in uplift.items()}
            for group, mean in means.items():
                sums[(group, metric)] += mean * sizes[group]
            cumulative_sizes = {g: totals[g] + sizes[g] for g in totals}
            cumulative = {g: sums[(g, metric)] / cumulative_sizes[g] for g in totals}
            for period, m, n in (("day", means, sizes), ("to_date", cumulative, cumulative_sizes)):
                for pair in PAIRS:
                    row = {"campaign_id": campaign, "decision_date": date, "period": period}
                    daily.append({**row, "metric": metric, **_lift_row(rng, m, n, pair)})
        totals = {g: totals[g] + sizes[g] for g in totals}
    lift_daily = pd.DataFrame(daily)
    if daily:
        last = lift_daily[lift_daily["period"] == "to_date"]
        last = last[last["decision_date"] == last["decision_date"].max()]
        lift_summary = last.drop(columns=["decision_date", "period"])
    else:  # no finalized decision yet: the comparisons' rows, statistics null, counts 0
        lift_summary = pd.DataFrame(
            [
                {"treatment_group": t, "control_group": c, "metric": m}
                for t, c in PAIRS
                for m in METRICS
            ]  # fmt: skip
        ).assign(campaign_id=campaign, treatment_customers=0, control_customers=0)
        lift_summary = lift_summary.assign(treatment_decisions=0, control_decisions=0)
    lift_summary = lift_summary.assign(
        first_decision_date=START, last_decision_date=dates[-1], pending_decisions=5000
    )

    traffic: list[dict[str, Any]] = []
    for day, date in enumerate(dates):
        for field, values in VALUES.items():
            logits = np.linspace(0, 2.5, len(values))[::-1] * day / max(days - 1, 1)
            shares = np.exp(logits) / np.exp(logits).sum()
            for value, share in zip(values, shares, strict=True):
                row = {"campaign_id": campaign, "decision_date": date, "decision_group": "policy"}
                traffic.append(
                    {
                        **row,
                        "field": field,
                        "value_id": value,
                        "decisions": int(4000 * share),
                        "share": share,
                        "mean_propensity": share,
                    }  # fmt: skip
                )
            traffic.append(
                {
                    "campaign_id": campaign,
                    "decision_date": date,
                    "decision_group": "business_as_usual",
                    "field": field,
                    "value_id": values[0],
                    "decisions": 500,
                    "share": 1.0,
                    "mean_propensity": 1.0,
                }  # fmt: skip
            )

    variants: list[dict[str, Any]] = []
    for field, values in VALUES.items():
        means = np.linspace(0.42, 0.30, len(values)) + rng.normal(0, 0.01, len(values))
        best = np.exp(40 * means) / np.exp(40 * means).sum()
        for value, mean, probability in zip(values, means, best, strict=True):
            variants.append(
                {
                    "campaign_id": campaign,
                    "as_of": dates[-1],
                    "field": field,
                    "value_id": value,
                    "sends": 20_000,
                    "sends_today": 800,
                    "rewards": 19_000 if days > 1 else 0,
                    "mean_reward": mean + 0.02 if days > 1 else None,
                    "posterior_mean": mean,
                    "posterior_ci_low": mean - 0.03,
                    "posterior_ci_high": mean + 0.03,
                    "probability_best": probability,
                    "traffic_share_today": 1 / len(values),
                    "model_version": f"{dates[-1]}-thompson_sampling",
                }  # fmt: skip
            )

    own = {
        "logged": ("What the policy group did", 0.40, 4000.0),
        "current": ("Today's model, Thompson sampling", 0.43, 2500.0),
        "uniform_random": ("Every allowed action equally likely", 0.33, 1800.0),
        "best_single_combination": ("Each field's best value, always", 0.47, 40.0),
        "push_$5 <noon>": ("User-named: push at noon, $5 off", 0.38, 300.0),
    }
    log = {"campaign_id": campaign, "as_of": dates[-1], "logs": "decision_log"}
    log |= {"decisions": 100_000, "evaluated_from": START, "evaluated_to": dates[-1]}
    evaluation = evaluation_rows(own, {**log, "decisions_without_propensity": 0})
    history = {**log, "logs": "historical_decisions", "decisions": 12_000}
    history |= {"evaluated_from": HISTORY_FROM, "evaluated_to": START - dt.timedelta(days=1)}
    history |= {"trained_to": HISTORY_FROM, "decisions_without_propensity": 1_500}
    evaluation += evaluation_rows(HISTORY, history)

    skips: list[dict[str, Any]] = []
    reasons = {"frequency_cap": 60, "quiet_hours": 25, "budget": 10, "missing_requirement": 5}
    for date in dates:
        for reason, mean in reasons.items():
            for k in range(int(rng.poisson(mean))):
                skips.append(
                    {
                        "decision_id": f"{date}-{reason}-{k}",
                        "campaign_id": campaign,
                        "customer_id": f"c{k:05d}",
                        "decision_date": date,
                        "decision_group": "policy",
                        "reason": reason,
                        "detail": None,
                        "logged_at": dt.datetime.combine(date, dt.time(6)),
                    }  # fmt: skip
                )
    return {
        "lift_daily": lift_daily,
        "lift_summary": lift_summary,
        "traffic_allocation": pd.DataFrame(traffic),
        "variant_performance": pd.DataFrame(variants),
        "policy_evaluation": pd.DataFrame(evaluation),
        "decision_skips": pd.DataFrame(skips),
        "recommendation_quality": pd.DataFrame(
            [
                {
                    "method": method,
                    "k": k,
                    "customers": 900,
                    "test_items": 1_300,
                    "hit_rate": rate,
                    "hit_rate_ci_low": rate - 0.03,
                    "hit_rate_ci_high": rate + 0.03,
                    "recall": rate * 0.8,
                    "trained_to": dt.datetime.combine(dates[-1], dt.time()),
                    "evaluated_to": dt.datetime.combine(dates[-1], dt.time()),
                }
                for method, rates in (
                    ("co_occurrence", (0.21, 0.48, 0.63)),
                    ("popularity", (0.08, 0.27, 0.41)),
                )
                for k, rate in zip((1, 5, 10), rates, strict=True)
            ]  # fmt: skip
        ),
        "recommendation_strategy_performance": pd.DataFrame(
            [
                {
                    "campaign_id": campaign,
                    "as_of": dates[-1],
                    "strategy": strategy,
                    "customer_kind": kind,
                    "decisions": 500,
                    "mean_reward": mean,
                    "ci_low": mean - 0.02,
                    "ci_high": mean + 0.02,
                }
                for kind, means in (("focused", (0.34, 0.22)), ("varied", (0.20, 0.23)))
                for strategy, mean in zip(("personalized", "none"), means, strict=True)
            ]  # fmt: skip
        ),
    }


def synthetic_database(path: Path, campaigns: dict[str, int], skip: tuple[str, ...] = ()) -> Path:
    """A DuckDB file with the marts' exact schemas, holding ``campaigns`` (name: days; 0
    days leaves the campaign empty) and without the tables in ``skip``."""
    with duckdb.connect(str(path)) as con:
        for table, schema in SCHEMAS.items():
            if table in skip:
                continue
            con.execute(f"create table main.{table} ({schema})")
            columns = [c.split()[0] for c in " ".join(schema.split()).split(", ")]
            for campaign, days in campaigns.items():
                frame = synthetic_marts(campaign, days)[table] if days else pd.DataFrame()
                if frame.empty:
                    continue
                con.register("frame", frame.reindex(columns=columns))
                con.execute(f"insert into main.{table} select * from frame")
                con.unregister("frame")
    return path


@pytest.fixture(scope="module")
def synthetic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_database(tmp_path_factory.mktemp("report") / "marts.duckdb", {"winback": 30})


# Fast tests --------------------------------------------------------------------------------

NETWORK = re.compile(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def assert_self_contained(text: str) -> None:
    assert text.lstrip().lower().startswith("<!doctype html>")
    for name in CHARTS:
        assert f'data-chart="{name}"' in text, name
    assert "http://" not in text and "https://" not in text
    assert not NETWORK.search(text)
    assert "url(" not in text.replace("url(#", "")  # only references inside the SVGs
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "@import" not in text and "@font-face" not in text


def test_report_is_one_self_contained_file(synthetic_db: Path, tmp_path: Path) -> None:
    path = write_report(synthetic_db, tmp_path / "out" / "report.html")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["report.html"]
    text = path.read_text(encoding="utf-8")
    assert_self_contained(text)
    assert text.count('<figure class="chart"') == len(CHARTS)
    assert text.count("<svg") == len(CHARTS)
    assert path.stat().st_size < 2_000_000
    # key numbers are in the text, the unsupported policy's warning is shown
    assert "Policy vs holdout" in text and "welch_t_clustered_by_customer" in text
    assert "thin support" in text and "best_single_combination *" in text
    assert "No finalized rewards yet" not in text
    assert "push_$5 &lt;noon&gt;" in text and "<noon>" not in text  # escaped, no mathtext
    # each SVG's ids are scoped to its chart, so no id is defined twice
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))


def section(text: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">.*?</section>', text, re.DOTALL)
    assert found, anchor
    return found.group(0)


def history_rows() -> pd.DataFrame:
    frame = synthetic_marts()["policy_evaluation"]
    return frame[frame["logs"] == "historical_decisions"].set_index(["policy", "estimator"])


def best_vs_logged() -> str:
    """The summary line expected for the synthetic history, from its rows."""
    rows = history_rows()
    best, logged = (
        rows.loc[("contextual_thompson_sampling", "dr")],
        rows.loc[("logged", "on_policy")],
    )
    return (
        f"contextual_thompson_sampling: DR {best['estimate']:.3f} ({best['ci_low']:.3f}–"
        f"{best['ci_high']:.3f}) vs logged {logged['estimate']:.3f} ({logged['ci_low']:.3f}–"
        f"{logged['ci_high']:.3f}), +41%"
    )


def test_history_section_shows_only_the_history(synthetic_db: Path, tmp_path: Path) -> None:
    text = write_report(synthetic_db, tmp_path / "history.html").read_text()
    history, own = section(text, "history"), section(text, "policy-evaluation")
    rows = history_rows()
    best = rows.loc[("contextual_thompson_sampling", "dr")]
    assert "12,000 historical decisions evaluated, made from 2025-11-01 to 2025-12-31" in history
    assert "learned from the decisions before 2025-11-01" in history
    assert "1,500 later decisions have no propensity" in history
    assert f"<b>{best_vs_logged()}</b>" in history
    # discount_20_always has the highest DR estimate but is not evaluable, with its warning
    thin = html.escape(str(rows.loc[("discount_20_always", "dr"), "warning"]))
    assert f"Not evaluable: <b>discount_20_always</b> ({thin}); <b>sms_only</b> (sets" in history
    assert "discount_20_always *" in history and 'data-chart="history_evaluation"' in history
    assert f"{best['estimate']:.3f} [{best['ci_low']:.3f}, {best['ci_high']:.3f}]" in history
    assert "best_single_combination" not in history
    for policy in ("contextual_thompson_sampling", "discount_20_always", "sms_only"):
        assert policy not in own
    assert "On 100,000 finalized policy-group decisions" in own and "2025-11-01" not in own


def test_recommendations_section_compares_with_popularity_and_names_the_best_strategy(
    synthetic_db: Path, tmp_path: Path
) -> None:
    text = section(write_report(synthetic_db, tmp_path / "r.html").read_text(), "recommendations")
    assert "63.0% of 900 customers did an item among their top 10" in text
    assert "against 41.0% for the 10 most popular items" in text
    assert "focused: <b>personalized</b> (0.340 per decision)" in text
    assert "varied: <b>none</b> (0.230 per decision)" in text
    assert 'data-chart="recommendations"' in text and "<svg" in text


def test_empty_campaign_says_so(tmp_path: Path) -> None:
    database = synthetic_database(tmp_path / "empty.duckdb", {"winback": 0})
    text = write_report(database, tmp_path / "empty.html", default_campaign="winback").read_text()
    assert_self_contained(text)
    assert "Campaign report: winback" in text
    assert "No finalized rewards yet" in text
    assert "No policy decisions logged yet" in text
    assert "No decisions skipped by the guardrails" in text
    history = section(text, "history")
    assert "decisioning.sources.historical_decisions.table" in history
    assert "Bring your own history" in history


def test_one_day_campaign_without_finalized_rewards(tmp_path: Path) -> None:
    database = synthetic_database(tmp_path / "day1.duckdb", {"winback": 1})
    text = write_report(database, tmp_path / "day1.html").read_text()
    assert_self_contained(text)
    assert "No finalized rewards yet" in text


def test_campaign_choice(tmp_path: Path) -> None:
    assert resolve_campaign(["a"], None, "winback") == "a"  # the only one present
    assert resolve_campaign(["a", "winback"], None, "winback") == "winback"
    assert resolve_campaign([], None, "winback") == "winback"
    assert resolve_campaign(["a", "b"], "c", "winback") == "c"
    with pytest.raises(ReportError, match="one of: a, b"):
        resolve_campaign(["a", "b"], None, "winback")
    database = synthetic_database(tmp_path / "two.duckdb", {"winback": 5, "onboarding": 4})
    data = load(database, default="winback")
    assert data.campaign_id == "winback" and data.campaigns == ("onboarding", "winback")
    assert set(data.traffic["decision_date"].dt.date) == {
        START + dt.timedelta(days=d) for d in range(5)
    }
    other = load(database, campaign="onboarding")
    assert other.lift_daily["decision_date"].max().date() == START + dt.timedelta(days=2)


def test_report_while_this_process_holds_the_database(tmp_path: Path) -> None:
    """The demo builds with dbt in-process, which keeps a read-write connection open."""
    database = synthetic_database(tmp_path / "held.duckdb", {"winback": 3})
    with duckdb.connect(str(database)):
        assert write_report(database, tmp_path / "held.html").exists()


def test_cli_report(synthetic_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "cli.html"
    code = main(["report", "--database", str(synthetic_db), "--output", str(output)])
    assert code == 0
    assert output.exists() and str(output) in capsys.readouterr().out


def test_cli_missing_table_says_dbt_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = synthetic_database(tmp_path / "partial.duckdb", {"winback": 3}, skip=("lift_daily",))
    assert main(["report", "--database", str(database), "--output", str(tmp_path / "x.html")]) == 2
    error = capsys.readouterr().err
    assert "main.lift_daily" in error and "dbt build" in error
    assert not (tmp_path / "x.html").exists()
    assert main(["report", "--database", str(tmp_path / "missing.duckdb")]) == 2
    assert "dbt build" in capsys.readouterr().err


def test_cli_evaluate(synthetic_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--database", str(synthetic_db)]) == 0
    history, own = capsys.readouterr().out.strip().split("\n\n")
    lines = history.splitlines()
    assert lines[0] == (
        "historical_decisions: 12,000 decisions evaluated, 2025-11-01 to 2025-12-31; "
        "trained on decisions before 2025-11-01; 1,500 without propensity excluded"
    )
    table = [re.split(r"\s{2,}", line.strip()) for line in lines[1:15]]
    assert table[0] == ["policy", "estimator", "estimate", "95% CI", "decisions", "matching"] + [
        "ESS",
        "verdict",
    ]
    assert list(dict.fromkeys(row[0] for row in table[1:])) == [
        "logged",
        "discount_20_always",  # by DR estimate, evaluable or not
        "contextual_thompson_sampling",
        "campaign_thompson_sampling",
        "sms_only",
    ]
    best = history_rows().loc[("contextual_thompson_sampling", "dr")]
    assert table[1][:2] == ["logged", "on_policy"] and table[1][-1] == "evaluable"
    assert table[7] == [
        "contextual_thompson_sampling",
        "dr",
        f"{best['estimate']:.3f}",
        f"[{best['ci_low']:.3f}, {best['ci_high']:.3f}]",
        "12,000",
        "7,500",
        "2500",
        "evaluable",
    ]
    assert [row[-1] for row in table[2:5]] == ["not evaluable"] * 3
    assert table[-1][:3] == ["sms_only", "dr", "–"] and table[-1][-1] == "not evaluable"
    assert lines[15] == "warnings:" and lines[16].startswith("  discount_20_always: effective")
    assert lines[17].startswith("  sms_only: sets channel")
    assert lines[18] == best_vs_logged() and lines[18].startswith("contextual_thompson_sampling")
    own_lines = own.splitlines()
    assert own_lines[0].startswith("decision_log: 100,000 decisions evaluated, 2026-01-01 to")
    assert own_lines[0].endswith("; 0 without propensity excluded")
    assert [re.split(r"\s{2,}", line)[0] for line in own_lines[2:15:3]] == [
        "logged",
        "best_single_combination",
        "current",
        "push_$5 <noon>",
        "uniform_random",
    ]
    assert main(["evaluate", "--database", str(synthetic_db), "--logs", "decision_log"]) == 0
    assert "historical_decisions" not in capsys.readouterr().out


def test_cli_evaluate_without_evaluation_says_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = synthetic_database(
        tmp_path / "no.duckdb", {"winback": 3}, skip=("policy_evaluation",)
    )
    assert main(["evaluate", "--database", str(database)]) == 2
    error = capsys.readouterr().err
    assert "main.policy_evaluation" in error and "dbt build" in error
    database = synthetic_database(tmp_path / "empty.duckdb", {"winback": 3})
    with duckdb.connect(str(database)) as con:
        con.execute("delete from main.policy_evaluation where logs = 'historical_decisions'")
    assert main(["evaluate", "--database", str(database), "--logs", "historical_decisions"]) == 2
    error = capsys.readouterr().err
    assert "no historical_decisions rows" in error
    assert "decisioning.sources.historical_decisions.table" in error
    with duckdb.connect(str(database)) as con:
        con.execute("delete from main.policy_evaluation")
    assert main(["evaluate", "--database", str(database)]) == 2
    error = capsys.readouterr().err
    assert "no historical_decisions or decision_log rows" in error
    assert "`decisioning build` (or `dbt build`)" in error


# Chromium ------------------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get(REQUIRE_CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing and {REQUIRE_CHROMIUM} is set: apt-get install chromium"
        )
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); set {REQUIRE_CHROMIUM} to fail")


def check_in_chromium(report: Path, screenshot: Path) -> dict[str, Any]:
    """Open ``report`` in headless Chromium, as a person would; assert it renders every
    chart without errors or network requests; save a full-page screenshot."""
    _require_chromium()
    from PIL import Image
    from playwright.sync_api import sync_playwright

    messages: list[tuple[str, str]] = []
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.resolve().as_uri(), wait_until="load")
            figures = page.locator("figure.chart")
            assert figures.count() == len(CHARTS)
            names = []
            for i in range(figures.count()):
                figure = figures.nth(i)
                names.append(figure.get_attribute("data-chart"))
                svg = figure.locator("svg")
                assert svg.count() == 1
                figure.scroll_into_view_if_needed()
                box = svg.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 40, box
                assert svg.locator("text").count() > 0  # titles, labels or the empty message
            assert names == list(CHARTS)
            title = page.title()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert not errors, errors
    assert not [m for m in messages if m[0] == "error"], messages
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    image = Image.open(screenshot).convert("L")
    pixels = np.asarray(image, dtype=float)
    assert image.width >= 1000 and image.height > 1000, image.size
    assert pixels.std() > 10, "the screenshot is blank"
    return {"title": title, "size": image.size}


def test_report_renders_in_chromium(synthetic_db: Path, tmp_path: Path) -> None:
    report = write_report(synthetic_db, tmp_path / "report.html")
    seen = check_in_chromium(report, tmp_path / "report.png")
    assert seen["title"] == "Campaign report: winback"


def test_empty_report_renders_in_chromium(tmp_path: Path) -> None:
    database = synthetic_database(tmp_path / "empty.duckdb", {"winback": 0})
    report = write_report(database, tmp_path / "empty.html", campaign="winback")
    check_in_chromium(report, tmp_path / "empty.png")


def test_a_million_skips_are_aggregated_in_the_database(tmp_path: Path) -> None:
    """The report reads marts and aggregates decision_skips in DuckDB: a million skipped
    customer-days arrive as one row per day and reason (speed: benchmarks/)."""
    database = synthetic_database(tmp_path / "big.duckdb", {"winback": 30})
    with duckdb.connect(str(database)) as con:
        con.execute(
            "insert into main.decision_skips select 'd' || i, 'winback', 'c' || i, "
            "date '2026-01-01' + cast(i % 30 as integer), 'policy', "
            "['frequency_cap', 'quiet_hours', 'budget'][1 + i % 3], null, now() "
            "from range(1000000) as t(i)"
        )
    data = load(database)
    assert int(data.skips["skips"].sum()) > 1_000_000 and len(data.skips) <= 30 * 4
    text = write_report(database, tmp_path / "big.html").read_text()
    assert "1,00" in text
