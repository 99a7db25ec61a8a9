"""The Claude Code hook: its arithmetic called directly, its I/O as real processes in a private tmux."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from navish import hook
from navish.hook import apply_event
from navish.hook_install import HOOK_SOURCE, hook_command
from navish.parsing import parse_status_object, session_from_object

T0 = 1_764_000_000
LEAD = "lead-sid"


def event(name: str, **fields) -> dict:
    return {"hook_event_name": name, "session_id": LEAD, "cwd": "/proj", **fields}


def run_events(steps, previous=None):
    """Apply `(offset, status, event)` steps from T0 on; return every intermediate object."""
    docs = []
    for offset, status, ev in steps:
        new = apply_event(previous, status, ev, T0 + offset)
        previous = new if new is not None else previous
        docs.append(new)
    return docs


# -- apply_event ---------------------------------------------------------------------------


def test_time_metrics_accumulate_from_the_previous_status():
    docs = run_events(
        [
            (0, "working", event("UserPromptSubmit")),
            (10, "permission", event("PermissionRequest", tool_name="Bash")),
            (25, "working", event("PostToolUse", tool_name="Bash")),
            (30, "done", event("Stop")),
            (100, "waiting", event("Notification", message="Claude is waiting for your input")),
            (110, "offline", event("SessionEnd")),
            (500, "working", event("UserPromptSubmit")),
        ]
    )
    clocks = [(d["status"], d["timestamp"], d["metrics"]["time"]) for d in docs]
    t = lambda started, total, working, waiting: {  # noqa: E731
        "started": started, "total_seconds": total, "working_seconds": working, "waiting_seconds": waiting
    }
    assert clocks == [
        ("working", T0, t(T0, 0, 0, 0)),
        ("permission", T0 + 10, t(T0, 10, 10, 0)),
        ("working", T0 + 25, t(T0, 25, 10, 15)),
        ("done", T0 + 30, t(T0, 30, 15, 15)),
        ("waiting", T0 + 100, t(T0, 100, 15, 15)),  # time spent done is neither working nor waiting
        ("offline", T0 + 110, t(T0, 110, 15, 25)),
        ("working", T0 + 500, t(T0 + 500, 0, 0, 0)),  # back from offline: a new session
    ]
    assert docs[1]["message"] == "Claude needs your permission to use Bash"
    assert docs[2]["message"] == ""
    assert docs[4]["message"] == "Claude is waiting for your input"


def test_a_clock_going_backwards_adds_nothing():
    first, second = run_events([(100, "working", event("UserPromptSubmit")), (40, "done", event("Stop"))])
    assert second["metrics"]["time"] == {
        "started": T0 + 100, "total_seconds": 0, "working_seconds": 0, "waiting_seconds": 0
    }


def test_a_new_file_has_every_navi_field_in_navi_order():
    doc = apply_event({"tmux_session": "web"}, "working", event("UserPromptSubmit"), T0 + 0.9)
    assert list(doc) == ["tmux_session", "session_id", "status", "message", "cwd", "timestamp", "metrics"]
    assert doc["timestamp"] == T0 and isinstance(doc["timestamp"], int)
    assert doc["session_id"] == LEAD and doc["cwd"] == "/proj"
    assert doc["metrics"]["tools"] == {"recent": [], "counts": {}}


def test_tools_are_counted_and_the_recent_list_is_bounded():
    tools = ["Read", "Edit", "Bash"] * 4 + ["Grep"]
    docs = run_events([(i, "working", event("PostToolUse", tool_name=n)) for i, n in enumerate(tools)])
    final = docs[-1]["metrics"]["tools"]
    assert final["counts"] == {"Read": 4, "Edit": 4, "Bash": 4, "Grep": 1}
    assert final["recent"] == ["Grep", "Bash", "Edit", "Read", "Bash", "Edit", "Read", "Bash", "Edit", "Read"]
    other = apply_event(docs[-1], "working", event("UserPromptSubmit"), T0 + 99)
    assert other["metrics"]["tools"] == final  # only PostToolUse counts


def test_fields_the_hook_does_not_own_are_kept_and_previous_is_not_modified():
    previous = {
        "tmux_session": "web",
        "session_id": LEAD,
        "status": "done",
        "timestamp": T0,
        "custom": {"keep": [1, 2]},
        "agents": {"codex": {"status": "idle", "timestamp": T0}},
        "metrics": {"time": {"started": T0, "extra": 1}, "tools": {"recent": ["Read"], "counts": {"Read": 1}}, "x": 2},
    }
    snapshot = json.loads(json.dumps(previous))
    doc = apply_event(previous, "working", event("UserPromptSubmit"), T0 + 5)
    assert previous == snapshot
    assert doc["custom"] == {"keep": [1, 2]} and doc["agents"] == previous["agents"]
    assert doc["metrics"]["x"] == 2 and doc["metrics"]["time"]["extra"] == 1
    assert doc["metrics"]["tools"] == {"recent": ["Read"], "counts": {"Read": 1}}


def test_mistyped_fields_are_replaced_not_fatal():
    previous = {"status": 3, "timestamp": "soon", "metrics": {"time": "x", "tools": {"recent": {}, "counts": []}}}
    doc = apply_event(previous, "working", event("PostToolUse", tool_name="Read"), T0)
    assert doc["metrics"]["time"]["started"] == T0
    assert doc["metrics"]["tools"] == {"recent": ["Read"], "counts": {"Read": 1}}
    assert apply_event("garbage", "done", event("Stop"), T0)["status"] == "done"


def test_a_permission_notification_keeps_the_permission_status():
    doc = apply_event(
        None, "waiting", event("Notification", notification_type="permission_prompt", message="needs Bash"), T0
    )
    assert (doc["status"], doc["message"]) == ("permission", "needs Bash")


def lead_with_team(**agent):
    return {
        "tmux_session": "web", "session_id": LEAD, "status": "working", "message": "m", "timestamp": T0,
        "team": {"name": "crew", "agents": [{"name": "tester", "status": "working", "timestamp": T0, **agent}]},
    }


def test_events_of_a_teammate_process_never_touch_the_lead():
    lead = lead_with_team(session_id="mate-sid")
    mate = {"session_id": "mate-sid"}
    assert apply_event(lead, "working", event("PostToolUse", tool_name="Read", **mate), T0 + 5) is None
    stopped = apply_event(lead, "done", event("Stop", **mate), T0 + 6)
    assert stopped["team"]["agents"][0] == {
        "name": "tester", "status": "stopped", "timestamp": T0 + 6, "session_id": "mate-sid"
    }
    assert {k: stopped[k] for k in ("status", "message", "timestamp", "session_id")} == {
        "status": "working", "message": "m", "timestamp": T0, "session_id": LEAD
    }
    unknown = {"session_id": "other-sid"}
    assert apply_event(lead, "offline", event("SessionEnd", **unknown), T0 + 7) is None
    for name in ("SubagentStart", "SubagentStop", "TeammateIdle", "TaskCompleted"):
        assert apply_event(lead, "idle", event(name), T0 + 8) is None


def test_the_lead_restarting_with_a_new_session_id_takes_over():
    doc = apply_event(lead_with_team(), "working", event("UserPromptSubmit", session_id="new-sid"), T0 + 1)
    assert (doc["session_id"], doc["status"]) == ("new-sid", "working")


def test_teammate_events_upsert_agents_by_name():
    doc = apply_event(lead_with_team(), "idle", event("TeammateIdle", teammate_name="tester", session_id="s1"), T0 + 3)
    doc = apply_event(doc, "done", event("TaskCompleted", teammate_name="writer", team_name="crew2"), T0 + 4)
    assert doc["status"] == "working" and doc["timestamp"] == T0
    assert doc["team"] == {
        "name": "crew2",
        "agents": [
            {"name": "tester", "status": "idle", "timestamp": T0 + 3, "session_id": "s1"},
            {"name": "writer", "status": "done", "timestamp": T0 + 4, "session_id": LEAD},
        ],
    }


def test_a_teammate_event_without_a_file_creates_one():
    doc = apply_event(None, "idle", event("TeammateIdle", teammate_name="t", team_name="crew"), T0)
    assert doc["status"] == "working" and doc["team"]["agents"][0]["status"] == "idle"


def test_a_stopped_agent_is_not_revived_by_a_late_event():
    lead = lead_with_team()
    lead["team"]["agents"][0]["status"] = "stopped"
    assert apply_event(lead, "idle", event("TeammateIdle", teammate_name="tester"), T0 + 1) is None
    assert apply_event(lead, "done", event("TaskCompleted", teammate_name="tester"), T0 + 1) is None
    respawn = {"status": "teammate_spawned", "session_id": "new"}
    spawn = event("PostToolUse", tool_name="Task", tool_input={"name": "tester"}, tool_response=respawn)
    doc = apply_event(lead, "working", spawn, T0 + 2)
    assert doc["team"]["agents"][0] == {"name": "tester", "status": "working", "timestamp": T0 + 2, "session_id": "new"}


def test_a_prompt_clears_stopped_agents_and_an_empty_team():
    lead = lead_with_team()
    lead["team"]["agents"].append({"name": "gone", "status": "stopped"})
    doc = apply_event(lead, "working", event("UserPromptSubmit"), T0 + 1)
    assert [a["name"] for a in doc["team"]["agents"]] == ["tester"]
    doc["team"]["agents"][0]["status"] = "stopped"
    assert "team" not in apply_event(doc, "working", event("UserPromptSubmit"), T0 + 2)


def test_lead_tool_use_infers_teammate_status():
    lead = lead_with_team()
    lead["team"]["agents"].append({"name": "writer", "status": "idle", "timestamp": T0})

    def send(doc, **tool_input):
        return apply_event(doc, "working", event("PostToolUse", tool_name="SendMessage", tool_input=tool_input), T0 + 9)

    statuses = lambda doc: {a["name"]: a["status"] for a in doc["team"]["agents"]}  # noqa: E731
    spawn = event("PostToolUse", tool_name="Task", tool_input={"name": "new", "team_name": "crew"},
                  tool_response={"status": "teammate_spawned", "session_id": "n1"})
    doc = apply_event(lead, "working", spawn, T0 + 1)
    assert statuses(doc) == {"tester": "working", "writer": "idle", "new": "working"}
    doc = send(doc, type="shutdown_request", recipient="tester")
    assert statuses(doc) == {"tester": "stopped", "writer": "idle", "new": "working"}
    assert statuses(send(doc, type="message", recipient="tester")) == statuses(doc)
    assert statuses(send(doc, type="message", recipient="writer"))["writer"] == "working"
    assert statuses(send(doc, type="broadcast")) == {"tester": "stopped", "writer": "working", "new": "working"}
    assert doc["metrics"]["tools"]["counts"] == {"Task": 1, "SendMessage": 1}


# -- the events of Claude Code 2.1 (payloads as in /work/shared/examples/claude-code) -------------


def real(name: str, **fields) -> dict:
    """A payload as the real client sends it (every one has session_id, transcript_path, cwd)."""
    return event(name, **{"transcript_path": "/nonexistent/t.jsonl", **fields})


def status_and_message(doc: dict | None) -> tuple[str, str] | None:
    return None if doc is None else (doc["status"], doc["message"])


def test_session_start_creates_an_idle_file_and_a_new_session():
    doc = apply_event(None, "idle", real("SessionStart", source="startup", model="claude-opus-5-5"), T0)
    assert status_and_message(doc) == ("idle", "")
    assert doc["metrics"]["time"] == {"started": T0, "total_seconds": 0, "working_seconds": 0, "waiting_seconds": 0}
    # a claude killed while working (no SessionEnd) and started again: its time is not counted on
    stale = {**doc, "status": "working", "timestamp": T0 + 10, "metrics": {
        "time": {"started": T0, "working_seconds": 10}, "tokens": {"input": 5, "offset": 99}}}
    again = apply_event(stale, "idle", real("SessionStart", source="resume", session_id="s2"), T0 + 500)
    assert (again["status"], again["session_id"]) == ("idle", "s2")
    assert again["metrics"]["time"]["started"] == T0 + 500 and again["metrics"]["time"]["working_seconds"] == 0
    assert "tokens" not in again["metrics"]


def test_a_compaction_is_not_a_new_session():
    working = apply_event(None, "working", real("UserPromptSubmit"), T0)
    working["metrics"]["tokens"] = {"input": 5}
    doc = apply_event(working, "idle", real("SessionStart", source="compact"), T0 + 30)
    assert status_and_message(doc) == ("working", "")
    assert doc["metrics"]["time"]["working_seconds"] == 30 and doc["metrics"]["tokens"] == {"input": 5}


def test_pre_tool_use_clears_a_permission_left_by_an_approved_prompt():
    asked = apply_event(None, "permission", real("PermissionRequest", tool_name="Bash",
                                                  tool_input={"command": "npm test", "description": "Run"}), T0)
    assert status_and_message(asked) == ("permission", "Bash: npm test")
    doc = apply_event(asked, "working", real("PreToolUse", tool_name="Read", tool_input={"file_path": "/a"}), T0 + 4)
    assert status_and_message(doc) == ("working", "")
    assert doc["metrics"]["time"]["waiting_seconds"] == 4 and doc["metrics"]["tools"]["counts"] == {}


def test_a_failed_tool_says_which_and_why_and_claude_works_on():
    payload = real("PostToolUseFailure", tool_name="Bash", tool_input={"command": "ls /nope"}, tool_use_id="t2",
                   error="Exit code 2\nls: cannot access '/nope': No such file or directory", is_interrupt=False)
    doc = apply_event({"status": "permission", "session_id": LEAD}, "working", payload, T0)
    assert status_and_message(doc) == ("working", "Bash failed: Exit code 2 …")
    assert doc["metrics"]["tools"]["counts"] == {"Bash": 1}
    no_error = apply_event(None, "working", real("PostToolUseFailure", tool_name="Read"), T0)
    assert status_and_message(no_error) == ("working", "Read failed")
    interrupted = apply_event(doc, "working", {**payload, "is_interrupt": True, "error": "Interrupted"}, T0 + 1)
    assert status_and_message(interrupted) == ("idle", "Bash interrupted")


def test_an_api_error_is_an_error_with_its_first_line():
    api_error = 'API Error: 400 {"type":"error","error":{"type":"invalid_request_error"}}'
    payload = real("StopFailure", error="unknown", last_assistant_message=api_error + "\nmore")
    doc = apply_event({"status": "working", "session_id": LEAD}, "error", payload, T0)
    assert status_and_message(doc) == ("error", api_error + " …")
    bare = apply_event(None, "error", real("StopFailure", error="rate_limit"), T0)
    assert status_and_message(bare) == ("error", "API error: rate_limit")
    assert status_and_message(apply_event(None, "error", real("StopFailure"), T0)) == ("error", "API error")


QUESTION_INPUT = {
    "questions": [
        {
            "question": "Which colour do you want?",
            "header": "Choice",
            "options": [{"label": "Red", "description": "Pick Red"}, {"label": "Blue", "description": "Pick Blue"}],
            "multiSelect": False,
        }
    ]
}


def test_ask_user_question_is_a_question_not_a_permission():
    pre = apply_event(None, "working", real("PreToolUse", tool_name="AskUserQuestion", tool_input=QUESTION_INPUT), T0)
    asked = apply_event(pre, "permission", real("PermissionRequest", tool_name="AskUserQuestion",
                                                 tool_input=QUESTION_INPUT), T0 + 1)
    assert status_and_message(asked) == ("waiting", "Which colour do you want?")
    # the permission_prompt notification that follows it (about 6 s later) changes nothing
    note = real("Notification", message="Claude needs your permission", notification_type="permission_prompt")
    assert apply_event(asked, "waiting", note, T0 + 7) is None
    header_only = {"questions": [{"header": "Colour", "options": []}]}
    doc = apply_event(None, "permission", real("PermissionRequest", tool_name="AskUserQuestion",
                                                tool_input=header_only), T0)
    assert status_and_message(doc) == ("waiting", "Colour")
    odd = apply_event(None, "permission", real("PermissionRequest", tool_name="AskUserQuestion",
                                                tool_input={"questions": "?"}), T0)
    assert status_and_message(odd) == ("waiting", "Claude has a question")


def test_a_permission_notification_keeps_the_requests_message():
    asked = apply_event(None, "permission", real("PermissionRequest", tool_name="Bash",
                                                  tool_input={"command": "rm -rf build"}), T0)
    note = real("Notification", message="Claude needs your permission", notification_type="permission_prompt")
    assert apply_event(asked, "waiting", note, T0 + 6) is None
    # without a request before it (a hook installed mid-prompt), it says what it says
    assert status_and_message(apply_event(None, "waiting", note, T0)) == ("permission", "Claude needs your permission")


@pytest.mark.parametrize("before", ["done", "idle", "error"])
def test_the_idle_prompt_notification_leaves_a_finished_session_alone(before):
    idle_note = real("Notification", message="Claude is waiting for your input", notification_type="idle_prompt")
    previous = {"tmux_session": "web", "session_id": LEAD, "status": before, "message": "All 42 tests pass.",
                "timestamp": T0}
    assert apply_event(previous, "waiting", idle_note, T0 + 60) is None


@pytest.mark.parametrize("before", ["working", "permission", "waiting"])
def test_the_idle_prompt_notification_ends_a_turn_no_hook_reported(before):
    """Esc during a turn or at a prompt fires no hook: 60 s later, this is the only sign."""
    idle_note = real("Notification", message="Claude is waiting for your input", notification_type="idle_prompt")
    previous = {"session_id": LEAD, "status": before, "message": "Bash: rm -rf build", "timestamp": T0}
    assert status_and_message(apply_event(previous, "waiting", idle_note, T0 + 60)) == (
        "idle", "Claude is waiting for your input")


def test_other_notifications_still_mean_waiting_and_auth_success_nothing():
    dialog = real("Notification", message="Claude needs your input", notification_type="elicitation_dialog")
    assert status_and_message(apply_event(None, "waiting", dialog, T0)) == ("waiting", "Claude needs your input")
    auth = real("Notification", message="Logged in", notification_type="auth_success")
    assert apply_event({"status": "done"}, "waiting", auth, T0) is None


@pytest.mark.parametrize(
    "tool, tool_input, message",
    [
        ("Bash", {"command": "rm -rf build", "description": "Remove build"}, "Bash: rm -rf build"),
        ("Bash", {"command": "cat <<EOF > x\nhello\nEOF", "description": "Write x"}, "Bash: cat <<EOF > x …"),
        ("Bash", {"command": "  \n  make   \n"}, "Bash: make"),
        ("Edit", {"file_path": "/p/a.py", "old_string": "a", "new_string": "b"}, "Edit: /p/a.py"),
        ("Write", {"file_path": "/p/b.py", "content": "x = 1\n"}, "Write: /p/b.py"),
        ("Read", {"file_path": "/etc/hosts"}, "Read: /etc/hosts"),
        ("NotebookEdit", {"notebook_path": "/p/n.ipynb", "new_source": "1"}, "NotebookEdit: /p/n.ipynb"),
        ("WebFetch", {"url": "https://example.com", "prompt": "summarise"}, "WebFetch: https://example.com"),
        ("WebSearch", {"query": "tmux hooks"}, "WebSearch: tmux hooks"),
        ("Grep", {"pattern": "TODO", "path": "/p"}, "Grep: TODO"),
        ("Task", {"description": "Find the bug", "prompt": "long\ntext", "subagent_type": "x"}, "Task: Find the bug"),
        ("mcp__db__query", {"sql": "select 1", "limit": 5}, "mcp__db__query: select 1"),
        ("mcp__x__y", {"n": 1, "flag": True}, 'mcp__x__y: {"flag": true, "n": 1}'),
        ("Bash", {}, "Claude needs your permission to use Bash"),
        ("", {}, "Claude needs your permission"),
    ],
)
def test_a_permission_message_names_the_tool_and_what_it_wants(tool, tool_input, message):
    payload = real("PermissionRequest", tool_name=tool, tool_input=tool_input, permission_suggestions=[])
    assert status_and_message(apply_event(None, "permission", payload, T0)) == ("permission", message)


def test_a_permission_message_is_one_line_of_bounded_length():
    command = "echo " + "x" * 500 + "\nsecond line"
    doc = apply_event(None, "permission", real("PermissionRequest", tool_name="Bash",
                                                tool_input={"command": command}), T0)
    assert "\n" not in doc["message"] and len(doc["message"]) == hook.MESSAGE_LIMIT
    assert doc["message"].startswith("Bash: echo xxx") and doc["message"].endswith("x…")


def test_stop_keeps_the_last_line_of_the_answer():
    text = "I ran the suite.\n\n| a | b |\n\nAll 42 tests pass.\n\n"
    doc = apply_event(None, "done", real("Stop", stop_hook_active=False, last_assistant_message=text), T0)
    assert status_and_message(doc) == ("done", "All 42 tests pass.")
    long = apply_event(None, "done", real("Stop", last_assistant_message="y" * 300 + " Shall I go on?"), T0)
    assert long["message"] == "…" + ("y" * 300 + " Shall I go on?")[-(hook.MESSAGE_LIMIT - 1):]
    assert len(long["message"]) == hook.MESSAGE_LIMIT
    assert apply_event(None, "done", real("Stop"), T0)["message"] == ""


def test_the_lead_process_is_recorded_but_not_a_teammates():
    process = {"tmux_pane": "%3", "claude_pid": 4242}
    doc = apply_event({"tmux_session": "web"}, "idle", real("SessionStart", source="startup"), T0, process)
    assert list(doc) == ["tmux_session", "session_id", "status", "message", "cwd", "timestamp",
                         "tmux_pane", "claude_pid", "metrics"]
    assert (doc["tmux_pane"], doc["claude_pid"]) == ("%3", 4242)
    mate = apply_event(doc, "idle", real("TeammateIdle", teammate_name="t", session_id="m"), T0 + 1,
                       {"tmux_pane": "%9", "claude_pid": 9})
    assert (mate["tmux_pane"], mate["claude_pid"]) == ("%3", 4242)
    assert apply_event(doc, "working", real("PreToolUse", session_id="m"), T0 + 2, {"tmux_pane": "%9"}) is None
    bad = apply_event(None, "idle", real("SessionStart"), T0, {"claude_pid": "x"})
    assert "claude_pid" not in bad and "tmux_pane" not in bad


def test_new_events_of_a_teammate_process_never_touch_the_lead():
    lead = {**lead_with_team(session_id="mate-sid"), "tmux_pane": "%1"}
    mate = {"session_id": "mate-sid"}
    for name, status in [("PreToolUse", "working"), ("PostToolUseFailure", "working"), ("StopFailure", "error")]:
        assert apply_event(lead, status, real(name, tool_name="Bash", **mate), T0 + 5, {"tmux_pane": "%2"}) is None
    # a teammate starting in its own pane is not the lead; /clear in the lead's pane is
    starting = real("SessionStart", source="startup", **mate)
    assert apply_event(lead, "idle", starting, T0 + 5, {"tmux_pane": "%2"}) is None
    cleared = apply_event(lead, "idle", real("SessionStart", source="clear", session_id="new"), T0 + 6,
                          {"tmux_pane": "%1"})
    assert (cleared["session_id"], cleared["status"]) == ("new", "idle")


# -- token usage from the transcript -----------------------------------------------------------


def usage(i: int, o: int, cr: int = 0, cc: int = 0) -> dict:
    return {"input_tokens": i, "cache_creation_input_tokens": cc, "cache_read_input_tokens": cr, "output_tokens": o,
            "service_tier": "standard",
            "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0}}


def assistant(mid: str, use: dict, *, model: str = "claude-opus-5-5", second: int = 0,
              block: dict | None = None) -> str:
    """One transcript line as Claude Code 2.1 writes it for (one content block of) an assistant message."""
    return json.dumps({
        "parentUuid": "p", "isSidechain": False,
        "message": {"id": mid, "type": "message", "role": "assistant", "model": model,
                    "content": [block or {"type": "text", "text": "Done."}], "stop_reason": "end_turn",
                    "stop_sequence": None, "usage": use},
        "requestId": "req_" + mid, "type": "assistant", "uuid": "u-" + mid,
        "timestamp": f"2026-01-01T00:00:{second:02}.000Z", "userType": "external", "sessionId": LEAD,
    }, separators=(",", ":")) + "\n"


def other_lines() -> str:
    """Transcript lines that are not assistant messages, some mentioning usage."""
    return "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in [
        {"type": "user", "message": {"role": "user", "content": "what is the usage of tokens?"}, "timestamp": "x"},
        {"type": "api-request-blob", "message": {"role": "assistant", "usage": usage(10**6, 10**6)}},
        {"type": "system", "subtype": "turn_duration", "durationMs": 5},
        {"type": "file-history-snapshot", "messageId": "m", "snapshot": {}},
    ])


def totals(tokens: dict) -> tuple:
    return tuple(tokens.get(k) for k in ("input", "output", "cache_read", "cache_creation", "model"))


def test_usage_counts_each_message_once_with_its_last_usage(tmp_path):
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(
        other_lines()
        + assistant("msg_1", usage(120, 1, 1000, 200), block={"type": "thinking", "thinking": "hm"})
        + assistant("msg_1", usage(120, 30, 1000, 200), block={"type": "tool_use", "id": "t", "name": "Bash",
                                                               "input": {"command": "ls"}})
        + other_lines()
        + assistant("msg_2", usage(5, 7, 1120, 0), model="claude-haiku-4-5", second=1)
        + assistant("e1", usage(0, 0), model="<synthetic>", second=2)  # an API error, written by Claude Code
    )
    tokens: dict = {}
    hook.count_tokens(tokens, str(transcript))
    assert totals(tokens) == (125, 37, 2120, 200, "claude-haiku-4-5")
    assert tokens["offset"] == transcript.stat().st_size and tokens["transcript"] == str(transcript)
    assert list(tokens)[:5] == ["input", "output", "cache_read", "cache_creation", "model"]


def test_usage_reads_only_new_whole_lines_and_a_message_may_straddle_two_calls(tmp_path):
    transcript = tmp_path / "t.jsonl"
    first = assistant("msg_1", usage(100, 1), second=1)
    transcript.write_text(first)
    tokens: dict = {}
    hook.count_tokens(tokens, str(transcript))
    assert totals(tokens)[:2] == (100, 1)
    later = assistant("msg_1", usage(100, 40), second=2) + assistant("msg_2", usage(10, 5), second=3)
    partial = assistant("msg_3", usage(1000, 1000), second=4)
    with transcript.open("a") as f:
        f.write(later + partial[:50])  # Claude Code is still writing msg_3
    hook.count_tokens(tokens, str(transcript))
    assert totals(tokens)[:2] == (110, 45)  # msg_1 counted once, with its last usage
    assert tokens["offset"] == len((first + later).encode())
    with transcript.open("a") as f:
        f.write(partial[50:])
    hook.count_tokens(tokens, str(transcript))
    assert totals(tokens)[:2] == (1110, 1045)
    hook.count_tokens(tokens, str(transcript))  # nothing new: nothing more
    assert totals(tokens)[:2] == (1110, 1045)


def test_usage_reads_at_most_the_limit_per_call(tmp_path):
    transcript = tmp_path / "t.jsonl"
    lines = [assistant(f"msg_{i}", usage(1, 2), second=i) for i in range(10)]
    transcript.write_text("".join(lines))
    tokens: dict = {}
    limit = len(lines[0].encode()) * 3 + 10
    calls = 0
    while tokens.get("offset", 0) < transcript.stat().st_size:
        hook.count_tokens(tokens, str(transcript), limit=limit)
        calls += 1
        assert tokens["offset"] <= calls * limit
    assert calls == 4 and totals(tokens)[:2] == (10, 20)
    huge = tmp_path / "huge.jsonl"  # a line longer than the limit is skipped, not read forever
    huge.write_text('{"type":"user","x":"' + "z" * 3000 + '"}\n' + lines[0])
    tokens = {}
    for _ in range(8):
        hook.count_tokens(tokens, str(huge), limit=limit)
    assert totals(tokens)[:2] == (1, 2) and tokens["offset"] == huge.stat().st_size


def test_a_rewritten_or_new_transcript_is_read_from_the_start_without_counting_twice(tmp_path):
    transcript = tmp_path / "t.jsonl"
    old = [assistant(f"msg_{i}", usage(10, 1), second=i) for i in range(5)]
    transcript.write_text("".join(old))
    tokens: dict = {}
    hook.count_tokens(tokens, str(transcript))
    assert totals(tokens)[:2] == (50, 5)
    transcript.write_text(old[3] + old[4] + assistant("msg_9", usage(7, 7), second=9))  # shorter: rewritten
    hook.count_tokens(tokens, str(transcript))
    assert totals(tokens)[:2] == (57, 12) and "skip_before" not in tokens
    resumed = tmp_path / "resumed.jsonl"  # a new transcript that begins with a copy of the history
    resumed.write_text("".join(old) + assistant("msg_9", usage(7, 7), second=9)
                       + assistant("msg_10", usage(1, 1), second=10))
    hook.count_tokens(tokens, str(resumed))
    assert totals(tokens)[:2] == (58, 13) and tokens["transcript"] == str(resumed)


def test_session_start_counts_from_the_transcripts_end(tmp_path):
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(assistant("msg_old", usage(500, 500)))
    tokens: dict = {}
    hook.count_tokens(tokens, str(transcript), skip=True)
    assert totals(tokens)[:4] == (0, 0, 0, 0) and tokens["offset"] == transcript.stat().st_size
    with transcript.open("a") as f:
        f.write(assistant("msg_new", usage(3, 4, 5, 6), second=1))
    hook.count_tokens(tokens, str(transcript))
    assert totals(tokens) == (3, 4, 5, 6, "claude-opus-5-5")
    missing: dict = {}
    hook.count_tokens(missing, str(tmp_path / "nope.jsonl"))
    assert "offset" not in missing
    hook.count_tokens(missing, str(tmp_path / "nope.jsonl"), skip=True)  # written after SessionStart
    assert missing["offset"] == 0 and missing["transcript"] == str(tmp_path / "nope.jsonl")


def test_a_stop_waits_a_moment_for_the_turns_last_message(tmp_path):
    """Claude Code writes the last message a few tens of ms after starting the Stop hooks."""
    transcript = tmp_path / "t.jsonl"
    first = assistant("msg_1", usage(1, 1), block={"type": "text", "text": "Done"})
    transcript.write_text(first)
    late = assistant("msg_2", usage(10, 10), second=1, block={"type": "text", "text": 'All "42" tests pass.\nDone'})

    def write_late() -> None:
        time.sleep(0.1)
        with transcript.open("a") as f:
            f.write(late)

    writer = threading.Thread(target=write_late)
    writer.start()
    start = time.monotonic()
    assert hook.wait_for_text(str(transcript), 'All "42" tests pass.\nDone', wait=5)
    assert 0.1 <= time.monotonic() - start < 4
    writer.join()
    start = time.monotonic()
    assert not hook.wait_for_text(str(transcript), "a message never written", wait=0.2)
    assert 0.2 <= time.monotonic() - start < 2  # bounded: the next count takes what comes later
    assert not hook.wait_for_text(str(transcript), "Done", since=len(first) + len(late), wait=0)  # only what is new
    assert hook.wait_for_text(str(transcript), "Done", since=len(first), wait=0)
    assert not hook.wait_for_text(str(tmp_path / "nope"), "Done", wait=5)
    assert not hook.wait_for_text(str(transcript), "")


def test_tokens_are_counted_on_the_events_that_end_a_turn(tmp_path):
    transcript = tmp_path / "t.jsonl"
    transcript.write_text("")
    path = str(transcript)
    steps = [
        ("idle", real("SessionStart", source="startup", transcript_path=path), assistant("m1", usage(1, 1))),
        ("working", real("UserPromptSubmit", transcript_path=path), ""),
        ("working", real("PostToolUse", tool_name="Read", transcript_path=path),
         assistant("m2", usage(2, 2), second=2)),
        ("done", real("Stop", transcript_path=path, last_assistant_message="ok"), ""),
        ("error", real("StopFailure", transcript_path=path, error="unknown"), assistant("m3", usage(4, 4), second=3)),
        ("offline", real("SessionEnd", transcript_path=path, reason="other"), ""),
    ]
    doc, seen = None, []
    for offset, (status, payload, appended) in enumerate(steps):
        doc = apply_event(doc, status, payload, T0 + offset, transcript=hook.count_tokens)
        seen.append(doc["metrics"].get("tokens", {}).get("input"))
        with transcript.open("a") as f:
            f.write(appended)
    assert seen == [0, 0, 0, 3, 3, 7]  # m1 was written after SessionStart, before the Stop
    assert apply_event(doc, "done", real("Stop", transcript_path=path), T0 + 9)["metrics"]["tokens"]["input"] == 7


# -- the process, in a private tmux server ---------------------------------------------------


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "NAVISH_SESSION_DIR")}
    return {**env, **extra}


@pytest.fixture
def tmux():
    """A private tmux server; `tmux(*args)` runs a client of it and returns its stdout."""
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed")
    tmpdir = tempfile.mkdtemp(prefix="nvh")  # short: socket paths are limited to ~100 bytes
    env = clean_env(TMUX_TMPDIR=tmpdir)

    def run(*args: str) -> str:
        return subprocess.run(["tmux", *args], env=env, check=True, capture_output=True, text=True).stdout

    run.env = env
    yield run
    subprocess.run(["tmux", "kill-server"], env=env, capture_output=True)
    shutil.rmtree(tmpdir, ignore_errors=True)


def pane_env(tmux, session: str, **extra) -> dict:
    """The environment a process started in `session`'s pane has."""
    out = tmux("display-message", "-p", "-t", session, "#{socket_path}\t#{pid}\t#{pane_id}")
    socket, pid, pane = out.strip().split("\t")
    return {**tmux.env, "TMUX": f"{socket},{pid},0", "TMUX_PANE": pane, **extra}


