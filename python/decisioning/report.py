"""The campaign report: one self-contained HTML file with a chart per reporting mart.

It reads only the small reporting marts (``lift_summary``, ``lift_daily``,
``traffic_allocation``, ``variant_performance``, ``policy_evaluation``) and an aggregate of
``decision_skips``, never ``decision_log``. Charts are matplotlib figures inlined as SVG;
the CSS is inline and nothing is fetched from the network (the page's content security
policy forbids it).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
import math
import re
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TABLES = (
    "lift_summary",
    "lift_daily",
    "traffic_allocation",
    "variant_performance",
    "policy_evaluation",
    "decision_skips",
)
CHARTS = (
    "headline",
    "lift_over_time",
    "learning_curve",
    "traffic",
    "variants",
    "policy_evaluation",
    "history_evaluation",
    "guardrail_skips",
    "recommendations",
)
GROUP_COLORS = {"policy": "#2563eb", "business_as_usual": "#d97706", "holdout": "#6b7280"}
GROUP_LABELS = {
    "policy": "Policy",
    "business_as_usual": "Business as usual",
    "holdout": "Holdout",
}
# (treatment, control, label, color): the lift comparisons, the headline one first.
COMPARISONS = (
    ("policy", "holdout", "Policy vs holdout", GROUP_COLORS["policy"]),
    ("policy", "business_as_usual", "Policy vs business as usual", "#7c3aed"),
    (
        "business_as_usual",
        "holdout",
        "Business as usual vs holdout",
        GROUP_COLORS["business_as_usual"],
    ),
)
METRIC_LABELS = {
    "reward": "Reward",
    "open_rate": "Open rate",
    "click_rate": "Click rate",
    "conversion_rate": "Conversion rate",
    "unsubscribe_rate": "Unsubscribe rate",
}
ESTIMATOR_COLORS = {"on_policy": "#111827", "ips": "#0891b2", "snips": "#16a34a", "dr": "#db2777"}
ESTIMATOR_LABELS = {
    "on_policy": "Measured (logged)",
    "ips": "IPS",
    "snips": "SNIPS",
    "dr": "Doubly robust",
}
LOGS = ("historical_decisions", "decision_log")
"""The logs ``policy_evaluation`` evaluates on: the imported history and our own decisions."""
HISTORY_HINT = (
    'set decisioning.sources.historical_decisions.table (README, "Bring your own history")'
)
FIELD_ORDER = ("channel", "send_slot", "subject_line", "greeting", "offer")
NO_REWARDS = "No finalized rewards yet: reward windows (attribution, goals) are still open."
STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "decisioning-report",
    "text.parse_math": False,  # value ids and policy names are shown as written
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.5,
    "axes.labelcolor": "#374151",
    "axes.edgecolor": "#9ca3af",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.8,
    "xtick.color": "#4b5563",
    "ytick.color": "#4b5563",
    "legend.frameon": False,
    "legend.fontsize": 8.5,
}


class ReportError(RuntimeError):
    """The report cannot be built (no database, marts missing); the message says what to do."""


@dataclass(frozen=True)
class ReportData:
    """One campaign's rows of the reporting marts (``skips`` aggregated per day and reason)."""

    database: Path
    campaign_id: str
    campaigns: tuple[str, ...]
    lift_summary: pd.DataFrame
    lift_daily: pd.DataFrame
    traffic: pd.DataFrame
    variants: pd.DataFrame
    evaluation: pd.DataFrame
    skips: pd.DataFrame
    recommendation_quality: pd.DataFrame
    strategies: pd.DataFrame


# Loading ------------------------------------------------------------------------------

_QUERIES = {
    "lift_summary": """
        select campaign_id, first_decision_date, last_decision_date, treatment_group,
            control_group, metric, treatment_customers, control_customers,
            treatment_decisions, control_decisions, treatment_mean, control_mean, lift,
            lift_ci_low, lift_ci_high, relative_lift, relative_lift_ci_low,
            relative_lift_ci_high, degrees_of_freedom, is_significant,
            normal_approximation_ok, ci_method, pending_decisions
        from main.lift_summary where campaign_id = $campaign""",
    "lift_daily": """
        select decision_date, period, treatment_group, control_group, treatment_decisions,
            control_decisions, treatment_mean, control_mean, lift, lift_ci_low, lift_ci_high
        from main.lift_daily where campaign_id = $campaign and metric = 'reward'
        order by decision_date""",
    "traffic": """
        select decision_date, field, value_id, decisions, share
        from main.traffic_allocation
        where campaign_id = $campaign and decision_group = 'policy'
        order by decision_date, field, value_id""",
    "variants": """
        select as_of, field, value_id, sends, sends_today, rewards, mean_reward,
            posterior_mean, posterior_ci_low, posterior_ci_high, probability_best,
            traffic_share_today, model_version
        from main.variant_performance where campaign_id = $campaign""",
    "evaluation": """
        select as_of, logs, policy, description, estimator, estimate, standard_error, ci_low,
            ci_high, decisions, matching_decisions, effective_sample_size, is_supported,
            verdict, warning, evaluated_from, evaluated_to, trained_to,
            decisions_without_propensity
        from main.policy_evaluation where campaign_id = $campaign""",
    "skips": """
        select decision_date, reason, count(*) as skips
        from main.decision_skips where campaign_id = $campaign
        group by decision_date, reason order by decision_date, reason""",
    "recommendation_quality": """
        select method, k, customers, test_items, hit_rate, hit_rate_ci_low, hit_rate_ci_high,
            recall, trained_to, evaluated_to
        from main.recommendation_quality where customers > 0 order by method, k""",
    "strategies": """
        select strategy, customer_kind, decisions, mean_reward, ci_low, ci_high
        from main.recommendation_strategy_performance where campaign_id = $campaign
        order by customer_kind, strategy""",
}


def load(database: Path, campaign: str | None = None, default: str | None = None) -> ReportData:
    """The marts' rows for ``campaign`` (else ``default`` or the only campaign present),
    read from ``database`` in read-only mode."""
    database = Path(database)
    if not database.exists():
        raise ReportError(
            f"No database at {database}: run `dbt build` (or `decisioning build`, "
            "`decisioning demo`) first."
        )
    with _connect(database) as con:
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' and table_catalog = current_database()"
            ).fetchall()
        }
        missing = [name for name in TABLES if name not in tables]
        if missing:
            raise ReportError(
                f"{database} has no table {', '.join(f'main.{m}' for m in missing)}: "
                "run `dbt build` (or `decisioning build`) to build the reporting marts."
            )
        union = " union ".join(f"select campaign_id from main.{name}" for name in TABLES)
        present = tuple(
            sorted(
                str(row[0])
                for row in con.execute(f"select distinct campaign_id from ({union})").fetchall()
                if row[0] is not None
            )
        )
        chosen = resolve_campaign(present, campaign, default)
        try:
            frames = {
                key: con.execute(sql, {"campaign": chosen} if "$campaign" in sql else {}).df()
                for key, sql in _QUERIES.items()
            }
        except duckdb.Error as error:
            raise ReportError(
                f"The reporting marts in {database} look out of date ({error}): "
                "run `dbt build` to rebuild them."
            ) from error
    for key in ("lift_daily", "traffic", "skips"):
        frames[key]["decision_date"] = pd.to_datetime(frames[key]["decision_date"])
    return ReportData(database=database, campaign_id=chosen, campaigns=present, **frames)


