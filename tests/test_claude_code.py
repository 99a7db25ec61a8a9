"""The real Claude Code CLI (tests/claude_code.py) against the fake API: the facts navish builds on.

Each test drives a real `claude` in a private tmux server as a user would and pins down what it
writes (its registry file `<config>/sessions/<pid>.json`, hook payloads, the transcript) at each
stage, so a change in the client fails here first.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import re
import subprocess
import threading
from pathlib import Path

from tests.claude_code import (  # noqa: F401  (pytest fixtures)
    CLAUDE_CODE_VERSION,
    ClaudeWorld,
    claude_bin,
    claude_factory,
    claude_host,
    fake_api,
)
from tests.fake_anthropic import FakeAnthropic, ask_user_question, bash, error, text
from tests.sshd import pid_alive
from tests.waiting import wait_until

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
COMMON = ("session_id", "transcript_path", "cwd", "hook_event_name")
LATENCY = 3.0
"""Bound on key press -> registry transition (about 0.1 s on an idle machine; generous for a loaded one)."""


def proc_start(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks since boot)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def assert_hook_env(claude, entry) -> None:  # type: ignore[no-untyped-def]
    """Every hook process gets the registry's pid, the pane, the session id and the project dir."""
    assert entry["env"]["CLAUDE_PID"] == str(claude.pid)
    assert entry["env"]["TMUX_PANE"] == claude.pane_id
    assert entry["env"]["CLAUDE_CODE_SESSION_ID"] == claude.session_id == entry["payload"]["session_id"]
    assert entry["env"]["CLAUDE_PROJECT_DIR"] == str(claude.cwd) == entry["payload"]["cwd"]
    assert all(key in entry["payload"] for key in COMMON), entry


# -- the fake API itself -------------------------------------------------------------------------


def _post(api: FakeAnthropic, body: dict, path: str = "/v1/messages?beta=true") -> tuple[int, str]:
    host, port = api.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    response = conn.getresponse()
    data = response.read().decode()
    conn.close()
    return response.status, data


def _events(sse: str) -> list[tuple[str, dict]]:
    out = []
    for chunk in sse.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_fake_api_scripts_turns_by_prompt_and_step(fake_api: FakeAnthropic):
    fake_api.on("make it", bash("touch x", "Create x"), text("Made."))
    fake_api.on("fail", error(529, "overloaded_error", "Overloaded"))
    tools = [{"name": "Bash", "input_schema": {}}]
    first = {"model": "m", "stream": True, "tools": tools,
             "messages": [{"role": "user", "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"},
                                                        {"type": "text", "text": "please make it"}]}]}
    status, body = _post(fake_api, first)
    events = _events(body)
    assert status == 200
    assert [name for name, _ in events] == ["message_start", "content_block_start", "content_block_delta",
                                             "content_block_stop", "message_delta", "message_stop"]
    block = events[1][1]["content_block"]
    assert block["type"] == "tool_use" and block["name"] == "Bash" and block["input"] == {}
    assert json.loads(events[2][1]["delta"]["partial_json"]) == {"command": "touch x", "description": "Create x"}
    assert events[4][1]["delta"]["stop_reason"] == "tool_use"

    # the request carrying the tool_result gets the next step; a retry of it the same step again
    second = dict(first, messages=[*first["messages"], {"role": "assistant", "content": [block]},
                                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block["id"]}]}])
    for _ in range(2):
        events = _events(_post(fake_api, second)[1])
        assert events[2][1]["delta"] == {"type": "text_delta", "text": "Made."}
        assert events[4][1]["delta"]["stop_reason"] == "end_turn"
    assert fake_api.main_requests()[1].tool_results()[0]["tool_use_id"] == block["id"]

    # an interrupted prompt is merged into the next one: the last rule in the text wins
    merged = {"model": "m", "tools": tools, "messages": [{"role": "user", "content": "make it\n\nnow fail"}]}
    status, body = _post(fake_api, merged)
    assert status == 529 and json.loads(body) == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    status, body = _post(fake_api, {"model": "m", "stream": False, "tools": tools, "messages": [{"role": "user", "content": "hi"}]})
    assert status == 200 and json.loads(body)["content"] == [{"type": "text", "text": "OK."}]  # no rule: the default

    assert _post(fake_api, {"model": "m", "messages": []}, "/v1/messages/count_tokens")[0] == 200
    status, body = _post(fake_api, {"model": "m", "stream": True, "messages": [{"role": "user", "content": "title?"}]})
    assert status == 200 and "Fake title" in body  # a side request (no tools) consumes no step
    assert [r.kind for r in fake_api.requests] == ["main", "main", "main", "main", "main", "count_tokens", "side"]
    assert [r.answer for r in fake_api.requests_for("make it")] == ["tool_use:Bash", "text", "text", "error 529"]