def run_hook(status: str, ev: dict | str, env: dict, *args: str) -> subprocess.CompletedProcess:
    data = ev if isinstance(ev, str) else json.dumps(ev)
    return subprocess.run(
        [sys.executable, "-I", "-S", str(HOOK_SOURCE), status, *args],
        input=data.encode(), capture_output=True, env=env, timeout=30,
    )


def read_status(path: Path) -> dict:
    obj = parse_status_object(path.read_bytes(), path.name)
    session = session_from_object("local", obj, path.name, None)
    assert session.name == obj["tmux_session"]
    return obj


def test_the_installed_command_run_by_a_shell_inside_tmux(tmux, tmp_path):
    sessions = tmp_path / "sessions"
    script = tmp_path / "hook.sh"
    command = hook_command(str(HOOK_SOURCE), "working", python=sys.executable, session_dir=str(sessions))
    script.write_text(command + "\n")
    (tmp_path / "event.json").write_text(json.dumps(event("PostToolUse", tool_name="Read")))
    done = tmp_path / "done"
    tmux("new-session", "-d", "-s", "web app", "-c", str(tmp_path),
         f"sh hook.sh < event.json > out 2> err; echo $? > {done}")
    deadline = time.monotonic() + 20
    while not done.exists() or not done.read_text():
        assert time.monotonic() < deadline, "the hook did not finish"
        time.sleep(0.05)
    assert done.read_text().strip() == "0"
    assert (tmp_path / "out").read_bytes() == b"" and (tmp_path / "err").read_bytes() == b""
    doc = read_status(sessions / "web app.json")
    assert doc["tmux_session"] == "web app"
    assert (doc["status"], doc["session_id"], doc["cwd"], doc["message"]) == ("working", LEAD, "/proj", "")
    assert doc["metrics"]["tools"] == {"recent": ["Read"], "counts": {"Read": 1}}
    assert abs(doc["timestamp"] - time.time()) < 30
    assert sorted(p.name for p in sessions.iterdir()) == [".navish-hook.lock", "web app.json"]


