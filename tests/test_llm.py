"""The LLM layer's parts: the rule tagger, the client against a real local HTTP server
(the real OpenAI SDK: retries, timeouts, refusals, malformed answers, the token budget),
the plateau rule on simulated histories, and the safety checks."""

from __future__ import annotations

import datetime as dt
import json
import time

import duckdb
import numpy as np
import pandas as pd
import pytest

from decisioning.autotune import check_text, detect_plateaus, length_limit, parse_variants
from decisioning.config import PlateauRule, load_config
from decisioning.llm import LLM, Endpoint, LLMError, TokenBudget, endpoint
from decisioning.llm_steps import tag_texts
from decisioning.tags import (
    SEMANTIC,
    content_hash,
    feature_tags,
    rule_tags,
    semantic_json_schema,
    validate_semantic,
)
from tests.llm_server import Fault, LLMServer, rule_semantic

# -- the rule tagger ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "50% off your next month - today only",
            {"tone": "urgent", "urgency": "high", "offer_type": "discount",
             "emotional_framing": "gain", "mentions_price": True, "has_number": True,
             "length": "medium", "personalized": False},
        ),
        (
            "We miss you, {first_name}",
            {"tone": "warm", "emotional_framing": "loss", "structure": "statement",
             "personalized": True, "length": "short", "urgency": "none"},
        ),
        (
            "Ready for a comeback?",
            {"structure": "question", "emotional_framing": "curiosity", "has_emoji": False},
        ),
        ("Your streak is waiting 🔥", {"has_emoji": True, "emotional_framing": "loss"}),
        (
            "Keep your progress going with a free week",
            {"structure": "command", "offer_type": "free_trial",
             "emotional_framing": "achievement"},
        ),
        ("New classes just dropped", {"structure": "announcement", "offer_type": "content"}),
    ],
)  # fmt: skip
def test_rule_tagger_fills_the_schema(text: str, expected: dict[str, object]) -> None:
    tags = rule_tags(text)
    assert set(tags) == set(SEMANTIC) | {"length", "personalized", "has_emoji", "has_number",
                                         "mentions_price"}  # fmt: skip
    for name, allowed in SEMANTIC.items():
        assert tags[name] in allowed
    assert {k: tags[k] for k in expected} == expected


def test_feature_tags_drop_none_values_and_mark_empty_content() -> None:
    assert feature_tags("", None) == {"empty"}
    tags = feature_tags("We miss you, {first_name}", None)
    assert tags == {"tone_warm", "structure_statement", "emotional_framing_loss",
                    "length_short", "personalized"}  # fmt: skip
    stored = json.dumps({**rule_tags("We miss you"), "tone": "playful"})
    assert "tone_playful" in feature_tags("We miss you", stored)


def test_content_hash_is_sqls_md5() -> None:
    text = "Your streak is waiting 🔥, {first_name}"
    assert content_hash(text) == duckdb.execute("select md5(?)", [text]).fetchall()[0][0]


# -- the client, over HTTP ------------------------------------------------------------------


def _llm(server: LLMServer, retries: int = 2, timeout: float = 5.0, budget: int = 100_000) -> LLM:
    where = Endpoint("test-model", server.base_url, "sk-test", timeout, retries)
    return LLM(where, TokenBudget(budget))


def _tag(llm: LLM, text: str = "We miss you") -> object:
    return llm.structured(
        "tag",
        text,
        [{"role": "user", "content": text}],
        "variant_tags",
        semantic_json_schema(),
        validate_semantic,
        200,
    )


def test_structured_output_round_trip(llm_server: LLMServer) -> None:
    call = _tag(_llm(llm_server))
    assert call.ok and call.value == rule_semantic("We miss you")  # type: ignore[attr-defined]
    assert call.prompt_tokens > 0 and call.completion_tokens > 0  # type: ignore[attr-defined]
    sent = llm_server.requests[0]
    assert sent["model"] == "test-model"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["response_format"]["json_schema"]["schema"] == semantic_json_schema()


def test_rate_limits_and_server_errors_are_retried_with_back_off(llm_server: LLMServer) -> None:
    llm_server.faults.extend(
        [Fault(429, {"retry-after-ms": "50"}), Fault(500, {"retry-after-ms": "50"})]
    )
    started = time.perf_counter()
    call = _tag(_llm(llm_server, retries=2))
    assert call.ok and len(llm_server.requests) == 3  # type: ignore[attr-defined]
    assert time.perf_counter() - started >= 0.1  # it waited as the server asked