def test_fake_api_holds_an_answer_until_released(fake_api: FakeAnthropic):
    gate = fake_api.gate()
    fake_api.on("wait", text("Released.", gate=gate))
    result: list[tuple[int, str]] = []
    body = {"model": "m", "stream": True, "tools": [{"name": "Bash"}], "messages": [{"role": "user", "content": "wait"}]}
    thread = threading.Thread(target=lambda: result.append(_post(fake_api, body)))
    thread.start()
    wait_until(lambda: fake_api.requests_for("wait"), 5, "the request to arrive")
    assert not result
    gate.set()
    thread.join(5)
    assert result and "Released." in result[0][1]


# -- the real client -----------------------------------------------------------------------------


def test_startup_registry_file_and_identity(claude_factory: ClaudeWorld, fake_api: FakeAnthropic, tmux):
    claude = claude_factory.start("proj-cc", record_hooks=True)
    data = claude.wait_status("idle")
    # the first write (about 100 ms after start) may lack `status`; then idle, before any prompt
    assert [s for s in claude.statuses() if s != "gone"] in (["idle"], [None, "idle"])
    assert data["pid"] == claude.pid == int(tmux("display-message", "-p", "-t", claude.pane_id, "#{pane_pid}"))
    assert data["procStart"] == proc_start(claude.pid)
    assert data["tmux"] == f"proj-cc:{claude.window_id}.{claude.pane_id}"
    assert UUID.match(data["sessionId"]) and data["cwd"] == str(claude.cwd)
    assert data["version"] == CLAUDE_CODE_VERSION and data["kind"] == "interactive"
    assert data["updatedAt"] == data["statusUpdatedAt"] >= data["startedAt"] > 1e12  # epoch milliseconds
    assert "waitingFor" not in data
    # only <pid>.json is a registry file; a `<pid>.<hash>.key` sits beside it
    names = sorted(os.listdir(claude_factory.registry_dir))
    assert [n for n in names if n.endswith(".json")] == [f"{claude.pid}.json"]
    assert all(n.startswith(f"{claude.pid}.") for n in names)
    start = claude.wait_hook("SessionStart", source="startup")
    assert_hook_env(claude, start)
    assert fake_api.requests == []  # starting costs no API request


def test_turn_is_busy_until_the_answer_then_idle(claude_factory: ClaudeWorld, fake_api: FakeAnthropic):
    gate = fake_api.gate()
    fake_api.on("think hard", text("Thought about it.\nAll done.", gate=gate))
    claude = claude_factory.start(record_hooks=True)
    claude.wait_status("idle")
    sent = claude.prompt("think hard")
    busy = claude.wait_status("busy", timeout=5)
    assert busy["statusUpdatedAt"] / 1000 - sent < LATENCY
    assert claude.wait_hook("UserPromptSubmit", since=sent)["payload"]["prompt"] == "think hard"
    wait_until(lambda: fake_api.requests_for("think hard"), 10, "the request")
    assert claude.registry()["status"] == "busy"  # while the API has not answered
    gate.set()
    stop = claude.wait_hook("Stop", since=sent)
    assert stop["payload"]["last_assistant_message"] == "Thought about it.\nAll done."
    claude.wait_status("idle")
    assert claude.statuses(sent) == ["busy", "idle"]
    assert [e["event"] for e in claude.hooks(since=sent)] == ["UserPromptSubmit", "Stop"]


