"""LocalHost details a user notices: how `attach` reaches a session from inside or outside tmux,
and the `navish hook` entry point Claude Code can call."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from navish.hosts.local import LocalHost
from tests.conftest import NAVISH


def test_attach_outside_tmux_attaches_to_the_session_id(monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    command = LocalHost("~/s").attach_command("$3")
    assert command.argv == ["tmux", "attach-session", "-t", "$3"]


def test_attach_inside_the_same_tmux_server_switches_client(monkeypatch, tmp_path):
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,123,0")
    assert LocalHost("~/s").attach_command("$1").argv == ["tmux", "switch-client", "-t", "$1"]
    socket = tmp_path / "sock"
    monkeypatch.setenv("TMUX", f"{socket},123,0")
    assert LocalHost("~/s", tmux_socket=str(socket)).attach_command("$1").argv[-3:] == ["switch-client", "-t", "$1"]


def test_attach_inside_another_tmux_server_nests_without_its_tmux_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,123,0")
    command = LocalHost("~/s", tmux_socket=str(tmp_path / "demo.sock")).attach_command("$1")
    assert command.argv == ["tmux", "-S", str(tmp_path / "demo.sock"), "attach-session", "-t", "$1"]
    assert command.unset_env == ("TMUX",)


def test_navish_hook_entry_point_records_a_status_and_prints_nothing(world, tmp_path):
    sessions = Path(world["HOME"]) / "status files"
    event = {"hook_event_name": "Notification", "session_id": "0123456789", "cwd": "/w", "message": "Claude needs input"}
    result = subprocess.run(
        [NAVISH, "hook", "waiting", "--session-dir", str(sessions)],
        input=json.dumps(event), capture_output=True, text=True, env=world,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    data = json.loads((sessions / "claude-01234567.json").read_text())
    assert (data["status"], data["message"], data["cwd"]) == ("waiting", "Claude needs input", "/w")
