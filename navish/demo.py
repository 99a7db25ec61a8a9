"""`navish --demo`: a throw-away world to try every command without Claude Code.

A temporary session dir, a private tmux server on its own socket with a handful of sessions in
different states, and one real git repository. Everything is removed when the context exits.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

from .hosts.local import LocalHost

# name, status, message, what the pane shows; None status: a tmux session without a status file
_SESSIONS = [
    ("api", "permission", "Claude needs your permission to use Bash", "● Bash(pytest -q tests/)\n  Do you want to proceed?\n  ❯ 1. Yes\n    2. No"),
    ("web", "waiting", "Claude is waiting for your input", "● The dev server is up on :5173.\n  What should I build next?"),
    ("docs", "working", "", "● Writing docs/usage.md …\n  ⎿  Read 3 files"),
    ("tests", "error", "Tool failed: pytest exited with status 1", "● Bash(pytest)\n  ⎿  2 failed, 31 passed"),
    ("refactor", "working", "", "● Team refactor-crew: 2 agents\n  tester is waiting for you"),
    ("notes", "done", "", "● All notes merged into NOTES.md."),
    ("scratch", None, "", "$ # a tmux session without a status file (ls --all)"),
]


@dataclass
class DemoWorld:
    root: Path
    host: LocalHost
    note: str
    """What the user should know about this demo (how to detach, what is missing)."""


@contextmanager
def demo_world() -> Iterator[DemoWorld]:
    root = Path(tempfile.mkdtemp(prefix="navish-demo-"))
    socket = root / "tmux.sock"
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    try:
        sessions_dir = root / "sessions"
        sessions_dir.mkdir()
        repo = _make_repo(root / "api", env)
        prefix = _prefix_for_nesting(env)
        notes = [f"after attach, detach with {prefix} d" + (" (the demo's tmux prefix, inside your tmux)" if "TMUX" in os.environ else "")]
        if shutil.which("git") is None:
            notes.append("git is not installed: the demo's git example will say so")
        now = int(time.time())
        for age, (name, status, message, pane) in enumerate(_SESSIONS):
            cwd = repo if name == "api" else root
            banner = root / f"{name}.txt"
            banner.write_text(f"\x1b[1mclaude\x1b[0m — demo session {name}\n\n{pane}\n")
            _tmux(socket, env, "new-session", "-d", "-s", name, "-x", "100", "-y", "30", "-c", str(cwd),
                  f"cat {shlex.quote(str(banner))}; exec cat")
            if age == 0:
                _tmux(socket, env, "set-option", "-g", "prefix", prefix)
            if status is not None:
                _write_status(sessions_dir, name, status, message, str(cwd), now - 40 * age)
        _write_status(sessions_dir, "old-spike", "done", "", str(root), now - 86400)  # its tmux session is gone
        _add_team(sessions_dir / "refactor.json", now)
        yield DemoWorld(root, LocalHost(str(sessions_dir), tmux_socket=str(socket)), "; ".join(notes))
    finally:
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _tmux(socket: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["tmux", "-S", str(socket), *args], env=env, check=True, capture_output=True)


def _write_status(directory: Path, name: str, status: str, message: str, cwd: str, timestamp: int) -> None:
    data = {"tmux_session": name, "status": status, "message": message, "cwd": cwd, "timestamp": timestamp}
    (directory / f"{name}.json").write_text(json.dumps(data) + "\n")


def _add_team(path: Path, now: int) -> None:
    data = json.loads(path.read_text())
    data["team"] = {
        "name": "refactor-crew",
        "agents": [
            {"name": "tester", "status": "waiting", "timestamp": now - 5},
            {"name": "reviewer", "status": "working", "timestamp": now - 30},
        ],
    }
    path.write_text(json.dumps(data) + "\n")


def _prefix_for_nesting(env: dict[str, str]) -> str:
    """The demo server's prefix: C-b, or C-a inside a tmux whose own prefix is C-b (so the two
    never fight over the same key)."""
    if "TMUX" not in os.environ:
        return "C-b"
    outer = subprocess.run(["tmux", "show-options", "-gv", "prefix"], capture_output=True, text=True)
    return "C-b" if outer.stdout.strip() == "C-a" else "C-a"


def _make_repo(path: Path, env: dict[str, str]) -> Path:
    path.mkdir()
    if shutil.which("git") is None:
        return path
    git_env = {**env, "GIT_AUTHOR_NAME": "navish demo", "GIT_AUTHOR_EMAIL": "demo@example.invalid",
               "GIT_COMMITTER_NAME": "navish demo", "GIT_COMMITTER_EMAIL": "demo@example.invalid"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, env=git_env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (path / "app.py").write_text("print('hello from the demo api')\n")
    git("add", "app.py")
    git("commit", "-q", "-m", "Add the demo api")
    git("remote", "add", "origin", "git@example.invalid:demo/api.git")
    (path / "app.py").write_text("print('hello from the demo api, edited')\n")
    return path