def test_errors_that_outlast_the_retries_are_recorded(llm_server: LLMServer) -> None:
    llm_server.faults.extend([Fault(500, {"retry-after-ms": "10"})] * 2)
    call = _tag(_llm(llm_server, retries=1))
    assert call.status == "server_error" and len(llm_server.requests) == 2  # type: ignore[attr-defined]
    llm_server.faults.extend([Fault(429, {"retry-after-ms": "10"})] * 2)
    assert _tag(_llm(llm_server, retries=1)).status == "rate_limited"  # type: ignore[attr-defined]


def test_a_slow_answer_times_out_and_is_retried(llm_server: LLMServer) -> None:
    llm_server.faults.append(Fault(delay=1.0))
    call = _tag(_llm(llm_server, retries=1, timeout=0.3))
    assert call.ok and len(llm_server.requests) == 2  # type: ignore[attr-defined]
    llm_server.faults.extend([Fault(delay=1.0), Fault(delay=1.0)])
    call = _tag(_llm(llm_server, retries=1, timeout=0.3))
    assert call.status == "timeout" and call.value is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (Fault(content="Sure! Here are the tags: tone=warm"), "invalid_json"),
        (
            Fault(content=json.dumps({**rule_semantic("x"), "tone": "sarcastic"})),
            "schema_violation",
        ),
        (Fault(content=json.dumps({"tone": "warm"})), "schema_violation"),
        (Fault(content=json.dumps({**rule_semantic("x"), "extra": 1})), "schema_violation"),
        (Fault(refusal="I can't help with that."), "refused"),
        (Fault(content='{"tone": "wa', finish_reason="length"), "truncated"),
        (Fault(400), "bad_request"),
    ],
)
def test_malformed_or_refused_answers_are_recorded_and_skipped(
    llm_server: LLMServer, fault: Fault, status: str
) -> None:
    llm_server.faults.append(fault)
    call = _tag(_llm(llm_server))
    assert call.status == status and call.value is None and call.detail  # type: ignore[attr-defined]


def test_a_rejected_key_stops_the_run(llm_server: LLMServer) -> None:
    llm_server.faults.append(Fault(401))
    with pytest.raises(LLMError, match="refused the API key"):
        _tag(_llm(llm_server))


def test_the_token_budget_stops_spending_before_sending(llm_server: LLMServer) -> None:
    # Each request reserves its prompt estimate (11 characters / 3) + its 200-token cap.
    llm = _llm(llm_server, budget=215)
    first, second = _tag(llm), _tag(llm)
    assert first.ok and second.status == "budget_exhausted"  # type: ignore[attr-defined]
    assert len(llm_server.requests) == 1
    # What the first did not use of its reservation was given back.
    assert llm.budget.remaining == 215 - first.prompt_tokens - first.completion_tokens  # type: ignore[attr-defined]


def test_concurrent_tagging_keeps_order_and_skips_failures(llm_server: LLMServer) -> None:
    texts = [f"Workout number {i} is waiting" for i in range(60)]
    llm_server.tag_answer = lambda text: {**rule_semantic(text), "tone": "playful"}
    llm_server.faults.extend([Fault(content="oops")])
    rows, calls = tag_texts(texts, _llm(llm_server, retries=0), concurrency=8)
    assert len(calls) == 60 and sum(not c.ok for c in calls) == 1
    assert len(rows) == 59 and rows["content_hash"].is_unique
    assert set(rows["content"]) < set(texts)
    stored = rows["tags"].map(json.loads)
    assert (stored.map(lambda t: t["tone"]) == "playful").all()
    assert (stored.map(lambda t: t["has_number"])).all()  # surface fields come from the rules
    assert (rows["tagger"] == "llm:test-model").all()


def test_missing_key_names_the_variable() -> None:
    config = load_config({"llm": {"enabled": True, "api_key_env": "MY_LLM_KEY"}})
    with pytest.raises(LLMError, match="^MY_LLM_KEY is not set: export MY_LLM_KEY="):
        endpoint(config.llm, environ={})
    where = endpoint(config.llm, environ={"MY_LLM_KEY": "k", "OPENAI_BASE_URL": "http://x/v1"})
    assert where.base_url == "http://x/v1" and where.model == "gpt-4.1-mini"


# -- the plateau rule -------------------------------------------------------------------------

RULE = PlateauRule(days=5, min_probability_best=0.9, max_relative_change=0.05, min_rewards=200)
START = dt.date(2026, 1, 1)


def _history(
    means: dict[str, float], days: int, n: int = 400, trend: float = 0.0, seed: int = 5
) -> pd.DataFrame:
    """Daily Bernoulli rewards per value; the first value's mean grows by ``trend`` a day."""
    rng = np.random.default_rng(seed)
    rows = []
    for day in range(days):
        for i, (value, mean) in enumerate(means.items()):
            p = mean + (trend * day if i == 0 else 0.0)
            hits = rng.binomial(n, p)
            rows.append(("subject_line", value, START + dt.timedelta(days=day), n, hits, hits))
    columns = ["field", "value_id", "decision_date", "rewards", "reward_sum", "reward_sum_squares"]
    return pd.DataFrame(rows, columns=columns)