def _connect(database: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection; when this process already has the file open read-write
    (dbt run in-process, as the demo does), a connection to that same instance."""
    try:
        return duckdb.connect(str(database), read_only=True)
    except duckdb.ConnectionException as error:
        if "different configuration" in str(error):
            return duckdb.connect(str(database))
        raise ReportError(f"Cannot open {database}: {error}") from error
    except duckdb.Error as error:
        raise ReportError(f"Cannot open {database} read-only: {error}") from error


def resolve_campaign(present: Sequence[str], requested: str | None, default: str | None) -> str:
    """``requested`` if given; else ``default`` when the marts hold it or no campaign at all;
    else the only campaign present."""
    if requested:
        return requested
    if default and (default in present or not present):
        return default
    if len(present) == 1:
        return present[0]
    if not present:
        raise ReportError("The reporting marts hold no campaign yet: pass --campaign.")
    raise ReportError(
        "Several campaigns in the marts and none chosen; pass --campaign, one of: "
        + ", ".join(present)
    )


# Charts -------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas (no pyplot, no global figure registry)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def to_svg(figure: Figure) -> str:
    """The figure as an inline ``<svg>`` element: no XML prolog, DOCTYPE, metadata or
    namespace URLs (HTML needs none)."""
    buffer = io.StringIO()
    figure.savefig(
        buffer,
        format="svg",
        metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
    )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    return re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)


def _scoped_ids(svg: str, scope: str) -> str:
    """Prefix the SVG's ids (clip paths, markers) so several inline SVGs never collide."""
    svg = re.sub(r'\bid="', f'id="{scope}-', svg)
    svg = re.sub(r'href="#', f'href="#{scope}-', svg)
    return re.sub(r"url\(#", f"url(#{scope}-", svg)


EMPTY_CLASS = "empty-chart"


def empty_chart(message: str) -> str:
    """A small placeholder chart carrying ``message``, for a section without data."""
    figure = _figure(9.0, 0.7)
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#6b7280", fontsize=10.5)
    return to_svg(figure).replace("<svg", f'<svg class="{EMPTY_CLASS}"', 1)


def _date_axis(ax: Axes, dates: pd.Series | pd.Index, ticks: int = 8) -> None:
    """Day ticks, at most about ``ticks``, labelled like "Jan 05" (cheaper than auto
    locators)."""
    import matplotlib.dates as mdates

    days = int((pd.Timestamp(max(dates)) - pd.Timestamp(min(dates))).days) + 1 if len(dates) else 1
    locator = mdates.DayLocator(interval=max(1, math.ceil(days / ticks)))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))  # type: ignore[no-untyped-call]


def _comparison(frame: pd.DataFrame, treatment: str, control: str) -> pd.DataFrame:
    rows = frame[(frame["treatment_group"] == treatment) & (frame["control_group"] == control)]
    return rows.reset_index(drop=True)


def headline_chart(summary: pd.DataFrame) -> str:
    """Cumulative lift on reward per comparison with its 95% CI (left) and the relative lift
    of every metric, policy vs holdout and vs business as usual (right)."""
    rows = summary[(summary["metric"] == "reward") & summary["lift"].notna()]
    if rows.empty:
        return empty_chart(NO_REWARDS)
    figure = _figure(10.0, 3.5)
    left, right = figure.subplots(1, 2, width_ratios=[1, 1.25])
    labels: list[str] = []
    for treatment, control, label, color in COMPARISONS:
        row = _comparison(rows, treatment, control)
        if row.empty:
            continue
        y = -len(labels)
        labels.append(label.replace(" vs ", "\nvs "))
        lift, low, high = row[["lift", "lift_ci_low", "lift_ci_high"]].to_numpy(float)[0]
        left.errorbar(
            lift, y, xerr=[[lift - low], [high - lift]], fmt="o", color=color, capsize=4, ms=7
        )
        left.annotate(
            f"{lift:+.4f}", (lift, y), xytext=(0, 8), textcoords="offset points",
            ha="center", fontsize=8.5, color=color,
        )  # fmt: skip
    left.axvline(0, color="#111827", lw=0.9)
    left.set_yticks(range(0, -len(labels), -1), labels)
    left.set_ylim(-len(labels) + 0.5, 0.6)
    left.set_xlabel("Lift in mean reward per decision (95% CI)")
    left.set_title("Cumulative lift on reward")
    left.grid(axis="y", visible=False)

    metrics = [m for m in METRIC_LABELS if m in set(summary["metric"])]
    shown = [c for c in COMPARISONS[:2] if not _comparison(summary, c[0], c[1]).empty]
    for index, (treatment, control, label, color) in enumerate(shown):
        frame = _comparison(summary, treatment, control).set_index("metric")
        relative = 100 * frame[["relative_lift", "relative_lift_ci_low", "relative_lift_ci_high"]]
        offset = (index - (len(shown) - 1) / 2) * 0.28
        for position, metric in enumerate(metrics):
            if metric not in frame.index or relative.loc[[metric]].isna().to_numpy().any():
                continue
            value, low, high = relative.loc[[metric]].to_numpy(float)[0]
            right.errorbar(
                value, -position + offset, xerr=[[value - low], [high - value]], fmt="o",
                color=color, capsize=3, ms=5, label=label if position == 0 else None,
            )  # fmt: skip
    right.axvline(0, color="#111827", lw=0.9)
    right.set_yticks(range(0, -len(metrics), -1), [METRIC_LABELS[m] for m in metrics])
    right.set_ylim(-len(metrics) + 0.5, 0.5)
    right.set_xlabel("Relative lift, % (95% CI)")
    right.set_title("Relative lift by metric")
    right.grid(axis="y", visible=False)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    return to_svg(figure)


def lift_over_time_chart(daily: pd.DataFrame) -> str:
    """Cumulative ('to_date') lift on reward per day with its 95% band, one panel per
    comparison of the policy (vs holdout, vs business as usual)."""
    to_date = daily[(daily["period"] == "to_date") & daily["lift"].notna()]
    panels = [c for c in COMPARISONS[:2] if not _comparison(to_date, c[0], c[1]).empty]
    if not panels:
        return empty_chart(NO_REWARDS)
    figure = _figure(10.0, 3.3)
    axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, (treatment, control, label, color) in zip(axes, panels, strict=True):
        frame = _comparison(to_date, treatment, control)
        dates = frame["decision_date"]
        ax.fill_between(
            dates, frame["lift_ci_low"], frame["lift_ci_high"], color=color, alpha=0.18,
            lw=0, label="95% CI",
        )  # fmt: skip
        ax.plot(dates, frame["lift"], color=color, lw=2, marker="o", ms=3.5, label="Lift to date")
        ax.axhline(0, color="#111827", lw=0.9)
        ax.set_title(label)
        ax.set_xlabel("Decision date (finalized decisions up to it)")
        _date_axis(ax, dates)
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], labels[::-1], loc="lower right", bbox_to_anchor=(1, 1), ncols=2)
    axes[0].set_ylabel("Lift in mean reward per decision")
    return to_svg(figure)


def group_means(daily: pd.DataFrame) -> pd.DataFrame:
    """Per day and decision group, the mean reward and decisions (period 'day'), from both
    sides of the lift comparisons."""
    day = daily[daily["period"] == "day"]
    sides = [
        day[["decision_date", f"{side}_group", f"{side}_mean", f"{side}_decisions"]].set_axis(
            ["decision_date", "group", "mean_reward", "decisions"], axis=1
        )
        for side in ("treatment", "control")
    ]
    frame = pd.concat(sides, ignore_index=True).dropna(subset=["mean_reward"])
    return frame.drop_duplicates(["decision_date", "group"]).sort_values(["group", "decision_date"])


