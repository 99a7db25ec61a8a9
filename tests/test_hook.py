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
