"""A small OpenAI-compatible server on 127.0.0.1 for the tests: real HTTP for the real SDK.

``POST /v1/chat/completions`` answers structured-output requests by the schema's name:
``variant_tags`` with ``tag_answer(text)`` (default: the rule tagger's semantic fields) and
``new_variants`` with ``write_variants(request)`` (default: ``variants``, cycled). Scripted
faults are served first, one per request, in order: ``Fault`` (HTTP status, headers, delay,
raw message content, refusal). Every request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from decisioning.tags import SEMANTIC, rule_tags


@dataclass
class Fault:
    """One scripted answer: an HTTP error ``status`` (with ``headers``), a ``delay`` before
    answering, raw ``content`` instead of the normal JSON, or a ``refusal``."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"


def rule_semantic(text: str) -> dict[str, str]:
    tags = rule_tags(text)
    return {name: tags[name] for name in SEMANTIC}


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 refuses bursts of concurrent requests


class LLMServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.faults: deque[Fault] = deque()
        self.tag_answer: Callable[[str], dict[str, Any]] = rule_semantic
        self.variants: list[str] = ["Keep your streak alive today"]
        self.write_variants: Callable[[dict[str, Any]], list[dict[str, str]]] | None = None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append(body)
                    fault = server.faults.popleft() if server.faults else Fault()
                time.sleep(fault.delay)
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                elif fault.status != 200:
                    error = {"error": {"message": f"scripted {fault.status}", "type": "x"}}
                    self._send(fault.status, error, fault.headers)
                else:
                    self._send(200, server._completion(body, fault))

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self._http = _Server(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _completion(self, body: dict[str, Any], fault: Fault) -> dict[str, Any]:
        content = fault.content
        if content is None and fault.refusal is None:
            content = json.dumps(self._answer(body), ensure_ascii=False)
        prompt = sum(len(m["content"]) for m in body["messages"])
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": fault.refusal},
                    "finish_reason": fault.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt // 4,
                "completion_tokens": len(content or "") // 4,
                "total_tokens": prompt // 4 + len(content or "") // 4,
            },
        }

    def _answer(self, body: dict[str, Any]) -> Any:
        name = body["response_format"]["json_schema"]["name"]
        if name == "variant_tags":
            return self.tag_answer(body["messages"][-1]["content"])
        if self.write_variants is not None:
            return {"variants": self.write_variants(body)}
        return {
            "variants": [{"content": t, "rationale": "builds on the winner"} for t in self.variants]
        }

    def of_kind(self, name: str) -> list[dict[str, Any]]:
        """The requests whose schema is ``name``."""
        return [r for r in self.requests if r["response_format"]["json_schema"]["name"] == name]
