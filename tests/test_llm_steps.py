"""`decisioning tag` / `autotune` / `approve` on a real DuckDB file through real dbt builds,
with the LLM served over HTTP by tests/llm_server.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from decisioning.llm_steps import StepError, review, tag_catalog
from decisioning.project import DATABASE_ENV, Project
from tests.llm_server import Fault, LLMServer

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


def _project(tmp_path: Path) -> Project:
    return Project.open(ROOT, tmp_path / "llm.duckdb")


def _query(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database)) as con:
        return con.sql(sql).df()


def test_tags_are_cached_by_content_and_the_llm_upgrades_rule_tags(
    tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    offline = project.config({"as_of": "2026-01-01"})
    first = tag_catalog(project, offline)
    tags = _query(project.database, "select * from main.variant_tags")
    texts = _query(
        project.database,
        "select distinct content from main.stg_catalog__message_variants where content <> ''",
    )
    assert set(tags["content"]) == set(texts["content"]) and (tags["tagger"] == "rules").all()
    assert first.lines[0].startswith(f"Tagged {len(texts)} of {len(texts)} ")
    assert tag_catalog(project, offline).lines[0].startswith("Tagged 0 of 0")

    online = project.config(
        {"as_of": "2026-01-01", "llm": {"enabled": True, "base_url": llm_server.base_url,
                                        "model": "local", "max_retries": 0}}
    )  # fmt: skip
    llm_server.tag_answer = lambda text: {
        "tone": "playful", "structure": "statement", "emotional_framing": "none",
        "urgency": "none", "offer_type": "none",
    }  # fmt: skip
    llm_server.faults.append(Fault(500))
    tag_catalog(project, online)
    assert len(llm_server.of_kind("variant_tags")) == len(texts)
    tags = _query(project.database, "select * from main.variant_tags")
    assert (tags["tagger"] == "llm:local").sum() == len(texts) - 1  # one request failed...
    assert (tags["tagger"] == "rules").sum() == 1  # ...and that text keeps its rule tags
    calls = _query(project.database, "select * from main.llm_calls")
    assert sorted(calls["status"].value_counts().items()) == [
        ("ok", len(texts) - 1),
        ("server_error", 1),
    ]
    tag_catalog(project, online)  # only the text that failed is asked again
    assert len(llm_server.of_kind("variant_tags")) == len(texts) + 1
    tag_catalog(project, online)  # a rerun costs nothing
    assert len(llm_server.of_kind("variant_tags")) == len(texts) + 1

    # The next build's catalog carries the stored tags into the policy's action features.
    project.dbt(
        ["build", "-s", "+action_catalog", "--resource-type", "seed", "--resource-type", "model"]
    )
    catalog = _query(project.database, "select * from main.action_catalog where field = 'greeting'")
    stored = catalog.loc[catalog["content"] != "", "semantic_tags"].map(json.loads)
    assert (stored.map(lambda t: t["tone"]) == "playful").all()


def test_missing_key_is_one_line_a_nonzero_exit_and_nothing_written(tmp_path: Path) -> None:
    database = tmp_path / "untouched.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env[DATABASE_ENV] = str(database)
    for command in (["tag", "--llm"], ["autotune"]):
        done = subprocess.run(
            [sys.executable, "-m", "decisioning.cli", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "OPENAI_API_KEY" in lines[0], done.stderr
        assert not database.exists()


def test_review_approves_or_rejects_pending_candidates_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    config = project.config({"as_of": "2026-01-05"})
    tag_catalog(project, config)  # creates the tables
    rows = pd.DataFrame(
        {
            "variant_id": ["subject_line_gen_a", "subject_line_gen_b"],
            "campaign_id": config.campaign_id,
            "field": "subject_line",
            "content": ["Back at it, {first_name}?", "One workout away 💪"],
            "status": "pending",
            "created_on": dt.date(2026, 1, 5),
        }
    )
    with duckdb.connect(str(project.database)) as con:
        con.register("rows", rows)
        con.execute("insert into main.variant_candidates by name select * from rows")
    review(project, config, ["subject_line_gen_a"], approve=True)
    review(project, config, ["subject_line_gen_b"], approve=False, reason="off brand")
    with pytest.raises(StepError, match="Already decided: subject_line_gen_a"):
        review(project, config, ["subject_line_gen_a"], approve=False)
    with pytest.raises(StepError, match="No candidate"):
        review(project, config, ["nope"], approve=True)
    project.dbt(
        ["build", "-s", "+action_catalog", "--resource-type", "seed", "--resource-type", "model"]
    )
    catalog = _query(project.database, "select * from main.stg_catalog__message_variants")
    approved = catalog[catalog["origin"] == "autotune"]
    assert list(approved["variant_id"]) == ["subject_line_gen_a"]
    candidates = _query(project.database, "select * from main.variant_candidates order by 1")
    assert list(candidates["status"]) == ["approved", "rejected"]
    assert candidates["rejection_reason"].iloc[1] == "off brand"
