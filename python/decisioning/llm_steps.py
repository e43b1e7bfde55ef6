"""The LLM steps outside ``dbt build``: ``decisioning tag``, ``autotune`` and ``approve``.

Each reads the warehouse, does its work in memory, then writes everything it produced in
one transaction (tags, candidates, the ``llm_calls`` log), so a step that fails writes
nothing. The tables are created by the dbt project's on-run-start hook; each step first
runs ``dbt build`` on the message catalog's staging (seeds included) so it sees the
catalog as the next build will.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from decisioning import autotune as at
from decisioning.config import Config, ConfigError
from decisioning.llm import LLM, Call, LLMError, TokenBudget, endpoint, run_all
from decisioning.project import Project
from decisioning.tags import (
    SCHEMA_VERSION,
    content_hash,
    feature_tags,
    full_tags,
    rule_tags,
    semantic_json_schema,
    validate_semantic,
)

SCHEMA = "main"
RULES = "rules"
TAG_OUTPUT_TOKENS = 200
GENERATION_OUTPUT_TOKENS = 1_500
TAG_SYSTEM_PROMPT = """You label the text of one marketing message part (a subject line, \
greeting or offer) with a fixed schema. Judge the text only.
- tone: warm (caring, personal), playful (light, fun), urgent (act now), motivational \
(push to achieve), informative (plain facts).
- structure: statement, question, command (tells the reader to act), announcement (news).
- emotional_framing: loss (what they miss or lose), gain (what they get), achievement \
(progress, streaks, goals), curiosity (what's new or unknown), belonging (community), none.
- urgency: none, low (soon), high (today, now, ends).
- offer_type: none, discount (money off), free_trial (something free), upgrade (a plan or \
tier), content (classes, workouts, programs).
Answer with the JSON object only."""


class StepError(RuntimeError):
    """A step cannot run on this warehouse yet; the message says what to run first."""


@dataclass
class StepResult:
    """What a step did, for the command's output."""

    lines: list[str] = field(default_factory=list)


def connect(database: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(database))


def stage_catalog(project: Project, config: Config) -> None:
    """Create the LLM tables (on-run-start) and build the message catalog's staging."""
    project.dbt(
        ["build", "--select", "+stg_catalog__message_variants", "--exclude-resource-type",
         "unit_test"],
        config.raw,
    )  # fmt: skip


def open_llm(config: Config) -> LLM:
    """The run's LLM client; ``LLMError`` names what to set when the key is missing."""
    return LLM(endpoint(config.llm), TokenBudget(config.llm.max_tokens_per_run))


# -- tagging --------------------------------------------------------------------------------


def tag_catalog(project: Project, config: Config, use_llm: bool | None = None) -> StepResult:
    """Tag every catalog text without stored tags (with the LLM, also those only the
    rules tagged): the LLM when ``llm.enabled`` (or ``use_llm``), else the rules."""
    use_llm = config.llm.enabled if use_llm is None else use_llm
    llm = open_llm(config) if use_llm else None  # fails before anything is written
    stage_catalog(project, config)
    with connect(project.database) as con:
        texts = con.sql(
            f"select distinct content from {SCHEMA}.stg_catalog__message_variants "
            "where trim(content) <> ''"
        ).df()["content"]
        stored = dict(con.sql(f"select content_hash, tagger from {SCHEMA}.variant_tags").fetchall())
    todo = [
        t
        for t in texts
        if content_hash(t) not in stored or (llm and stored[content_hash(t)] == RULES)
    ]
    rows, calls = tag_texts(todo, llm, config.llm.concurrency)
    with connect(project.database) as con:
        _write(con, uuid.uuid4().hex[:12], tags=rows, calls=calls)
    result = StepResult()
    tagger = f"llm:{llm.model}" if llm else RULES
    result.lines.append(
        f"Tagged {len(rows)} of {len(todo)} text(s) needing tags with {tagger}; "
        f"{len(texts) - len(todo)} already tagged (cached by content hash)."
    )
    result.lines.extend(_failures(calls))
    return result


def tag_texts(
    texts: Sequence[str], llm: LLM | None, concurrency: int
) -> tuple[pd.DataFrame, list[Call]]:
    """Tag rows (content_hash, content, tags JSON, tagger, schema_version, tagged_at) for
    ``texts``: the LLM's semantic fields plus the surface rules, or the rules alone. Texts
    whose request failed get no row (the rules stand in until the next run)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    calls: list[Call] = []
    if llm is None:
        tags: list[dict[str, Any] | None] = [rule_tags(t) for t in unique]
        tagger = RULES
    else:
        requests = [_tag_request(t) for t in unique]
        calls = run_all(llm, requests, concurrency, "Tagging")
        tags = [full_tags(t, c.value) if c.ok else None for t, c in zip(unique, calls, strict=True)]
        tagger = f"llm:{llm.model}"
    rows = [
        {
            "content_hash": content_hash(t),
            "content": t,
            "tags": json.dumps(tag, sort_keys=True),
            "tagger": tagger,
            "schema_version": SCHEMA_VERSION,
            "tagged_at": now,
        }
        for t, tag in zip(unique, tags, strict=True)
        if tag is not None
    ]
    return pd.DataFrame(rows, columns=_TAG_COLUMNS), calls


def _tag_request(text: str) -> Any:
    def request(llm: LLM) -> Call:
        return llm.structured(
            "tag",
            text,
            [{"role": "system", "content": TAG_SYSTEM_PROMPT}, {"role": "user", "content": text}],
            "variant_tags",
            semantic_json_schema(),
            validate_semantic,
            TAG_OUTPUT_TOKENS,
        )

    return request


# -- Auto-Tune ------------------------------------------------------------------------------


def autotune(project: Project, config: Config, stage: bool = True) -> StepResult:
    """Detect plateaus on ``as_of``; for each plateaued field ask the LLM for new variants,
    check them, tag them and store them as candidates (approving up to the daily limit
    when ``autotune.auto_approve``). ``stage=False`` when a build just staged the catalog."""
    settings = config.autotune
    if not config.llm.enabled:
        raise ConfigError(
            "Auto-Tune writes variants with an LLM: set decisioning.llm.enabled: true and "
            f"{config.llm.api_key_env} (see the README, 'The LLM layer')."
        )
    llm = open_llm(config)
    guidelines = _guidelines(project, settings.brand_guidelines)
    if stage:
        stage_catalog(project, config)
    campaign = config.campaign_id
    with connect(project.database) as con:
        try:
            daily = con.execute(
                f"select * from {SCHEMA}.variant_daily_rewards where campaign_id = ?", [campaign]
            ).df()
        except duckdb.CatalogException:
            raise StepError(
                "No variant_daily_rewards view yet: run `decisioning build` first."
            ) from None
        catalog = con.sql(
            f"select field, variant_id, content, tags, semantic_tags, is_active "
            f"from {SCHEMA}.stg_catalog__message_variants"
        ).df()
        channels = [
            r[0]
            for r in con.sql(
                f"select channel from {SCHEMA}.stg_catalog__channels where is_active"
            ).fetchall()
        ]
        candidates = con.execute(
            f"select * from {SCHEMA}.variant_candidates where campaign_id = ?", [campaign]
        ).df()
    active = catalog[catalog["is_active"]]
    values = {f: tuple(active.loc[active["field"] == f, "variant_id"]) for f in settings.fields}
    states = at.detect_plateaus(daily, values, settings.plateau, config.as_of)
    result = StepResult()
    ready = []
    for name, state in states.items():
        waiting = _cooldown(candidates, name, config.as_of, settings.cooldown_days)
        if state.plateaued and waiting:
            result.lines.append(f"{name}: plateau, but {waiting}.")
        elif state.plateaued:
            result.lines.append(f"{name}: plateau: {state.reason}.")
            ready.append(state)
        else:
            result.lines.append(f"{name}: no plateau: {state.reason}.")
    if not ready:
        return result
    limit = at.length_limit(settings, channels)
    texts = {str(r.variant_id): str(r.content) for r in catalog.itertuples()}
    tags = {
        str(r.variant_id): feature_tags(
            r.content, r.semantic_tags if isinstance(r.semantic_tags, str) else None
        )
        for r in catalog.itertuples()
    }
    requests, prompts = [], []
    for state in ready:
        field_texts = {
            v: texts[v] for v in catalog.loc[catalog["field"] == state.field, "variant_id"]
        }
        messages = at.generation_messages(
            campaign, state.field, state, field_texts, tags, settings, limit, guidelines
        )
        prompts.append(messages)
        requests.append(_generation_request(state.field, messages, settings.variants_per_run))
    calls = run_all(llm, requests, config.llm.concurrency, "Writing variants")
    existing = {at.normalized(t): v for v, t in texts.items()}
    existing.update(
        {at.normalized(str(r.content)): str(r.variant_id) for r in candidates.itertuples()}
    )
    rows, run_id = [], uuid.uuid4().hex[:12]
    for state, messages, call in zip(ready, prompts, calls, strict=True):
        if not call.ok:
            result.lines.append(f"{state.field}: no variants ({call.status}: {call.detail}).")
            continue
        for item in call.value:
            variant_id = f"{state.field}_gen_{content_hash(item['content'])[:8]}"
            rejection = at.check_text(item["content"], settings, limit, existing)
            if rejection is None:
                existing[at.normalized(item["content"])] = variant_id
            rows.append(
                _candidate(config, state, item, variant_id, rejection, llm.model, messages, run_id)
            )
    frame = pd.DataFrame(rows, columns=_CANDIDATE_COLUMNS)
    fresh = frame[frame["status"] == "pending"]
    tag_rows, tag_calls = tag_texts(list(fresh["content"]), llm, config.llm.concurrency)
    if settings.auto_approve:
        _auto_approve(frame, candidates, config)
    with connect(project.database) as con:
        _write(con, run_id, tags=tag_rows, candidates=frame, calls=calls + tag_calls)
    for row in frame.itertuples():
        note = f" ({row.rejection_reason})" if row.status == "rejected" else ""
        result.lines.append(f"  {row.variant_id} [{row.status}{note}]: {row.content}")
    result.lines.extend(_failures(tag_calls))
    return result


def _generation_request(field_name: str, messages: list[dict[str, str]], count: int) -> Any:
    def request(llm: LLM) -> Call:
        return llm.structured(
            "autotune",
            field_name,
            messages,
            "new_variants",
            at.generation_schema(count),
            lambda value: at.parse_variants(value)[:count],
            GENERATION_OUTPUT_TOKENS,
        )

    return request


def _candidate(
    config: Config,
    state: at.FieldState,
    item: Mapping[str, str],
    variant_id: str,
    rejection: str | None,
    model: str,
    messages: list[dict[str, str]],
    run_id: str,
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return {
        "variant_id": variant_id,
        "campaign_id": config.campaign_id,
        "field": state.field,
        "content": item["content"],
        "status": "pending" if rejection is None else "rejected",
        "reason": f"Plateau on {config.as_of}: {state.reason}",
        "rationale": item["rationale"],
        "rejection_reason": rejection,
        "model": model,
        "prompt": json.dumps(messages, ensure_ascii=False),
        "run_id": run_id,
        "created_on": config.as_of,
        "created_at": now,
        "decided_by": None if rejection is None else "safety checks",
        "decided_at": None if rejection is None else now,
    }


def _auto_approve(frame: pd.DataFrame, earlier: pd.DataFrame, config: Config) -> None:
    """Approve pending rows in the model's order, up to the day's remaining limit."""
    done = (
        (earlier["decided_by"] == "auto-approve")
        & (pd.to_datetime(earlier["created_on"]).dt.date == config.as_of)
    ).sum()
    room = max(config.autotune.max_auto_approved_per_day - int(done), 0)
    chosen = frame.index[frame["status"] == "pending"][:room]
    frame.loc[chosen, "status"] = "approved"
    frame.loc[chosen, "decided_by"] = "auto-approve"
    frame.loc[chosen, "decided_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _cooldown(candidates: pd.DataFrame, field_name: str, as_of: dt.date, days: int) -> str:
    """Why ``field_name`` must wait ("" when it need not)."""
    mine = candidates[candidates["field"] == field_name]
    pending = mine[mine["status"] == "pending"]
    if not pending.empty:
        return f"{len(pending)} candidate(s) await review (decisioning approve)"
    recent = mine[pd.to_datetime(mine["created_on"]).dt.date > as_of - dt.timedelta(days=days)]
    if not recent.empty:
        return f"candidates were written within autotune.cooldown_days ({days})"
    return ""


def _guidelines(project: Project, path: str | None) -> str:
    if path is None:
        return ""
    file = project.project_dir / path
    if not file.is_file():
        raise ConfigError(
            f"decisioning.autotune.brand_guidelines: {file} does not exist; point it at a "
            "text file (relative to the project) or set it to null."
        )
    return file.read_text()


# -- review ---------------------------------------------------------------------------------


def review(
    project: Project, config: Config, variant_ids: Iterable[str], approve: bool, reason: str = ""
) -> StepResult:
    """Approve (or reject) pending candidates; approved ones join the next build's catalog."""
    ids = list(dict.fromkeys(variant_ids))
    status = "approved" if approve else "rejected"
    with connect(project.database) as con:
        rows = con.execute(
            f"select variant_id, status from {SCHEMA}.variant_candidates "
            "where campaign_id = ? and variant_id in (select unnest(?))",
            [config.campaign_id, ids],
        ).fetchall()
        found = dict(rows)
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise StepError(
                f"No candidate(s) {', '.join(unknown)} in campaign {config.campaign_id}: "
                "`decisioning candidates` lists them."
            )
        decided = [f"{i} ({found[i]})" for i in ids if found[i] != "pending"]
        if decided:
            raise StepError(f"Already decided: {', '.join(decided)}. Only pending ones can be.")
        con.execute(
            f"update {SCHEMA}.variant_candidates set status = ?, decided_by = ?, decided_at = ?, "
            "rejection_reason = ? where campaign_id = ? and variant_id in (select unnest(?))",
            [
                status,
                getpass.getuser(),
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                reason or None if not approve else None,
                config.campaign_id,
                ids,
            ],
        )
    note = " They join the catalog at the next build." if approve else ""
    return StepResult([f"{status.capitalize()}: {', '.join(ids)}.{note}"])


def list_candidates(project: Project, config: Config, everything: bool) -> pd.DataFrame:
    with connect(project.database) as con:
        return con.execute(
            f"select variant_id, field, status, created_on, content, rationale, "
            f"rejection_reason from {SCHEMA}.variant_candidates where campaign_id = ? "
            + ("" if everything else "and status = 'pending' ")
            + "order by created_at, variant_id",
            [config.campaign_id],
        ).df()


# -- writing --------------------------------------------------------------------------------

_TAG_COLUMNS = ["content_hash", "content", "tags", "tagger", "schema_version", "tagged_at"]
_CANDIDATE_COLUMNS = [
    "variant_id", "campaign_id", "field", "content", "status", "reason", "rationale",
    "rejection_reason", "model", "prompt", "run_id", "created_on", "created_at", "decided_by",
    "decided_at",
]  # fmt: skip
_CALL_COLUMNS = [
    "run_id", "purpose", "subject", "model", "status", "detail", "prompt_tokens",
    "completion_tokens", "seconds", "called_at",
]  # fmt: skip


def _write(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    tags: pd.DataFrame | None = None,
    candidates: pd.DataFrame | None = None,
    calls: Sequence[Call] = (),
) -> None:
    """Everything a step produced, in one transaction; a text's new tags replace its old."""
    log = pd.DataFrame(
        [
            {"run_id": run_id, **{k: getattr(c, k) for k in _CALL_COLUMNS if k != "run_id"}}
            for c in calls
        ],
        columns=_CALL_COLUMNS,
    )
    con.execute("begin transaction")
    try:
        if tags is not None and not tags.empty:
            con.register("new_tags", tags)
            con.execute(
                f"delete from {SCHEMA}.variant_tags where content_hash in "
                "(select content_hash from new_tags)"
            )
            con.execute(f"insert into {SCHEMA}.variant_tags by name select * from new_tags")
        if candidates is not None and not candidates.empty:
            con.register("new_candidates", candidates)
            con.execute(
                f"insert into {SCHEMA}.variant_candidates by name select * from new_candidates"
            )
        if not log.empty:
            con.register("new_calls", log)
            con.execute(f"insert into {SCHEMA}.llm_calls by name select * from new_calls")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _failures(calls: Sequence[Call]) -> list[str]:
    failed = [c for c in calls if not c.ok]
    return [
        f"  skipped {c.purpose} of {c.subject[:40]!r}: {c.status} ({c.detail[:120]})"
        for c in failed
    ]


__all__ = ["LLMError", "StepError", "autotune", "list_candidates", "review", "tag_catalog"]
