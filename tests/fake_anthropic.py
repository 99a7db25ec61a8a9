"""A scripted fake of the Anthropic Messages API on 127.0.0.1, for running the real Claude Code.

    api = FakeAnthropic().start()          # or the `fake_api` fixture in tests/claude_code.py
    api.on("make the file", bash("touch made", "Create a file"), text("Made it."))
    api.on("break", error(529, "overloaded_error", "Overloaded"))
    ... run claude with ANTHROPIC_BASE_URL=api.url ...
    api.main_requests()                    # every recorded conversation request

Scripting is by rule: `on(match, *steps)` answers a conversation turn whose prompt (the last user
message that is not only tool results) contains `match`. The step answered is the number of
assistant messages after that prompt, so a tool_use step is followed, on the request carrying its
tool_result, by the next step; retries of a request get the same step again. A turn with no rule,
or past its last step, gets `default` (the text "OK."). Side requests (no tools: title and topic
generation, haiku calls) get a short text answer and never consume a step; `count_tokens` and
`/v1/models` are answered too; every request is recorded in `requests`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

USAGE = {"input_tokens": 120, "output_tokens": 30, "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200}
"""The usage every scripted answer reports unless a step says otherwise (asserted on in the transcript)."""

_ids = itertools.count(1)


@dataclass
class Step:
    """One scripted answer: content blocks, or an HTTP error; optionally held back."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "end_turn"
    status: int = 200
    error_type: str = ""
    error_message: str = ""
    delay: float = 0.0
    """Seconds before the answer starts (the session stays busy meanwhile)."""
    gate: threading.Event | None = None
    """When set, the answer waits until the test sets this event (bounded by `gate_timeout`)."""
    gate_timeout: float = 60.0
    usage: dict[str, int] = field(default_factory=lambda: dict(USAGE))


def text(answer: str, **kw: Any) -> Step:
    """A plain text answer ending the turn."""
    return Step(blocks=[{"type": "text", "text": answer}], **kw)