def test_bash_permission_prompt_approved(claude_factory: ClaudeWorld, fake_api: FakeAnthropic):
    claude = claude_factory.start(record_hooks=True)
    fifo = claude.cwd / "gate.fifo"
    os.mkfifo(fifo)
    command = "read -r _ < gate.fifo && touch made.txt"
    fake_api.on("make the file",
                bash(command, "Create made.txt", preface="Creating it.",
                     usage={"input_tokens": 11, "output_tokens": 22, "cache_read_input_tokens": 33, "cache_creation_input_tokens": 44}),
                text("Made it.", usage={"input_tokens": 55, "output_tokens": 66, "cache_read_input_tokens": 77, "cache_creation_input_tokens": 88}))
    claude.wait_status("idle")
    sent = claude.prompt("make the file")

    waiting = claude.wait_status("waiting", "permission prompt")
    screen = claude.wait_for("Do you want to proceed?")
    lines = [line.strip() for line in screen.splitlines()]
    dialog = lines[lines.index("Bash command"):]
    assert "Create made.txt" in dialog and command in dialog
    options = [line for line in dialog[dialog.index("Do you want to proceed?") + 1:dialog.index("Esc to cancel · Tab to amend")]
               if re.match(r"(❯ )?\d\. ", line)]  # an option's text may wrap onto the next line
    assert options[0] == "❯ 1. Yes" and options[-1] == f"{len(options)}. No" and len(options) in (3, 4), options
    assert "Esc to cancel · Tab to amend" in dialog
    assert claude.statuses(sent)[-2:] == ["busy", "waiting:permission prompt"]
    pre = claude.wait_hook("PreToolUse", since=sent, tool_name="Bash")
    request = claude.wait_hook("PermissionRequest", since=sent, tool_name="Bash")
    assert request["payload"]["tool_input"] == {"command": command, "description": "Create made.txt"}
    assert pre["payload"]["tool_input"] == request["payload"]["tool_input"] and pre["payload"]["tool_use_id"]
    assert_hook_env(claude, request)
    assert abs(request["time"] - waiting["statusUpdatedAt"] / 1000) < LATENCY

    approved = claude.answer("Enter")
    # the command runs (it opens the fifo): busy, and no hook until it ends
    writer = wait_until(lambda: _open_writer(fifo), 10, "the command to open gate.fifo")
    running = claude.wait_status("busy")
    assert running["statusUpdatedAt"] / 1000 - approved < LATENCY
    assert [e["event"] for e in claude.hooks(since=approved)] == []
    os.write(writer, b"go\n")
    os.close(writer)

    post = claude.wait_hook("PostToolUse", since=approved, tool_name="Bash")
    assert (claude.cwd / "made.txt").exists()
    assert post["payload"]["tool_response"]["interrupted"] is False
    stop = claude.wait_hook("Stop", since=approved)
    assert stop["payload"]["last_assistant_message"] == "Made it."
    claude.wait_status("idle")
    assert claude.statuses(sent)[-3:] == ["waiting:permission prompt", "busy", "idle"]
    assert [e["event"] for e in claude.hooks(since=sent)] == [
        "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse", "Stop"]  # no Notification within 6 s

    # the transcript: one `assistant` line per content block, each with its message's usage. The turn's
    # lines land there only after the Stop hook has started; SessionEnd sees them all.
    claude.stop()
    session_end = claude.wait_hook("SessionEnd")
    assistant = [line for line in claude.transcript() if line.get("type") == "assistant"]
    by_id: dict[str, list[dict]] = {}
    for line in assistant:
        by_id.setdefault(line["message"]["id"], []).append(line)
    first, second = by_id.values()
    assert [line["message"]["content"][0]["type"] for line in first] == ["text", "tool_use"]
    assert [line["message"]["usage"]["input_tokens"] for line in first] == [11, 11]  # count a message once
    usage = second[0]["message"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["cache_read_input_tokens"],
            usage["cache_creation_input_tokens"]) == (55, 66, 77, 88)
    assert second[0]["message"]["model"] == fake_api.requests_for("make the file")[0].body["model"]
    written = Path(session_end["payload"]["transcript_path"]).read_bytes()[:session_end["transcript_size"]]
    assert written.count(b'"input_tokens":55') == 1 and written.count(b'"input_tokens":11') == 2
    for entry in claude.hooks():
        assert_hook_env(claude, entry)


