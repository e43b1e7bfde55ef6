"""``decisioning``: run the demo, run one turn of the loop, check settings, write the report,
print the off-policy evaluation, tag the catalog, write new variants when the winners plateau
and review them."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from decisioning.catalog import CatalogError
from decisioning.config import ALGORITHMS, ConfigError
from decisioning.llm import LLMError
from decisioning.llm_steps import StepError
from decisioning.project import BuildError, Project
from decisioning.report import (
    HISTORY_HINT,
    LOGS,
    ReportError,
    evaluation_text_table,
    load,
    write_report,
)
from decisioning.snowflake_deploy import (
    STAGE,
    DeployError,
    build_archive,
    deploy_from_environment,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="decisioning", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="simulate a fitness app's win-back campaign, day by day"
    )
    demo.add_argument("--customers", type=int, default=50_000, help="default 50,000")
    demo.add_argument("--days", type=int, default=30, help="days to simulate (default 30)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--algorithm", choices=ALGORITHMS, help="override decisioning.policy.algorithm"
    )
    demo.add_argument(
        "--history-days",
        type=int,
        default=0,
        help="first load this many days of the previous system's decisions (default 0)",
    )
    demo.add_argument(
        "--recommendations",
        action="store_true",
        help="add the app's workout catalog and a message field recommending a workout, "
        "whose strategy (personalized, popular, new in category, none) the policy learns",
    )

    build = commands.add_parser("build", help="one turn of the loop: validate settings, dbt build")
    build.add_argument(
        "--as-of", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: today, UTC)"
    )
    build.add_argument(
        "--full-refresh", action="store_true", help="rebuild tables; history is kept"
    )

    commands.add_parser("config", help="print the validated settings, defaults filled in")

    report = commands.add_parser("report", help="write the campaign's HTML report (after a build)")
    report.add_argument(
        "--output", type=Path, help="HTML file (default: <database>_report.html beside it)"
    )
    report.add_argument(
        "--campaign", help="campaign_id (default: the configured one, or the only one built)"
    )
    report.add_argument(
        "--database", type=Path, help="DuckDB file (default: the project's database)"
    )

    evaluate = commands.add_parser(
        "evaluate", help="print the off-policy evaluation of the policies (after a build)"
    )
    evaluate.add_argument(
        "--database", type=Path, help="DuckDB file (default: the project's database)"
    )
    evaluate.add_argument(
        "--campaign", help="campaign_id (default: the configured one, or the only one built)"
    )
    evaluate.add_argument(
        "--logs",
        choices=(*LOGS, "all"),
        default="all",
        help="the imported history, our decision log or both (default all)",
    )

    tag = commands.add_parser(
        "tag", help="tag catalog texts without tags (LLM when llm.enabled, else the rules)"
    )
    tag.add_argument("--llm", action="store_true", help="use the LLM even if not llm.enabled")
    autotune = commands.add_parser(
        "autotune", help="on a plateau, have the LLM write candidate variants (after a build)"
    )
    autotune.add_argument(
        "--as-of", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: decisioning.as_of)"
    )
    candidates = commands.add_parser("candidates", help="list Auto-Tune's pending candidates")
    candidates.add_argument("--all", action="store_true", help="also approved and rejected ones")
    approve = commands.add_parser("approve", help="approve pending candidates (by variant id)")
    approve.add_argument("variant_ids", nargs="+")
    reject = commands.add_parser("reject", help="reject pending candidates (by variant id)")
    reject.add_argument("variant_ids", nargs="+")
    reject.add_argument("--reason", default="", help="recorded with the rejection")
    snowflake = commands.add_parser("snowflake", help="run the project on Snowflake")
    snowflake_commands = snowflake.add_subparsers(dest="snowflake_command", required=True)
    deploy = snowflake_commands.add_parser(
        "deploy", help="upload the package to the stage the dbt Python models import it from"
    )
    target = deploy.add_mutually_exclusive_group()
    target.add_argument("--stage", default=STAGE, help=f"stage name (default {STAGE})")
    target.add_argument(
        "--archive-only", type=Path, metavar="PATH", help="only write the archive to PATH"
    )

    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (
        ConfigError,
        CatalogError,
        BuildError,
        ReportError,
        FileExistsError,
        LLMError,
        StepError,
        DeployError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "snowflake":
        return _snowflake_deploy(args)
    project = Project.open()
    if args.command == "config":
        print(json.dumps(project.config().raw, indent=2, sort_keys=True))
        return 0
    if args.command == "build":
        overrides = {"as_of": args.as_of.isoformat()} if args.as_of else {}
        started = time.perf_counter()
        project.build(overrides, *(["--full-refresh"] if args.full_refresh else []))
        print(f"Built in {time.perf_counter() - started:.1f} s: {project.database}")
        return 0
    if args.command == "report":
        path = write_report(
            args.database or project.database,
            args.output,
            campaign=args.campaign,
            default_campaign=project.config().campaign_id,
        )
        print(f"Report: {path}")
        return 0
    if args.command == "evaluate":
        return _evaluate(project, args)
    if args.command in LLM_COMMANDS:
        return _llm_step(project, args)
    from decisioning.demo import run_demo, summary

    if args.customers < 100 or args.days < 1:
        raise ConfigError("--customers must be at least 100 and --days at least 1.")
    overrides = {"policy": {"algorithm": args.algorithm}} if args.algorithm else {}
    print(f"Demo: {args.customers:,} customers, {args.days} days, seed {args.seed}")
    result = run_demo(
        args.customers,
        args.days,
        args.seed,
        overrides=overrides,
        project=project,
        history_days=args.history_days,
        recommendations=args.recommendations,
    )
    summary(result)
    return 0


def _evaluate(project: Project, args: argparse.Namespace) -> int:
    data = load(args.database or project.database, args.campaign, project.config().campaign_id)
    logs = LOGS if args.logs == "all" else (args.logs,)
    rows = data.evaluation[data.evaluation["logs"].isin(logs)]
    if rows.empty:
        build = "run `decisioning build` (or `dbt build`)"
        todo = (
            f"to evaluate on your history, {HISTORY_HINT}, then {build}"
            if args.logs == "historical_decisions"
            else f"{build} first"
        )
        raise ReportError(
            f"main.policy_evaluation in {data.database} has no {' or '.join(logs)} rows for "
            f"campaign {data.campaign_id}: {todo}."
        )
    print(evaluation_text_table(rows))
    return 0


def _snowflake_deploy(args: argparse.Namespace) -> int:
    if args.archive_only:
        archive = build_archive(args.archive_only)
        print(f"Archive: {archive.path} ({archive.size:,} bytes, sha256 {archive.sha256})")
        return 0
    print("\n".join(deploy_from_environment(args.stage).lines()))
    return 0


LLM_COMMANDS = ("tag", "autotune", "candidates", "approve", "reject")


def _llm_step(project: Project, args: argparse.Namespace) -> int:
    from decisioning import llm_steps

    as_of = getattr(args, "as_of", None)
    config = project.config({"as_of": as_of.isoformat()} if as_of else {})
    if args.command == "candidates":
        frame = llm_steps.list_candidates(project, config, args.all)
        print(frame.to_string(index=False) if not frame.empty else "No candidates.")
        return 0
    if args.command == "tag":
        result = llm_steps.tag_catalog(project, config, use_llm=args.llm or None)
    elif args.command == "autotune":
        result = llm_steps.autotune(project, config)
    else:
        approve = args.command == "approve"
        result = llm_steps.review(
            project, config, args.variant_ids, approve, getattr(args, "reason", "")
        )
    print("\n".join(result.lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
