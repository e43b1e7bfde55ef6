"""The LLM behind tagging and Auto-Tune: any endpoint that speaks OpenAI's chat API.

OpenAI, Azure OpenAI (``base_url: https://<resource>.openai.azure.com/openai/v1/``) and
local servers (vLLM, Ollama, LM Studio...) alike. Every request asks for structured output
(a JSON schema, strict) and is recorded as a ``Call`` (a row of ``llm_calls``) whatever
happens: the SDK retries rate limits, server errors and timeouts with exponential back-off
(``llm.max_retries``, ``llm.timeout_seconds``); what still fails, is refused, is cut short,
is not JSON or breaks the schema is recorded and skipped, never half-used. A run stops
spending at ``llm.max_tokens_per_run`` (each request reserves its prompt estimate and its
output cap before it is sent). A rejected key, a forbidden or unknown model are the
endpoint's settings, not one request's bad luck: they stop the run (``LLMError``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from decisioning.config import DEFAULT_MODEL, LLMConfig

CHARS_PER_TOKEN = 3.0
"""A conservative characters-per-token ratio for reserving a prompt's tokens."""


class LLMError(RuntimeError):
    """The LLM cannot be used as configured; the message says what to set."""


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and how patiently."""

    model: str
    base_url: str | None
    api_key: str
    timeout_seconds: float
    max_retries: int


def endpoint(config: LLMConfig, environ: Mapping[str, str] = os.environ) -> Endpoint:
    """The endpoint from the settings and the environment; ``LLMError`` without a key."""
    key = environ.get(config.api_key_env, "").strip()
    if not key:
        raise LLMError(
            f"{config.api_key_env} is not set: export {config.api_key_env}=<API key of your "
            "OpenAI-compatible endpoint> (decisioning.llm.enabled is true), or set "
            "decisioning.llm.enabled: false to use the rule-based tagger."
        )
    return Endpoint(
        model=config.model or environ.get("OPENAI_MODEL") or DEFAULT_MODEL,
        base_url=config.base_url or environ.get("OPENAI_BASE_URL") or None,
        api_key=key,
        timeout_seconds=config.timeout_seconds,
        max_retries=config.max_retries,
    )


@dataclass
class Call:
    """One request and its outcome. ``status``: ok, refused, truncated, invalid_json,
    schema_violation, rate_limited, timeout, server_error, connection_error, bad_request
    or budget_exhausted; ``value`` is the validated answer when ok."""

    purpose: str
    subject: str
    model: str
    status: str
    detail: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    called_at: dt.datetime
    value: Any = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class TokenBudget:
    """Tokens a run may spend, shared by concurrent requests: each reserves its worst case
    before it is sent and gives back what it did not use."""

    def __init__(self, tokens: int) -> None:
        self.remaining = tokens
        self._lock = threading.Lock()

    def reserve(self, tokens: int) -> bool:
        with self._lock:
            if tokens > self.remaining:
                return False
            self.remaining -= tokens
            return True

    def settle(self, reserved: int, used: int) -> None:
        with self._lock:
            self.remaining += reserved - used


class LLM:
    """Structured-output requests to one endpoint, within one run's token budget."""

    def __init__(self, where: Endpoint, budget: TokenBudget) -> None:
        from openai import OpenAI

        self.model = where.model
        self.budget = budget
        self._client = OpenAI(
            api_key=where.api_key,
            base_url=where.base_url,
            timeout=where.timeout_seconds,
            max_retries=where.max_retries,
        )

    def structured(
        self,
        purpose: str,
        subject: str,
        messages: Sequence[Mapping[str, str]],
        schema_name: str,
        schema: Mapping[str, Any],
        validate: Callable[[Any], Any],
        max_output_tokens: int,
    ) -> Call:
        """Ask for JSON matching ``schema``; ``validate`` checks (and may convert) it and
        raises ``ValueError`` to reject it."""
        import openai

        started = time.perf_counter()
        called_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        reserved = int(sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN)
        reserved += max_output_tokens

        def record(status: str, detail: str = "", usage: Any = None, value: Any = None) -> Call:
            prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion = int(getattr(usage, "completion_tokens", 0) or 0)
            if status != "budget_exhausted":
                self.budget.settle(reserved, prompt + completion if usage else reserved)
            return Call(
                purpose,
                subject,
                self.model,
                status,
                detail[:500],
                prompt,
                completion,
                time.perf_counter() - started,
                called_at,
                value,
            )

        if not self.budget.reserve(reserved):
            return record("budget_exhausted", "llm.max_tokens_per_run reached")
        chat: Any = [dict(m) for m in messages]
        response_format: Any = {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": dict(schema), "strict": True},
        }
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=chat,
                response_format=response_format,
                max_completion_tokens=max_output_tokens,
            )
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            raise LLMError(
                f"The LLM endpoint refused the API key ({error.status_code}): check "
                "the key's variable (decisioning.llm.api_key_env) and base URL."
            ) from None
        except openai.NotFoundError:
            raise LLMError(
                f"The LLM endpoint does not know model {self.model!r} or the base URL is "
                "wrong (404): set decisioning.llm.model / llm.base_url."
            ) from None
        except openai.RateLimitError as error:
            return record("rate_limited", str(error))
        except openai.APITimeoutError:
            return record("timeout", f"no answer within {self._client.timeout} s")
        except openai.APIConnectionError as error:
            return record("connection_error", str(error))
        except openai.InternalServerError as error:
            return record("server_error", str(error))
        except openai.APIStatusError as error:
            return record("bad_request", str(error))
        usage = response.usage
        if not response.choices:
            return record("invalid_json", "no choices in the response", usage)
        choice = response.choices[0]
        message = choice.message
        if getattr(message, "refusal", None):
            return record("refused", str(message.refusal), usage)
        if choice.finish_reason == "length":
            return record("truncated", "hit the output token cap", usage)
        if choice.finish_reason == "content_filter":
            return record("refused", "content filter", usage)
        try:
            parsed = json.loads(message.content or "")
        except json.JSONDecodeError as error:
            return record("invalid_json", f"{error}: {(message.content or '')[:200]!r}", usage)
        try:
            value = validate(parsed)
        except (ValueError, KeyError, TypeError) as error:
            return record("schema_violation", str(error), usage)
        return record("ok", "", usage, value)


def run_all(
    llm: LLM, requests: Sequence[Callable[[LLM], Call]], concurrency: int, label: str
) -> list[Call]:
    """Send ``requests`` with at most ``concurrency`` in flight, in order, with a progress
    bar on a terminal; an ``LLMError`` in any stops the run."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(request, llm) for request in requests]
        bar = tqdm(futures, desc=label, unit="request", disable=None, leave=False)
        try:
            return [future.result() for future in bar]
        except LLMError:
            for future in futures:
                future.cancel()
            raise