def tool_use(name: str, tool_input: dict[str, Any], preface: str = "", **kw: Any) -> Step:
    """A `tool_use` block (after an optional text), stop_reason `tool_use`."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": preface}] if preface else []
    blocks.append({"type": "tool_use", "id": f"toolu_fake{next(_ids):04d}", "name": name, "input": tool_input})
    return Step(blocks=blocks, stop_reason="tool_use", **kw)


def bash(command: str, description: str = "Run a command", **kw: Any) -> Step:
    """A Bash tool_use (asks for permission in the default mode)."""
    return tool_use("Bash", {"command": command, "description": description}, **kw)


def script_make_and_refuse(api: FakeAnthropic, directory: Path) -> tuple[Path, Path]:
    """The approve/deny scenario: "make it" asks to `touch` the first path returned, "refuse it"
    the second, and the deny message "use echo instead" gets an answer of its own."""
    made, refused = directory / "made", directory / "refused"
    api.on("make it", bash(f"touch {made}", "Create it"), text("Made it."))
    api.on("refuse it", bash(f"touch {refused}", "Create another"), text("OK."))
    api.on("use echo instead", text("Echoing instead."))
    return made, refused


def ask_user_question(question: str, options: list[str], header: str = "Choice", **kw: Any) -> Step:
    """An AskUserQuestion tool_use: one single-choice question."""
    tool_input = {
        "questions": [
            {
                "question": question,
                "header": header,
                "options": [{"label": o, "description": f"Pick {o}"} for o in options],
                "multiSelect": False,
            }
        ]
    }
    return tool_use("AskUserQuestion", tool_input, **kw)


def error(status: int = 400, error_type: str = "invalid_request_error", message: str = "scripted failure") -> Step:
    """An HTTP error with an Anthropic error body (400, 500, 529 ...)."""
    return Step(status=status, error_type=error_type, error_message=message)


@dataclass
class Request:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    time: float
    kind: str = ""
    """`main` (a conversation turn, with tools), `side` (a messages call without tools), `count_tokens`, `other`."""
    answer: str = ""
    """What was sent back: a short description, for assertions and debugging."""

    @property
    def prompt(self) -> str:
        """The text of the turn's prompt (last user message that is not only tool results)."""
        return _prompt_text(self.body) if isinstance(self.body, dict) else ""

    def last_user_blocks(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages", []) if isinstance(self.body, dict) else []
        for message in reversed(messages):
            if message.get("role") == "user":
                return _blocks(message)
        return []

    def tool_results(self) -> list[dict[str, Any]]:
        """The tool_result blocks of the last user message."""
        return [b for b in self.last_user_blocks() if b.get("type") == "tool_result"]


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def _prompt_index(messages: list[dict[str, Any]]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message.get("role") == "user" and any(b.get("type") != "tool_result" for b in _blocks(message)):
            return i
    return -1


def _prompt_text(body: dict[str, Any]) -> str:
    messages = body.get("messages", [])
    i = _prompt_index(messages)
    if i < 0:
        return ""
    return "\n".join(b.get("text", "") for b in _blocks(messages[i]) if b.get("type") == "text")


class FakeAnthropic:
    """The fake server; `start()` it, point `ANTHROPIC_BASE_URL` at `url`, `stop()` it."""

    def __init__(self, default: Step | None = None):
        self.default = default or text("OK.")
        self.rules: list[tuple[str, list[Step]]] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self._released: list[threading.Event] = []

    # -- scripting ---------------------------------------------------------------------------

    def on(self, match: str, *steps: Step) -> FakeAnthropic:
        """Answer the turn whose prompt contains `match` with `steps`, one per request of the turn."""
        with self.lock:
            self.rules.append((match, list(steps)))
        return self

    def gate(self) -> threading.Event:
        """An event to hold a step's answer (`text(..., gate=g)`) until the test sets it."""
        event = threading.Event()
        self._released.append(event)
        return event

    def step_for(self, body: dict[str, Any]) -> Step:
        messages = body.get("messages", [])
        i = _prompt_index(messages)
        prompt = _prompt_text(body)
        index = sum(1 for m in messages[i + 1:] if m.get("role") == "assistant") if i >= 0 else 0
        with self.lock:
            # the rule whose text comes last in the prompt wins (an interrupted prompt is merged into the
            # next one: "[Request interrupted by user for tool use]\n\nnext"), then the latest rule
            found = [(prompt.rfind(match), n, steps) for n, (match, steps) in enumerate(self.rules) if match in prompt]
        if not found:
            return self.default
        steps = max(found, key=lambda f: (f[0], f[1]))[2]
        return steps[index] if index < len(steps) else self.default

    # -- inspection --------------------------------------------------------------------------

    def main_requests(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.kind == "main"]

    def requests_for(self, match: str) -> list[Request]:
        """The conversation requests of the turn whose prompt contains `match`."""
        return [r for r in self.main_requests() if match in r.prompt]

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.server is not None, "start() the fake API first"
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAnthropic:
        fake = self

        class Handler(_Handler):
            api = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="fake-anthropic", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        for event in self._released:
            event.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.thread is not None:
            self.thread.join(5)

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    api: FakeAnthropic
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (quiet)
        pass

    def _record(self, body: Any) -> Request:
        request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
        with self.api.lock:
            self.api.requests.append(request)
        return request

    def _read_body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode(errors="replace")

    def _json(self, status: int, data: Any) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.send_header("request-id", f"req_fake{next(_ids):04d}")
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802
        request = self._record(None)
        path = self.path.split("?")[0]
        if path.rstrip("/").endswith("/v1/models"):
            request.kind, request.answer = "other", "models"
            self._json(200, {"data": [_model("claude-sonnet-4-5"), _model("claude-haiku-4-5")], "has_more": False,
                             "first_id": "claude-sonnet-4-5", "last_id": "claude-haiku-4-5"})
        else:
            request.kind, request.answer = "other", "404"
            self._json(404, _error_body("not_found_error", f"no fake for GET {path}"))

    def do_HEAD(self) -> None:  # noqa: N802
        self._record(None).kind = "other"
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        body = self._read_body()
        request = self._record(body)
        path = self.path.split("?")[0]
        if path.endswith("/v1/messages/count_tokens"):
            request.kind, request.answer = "count_tokens", "count"
            self._json(200, {"input_tokens": 100})
            return
        if not path.endswith("/v1/messages") or not isinstance(body, dict):
            request.kind, request.answer = "other", "404"
            self._json(404, _error_body("not_found_error", f"no fake for POST {path}"))
            return
        if body.get("tools"):
            request.kind = "main"
            step = self.api.step_for(body)
        else:
            request.kind = "side"
            step = text("Fake title")
        if step.gate is not None:
            step.gate.wait(step.gate_timeout)
        if step.delay:
            time.sleep(step.delay)
        if step.status != 200:
            request.answer = f"error {step.status}"
            self._json(step.status, _error_body(step.error_type, step.error_message))
            return
        request.answer = ",".join(b["type"] if b["type"] != "tool_use" else f"tool_use:{b['name']}" for b in step.blocks)
        message = _message(body.get("model", "claude-sonnet-4-5"), step)
        if body.get("stream"):
            self._stream(message, step)
        else:
            self._json(200, message)

    def _stream(self, message: dict[str, Any], step: Step) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", f"req_fake{next(_ids):04d}")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        start = dict(message, content=[], stop_reason=None, stop_sequence=None)
        start["usage"] = dict(message["usage"], output_tokens=1)
        events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                       "content_block": {"type": "text", "text": ""}}))
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "text_delta", "text": block["text"]}}))
            else:
                events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                       "content_block": dict(block, input={})}))
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "input_json_delta",
                                                                 "partial_json": json.dumps(block["input"])}}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": step.stop_reason, "stop_sequence": None},
                                         "usage": {"output_tokens": message["usage"]["output_tokens"]}}))
        events.append(("message_stop", {"type": "message_stop"}))
        for name, data in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


def _message(model: str, step: Step) -> dict[str, Any]:
    return {
        "id": f"msg_fake{next(_ids):04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": step.blocks,
        "stop_reason": step.stop_reason,
        "stop_sequence": None,
        "usage": dict(step.usage),
    }


def _model(name: str) -> dict[str, Any]:
    return {"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"}


def _error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}