def _open_writer(fifo: Path) -> int | None:
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ENXIO:  # no reader yet
            return None
        raise


def test_escape_failures_and_api_error(claude_factory: ClaudeWorld, fake_api: FakeAnthropic):
    fake_api.on("refuse this", bash("touch refused.txt", "Create refused.txt"), text("never"))
    fake_api.on("fail please", bash("ls /nope", "List nothing"), text("It failed."))
    fake_api.on("bad request", error(400, "invalid_request_error", "scripted bad request"))
    fake_api.on("overloaded", error(529, "overloaded_error", "Overloaded"))
    claude = claude_factory.start(record_hooks=True, env={"CLAUDE_CODE_MAX_RETRIES": "0"})
    claude.wait_status("idle")

    # Esc at a permission prompt: idle at once, and no hook fires
    sent = claude.prompt("refuse this")
    claude.wait_status("waiting", "permission prompt")
    claude.wait_for("Do you want to proceed?")
    escaped = claude.answer("Escape")
    idle = claude.wait_status("idle", timeout=5)
    assert idle["statusUpdatedAt"] / 1000 - escaped < LATENCY
    claude.wait_for("Interrupted")
    assert not (claude.cwd / "refused.txt").exists()

    # a failing command (approved): PostToolUseFailure, then the turn goes on
    failing = claude.prompt("fail please")
    assert [e["event"] for e in claude.hooks(since=sent) if e["time"] < failing] == [
        "UserPromptSubmit", "PreToolUse", "PermissionRequest"]  # nothing after the Esc
    claude.wait_status("waiting", "permission prompt")
    assert "[Request interrupted by user for tool use]" in fake_api.requests_for("fail please")[0].prompt
    claude.wait_for("Do you want to proceed?")
    claude.answer("Enter")
    failure = claude.wait_hook("PostToolUseFailure", since=failing, tool_name="Bash")
    assert failure["payload"]["error"].startswith("Exit code 2\n") and failure["payload"]["tool_input"]["command"] == "ls /nope"
    assert claude.wait_hook("Stop", since=failing)["payload"]["last_assistant_message"] == "It failed."
    claude.wait_status("idle")

    # API errors: StopFailure with the error, registry idle
    for prompt, expected_error, message in [("bad request", "unknown", "API Error: 400 scripted bad request"),
                                            ("overloaded", "server_error", "API Error: 529 Overloaded")]:
        sent = claude.prompt(prompt)
        stop = claude.wait_hook("StopFailure", since=sent)
        assert stop["payload"]["error"] == expected_error
        assert stop["payload"]["last_assistant_message"].startswith(message)
        claude.wait_status("idle")
        assert claude.statuses(sent)[-2:] == ["busy", "idle"]
        assert [e["event"] for e in claude.hooks(since=sent)] == ["UserPromptSubmit", "StopFailure"]
        assert fake_api.requests_for(prompt)
    assert len(fake_api.requests_for("overloaded")) == 1  # CLAUDE_CODE_MAX_RETRIES=0: no retry of a 529
    claude.wait_for("API Error: 529 Overloaded")
    for entry in claude.hooks():
        assert_hook_env(claude, entry)


def test_ask_user_question_waits_for_input(claude_factory: ClaudeWorld, fake_api: FakeAnthropic):
    fake_api.on("ask me", ask_user_question("Which colour?", ["Red", "Blue"]), text("Red it is."))
    claude = claude_factory.start(record_hooks=True)
    claude.wait_status("idle")
    sent = claude.prompt("ask me")
    waiting = claude.wait_status("waiting", "input needed")
    screen = claude.wait_for("Which colour?")
    assert "❯ 1. Red" in screen and "2. Blue" in screen and "Enter to select" in screen
    request = claude.wait_hook("PermissionRequest", since=sent, tool_name="AskUserQuestion")
    assert request["payload"]["tool_input"]["questions"][0]["question"] == "Which colour?"
    # a prompt left unanswered for 6 s brings a permission_prompt notification (hook only: the registry stays)
    note = claude.wait_hook("Notification", since=sent, timeout=20)
    assert note["payload"]["notification_type"] == "permission_prompt"
    assert note["payload"]["message"] == "Claude needs your permission"
    assert 5.5 <= note["time"] - waiting["statusUpdatedAt"] / 1000 <= 12
    assert claude.registry()["statusUpdatedAt"] == waiting["statusUpdatedAt"]

    answered = claude.answer("Enter")  # "1. Red"
    post = claude.wait_hook("PostToolUse", since=answered, tool_name="AskUserQuestion")
    assert post["payload"]["tool_response"]["answers"] == {"Which colour?": "Red"}
    assert claude.wait_hook("Stop", since=answered)["payload"]["last_assistant_message"] == "Red it is."
    claude.wait_status("idle")
    assert claude.statuses(sent)[-3:] == ["waiting:input needed", "busy", "idle"]
    for entry in claude.hooks():
        assert_hook_env(claude, entry)