def learning_curve_chart(daily: pd.DataFrame) -> str:
    """Mean reward per decision, per day, of the policy, business as usual and holdout."""
    means = group_means(daily)
    if means.empty:
        return empty_chart(NO_REWARDS)
    figure = _figure(10.0, 3.3)
    ax = figure.add_subplot()
    for group, color in GROUP_COLORS.items():
        frame = means[means["group"] == group]
        if frame.empty:
            continue
        style = "--" if group == "holdout" else "-"
        ax.plot(
            frame["decision_date"], frame["mean_reward"], style, color=color, lw=2, marker="o",
            ms=4, label=GROUP_LABELS[group],
        )  # fmt: skip
    ax.set_title("Mean reward per decision, by decision date")
    ax.set_xlabel("Decision date")
    ax.set_ylabel("Mean reward per decision")
    _date_axis(ax, means["decision_date"])
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=3)
    return to_svg(figure)


def _fields(values: Iterable[str]) -> list[str]:
    present = set(values)
    return [f for f in FIELD_ORDER if f in present] + sorted(present - set(FIELD_ORDER))


def _legend_label(value: Any) -> str:
    """``value`` as a legend label (matplotlib leaves out labels starting with "_")."""
    text = str(value)
    return f" {text}" if text.startswith("_") else text


def _palette(count: int) -> list[Any]:
    from matplotlib import colormaps

    name = "tab10" if count <= 10 else "tab20"
    colors = colormaps[name].colors  # type: ignore[attr-defined]
    return [colors[i % len(colors)] for i in range(count)]


def traffic_chart(traffic: pd.DataFrame) -> str:
    """The policy group's share of decisions per value, per day: a stacked area per field."""
    if traffic.empty:
        return empty_chart("No policy decisions logged yet.")
    fields = _fields(traffic["field"])
    columns = 2 if len(fields) > 1 else 1
    rows = math.ceil(len(fields) / columns)
    figure = _figure(10.0, 2.5 * rows + 0.2)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True).ravel()
    for ax, field in zip(axes, fields, strict=False):
        shares = (
            traffic[traffic["field"] == field]
            .pivot_table(index="decision_date", columns="value_id", values="share", aggfunc="sum")
            .fillna(0.0)
            .sort_index()
        )
        shares = shares[shares.mean().sort_values(ascending=False).index]
        colors = _palette(shares.shape[1])
        labels = [_legend_label(v) for v in shares.columns]
        if len(shares) > 1:
            ax.stackplot(shares.index, shares.T.to_numpy(), labels=labels, colors=colors, alpha=0.9)
            ax.set_xlim(shares.index[0], shares.index[-1])
        else:  # one day: a stacked bar
            bottom = 0.0
            for label, color, share in zip(labels, colors, shares.iloc[0], strict=True):
                ax.bar(shares.index, share, bottom=bottom, color=color, label=label, width=0.6)
                bottom += float(share)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(_percent_formatter())
        ax.set_title(field.replace("_", " ").capitalize())
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7.5, reverse=True)
        _date_axis(ax, shares.index, ticks=4)
    for ax in axes[len(fields) :]:
        ax.set_axis_off()
    for ax in axes[len(fields) - columns : len(fields)]:
        ax.tick_params(labelbottom=True)  # the last chart of each column shows its dates
    for ax in axes[::columns]:
        ax.set_ylabel("Share of decisions")
    return to_svg(figure)


def _percent_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


def variants_chart(variants: pd.DataFrame) -> str:
    """Per field, each value's posterior mean reward with its 95% credible interval (best
    on top, highlighted), annotated with the probability it is the best."""
    rows = variants.dropna(subset=["posterior_mean"])
    if rows.empty:
        return empty_chart("No posterior yet: the policy model has not been fitted.")
    fields = _fields(rows["field"])
    counts = [int((rows["field"] == f).sum()) for f in fields]
    figure = _figure(10.0, 0.26 * sum(counts) + 0.75 * len(fields) + 0.4)
    axes = figure.subplots(len(fields), 1, squeeze=False, height_ratios=counts)[:, 0]
    for ax, field in zip(axes, fields, strict=True):
        frame = rows[rows["field"] == field].sort_values("posterior_mean").reset_index(drop=True)
        best = frame["probability_best"].fillna(0).to_numpy().argmax()
        colors = [GROUP_COLORS["policy"] if i == best else "#94a3b8" for i in range(len(frame))]
        low = frame["posterior_mean"] - frame["posterior_ci_low"]
        high = frame["posterior_ci_high"] - frame["posterior_mean"]
        ax.errorbar(
            frame["posterior_mean"], frame.index, xerr=[low, high], fmt="none",
            ecolor=colors, elinewidth=2, capsize=0,
        )  # fmt: skip
        ax.scatter(frame["posterior_mean"], frame.index, c=colors, s=28, zorder=3)
        ax.set_yticks(frame.index, frame["value_id"].astype(str))
        ax.set_ylim(-0.6, len(frame) - 0.4)
        ax.grid(axis="y", visible=False)
        ax.set_title(field.replace("_", " ").capitalize(), fontsize=9.5)
        transform = ax.get_yaxis_transform()
        for i, probability in enumerate(frame["probability_best"]):
            text = "" if pd.isna(probability) else f"P(best) {probability:.0%}"
            ax.text(1.01, i, text, transform=transform, va="center", fontsize=8, color=colors[i])
    axes[-1].set_xlabel(
        "Posterior mean reward per decision for today's audience (95% credible interval)"
    )
    return to_svg(figure)


def _logs(evaluation: pd.DataFrame, logs: str) -> pd.DataFrame:
    """The ``policy_evaluation`` rows evaluated on ``logs`` (one of ``LOGS``)."""
    return evaluation[evaluation["logs"] == logs].reset_index(drop=True)


def _supported(evaluation: pd.DataFrame) -> pd.Series:
    return evaluation["is_supported"].fillna(False).astype(bool)


def _policy_order(evaluation: pd.DataFrame) -> list[str]:
    """'logged' first, then by the best estimate (doubly robust when there is one)."""

    def score(policy: str) -> float:
        rows = evaluation[evaluation["policy"] == policy].set_index("estimator")["estimate"]
        value = rows.get("dr", rows.max() if len(rows) else np.nan)
        return -math.inf if pd.isna(value) else float(value)

    policies = [str(p) for p in evaluation["policy"].unique()]
    others = sorted((p for p in policies if p != "logged"), key=score, reverse=True)
    return (["logged"] if "logged" in policies else []) + others


def _estimate_view(rows: pd.DataFrame) -> tuple[float, float]:
    """The x range: the supported intervals (else all), widened to the other estimates by
    at most 1.5 times its width either side, so a wild unsupported one cannot squash it."""
    supported = rows[_supported(rows)]
    base = supported if len(supported) else rows
    low = float(np.nanmin(base[["ci_low", "estimate"]].to_numpy(float)))
    high = float(np.nanmax(base[["ci_high", "estimate"]].to_numpy(float)))
    width = max(high - low, 1e-9)
    low = max(min(low, float(rows["estimate"].min())), low - 1.5 * width)
    high = min(max(high, float(rows["estimate"].max())), high + 1.5 * width)
    pad = 0.06 * (high - low)
    return low - pad, high + pad