def test_the_session_is_the_one_of_the_hooks_pane(tmux, tmp_path):
    tmux("new-session", "-d", "-s", "alpha", "sleep 600")
    tmux("new-session", "-d", "-s", "beta", "sleep 600")
    result = run_hook("done", event("Stop"), pane_env(tmux, "alpha"), "--session-dir", str(tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert read_status(tmp_path / "alpha.json")["status"] == "done"
    outside = run_hook("done", event("Stop", session_id="0123456789abc"), clean_env(NAVISH_SESSION_DIR=str(tmp_path)))
    assert outside.returncode == 0
    assert read_status(tmp_path / "claude-01234567.json")["tmux_session"] == "claude-01234567"


def test_a_burst_of_concurrent_events_loses_no_update(tmux, tmp_path):
    tmux("new-session", "-d", "-s", "burst", "sleep 600")
    env = pane_env(tmux, "burst", NAVISH_SESSION_DIR=str(tmp_path))
    path = tmp_path / "burst.json"
    tools = ["Read", "Edit", "Bash", "Grep"] * 5
    bad_reads, reads = [], []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            reads.append(1)
            try:
                parse_status_object(data, path.name)
            except ValueError as exc:
                bad_reads.append((exc, data))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-I", "-S", str(HOOK_SOURCE), "working"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            )
            for _ in tools
        ]
        time.sleep(0.5)  # let every interpreter start, then release all the events at once
        for proc, tool in zip(procs, tools):
            proc.stdin.write(json.dumps(event("PostToolUse", tool_name=tool)).encode())
        for proc in procs:
            proc.stdin.close()
        outputs = []
        for proc in procs:
            with proc:
                outputs.append((proc.stdout.read(), proc.stderr.read()))
    finally:
        stop.set()
        thread.join()
    assert [p.returncode for p in procs] == [0] * len(tools)
    assert set(outputs) == {(b"", b"")}
    assert not bad_reads and reads
    doc = read_status(path)
    assert doc["metrics"]["tools"]["counts"] == {"Read": 5, "Edit": 5, "Bash": 5, "Grep": 5}
    assert len(doc["metrics"]["tools"]["recent"]) == hook.RECENT_TOOLS
    assert sorted(p.name for p in tmp_path.iterdir()) == [".navish-hook.lock", "burst.json"]


def test_lead_and_teammate_processes_in_one_session(tmux, tmp_path):
    tmux("new-session", "-d", "-s", "team", "sleep 600")
    env = pane_env(tmux, "team")
    path = tmp_path / "team.json"
    path.write_text(json.dumps({
        "tmux_session": "team", "session_id": LEAD, "status": "working", "timestamp": int(time.time()) - 100,
        "metrics": {"time": {"started": int(time.time()) - 200}, "note": "kept"},
        "agents": {"codex": {"status": "idle"}},
    }))
    steps = [
        ("idle", event("TeammateIdle", teammate_name="tester", team_name="crew", session_id="mate")),
        ("working", event("PostToolUse", tool_name="Read", session_id="mate")),
        ("done", event("Stop", session_id="mate")),
        ("idle", event("TeammateIdle", teammate_name="tester", session_id="mate")),
        ("done", event("Stop")),
    ]
    for status, ev in steps:
        result = run_hook(status, ev, env, "--session-dir", str(tmp_path))
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    doc = read_status(path)
    assert doc["status"] == "done" and doc["session_id"] == LEAD
    [agent] = doc["team"]["agents"]
    assert (agent["name"], agent["status"], agent["session_id"]) == ("tester", "stopped", "mate")
    assert doc["metrics"]["tools"]["counts"] == {}  # the teammate's tool use is not the lead's
    assert 99 <= doc["metrics"]["time"]["working_seconds"] <= 110
    assert 199 <= doc["metrics"]["time"]["total_seconds"] <= 210
    assert doc["metrics"]["note"] == "kept" and doc["agents"] == {"codex": {"status": "idle"}}


def claude_env(tmux, session: str, pid: int = 4242, **extra) -> dict:
    """What a hook started by Claude Code in `session`'s pane has in its environment."""
    return pane_env(tmux, session, CLAUDE_PID=str(pid), CLAUDE_CODE_SESSION_ID=LEAD, CLAUDE_PROJECT_DIR="/proj",
                    **extra)


def hook_ok(status: str, ev: dict, env: dict, session_dir: Path) -> None:
    result = run_hook(status, ev, env, "--session-dir", str(session_dir))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_session_start_writes_the_file_with_the_claude_process(tmux, tmp_path):
    tmux("new-session", "-d", "-s", "proj", "sleep 600")
    env = claude_env(tmux, "proj")
    hook_ok("idle", real("SessionStart", source="startup", model="claude-opus-5-5"), env, tmp_path)
    doc = read_status(tmp_path / "proj.json")
    assert (doc["status"], doc["message"], doc["session_id"]) == ("idle", "", LEAD)
    assert (doc["tmux_pane"], doc["claude_pid"]) == (env["TMUX_PANE"], 4242)
    assert files(tmp_path) == [".navish-hook.lock", "proj.json"]


@pytest.mark.parametrize("last_session", [False, True], ids=["server-lives", "server-gone"])
def test_session_end_after_kill_session_updates_the_sessions_file(tmux, tmp_path, last_session):
    """tmux kill-session runs SessionEnd when the pane is gone: no stray claude-<id>.json."""
    if not last_session:
        tmux("new-session", "-d", "-s", "other", "sleep 600")
    tmux("new-session", "-d", "-s", "proj", "sleep 600")
    env = claude_env(tmux, "proj")
    transcript, sessions = tmp_path / "t.jsonl", tmp_path / "sessions"
    transcript.write_text("")
    hook_ok("idle", real("SessionStart", source="startup", transcript_path=str(transcript)), env, sessions)
    hook_ok("done", real("Stop", transcript_path=str(transcript), last_assistant_message="Done."), env, sessions)
    transcript.write_text(assistant("msg_1", usage(11, 22, 33, 44)))
    tmux("kill-session", "-t", "proj")
    hook_ok("offline", real("SessionEnd", reason="other", transcript_path=str(transcript)), env, sessions)
    assert files(sessions) == [".navish-hook.lock", "proj.json"]
    doc = read_status(sessions / "proj.json")
    assert (doc["status"], doc["tmux_session"], doc["tmux_pane"]) == ("offline", "proj", env["TMUX_PANE"])
    assert totals(doc["metrics"]["tokens"]) == (11, 22, 33, 44, "claude-opus-5-5")


def test_session_end_without_a_file_writes_nothing(tmux, tmp_path):
    tmux("new-session", "-d", "-s", "keep", "sleep 600")
    tmux("new-session", "-d", "-s", "proj", "sleep 600")
    env = claude_env(tmux, "proj")
    tmux("kill-session", "-t", "proj")
    (tmp_path / "keep.json").write_text(json.dumps({"tmux_session": "keep", "session_id": "other", "status": "done"}))
    hook_ok("offline", real("SessionEnd", reason="other"), env, tmp_path)
    hook_ok("offline", real("SessionEnd", reason="other"), clean_env(CLAUDE_PID="77"), tmp_path)  # outside tmux
    assert files(tmp_path) == [".navish-hook.lock", "keep.json"]
    assert read_status(tmp_path / "keep.json")["status"] == "done"


def test_an_event_racing_the_kill_finds_its_processs_file(tmux, tmp_path):
    tmux("new-session", "-d", "-s", "keep", "sleep 600")
    tmux("new-session", "-d", "-s", "proj", "sleep 600")
    env = claude_env(tmux, "proj", pid=5151)
    hook_ok("working", real("UserPromptSubmit"), env, tmp_path)
    tmux("kill-session", "-t", "proj")
    hook_ok("done", real("Stop", last_assistant_message="Stopped."), env, tmp_path)
    assert files(tmp_path) == [".navish-hook.lock", "proj.json"]
    assert status_and_message(read_status(tmp_path / "proj.json")) == ("done", "Stopped.")


def test_find_session_file_prefers_the_process_then_the_session(tmp_path):
    def put(name: str, **fields) -> None:
        (tmp_path / f"{name}.json").write_text(json.dumps({"tmux_session": name, **fields}))

    put("a", session_id="s1", claude_pid=10, timestamp=5)
    put("b", session_id="s1", claude_pid=11, timestamp=9, tmux_pane="%1")
    put("c", session_id="s2", claude_pid=12, timestamp=1)
    put("d", session_id="lead", team={"agents": [{"name": "m", "session_id": "s3"}]})
    (tmp_path / "e.json").write_text("{broken s1")
    (tmp_path / ".tmp.abcdef").write_text(json.dumps({"session_id": "s1", "claude_pid": 12}))
    def find(sid: str, **process) -> str:
        found = hook.find_session_file(str(tmp_path), sid, process)
        return os.path.basename(found[0]) if found else "-"

    assert find("s1") == "b.json"  # the newest of two
    assert find("s1", tmux_pane="%9", claude_pid=10) == "a.json"  # this very process
    assert find("s1", claude_pid=12) == "c.json"  # the process counts more than the session id
    assert find("", claude_pid=12) == "c.json"
    assert find("s3") == "d.json"  # a teammate's own process
    assert find("s9", claude_pid=99) == "-" and find("") == "-"


def test_a_malformed_status_file_is_logged_and_replaced(tmp_path):
    path = tmp_path / "claude-lead-sid.json"
    path.write_text("{not json")
    result = run_hook("done", event("Stop"), clean_env(), "--session-dir", str(tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert read_status(path)["status"] == "done"
    assert "unreadable status file" in (tmp_path / ".navish-hook.log").read_text()


@pytest.mark.parametrize("stdin", ["{", "[1, 2]"])
def test_a_bad_event_changes_nothing_and_is_logged(tmp_path, stdin):
    path = tmp_path / "claude-unknown.json"
    path.write_text('{"status": "done"}')
    result = run_hook("working", stdin, clean_env(), "--session-dir", str(tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert path.read_text() == '{"status": "done"}'
    assert "failed" in (tmp_path / ".navish-hook.log").read_text()


def test_bad_usage_is_logged_in_the_default_dir(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "navish.hook"], input=b"{}", capture_output=True,
        env=clean_env(NAVISH_SESSION_DIR=str(tmp_path)),
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert "usage: hook.py STATUS" in (tmp_path / ".navish-hook.log").read_text()


def test_the_log_stays_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(hook, "LOG_LIMIT", 100)
    for _ in range(10):
        hook.log_error(str(tmp_path), "x" * 40)
    assert (tmp_path / ".navish-hook.log").stat().st_size <= 100 + 80
    assert (tmp_path / ".navish-hook.log.1").exists()


def test_main_in_process_takes_its_streams(tmp_path, monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    stdin = io.StringIO(json.dumps(event("UserPromptSubmit")))
    assert hook.main(["working", f"--session-dir={tmp_path}"], stdin=stdin) == 0
    assert stdout.getvalue() == ""
    assert read_status(tmp_path / "claude-lead-sid.json")["status"] == "working"


# -- in the real Claude Code (tests/claude_code.py: the pinned CLI against a fake Messages API) ------

from tests.claude_code import claude_bin, claude_factory, fake_api  # noqa: E402,F401
from tests.fake_anthropic import ask_user_question, bash, error, text  # noqa: E402


def wait_file(path: Path, what: str, check, timeout: float = 15.0) -> dict:
    """Wait until the status file at `path` satisfies `check`; returns it."""
    deadline = time.monotonic() + timeout
    doc: dict = {}
    while time.monotonic() < deadline:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            doc = {}
        if doc and check(doc):
            return doc
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never showed {what}; last seen: {doc}")


def test_the_hook_installed_in_the_real_claude_code(claude_factory, fake_api, tmp_path):
    """Every stage a user sees, as navish's installed hook records it from the real client's events."""
    sessions = tmp_path / "hook-sessions"
    use = lambda i, o, cr, cc: {"input_tokens": i, "output_tokens": o,  # noqa: E731
                                "cache_read_input_tokens": cr, "cache_creation_input_tokens": cc}
    fake_api.on("run it", bash("rm -rf build", "Remove build", usage=use(100, 10, 1000, 50)),
                text("Removed it.\n\nAnything else?", usage=use(200, 20, 2000, 60)))
    fake_api.on("ask me", ask_user_question("Which colour do you want?", ["Red", "Blue"], usage=use(1, 2, 3, 4)),
                text("Red it is.", usage=use(5, 6, 7, 8)))
    fake_api.on("break it", error(400, "invalid_request_error", "scripted failure"))
    command = lambda status: hook_command(str(HOOK_SOURCE), status, python=sys.executable,  # noqa: E731
                                          session_dir=str(sessions))
    from navish.hook_install import merge_hooks

    config = claude_factory.home / ".claude.json"  # "Claude is waiting for your input" after 1 s, not 60
    config.write_text(json.dumps({**json.loads(config.read_text()), "messageIdleNotifThresholdMs": 1000}))
    claude = claude_factory.start("proj", hooks=merge_hooks({}, command)["hooks"], record_hooks=True)
    path = sessions / "proj.json"
    claude.wait_status("idle")
    doc = wait_file(path, "idle from SessionStart", lambda d: d["status"] == "idle")
    assert (doc["tmux_pane"], doc["claude_pid"], doc["cwd"]) == (claude.pane_id, claude.pid, str(claude.cwd))
    assert doc["metrics"]["tokens"] == {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0,
                                        "transcript": doc["metrics"]["tokens"]["transcript"], "offset": 0}

    claude.prompt("run it")
    doc = wait_file(path, "the Bash permission", lambda d: d["status"] == "permission")
    assert doc["message"] == "Bash: rm -rf build"
    claude.wait_for("Do you want to proceed?")
    claude.answer("Enter")
    doc = wait_file(path, "done", lambda d: d["status"] == "done")
    assert doc["message"] == "Anything else?"
    tokens = doc["metrics"]["tokens"]
    model = [e["message"]["model"] for e in claude.transcript() if e.get("type") == "assistant"][-1]
    assert totals(tokens) == (300, 30, 3000, 110, model)
    assert doc["metrics"]["tools"]["counts"] == {"Bash": 1}
    claude.wait_hook("Notification", notification_type="idle_prompt")
    time.sleep(0.5)  # navish's hook runs next to the recorder: give it time to (not) write
    assert json.loads(path.read_text()) == doc  # a finished turn stays finished


    claude.prompt("ask me")
    doc = wait_file(path, "the question", lambda d: d["status"] == "waiting")
    assert doc["message"] == "Which colour do you want?"
    claude.wait_for("Which colour do you want?")
    claude.answer("Enter")
    try:
        doc = wait_file(path, "done after the answer", lambda d: d["status"] == "done", timeout=5)
    except AssertionError:
        claude.answer("Enter")  # a version that asks to confirm the answers
        doc = wait_file(path, "done after the answer", lambda d: d["status"] == "done")
    assert doc["message"] == "Red it is." and totals(doc["metrics"]["tokens"]) == (306, 38, 3010, 122, model)

    claude.prompt("break it")
    doc = wait_file(path, "the API error", lambda d: d["status"] == "error")
    assert doc["message"] == "API Error: 400 scripted failure"
    assert totals(doc["metrics"]["tokens"]) == (306, 38, 3010, 122, model)  # an error costs nothing

    claude.kill_session()
    doc = wait_file(path, "offline after kill-session", lambda d: d["status"] == "offline")
    assert doc["tmux_session"] == "proj"
    assert files(sessions) == [".navish-hook.lock", "proj.json"]  # no stray claude-<id>.json, no error log