def _state(daily: pd.DataFrame, values: tuple[str, ...], days: int, rule: PlateauRule = RULE):  # type: ignore[no-untyped-def]
    as_of = START + dt.timedelta(days=days - 1)
    return detect_plateaus(daily, {"subject_line": values}, rule, as_of)["subject_line"]


def test_a_clear_stationary_winner_is_a_plateau() -> None:
    # 0.30 vs 0.20 with 400 a day: after 6 days the gap is > 10 standard errors.
    daily = _history({"a": 0.30, "b": 0.20, "c": 0.15}, days=12)
    state = _state(daily, ("a", "b", "c"), 12)
    assert state.plateaued and state.leader == "a"
    assert list(state.values["value_id"]) == ["a", "b", "c"]
    assert state.values["probability_best"].iloc[0] > 0.999


def test_no_plateau_without_enough_dates_or_rewards() -> None:
    daily = _history({"a": 0.30, "b": 0.20}, days=4)
    assert "4 of 5 dates" in _state(daily, ("a", "b"), 4).reason
    few = _history({"a": 0.30, "b": 0.20}, days=8, n=20)
    assert not _state(few, ("a", "b"), 8).plateaued  # 8 x 20 = 160 < min_rewards


def test_two_equal_values_rarely_look_like_a_plateau() -> None:
    """With equal means the leader's P(best) = Φ(z), z its standardized lead, so P(best) >=
    0.9 on the last date alone needs |z| >= 1.28: probability 0.2. Over 100 seeds the
    false-plateau rate must stay below 0.2 + 3 binomial sds (0.12); a real gap of 0.05
    plateaus in nearly every seed."""
    false = sum(
        _state(_history({"a": 0.25, "b": 0.25}, 12, seed=s), ("a", "b"), 12).plateaued
        for s in range(100)
    )
    assert false / 100 <= 0.2 + 3 * np.sqrt(0.2 * 0.8 / 100)
    true = sum(
        _state(_history({"a": 0.30, "b": 0.25}, 12, seed=s), ("a", "b"), 12).plateaued
        for s in range(100)
    )
    assert true / 100 >= 0.9


def test_a_winner_still_improving_is_no_plateau() -> None:
    # +0.02 a day from 0.30: its mean to date climbs by > 5% over the last 5 dates.
    daily = _history({"a": 0.30, "b": 0.10}, days=12, trend=0.02)
    state = _state(daily, ("a", "b"), 12)
    assert not state.plateaued and "still moves" in state.reason
    loose = PlateauRule(5, 0.9, 0.5, 200)
    assert _state(daily, ("a", "b"), 12, loose).plateaued


def test_inactive_values_and_future_dates_are_ignored() -> None:
    daily = _history({"a": 0.30, "b": 0.20, "gone": 0.9}, days=12)
    state = _state(daily, ("a", "b"), 12)
    assert state.leader == "a" and "gone" not in set(state.values["value_id"])
    early = detect_plateaus(daily, {"subject_line": ("a", "b")}, RULE, START)
    assert not early["subject_line"].plateaued


# -- the safety checks ------------------------------------------------------------------------


def test_every_generated_text_passes_the_rules_or_says_why() -> None:
    settings = load_config(
        {"autotune": {"banned_words": ["guaranteed", "cure"], "max_characters": {"push": 40}}}
    ).autotune
    limit = length_limit(settings, ["email", "push", "sms"])
    assert limit == (40, "push")
    assert length_limit(settings, ["email", "sms"]) == (160, "sms")
    existing = {"we miss you first name": "sl_miss_you"}
    cases = {
        "Back to it, {first_name}": None,
        "x" * 41: "41 characters, over the push limit of 40",
        "Results GUARANTEED!": "banned word 'guaranteed'",
        "Hi {nickname}": "unknown placeholder {nickname} (allowed: {first_name})",
        "Hi {first_name": "unbalanced braces",
        "See www.example.com": "contains a link (the engagement tool adds links)",
        "We MISS you, {first_name}!!": "duplicate of sl_miss_you",
        "   ": "empty text",
    }
    for text, reason in cases.items():
        assert check_text(text, settings, limit, existing) == reason, text


def test_generated_variants_are_parsed_strictly() -> None:
    ok = {"variants": [{"content": " Hi ", "rationale": "warm"}]}
    assert parse_variants(ok) == [{"content": "Hi", "rationale": "warm"}]
    for bad in ({"variants": []}, {"items": []}, {"variants": [{"content": 3, "rationale": ""}]}):
        with pytest.raises(ValueError):
            parse_variants(bad)