def evaluation_chart(
    evaluation: pd.DataFrame,
    title: str = "Off-policy estimates on the logged policy-group decisions",
    empty: str = NO_REWARDS,
) -> str:
    """Each policy's estimated mean reward per estimator with its 95% CI (one logs' rows);
    unsupported estimates drawn hollow and their policy starred; estimates off the chart's
    range shown as arrows at its edge; ``empty`` shown when there is no estimate."""
    rows = evaluation.dropna(subset=["estimate"])
    if rows.empty:
        return empty_chart(empty)
    from matplotlib.lines import Line2D

    policies = _policy_order(rows)
    known = [e for e in ESTIMATOR_COLORS if e in set(rows["estimator"])]
    estimators = known + sorted(set(rows["estimator"]) - set(known))
    rank = rows["estimator"].map({e: i for i, e in enumerate(estimators)})
    within = rank.groupby(rows["policy"]).rank(method="first") - 1
    count = rows.groupby("policy")["estimator"].transform("size")
    offset = np.where(count > 1, 0.3 - within * 0.6 / (count - 1).clip(lower=1), 0.0)
    rows = rows.assign(
        y=-rows["policy"].map({p: i for i, p in enumerate(policies)}) + offset,
        supported=_supported(rows),
    )
    low, high = _estimate_view(rows)
    figure = _figure(10.0, 0.6 * len(policies) + 1.4)
    ax = figure.add_subplot()
    for estimator in estimators:
        color = ESTIMATOR_COLORS.get(estimator, "#64748b")
        for supported in (True, False):
            part = rows[(rows["estimator"] == estimator) & (rows["supported"] == supported)]
            if part.empty:
                continue
            ax.errorbar(
                part["estimate"], part["y"],
                xerr=[part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]],
                fmt="o", color=color, mfc=color if supported else "white", ms=6, capsize=2.5,
                alpha=1.0 if supported else 0.6,
                label=ESTIMATOR_LABELS.get(estimator, estimator) if supported else None,
            )  # fmt: skip
            for estimate, y in zip(part["estimate"], part["y"], strict=True):
                if low <= estimate <= high:
                    continue
                edge, marker, align = (low, "<", "left") if estimate < low else (high, ">", "right")
                ax.plot(edge, y, marker=marker, color=color, ms=7, clip_on=False)
                ax.annotate(
                    f"{estimate:.3f}", (edge, y), xytext=(8 if align == "left" else -8, 0),
                    textcoords="offset points", ha=align, va="center", fontsize=7.5, color=color,
                )  # fmt: skip
    unsupported = set(rows.loc[~rows["supported"], "policy"])
    logged = rows[rows["policy"] == "logged"]["estimate"]
    if len(logged):
        ax.axvline(float(logged.iloc[0]), color="#111827", lw=0.9, ls=":")
    ax.set_xlim(low, high)
    ax.set_yticks(
        range(0, -len(policies), -1), [f"{p} *" if p in unsupported else p for p in policies]
    )
    ax.set_ylim(-len(policies) + 0.5, 0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Estimated mean reward per decision (95% CI); dotted line: logged policy")
    ax.set_title(title)
    handles, names = ax.get_legend_handles_labels()
    if unsupported:
        handles.append(Line2D([], [], marker="o", ls="", color="#64748b", mfc="white"))
        names.append("* not evaluable (hollow)")
    figure.legend(handles, names, loc="outside lower center", ncols=len(names))
    return to_svg(figure)


def skips_chart(skips: pd.DataFrame) -> str:
    """Customers skipped by the guardrails per day, stacked by reason."""
    if skips.empty:
        return empty_chart("No decisions skipped by the guardrails.")
    counts = skips.pivot_table(
        index="decision_date", columns="reason", values="skips", aggfunc="sum"
    ).fillna(0)
    counts = counts[counts.sum().sort_values(ascending=False).index]
    figure = _figure(10.0, 3.2)
    ax = figure.add_subplot()
    bottom = np.zeros(len(counts))
    for (reason, values), color in zip(counts.items(), _palette(counts.shape[1]), strict=True):
        ax.bar(
            counts.index, values, bottom=bottom, color=color, width=0.8, label=_legend_label(reason)
        )
        bottom += values.to_numpy()
    ax.set_title("Customers skipped per day, by reason")
    ax.set_xlabel("Decision date")
    ax.set_ylabel("Skipped customers")
    _date_axis(ax, counts.index)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), reverse=True)
    return to_svg(figure)


def recommendations_chart(quality: pd.DataFrame, strategies: pd.DataFrame) -> str:
    """Left: the recommender's hit rate at k against the popularity baseline (95% CI), on
    the held-out last days. Right: mean reward per strategy and kind of customer (95% CI)."""
    if quality.empty and strategies.empty:
        return empty_chart("No recommendations: set recommendations.field and the catalog.")
    figure = _figure(10.0, 3.4)
    left, right = figure.subplots(1, 2, width_ratios=[2, 3])
    hit_rate = ("hit_rate", "hit_rate_ci_low", "hit_rate_ci_high")
    quality = quality.assign(k=[f"top {k}" for k in quality["k"]])
    if _grouped_bars(left, quality, "method", "k", hit_rate):
        left.legend(loc="upper left")
    left.set_ylabel("Hit rate (held-out days)")
    left.yaxis.set_major_formatter(_percent_formatter())
    left.set_title("Recommender against popularity")
    reward = ("mean_reward", "ci_low", "ci_high")
    if _grouped_bars(right, strategies, "strategy", "customer_kind", reward):
        right.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    right.set_ylabel("Mean reward per decision")
    right.set_title("Reward by recommendation strategy and customer")
    return to_svg(figure)


def _grouped_bars(
    ax: Axes, frame: pd.DataFrame, series: str, x: str, columns: tuple[str, str, str]
) -> int:
    """One bar per ``series`` value in each ``x`` group, at ``columns`` = (value, CI low,
    CI high), with its interval as a whisker; returns how many series were drawn."""
    value, low, high = columns
    groups = list(dict.fromkeys(frame[x]))
    names = list(dict.fromkeys(frame[series]))
    width = 0.8 / max(len(names), 1)
    for i, (name, color) in enumerate(zip(names, _palette(len(names)), strict=True)):
        rows = frame[frame[series] == name].set_index(x).reindex(groups)
        at = np.arange(len(groups)) + (i - (len(names) - 1) / 2) * width
        errors = [rows[value] - rows[low], rows[high] - rows[value]]
        ax.bar(at, rows[value], width, color=color, label=_legend_label(name))
        ax.errorbar(at, rows[value], yerr=errors, fmt="none", ecolor="#111827", capsize=2)
    ax.set_xticks(np.arange(len(groups)), groups)
    return len(names)


