"""Shared fixtures: a private world per test (HOME, XDG dirs, a private tmux server), status-file
writers, and a driver for the real `navish` executable in a tmux pane.

Nothing here touches the developer's own tmux server, ~/.ssh or config. Under CI a skipped test
counts as a failure: the real-component tests must run there.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

NAVISH = str(Path(sys.executable).parent / "navish")

pytest_plugins = ["tests.sshd"]  # real-sshd fixtures: sshd_factory, client_key

from tests.waiting import wait_until  # noqa: E402  (re-exported for the tests)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {report.longrepr}"


@pytest.fixture(autouse=True)
def event_loop():  # type: ignore[no-untyped-def]
    """One event loop per test, so a pooled SSH connection lives across `run` calls."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    asyncio.set_event_loop(None)


def run(coro: Any) -> Any:
    """Run a coroutine to completion on the test's loop (the suite does without pytest-asyncio)."""
    return asyncio.get_event_loop().run_until_complete(coro)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A private environment: HOME, XDG dirs, TMUX_TMPDIR; also applied to this process."""
    home = tmp_path / "home"
    home.mkdir()
    tmux_dir = tmp_path / "tmux"
    tmux_dir.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "TMUX_TMPDIR": str(tmux_dir),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "NO_COLOR": "1",
    }
    for key in list(os.environ):
        if key.startswith(("TMUX", "XDG_", "NAVISH_")):
            monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


class Tmux:
    """The 'user's' tmux server of a test world (default socket under the private TMUX_TMPDIR)."""

    def __init__(self, env: dict[str, str], socket: str | None = None):
        self.env = env
        self.prefix = ["tmux", "-S", socket] if socket else ["tmux"]

    def __call__(self, *args: str, check: bool = True) -> str:
        result = subprocess.run([*self.prefix, *args], env=self.env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def new(self, name: str, command: str = "exec cat", cwd: str | None = None) -> None:
        args = ["new-session", "-d", "-s", name, "-x", "120", "-y", "30"]
        if cwd:
            args += ["-c", cwd]
        self(*args, command)

    def sessions(self) -> list[str]:
        result = subprocess.run([*self.prefix, "list-sessions", "-F", "#{session_name}"], env=self.env, capture_output=True, text=True)
        return result.stdout.splitlines() if result.returncode == 0 else []

    def kill_server(self) -> None:
        subprocess.run([*self.prefix, "kill-server"], env=self.env, capture_output=True)


@pytest.fixture
def tmux(world: dict[str, str]):  # type: ignore[no-untyped-def]
    assert shutil.which("tmux"), "tmux is required for this test (apt-get install tmux)"
    server = Tmux(world)
    yield server
    server.kill_server()


@pytest.fixture
def ssh_host_for(world: dict[str, str], sshd_factory, client_key, event_loop):  # type: ignore[no-untyped-def]
    """`make(session_dir) -> SshHost`: this test's world (HOME, tmux) reached over a real sshd.

    The sshd gives its sessions the world's HOME and TMUX_TMPDIR, so a test can set up files and
    tmux sessions locally and act on them through SSH exactly as through the local host.
    """
    from navish.hosts.ssh import SshPool

    pools: list[SshPool] = []

    def make(session_dir: str, name: str = "dev"):  # type: ignore[no-untyped-def]
        server = sshd_factory(start=False)
        server.home, server.tmux_dir = Path(world["HOME"]), Path(world["TMUX_TMPDIR"])
        server.start()
        pool = SshPool(config=None, agent_path=None)
        pools.append(pool)
        return pool.host(server.spec(client_key, name=name, session_dir=session_dir))

    yield make
    for pool in pools:
        event_loop.run_until_complete(pool.close_all())


@pytest.fixture
def session_dir(world: dict[str, str]) -> Path:
    path = Path(world["HOME"]) / ".claude-sessions"
    path.mkdir()
    return path


def write_status(directory: Path, name: str, status: str = "working", **fields: Any) -> Path:
    data = {"tmux_session": name, "status": status, "message": "", "cwd": "/tmp", "timestamp": int(time.time())}
    data.update(fields)
    path = directory / f"{name}.json"
    tmp = directory / f".tmp.{os.getpid()}"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
    return path


def navish(world: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run the real `navish` executable in the test world."""
    return subprocess.run([NAVISH, *args], env=world, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class Pane:
    """The real `navish` running in a pane of a separate driver tmux server; keys in, screen out."""

    def __init__(self, world: dict[str, str], socket: str, argv: list[str], width: int = 140, height: int = 40):
        self.driver = Tmux(world, socket)
        command = shlex.join(["env", "-u", "TMUX", *argv])
        self.driver("new-session", "-d", "-s", "driver", "-x", str(width), "-y", str(height), command)
        self.driver("set-option", "-t", "driver", "remain-on-exit", "on")

    def keys(self, *keys: str) -> None:
        self.driver("send-keys", "-t", "driver", *keys)

    def type(self, text: str) -> None:
        self.driver("send-keys", "-t", "driver", "-l", text)

    def screen(self) -> str:
        return self.driver("capture-pane", "-p", "-t", "driver")

    def history(self) -> str:
        """The screen and what scrolled off it."""
        return self.driver("capture-pane", "-p", "-t", "driver", "-S", "-500")

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        """Wait until `text` is on screen; a timeout shows the screen as it is then."""
        try:
            return wait_until(lambda: self.screen() if text in self.screen() else "", timeout, f"{text!r} on screen")  # type: ignore[return-value]
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}:\n{self.screen()}") from None

    def prompt_line(self) -> str:
        """The last prompt on screen (`navish> ` or `navish 3> `), or ""."""
        lines = [line for line in self.screen().splitlines() if re.match(r"navish( \d+)?>", line)]
        return lines[-1] if lines else ""

    def wait_for_prompt(self, timeout: float = 10.0) -> str:
        return wait_until(self.prompt_line, timeout, f"the prompt on screen:\n{self.screen()}")  # type: ignore[return-value]

    def close(self) -> None:
        self.driver.kill_server()


@pytest.fixture
def pane_factory(world: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    panes: list[Pane] = []

    def start(*args: str) -> Pane:
        pane = Pane(world, str(tmp_path / "driver.sock"), [NAVISH, *args])
        panes.append(pane)
        return pane

    yield start
    for pane in panes:
        pane.close()


def write_config(world: dict[str, str], text: str) -> Path:
    path = Path(world["XDG_CONFIG_HOME"]) / "navish" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