def test_kill_session_removes_the_file_and_sigkill_leaves_it(claude_factory: ClaudeWorld, fake_api: FakeAnthropic):
    gate = fake_api.gate()
    fake_api.on("long job", text("never shown", gate=gate))
    closed = claude_factory.start("closed", record_hooks=True)
    killed = claude_factory.start("killed")
    closed.wait_status("idle")
    killed.wait_status("idle")

    closed.kill_session()
    closed.wait_gone()
    wait_until(lambda: not closed.alive(), 10, "claude to exit after kill-session")
    end = closed.wait_hook("SessionEnd", reason="other")
    assert end["pane_alive"] is False  # it runs after the pane is gone; $TMUX_PANE no longer resolves
    assert end["env"]["TMUX_PANE"] == closed.pane_id and end["env"]["CLAUDE_PID"] == str(closed.pid)

    killed.prompt("long job")
    killed.wait_status("busy")
    killed.kill()  # SIGKILL: the file stays behind, still busy, naming a dead pid
    left = killed.registry()
    assert left is not None and left["status"] == "busy" and left["pid"] == killed.pid and not pid_alive(killed.pid)
    assert sorted(n for n in os.listdir(claude_factory.registry_dir) if n.endswith(".json")) == [f"{killed.pid}.json"]


def test_claude_config_dir_moves_the_registry(world, tmux, fake_api: FakeAnthropic, claude_bin: str, tmp_path: Path):
    config_dir = tmp_path / "claude-config"
    claude_world = ClaudeWorld(Path(world["HOME"]), Path(world["TMUX_TMPDIR"]), fake_api, claude_bin,
                               root=tmp_path, config_dir=config_dir)
    try:
        claude = claude_world.start()
        claude.wait_status("idle")
        assert claude.registry_path == config_dir / "sessions" / f"{claude.pid}.json"
        assert not (Path(world["HOME"]) / ".claude").exists()
    finally:
        claude_world.close()


def test_claude_on_an_ssh_host(claude_host, claude_factory: ClaudeWorld, fake_api: FakeAnthropic):
    fake_api.on("remote hello", text("Hello from dev."))
    dev = claude_host("dev")
    claude = dev.start(record_hooks=True)
    data = claude.wait_status("idle")
    assert claude.registry_path == dev.sshd.home / ".claude" / "sessions" / f"{claude.pid}.json"
    assert not claude_factory.registry_dir.exists()  # this machine's world has no claude

    spec = dev.spec()
    ssh = ["ssh", "-i", spec.key, "-p", str(spec.port), "-o", f"UserKnownHostsFile={spec.known_hosts}",
           "-o", "BatchMode=yes", f"{spec.user}@{spec.host}"]
    remote = subprocess.run([*ssh, "cat ~/.claude/sessions/*.json; echo; tmux list-panes -a -F '#{pane_id} #{pane_pid}'"],
                            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert remote.returncode == 0, remote.stderr
    seen, panes = remote.stdout.split("\n", 1)
    assert json.loads(seen)["sessionId"] == data["sessionId"]
    assert f"{claude.pane_id} {claude.pid}" in panes.split("\n")
    assert f"[remotes.dev]\nhost = \"127.0.0.1\"\nport = {spec.port}\n" in dev.toml()

    claude.prompt("remote hello")
    assert claude.wait_hook("Stop")["payload"]["last_assistant_message"] == "Hello from dev."
    claude.wait_status("idle")