# HTML ---------------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f4f6; color: #111827;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
.meta { color: #4b5563; margin: 0; font-size: 13px; }
nav { margin: 12px 0 0; font-size: 13px; }
nav a { color: #1d4ed8; margin-right: 14px; text-decoration: none; }
.groups { margin: 10px 0 0; font-size: 13px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
  margin: 0 5px -1px 12px; }
section { background: #fff; border: 1px solid #e5e7eb; border-radius: 10px;
  padding: 18px 22px; margin: 18px 0; }
section h2 { margin: 0 0 6px; font-size: 19px; }
section p { margin: 6px 0; }
figure.chart { margin: 14px 0 6px; }
figure.chart svg { display: block; width: 100%; height: auto; }
figcaption { color: #6b7280; font-size: 12.5px; margin-top: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px;
  margin: 10px 0; }
.card { border-left: 5px solid; background: #f9fafb; border-radius: 6px; padding: 10px 14px; }
.card h3 { margin: 0; font-size: 14px; color: #374151; }
.big { font-size: 30px; font-weight: 650; line-height: 1.2; margin: 4px 0; }
.small { font-size: 13px; color: #4b5563; }
.empty { color: #6b7280; font-style: italic; }
.warn { color: #b45309; }
.good { color: #15803d; font-weight: 600; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 14px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e5e7eb; text-align: right;
  white-space: nowrap; }
th { background: #f9fafb; font-weight: 600; }
th.text, td.text { text-align: left; }
td.wrap { white-space: normal; min-width: 180px; text-align: left; }
table.full { width: 100%; }
"""

_e = html.escape


def _num(value: Any, digits: int = 4, sign: bool = False) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):{'+' if sign else ''}.{digits}f}"


def _pct(value: Any, digits: int = 1, sign: bool = False) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * float(value):{'+' if sign else ''}.{digits}f}%"


def _int(value: Any) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{int(value):,}"


def _date(value: Any) -> str:
    if value is None or pd.isna(value):
        return "–"
    return str(pd.Timestamp(value).date())


def _interval(low: Any, high: Any, format_: Callable[..., str]) -> str:
    return f"{format_(low, sign=True)} to {format_(high, sign=True)}"


def _bracket(low: Any, high: Any, format_: Callable[..., str], sign: bool = False) -> str:
    return f"[{format_(low, sign=sign)}, {format_(high, sign=sign)}]"


def _brackets(
    frame: pd.DataFrame, low: str, high: str, format_: Callable[..., str], sign: bool = False
) -> list[str]:
    return [_bracket(a, b, format_, sign) for a, b in zip(frame[low], frame[high], strict=True)]


def html_table(
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str, Callable[[Any], str]]],
    caption: str = "",
    wrap: Sequence[str] = (),
) -> str:
    """``frame`` as an HTML table; ``columns`` are (column, header, formatter); text
    columns (formatter ``str``) align left, ``wrap`` ones also wrap."""
    head = "".join(
        f'<th class="text">{_e(h)}</th>' if f is str else f"<th>{_e(h)}</th>" for _, h, f in columns
    )
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column, _, format_ in columns:
            value = row[column]
            if format_ is str:
                text = (
                    ""
                    if value is None or (not isinstance(value, str) and pd.isna(value))
                    else value
                )
                kind = "wrap" if column in wrap else "text"
                cells.append(f'<td class="{kind}">{_e(str(text))}</td>')
            else:
                cells.append(f"<td>{_e(format_(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    caption_html = f"<caption>{_e(caption)}</caption>" if caption else ""
    full = ' class="full"' if wrap else ""
    return (
        f'<div class="table-wrap"><table{full}>{caption_html}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _figure_html(name: str, svg: str, caption: str) -> str:
    """The chart's figure; a placeholder chart (no data) gets no caption."""
    if svg.startswith(f'<svg class="{EMPTY_CLASS}"'):
        caption = ""
    caption_html = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return (
        f'<figure class="chart" data-chart="{name}">{_scoped_ids(svg, name)}{caption_html}</figure>'
    )


def _paragraph(text: str) -> str:
    return f"<p>{text}</p>" if text else ""


def _section(number: int, anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{number}. {_e(title)}</h2>{body}</section>'


def _lift_card(summary: pd.DataFrame, treatment: str, control: str, label: str, color: str) -> str:
    rows = _comparison(summary[summary["metric"] == "reward"], treatment, control)
    if rows.empty:
        return (
            f'<div class="card" style="border-color:{color}"><h3>{_e(label)}</h3>'
            f'<p class="empty">No {_e(GROUP_LABELS[control].lower())} group in this campaign '
            "yet.</p></div>"
        )
    row = rows.iloc[0]
    pending = f"{_int(row['pending_decisions'])} decisions pending (reward window open)."
    if pd.isna(row["lift"]):
        return (
            f'<div class="card" style="border-color:{color}"><h3>{_e(label)}</h3>'
            f'<p class="empty">{_e(NO_REWARDS)}</p><p class="small">{pending}</p></div>'
        )
    verdict = (
        '<span class="good">significant at 95%</span>'
        if bool(row["is_significant"])
        else "not significant at 95%"
    )
    caution = (
        ""
        if pd.isna(row["normal_approximation_ok"]) or bool(row["normal_approximation_ok"])
        else '<p class="small warn">Few nonzero outcomes: the interval\'s normal '
        "approximation may be poor.</p>"
    )
    return f"""<div class="card" style="border-color:{color}"><h3>{_e(label)}, reward</h3>
<div class="big" style="color:{color}">{_num(row["lift"], sign=True)}</div>
<p class="small">per decision, 95% CI {_interval(row["lift_ci_low"], row["lift_ci_high"], _num)};
{verdict}.<br>Relative lift {_pct(row["relative_lift"], sign=True)}
(95% CI {_interval(row["relative_lift_ci_low"], row["relative_lift_ci_high"], _pct)}).<br>
Mean reward {_num(row["treatment_mean"])} vs {_num(row["control_mean"])}.<br>
{_e(GROUP_LABELS[treatment])}: {_int(row["treatment_decisions"])} decisions,
{_int(row["treatment_customers"])} customers; {_e(GROUP_LABELS[control].lower())}:
{_int(row["control_decisions"])} decisions, {_int(row["control_customers"])} customers.<br>
Finalized decisions from {_date(row["first_decision_date"])} to
{_date(row["last_decision_date"])};
{pending}<br>Method: {_e(str(row["ci_method"]))}, {_num(row["degrees_of_freedom"], 0)} degrees
of freedom.</p>{caution}</div>"""


def _headline_section(data: ReportData) -> str:
    summary = data.lift_summary
    cards = "".join(_lift_card(summary, *c) for c in COMPARISONS[:2])
    finalized = summary.dropna(subset=["lift"])
    table = ""
    if not finalized.empty:
        order = {(t, c): i for i, (t, c, _, _) in enumerate(COMPARISONS)}
        metrics = list(METRIC_LABELS)
        frame = finalized.assign(
            comparison=[
                next((lbl for t, c, lbl, _ in COMPARISONS if (t, c) == k), f"{k[0]} vs {k[1]}")
                for k in zip(finalized["treatment_group"], finalized["control_group"], strict=True)
            ],
            metric_label=[METRIC_LABELS.get(m, m) for m in finalized["metric"]],
            lift_ci=_brackets(finalized, "lift_ci_low", "lift_ci_high", _num, sign=True),
            relative_ci=_brackets(
                finalized, "relative_lift_ci_low", "relative_lift_ci_high", _pct, sign=True
            ),
            significant=["yes" if s else "no" for s in finalized["is_significant"]],
            _order=[
                10 * order.get((t, c), 9) + (metrics.index(m) if m in metrics else 9)
                for t, c, m in zip(
                    finalized["treatment_group"],
                    finalized["control_group"],
                    finalized["metric"],
                    strict=True,
                )
            ],
        ).sort_values("_order")
        table = html_table(
            frame,
            [
                ("comparison", "Comparison", str),
                ("metric_label", "Metric", str),
                ("treatment_mean", "Treatment", _num),
                ("control_mean", "Control", _num),
                ("lift", "Lift", lambda v: _num(v, sign=True)),
                ("lift_ci", "95% CI", str),
                ("relative_lift", "Relative", lambda v: _pct(v, sign=True)),
                ("relative_ci", "95% CI", str),
                ("significant", "Sig.", str),
            ],
            caption="Every metric, all finalized decisions",
        )
    body = (
        "<p>Cumulative lift over every finalized decision (table <code>lift_summary</code>): "
        "what the policy earned per decision over the holdout (sent nothing) and over "
        "business as usual (the default action).</p>"
        f'<div class="cards">{cards}</div>'
        + _figure_html(
            "headline",
            headline_chart(summary),
            "Dots: lift (left, reward per decision) and relative lift (right); "
            "bars: 95% confidence intervals. Right of zero: the treatment earned more.",
        )
        + table
    )
    return _section(1, "headline", "Headline: does the policy beat the holdout?", body)


def _lift_over_time_section(data: ReportData) -> str:
    to_date = data.lift_daily[
        (data.lift_daily["period"] == "to_date") & data.lift_daily["lift"].notna()
    ]
    notes = []
    for treatment, control, label, _ in COMPARISONS[:2]:
        frame = _comparison(to_date, treatment, control)
        if frame.empty:
            continue
        last = frame.iloc[-1]
        notes.append(
            f"{_e(label)}: {_num(last['lift'], sign=True)} per decision by "
            f"{_date(last['decision_date'])} (95% CI "
            f"{_interval(last['lift_ci_low'], last['lift_ci_high'], _num)}), over "
            f"{len(frame)} days."
        )
    text = "<br>".join(notes)
    body = (
        "<p>The cumulative lift as finalized decisions accumulate (table "
        f"<code>lift_daily</code>, period <code>to_date</code>); the band narrows as "
        f"evidence grows.</p>{_paragraph(text)}"
        + _figure_html(
            "lift_over_time",
            lift_over_time_chart(data.lift_daily),
            "Line: lift in mean reward per decision over all finalized decisions up to each "
            "date; shaded band: its 95% confidence interval.",
        )
    )
    return _section(2, "lift-over-time", "Lift over time", body)


def _learning_curve_section(data: ReportData) -> str:
    means = group_means(data.lift_daily)
    text = ""
    if not means.empty:
        last_date = means["decision_date"].max()
        last = means[means["decision_date"] == last_date].set_index("group")["mean_reward"]
        average = means.groupby("group")["mean_reward"].mean()
        text = f"On {_date(last_date)}: " + "; ".join(
            f"{_e(GROUP_LABELS.get(str(g), str(g)))} {_num(last[g])} "
            f"(average over days {_num(average[g])})"
            for g in GROUP_COLORS
            if g in last.index
        )
    body = (
        "<p>The mean reward per decision of each group, day by day (finalized decisions; "
        "table <code>lift_daily</code>, period <code>day</code>). The policy should climb "
        f"away from business as usual and the holdout as it learns.</p>{_paragraph(text)}"
        + _figure_html(
            "learning_curve",
            learning_curve_chart(data.lift_daily),
            "Mean reward per decision of each decision date's finalized decisions.",
        )
    )
    return _section(3, "learning-curve", "Learning curve against the holdout", body)


def _traffic_section(data: ReportData) -> str:
    traffic = data.traffic
    notes, text = [], ""
    if not traffic.empty:
        first, last = traffic["decision_date"].min(), traffic["decision_date"].max()
        for field in _fields(traffic["field"]):
            rows = traffic[traffic["field"] == field]
            start = rows[rows["decision_date"] == first].set_index("value_id")["share"]
            end = rows[rows["decision_date"] == last].set_index("value_id")["share"]
            change = end.sub(start, fill_value=0.0)
            if change.empty:
                continue
            value = change.idxmax()
            notes.append(
                f"{_e(field)}: <b>{_e(str(value))}</b> {_pct(start.get(value, 0.0), 0)} → "
                f"{_pct(end.get(value, 0.0), 0)}"
            )
        if first == last:
            text = f"{_date(first)} only: traffic shifts show from the second day on."
        else:
            period = f"From {_date(first)} to {_date(last)}, the value gaining most traffic: "
            text = period + "; ".join(notes) + "."
    body = (
        "<p>Where the policy group's decisions went, per decided field (table "
        "<code>traffic_allocation</code>): traffic should shift toward what works.</p>"
        + _paragraph(text)
        + _figure_html(
            "traffic",
            traffic_chart(traffic),
            "Share of each day's policy-group decisions per value, stacked to 100%.",
        )
    )
    return _section(4, "traffic", "Traffic shifting between variants", body)


def _variants_section(data: ReportData) -> str:
    variants = data.variants
    chart = _figure_html(
        "variants",
        variants_chart(variants),
        "Dots: posterior mean; bars: 95% credible interval; blue: the value most likely "
        "to be its field's best. Each field has its own scale.",
    )
    if variants.empty:
        body = chart
        return _section(5, "variants", "Variant leaderboard", body)
    order = {field: i for i, field in enumerate(_fields(variants["field"]))}
    frame = variants.assign(
        _field=variants["field"].map(order), _mean=-variants["posterior_mean"].fillna(-math.inf)
    ).sort_values(["_field", "_mean"])
    frame["interval"] = _brackets(frame, "posterior_ci_low", "posterior_ci_high", _num)
    leaders = [
        f"{_e(str(top['field']))}: <b>{_e(str(top['value_id']))}</b> "
        f"(P(best) {_pct(top['probability_best'], 0)})"
        for top in frame.dropna(subset=["posterior_mean"])
        .groupby("_field")
        .head(1)
        .to_dict("records")
    ]
    measured = (
        ""
        if int(variants["rewards"].fillna(0).sum())
        else '<p class="empty">No finalized rewards yet: the measured column is empty.</p>'
    )
    versions = ", ".join(sorted({str(v) for v in variants["model_version"].dropna()})) or "–"
    table = html_table(
        frame,
        [
            ("field", "Field", str),
            ("value_id", "Value", str),
            ("posterior_mean", "Posterior mean", _num),
            ("interval", "95% credible interval", str),
            ("probability_best", "P(best)", lambda v: _pct(v, 0)),
            ("sends", "Sends", _int),
            ("sends_today", "Today", _int),
            ("rewards", "Rewards", _int),
            ("mean_reward", "Measured reward", _num),
            ("traffic_share_today", "Traffic today", lambda v: _pct(v, 0)),
        ],
    )
    body = (
        f"<p>What the model believes on {_date(variants['as_of'].max())} (table "
        f"<code>variant_performance</code>, model {_e(versions)}): each value's posterior "
        "mean reward for today's policy audience and the probability it is its field's "
        "best. Measured rewards are descriptive: the policy sends each value to the "
        f"customers it suits.</p><p>Leaders: {'; '.join(leaders) or '–'}.</p>{measured}"
        + chart
        + table
    )
    return _section(5, "variants", "Variant leaderboard", body)


def _warnings(evaluation: pd.DataFrame) -> dict[str, str]:
    """Each policy's distinct warnings, joined, in policy order (one logs' rows)."""
    joined = {
        policy: " / ".join(
            dict.fromkeys(
                str(w) for w in evaluation.loc[evaluation["policy"] == policy, "warning"].dropna()
            )
        )
        for policy in _policy_order(evaluation)
    }
    return {policy: warning for policy, warning in joined.items() if warning}


def _best_vs_logged(evaluation: pd.DataFrame) -> str:
    """The evaluable policy with the best DR estimate against the logged policy's measured
    reward (one logs' rows), as "ts: DR 0.310 (0.300–0.320) vs logged 0.220 (0.214–0.226),
    +41%"; empty without either."""
    rows = evaluation.dropna(subset=["estimate"])
    dr = rows[_supported(rows) & (rows["estimator"] == "dr") & (rows["policy"] != "logged")]
    logged = rows[(rows["policy"] == "logged") & (rows["estimator"] == "on_policy")]
    if dr.empty or logged.empty:
        return ""
    best, base = dr.nlargest(1, "estimate").iloc[0], logged.iloc[0]

    def value(row: pd.Series) -> str:
        return f"{_num(row['estimate'], 3)} ({_num(row['ci_low'], 3)}–{_num(row['ci_high'], 3)})"

    change = best["estimate"] / base["estimate"] - 1 if base["estimate"] else math.nan
    return (
        f"{best['policy']}: DR {value(best)} vs logged {value(base)}, {_pct(change, 0, sign=True)}"
    )


def _evaluation_text(evaluation: pd.DataFrame) -> str:
    supported = _supported(evaluation)
    logged = evaluation[evaluation["policy"] == "logged"].dropna(subset=["estimate"])
    best = (
        evaluation[supported & (evaluation["policy"] != "logged")]
        .dropna(subset=["estimate"])
        .sort_values("estimate", ascending=False)
    )
    parts = [f"On {_int(evaluation['decisions'].max())} finalized policy-group decisions."]
    if len(logged):
        parts.append(f"The logged policy earned {_num(logged['estimate'].iloc[0])} per decision.")
    if len(best):
        row = best.iloc[0]
        parts.append(
            f"Best supported estimate: <b>{_e(str(row['policy']))}</b> "
            f"({_e(ESTIMATOR_LABELS.get(str(row['estimator']), str(row['estimator'])))}) "
            f"{_num(row['estimate'])}, 95% CI {_bracket(row['ci_low'], row['ci_high'], _num)}."
        )
    if (~supported).any():
        parts.append(
            f'<span class="warn">{int((~supported).sum())} estimates are unsupported (see '
            "the warnings): do not trust them.</span>"
        )
    return f"<p>{' '.join(parts)}</p>"


def _evaluation_table(evaluation: pd.DataFrame) -> str:
    """One row per policy (each estimator's estimate [95% CI], its verdict), the warnings
    and what each policy does (one logs' rows)."""
    known = [e for e in ESTIMATOR_COLORS if e in set(evaluation["estimator"])]
    estimators = known + sorted(set(evaluation["estimator"]) - set(known))
    digits = functools.partial(_num, digits=3)
    cells = evaluation.assign(
        cell=[
            f"{digits(e)} {_bracket(low, high, digits)}" if not pd.isna(e) else "–"
            for e, low, high in zip(
                evaluation["estimate"], evaluation["ci_low"], evaluation["ci_high"], strict=True
            )
        ],
        supported=_supported(evaluation),
    )
    wide = cells.pivot_table(index="policy", columns="estimator", values="cell", aggfunc="first")
    per_policy = cells.groupby("policy").agg(
        matching=("matching_decisions", "max"),
        ess=("effective_sample_size", "min"),
        supported=("supported", "all"),
        description=("description", "first"),
    )
    frame = per_policy.join(wide).reindex(_policy_order(evaluation)).reset_index()
    frame["verdict"] = ["evaluable" if s else "not evaluable" for s in frame["supported"]]
    columns: list[tuple[str, str, Callable[[Any], str]]] = [
        ("policy", "Policy", str),
        ("verdict", "Verdict", str),
    ]
    columns += [(str(e), str(ESTIMATOR_LABELS.get(e, e)), str) for e in estimators]
    columns += [("matching", "Matching", _int), ("ess", "Effective n", lambda v: _num(v, 0))]
    warnings = "".join(
        f"<li><b>{_e(policy)}</b>: {_e(warning)}</li>"
        for policy, warning in _warnings(evaluation).items()
    )
    descriptions = frame.dropna(subset=["description"])
    return (
        html_table(frame, columns)
        + (f'<ul class="warn">{warnings}</ul>' if warnings else "")
        + (
            html_table(
                descriptions,
                [("policy", "Policy", str), ("description", "What it does", str)],
                wrap=("description",),
            )
            if len(descriptions)
            else ""
        )
    )


def _evaluation_section(data: ReportData) -> str:
    evaluation = _logs(data.evaluation, "decision_log")
    if evaluation.dropna(subset=["estimate"]).empty:
        text = ""
        table = ""
    else:
        text = _evaluation_text(evaluation)
        table = _evaluation_table(evaluation)
    body = (
        "<p>What other policies would have earned on the same logged policy-group decisions, "
        "estimated off-policy from the logged propensities (table "
        "<code>policy_evaluation</code>, logs <code>decision_log</code>): IPS, "
        "self-normalized IPS and doubly robust.</p>"
        + text
        + _figure_html(
            "policy_evaluation",
            evaluation_chart(evaluation),
            "Dots: estimate per estimator; bars: 95% CI (estimate ± 1.96 standard errors). "
            "Hollow and starred: too little overlap with the logged decisions to trust.",
        )
        + table
    )
    return _section(6, "policy-evaluation", "Off-policy comparison", body)


def _history_text(history: pd.DataFrame) -> str:
    parts = [
        f"{_int(history['decisions'].max())} historical decisions evaluated, made from "
        f"{_date(history['evaluated_from'].min())} to {_date(history['evaluated_to'].max())}; "
        "the candidate policies learned from the decisions before "
        f"{_date(history['trained_to'].min())}."
    ]
    excluded = history["decisions_without_propensity"].max()
    if not pd.isna(excluded) and excluded:
        parts.append(
            f"{_int(excluded)} later decisions have no propensity: left out of the evaluation, "
            "they still warm-start the models."
        )
    best = _best_vs_logged(history)
    parts.append(
        f"Best evaluable candidate against your previous system: <b>{_e(best)}</b>."
        if best
        else "No candidate policy is evaluable on this history."
    )
    unsupported = history[~_supported(history)]
    if len(unsupported):
        warnings = _warnings(unsupported)
        listed = "; ".join(
            f"<b>{_e(p)}</b>" + (f" ({_e(warnings[p])})" if p in warnings else "")
            for p in _policy_order(unsupported)
        )
        parts.append(f'<span class="warn">Not evaluable: {listed}.</span>')
    return f"<p>{' '.join(parts)}</p>"


def _history_section(data: ReportData) -> str:
    history = _logs(data.evaluation, "historical_decisions")
    if history.empty:
        text = (
            '<p class="empty">No history evaluated: to see how the policies would have done '
            f"on the decisions of the system you used before, {_e(HISTORY_HINT)}.</p>"
        )
        table = ""
    else:
        text = _history_text(history)
        table = _evaluation_table(history)
    body = (
        "<p>Before launch, the candidate policies scored on the decisions of the system you "
        "used before (table <code>policy_evaluation</code>, logs "
        "<code>historical_decisions</code>): trained on the earlier decisions, estimated "
        "off-policy on the later ones from their logged propensities.</p>"
        + text
        + _figure_html(
            "history_evaluation",
            evaluation_chart(
                history,
                "Off-policy estimates on your historical decisions",
                "No historical decisions evaluated.",
            ),
            "Dots: estimate per estimator; bars: 95% CI; dotted line: what your previous "
            "system earned. Hollow and starred: not evaluable.",
        )
        + table
    )
    return _section(7, "history", "Before launch: your history", body)


def _text_table(header: Sequence[str], lines: Sequence[Sequence[str]], left: Container[int]) -> str:
    """Plain-text columns two spaces apart, those in ``left`` aligned left, others right."""
    rows = [header, *lines]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def evaluation_text_table(evaluation: pd.DataFrame) -> str:
    """``policy_evaluation`` rows as plain text, per logs: a header (decisions and period
    evaluated, training cut-off, decisions left out for lacking a propensity), a line per
    policy and estimator (logged first, then by DR estimate), the warnings and the best
    evaluable policy against the logged one."""
    digits = functools.partial(_num, digits=3)
    rank = {e: i for i, e in enumerate(ESTIMATOR_COLORS)}
    blocks = []
    for logs in LOGS:
        rows = _logs(evaluation, logs)
        if rows.empty:
            continue
        order = {p: i for i, p in enumerate(_policy_order(rows))}
        rows = rows.assign(
            _policy=rows["policy"].map(order), _estimator=rows["estimator"].map(rank)
        ).sort_values(["_policy", "_estimator"])
        trained_to = rows["trained_to"].min()
        header = (
            f"{logs}: {_int(rows['decisions'].max())} decisions evaluated, "
            f"{_date(rows['evaluated_from'].min())} to {_date(rows['evaluated_to'].max())}"
            + ("" if pd.isna(trained_to) else f"; trained on decisions before {_date(trained_to)}")
            + f"; {_int(rows['decisions_without_propensity'].max())} without propensity excluded"
        )
        lines = [
            [
                str(row["policy"]),
                str(row["estimator"]),
                digits(row["estimate"]),
                "–"
                if pd.isna(row["estimate"])
                else _bracket(row["ci_low"], row["ci_high"], digits),
                _int(row["decisions"]),
                _int(row["matching_decisions"]),
                _num(row["effective_sample_size"], 0),
                "–" if pd.isna(row["verdict"]) else str(row["verdict"]),
            ]
            for row in rows.to_dict("records")
        ]
        columns = ("policy", "estimator", "estimate", "95% CI", "decisions", "matching", "ESS")
        warnings = [f"  {policy}: {warning}" for policy, warning in _warnings(rows).items()]
        best = _best_vs_logged(rows)
        blocks.append(
            "\n".join(
                [header, _text_table((*columns, "verdict"), lines, left={0, 1, 7})]
                + (["warnings:", *warnings] if warnings else [])
                + ([best] if best else [])
            )
        )
    return "\n\n".join(blocks)


def _skips_section(data: ReportData) -> str:
    skips = data.skips
    if skips.empty:
        text = ""
        table = ""
    else:
        totals = skips.groupby("reason")["skips"].sum().sort_values(ascending=False).reset_index()
        totals["share"] = totals["skips"] / totals["skips"].sum()
        text = (
            f"<p>{_int(totals['skips'].sum())} customer-days skipped over "
            f"{skips['decision_date'].nunique()} days; most often: "
            f"<b>{_e(str(totals.iloc[0]['reason']))}</b> ({_pct(totals.iloc[0]['share'], 0)}).</p>"
        )
        table = html_table(
            totals,
            [
                ("reason", "Reason", str),
                ("skips", "Skipped", _int),
                ("share", "Share", lambda v: _pct(v, 0)),
            ],
        )
    body = (
        "<p>Audience customers the guardrails left without a decision (table "
        "<code>decision_skips</code>): frequency caps, quiet hours, budgets and more.</p>"
        + text
        + _figure_html(
            "guardrail_skips",
            skips_chart(skips),
            "Customers skipped per decision date, stacked by the guardrail that stopped them.",
        )
        + table
    )
    return _section(8, "guardrail-skips", "Guardrail skips", body)


def _recommendations_section(data: ReportData) -> str:
    quality, strategies = data.recommendation_quality, data.strategies
    parts = []
    if not quality.empty:
        top = quality[quality["k"] == quality["k"].max()].set_index("method")
        if {"co_occurrence", "popularity"} <= set(top.index):
            k = int(quality["k"].max())
            parts.append(
                f"On the days after {_date(quality['trained_to'].min())}, held out, "
                f"{_pct(top.loc['co_occurrence', 'hit_rate'])} of "
                f"{_int(top.loc['co_occurrence', 'customers'])} customers did an item among "
                f"their top {k} recommendations, against "
                f"{_pct(top.loc['popularity', 'hit_rate'])} for the {k} most popular items."
            )
    if not strategies.empty:
        best = strategies.sort_values("mean_reward").groupby("customer_kind").tail(1)
        parts.append(
            "Best strategy so far: "
            + "; ".join(
                f"{_e(str(row['customer_kind']))}: <b>{_e(str(row['strategy']))}</b> "
                f"({_num(row['mean_reward'], 3)} per decision)"
                for row in best.sort_values("customer_kind").to_dict("records")
            )
            + "."
        )
    body = (
        "<p>The recommendation field's values are strategies the policy chooses per customer; "
        "the recommender models pick the item (tables <code>recommendation_quality</code>, "
        "<code>recommendation_strategy_performance</code>).</p>"
        + (f"<p>{' '.join(parts)}</p>" if parts else "")
        + _figure_html(
            "recommendations",
            recommendations_chart(quality, strategies),
            "Bars: hit rate at k (left) and mean reward (right); whiskers: 95% intervals. "
            "Focused customers did most of their items in one category.",
        )
    )
    return _section(9, "recommendations", "Recommendations", body)


_SECTIONS = (
    ("headline", "Headline", _headline_section),
    ("lift-over-time", "Lift over time", _lift_over_time_section),
    ("learning-curve", "Learning curve", _learning_curve_section),
    ("traffic", "Traffic", _traffic_section),
    ("variants", "Variants", _variants_section),
    ("policy-evaluation", "Off-policy", _evaluation_section),
    ("history", "History", _history_section),
    ("guardrail-skips", "Skips", _skips_section),
    ("recommendations", "Recommendations", _recommendations_section),
)


def render(data: ReportData, generated: dt.datetime | None = None) -> str:
    """The whole report as one HTML document."""
    import matplotlib

    generated = generated or dt.datetime.now(dt.UTC).replace(microsecond=0)
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        sections = "".join(build(data) for _, _, build in _SECTIONS)
    nav = "".join(f'<a href="#{anchor}">{_e(label)}</a>' for anchor, label, _ in _SECTIONS)
    swatches = "".join(
        f'<span class="swatch" style="background:{color}"></span>{_e(GROUP_LABELS[group])}'
        for group, color in GROUP_COLORS.items()
    )
    others = [c for c in data.campaigns if c != data.campaign_id]
    notice = ""
    if data.campaign_id not in data.campaigns:
        notice = (
            f'<p class="meta warn">No rows for campaign {_e(data.campaign_id)} in the marts yet'
            + (f" (campaigns present: {_e(', '.join(others))})" if others else "")
            + ".</p>"
        )
    elif others:
        notice = f'<p class="meta">Other campaigns: {_e(", ".join(others))}.</p>'
    title = f"Campaign report: {data.campaign_id}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1>{_e(title)}</h1>
<p class="meta">Database {_e(str(data.database))}; generated {generated.isoformat()}.</p>
{notice}
<p class="groups">Decision groups:{swatches}</p>
<nav>{nav}</nav>
</header>
{sections}
</main>
</body>
</html>
"""


def default_output(database: Path) -> Path:
    """Where the report goes by default: ``<database stem>_report.html`` beside it."""
    return database.with_name(f"{database.stem}_report.html")


def write_report(
    database: Path,
    output: Path | None = None,
    campaign: str | None = None,
    default_campaign: str | None = None,
) -> Path:
    """Build the report of ``campaign`` from ``database`` and write it to ``output``
    (default: beside the database); return the path written."""
    data = load(Path(database), campaign, default_campaign)
    path = Path(output) if output else default_output(Path(database))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data), encoding="utf-8")
    return path.resolve()


__all__ = [
    "CHARTS",
    "HISTORY_HINT",
    "LOGS",
    "ReportData",
    "ReportError",
    "default_output",
    "evaluation_text_table",
    "load",
    "render",
    "resolve_campaign",
    "write_report",
]
