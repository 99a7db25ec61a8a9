"""What trips a new user in the first hour (issue 12), driven as they would: `navish -c` and the
real shell in a tmux pane."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import NAVISH, navish, wait_until, write_status


def test_the_demo_works_without_git_and_says_so(world, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "env", "cat", "stat", "awk", "find", "tail", "dirname", "tmux", "python3", "mktemp", "rm", "head"):
        path = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        if path:
            (bin_dir / tool).symlink_to(path)
    env = {**world, "PATH": str(bin_dir)}
    result = subprocess.run([NAVISH, "--demo", "-c", "git api"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "git is not installed" in result.stdout
    assert "Traceback" not in result.stderr


def test_the_demo_touches_nothing_outside_its_directory(world, pane_factory):
    home = Path(world["HOME"])
    assert navish(world, "--demo", "-c", "ls").returncode == 0
    pane = pane_factory("--demo")
    pane.wait_for_prompt()
    pane.type("ls")
    pane.keys("Enter")
    pane.wait_for("old-spike")
    pane.keys("C-d")
    wait_until(lambda: pane.driver("list-panes", "-t", "driver", "-F", "#{pane_dead}").strip() == "1", what="navish to exit")
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []


def test_attach_says_how_to_detach(world, tmux, session_dir, pane_factory):
    tmux.new("work", "echo INSIDE; exec cat")
    write_status(session_dir, "work", "waiting")
    tmux("set-option", "-g", "prefix", "C-a")
    pane = pane_factory()
    pane.wait_for_prompt()
    pane.type("attach work")
    pane.keys("Enter")
    pane.wait_for("INSIDE")
    pane.keys("C-a", "d")
    screen = pane.wait_for("[detached")
    assert "attaching to local:work; detach with C-a d to come back" in pane.history() + screen


def test_dismiss_says_what_happened(world, tmux, session_dir):
    tmux.new("lead")
    write_status(session_dir, "lead", "working", team={"name": "t", "agents": [{"name": "tester", "status": "waiting"}]})
    write_status(session_dir, "calm", "working")
    tmux.new("calm")
    write_status(session_dir, "old", "waiting")  # its tmux session is gone
    navish(world, "-c", "help")
    done = navish(world, "-c", "dismiss lead")
    assert (done.returncode, done.stdout.strip()) == (0, "dismissed local:lead: agent tester: waiting → working")
    data = json.loads((session_dir / "lead.json").read_text())
    assert data["team"]["agents"][0]["status"] == "working"
    nothing = navish(world, "-c", "dismiss calm")
    assert (nothing.returncode, nothing.stdout.strip()) == (0, "nothing to dismiss: local:calm is working")
    gone = navish(world, "-c", "dismiss old")
    assert gone.returncode == 1 and "has no tmux session any more; remove its status file with prune" in gone.stderr
    assert json.loads((session_dir / "old.json").read_text())["status"] == "waiting"
