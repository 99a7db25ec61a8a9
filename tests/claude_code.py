"""The real Claude Code CLI in tmux, against the fake Messages API (tests/fake_anthropic.py).

The pinned npm package is installed by `.ci/run` into `$NAVISH_CLAUDE_CODE_DIR` (default
`~/.cache/navish-tests/claude-code`); `$NAVISH_CLAUDE_CODE` may name a `claude` binary instead.
Without it the fixtures skip, which fails under CI (tests/conftest.py). Import the fixtures:

    from tests.claude_code import claude_bin, claude_factory, claude_host, fake_api  # noqa: F401
    from tests.fake_anthropic import bash, text

    def test_x(claude_factory, fake_api):
        fake_api.on("make the file", bash("touch made", "Create it"), text("Made it."))
        claude = claude_factory.start(record_hooks=True)   # in the test world's private tmux server
        claude.wait_status("idle")
        claude.prompt("make the file")
        claude.wait_status("waiting", "permission prompt")
        claude.wait_for("Do you want to proceed?")
        claude.answer("Enter")                             # "1. Yes"
        claude.wait_hook("Stop")

`claude_factory` starts claudes in the test's `world` (the HOME and tmux server that `ssh_host_for`
also serves, so the same claude is "on" that SSH host too); `claude_host(name)` makes a separate
host: its own sshd, HOME and tmux server, with a `RemoteConfig` and a `[remotes.NAME]` TOML block.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import Tmux
from tests.fake_anthropic import FakeAnthropic
from tests.sshd import pid_alive
from tests.waiting import wait_until

CLAUDE_CODE_VERSION = "2.1.328"
"""The pinned `@anthropic-ai/claude-code` version (.ci/run reads it from this line)."""

_REAL_HOME = os.environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
CLAUDE_CODE_DIR = Path(os.environ.get("NAVISH_CLAUDE_CODE_DIR") or f"{_REAL_HOME}/.cache/navish-tests/claude-code")
CLAUDE_BINARY_OVERRIDE = os.environ.get("NAVISH_CLAUDE_CODE", "")
# read at import: the `world` fixture removes NAVISH_* and replaces HOME in this process

API_KEY = "sk-ant-api03-navish-test-key-0000000000000000000000000000000000-NAVISHTESTKEY0000000"
"""The dummy key; its last 20 characters are pre-approved in ~/.claude.json."""

DIALOG_SETTLE = 0.5
"""Keys sent less than about 0.3 s after a dialog appears are dropped: answer no earlier than this."""

HOOK_EVENTS = (
    "SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "Notification", "PostToolUse",
    "PostToolUseFailure", "Stop", "StopFailure", "SubagentStop", "PreCompact", "SessionEnd",
)

HOOK_RECORDER = r'''
import json, os, subprocess, sys, time
raw = sys.stdin.read()
try:
    payload = json.loads(raw)
except ValueError:
    payload = raw
env = {k: os.environ.get(k) for k in ("CLAUDE_PID", "TMUX_PANE", "CLAUDE_CODE_SESSION_ID", "CLAUDE_PROJECT_DIR", "TMUX")}
entry = {"time": time.time(), "event": payload.get("hook_event_name") if isinstance(payload, dict) else None,
         "payload": payload, "env": env}
if isinstance(payload, dict) and payload.get("transcript_path"):
    try:
        entry["transcript_size"] = os.path.getsize(payload["transcript_path"])
    except OSError:
        entry["transcript_size"] = None
if entry["event"] == "SessionEnd" and env["TMUX_PANE"]:
    pane = subprocess.run(["tmux", "display-message", "-p", "-t", env["TMUX_PANE"], "#{pane_id}"],
                          capture_output=True, text=True)
    entry["pane_alive"] = pane.returncode == 0 and pane.stdout.strip() == env["TMUX_PANE"]
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(fd, (json.dumps(entry) + "\n").encode())  # one write: hooks of one event run in parallel
os.close(fd)
'''
"""A hook command's body: appends one JSON line {time, event, payload (stdin), env (a few variables),
transcript_size (bytes of transcript_path then), pane_alive (SessionEnd: does $TMUX_PANE still resolve)}."""


def claude_binary() -> str | None:
    """The pinned `claude` binary, or None when it is not installed."""
    if CLAUDE_BINARY_OVERRIDE:
        return CLAUDE_BINARY_OVERRIDE if os.access(CLAUDE_BINARY_OVERRIDE, os.X_OK) else None
    modules = CLAUDE_CODE_DIR / "node_modules" / "@anthropic-ai"
    # the platform package's native binary works whether or not npm ran the postinstall step
    candidates = sorted(modules.glob("claude-code-linux-*/claude")) + [CLAUDE_CODE_DIR / "node_modules" / ".bin" / "claude"]
    return next((str(p) for p in candidates if os.access(p, os.X_OK)), None)


def installed_version() -> str | None:
    try:
        return json.loads((CLAUDE_CODE_DIR / "node_modules/@anthropic-ai/claude-code/package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def claude_bin() -> str:
    """Path of the pinned `claude` (skips, i.e. fails under CI, when it is missing)."""
    path = claude_binary()
    if path is None:
        pytest.skip(f"Claude Code is not installed in {CLAUDE_CODE_DIR} (run .ci/run, or: npm install --prefix "
                    f"{CLAUDE_CODE_DIR} @anthropic-ai/claude-code@{CLAUDE_CODE_VERSION})")
    if not CLAUDE_BINARY_OVERRIDE:
        version = installed_version()
        assert version == CLAUDE_CODE_VERSION, f"{CLAUDE_CODE_DIR} holds Claude Code {version}, not the pinned {CLAUDE_CODE_VERSION}: rerun .ci/run"
    return path


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    """A started FakeAnthropic, stopped (and its held answers released) at teardown."""
    api = FakeAnthropic().start()
    yield api
    api.stop()


def claude_env(home: Path | str, tmux_tmpdir: Path | str, api_url: str, scratch: Path | str) -> dict[str, str]:
    """The environment a claude needs to start without an account, a network or a dialog."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMUX_TMPDIR": str(tmux_tmpdir),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        # cc-socks/<pid>.sock (path limit 103 bytes) and claude-<uid>/ go here, not into /tmp
        "TMPDIR": str(scratch),
        "XDG_RUNTIME_DIR": str(scratch),
        "ANTHROPIC_API_KEY": API_KEY,
        "ANTHROPIC_BASE_URL": api_url,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",  # else a HEAD /api/hello probe first
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
    }


def _update_json(path: Path, update: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text()) if path.exists() else {}
    update(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


class ClaudeWorld:
    """Where claudes run: a HOME and a tmux server (TMUX_TMPDIR), set up for Claude Code.

    Writes `~/.claude.json` (onboarding done, auto-mode nudge seen, the dummy key approved, `root`
    trusted: trust is inherited by subdirectories) and `~/.claude/settings.json`
    (`permissions.defaultMode: "default"`; the default auto mode needs Anthropic's servers); each one
    missing brings a dialog. With `config_dir`, claude runs with `CLAUDE_CONFIG_DIR` and both files,
    `sessions/` and `projects/` move there. `scratch` (a short /tmp dir) is claude's TMPDIR and
    XDG_RUNTIME_DIR (its sockets, its Bash tool's files) and holds the hook recorder and its log.
    """

    def __init__(self, home: Path, tmux_tmpdir: Path, api: FakeAnthropic, binary: str, *,
                 root: Path | None = None, name: str = "local", config_dir: Path | None = None):
        self.home, self.tmux_tmpdir, self.api, self.binary, self.name = Path(home), Path(tmux_tmpdir), api, binary, name
        self.config_dir = Path(config_dir) if config_dir else None
        self.root = Path(os.path.realpath(root or self.home))
        self.scratch = Path(tempfile.mkdtemp(prefix="navish-cc-"))
        self.hook_log = self.scratch / "hook-events.jsonl"
        self.recorder = self.scratch / "record_hook.py"
        self.recorder.write_text(HOOK_RECORDER)
        self.env = claude_env(self.home, self.tmux_tmpdir, api.url, self.scratch)
        if self.config_dir:
            self.env["CLAUDE_CONFIG_DIR"] = str(self.config_dir)
        self.tmux = Tmux(self.env)
        self.claudes: list[Claude] = []
        self._names = 0

        def config(data: dict[str, Any]) -> None:
            data.update(hasCompletedOnboarding=True, hasSeenAutoDefaultNudge=True)
            data.setdefault("customApiKeyResponses", {"approved": [], "rejected": []})["approved"].append(API_KEY[-20:])
            data.setdefault("projects", {}).setdefault(str(self.root), {})["hasTrustDialogAccepted"] = True

        _update_json(self.claude_json, config)
        self.update_settings({"permissions": {"defaultMode": "default"}})

    @property
    def claude_dir(self) -> Path:
        """`$CLAUDE_CONFIG_DIR`, else ~/.claude: settings.json, sessions/, projects/ (transcripts)."""
        return self.config_dir or self.home / ".claude"

    @property
    def claude_json(self) -> Path:
        return self.config_dir / ".claude.json" if self.config_dir else self.home / ".claude.json"

    @property
    def settings_path(self) -> Path:
        return self.claude_dir / "settings.json"

    @property
    def registry_dir(self) -> Path:
        return self.claude_dir / "sessions"

    def update_settings(self, settings: dict[str, Any] | None = None, hooks: dict[str, list] | None = None) -> None:
        """Merge keys into ~/.claude/settings.json; `hooks` entries are appended per event."""
        def update(data: dict[str, Any]) -> None:
            for key, value in (settings or {}).items():
                if isinstance(value, dict) and isinstance(data.get(key), dict):
                    data[key].update(value)
                else:
                    data[key] = value
            for event, entries in (hooks or {}).items():
                existing = data.setdefault("hooks", {}).setdefault(event, [])
                existing.extend(e for e in entries if e not in existing)

        _update_json(self.settings_path, update)

    def recorder_hooks(self) -> dict[str, list]:
        """A hooks dict recording every event into `hook_log` (matcher "" = every tool)."""
        command = f"{shlex.quote(sys.executable)} -I -S {shlex.quote(str(self.recorder))} {shlex.quote(str(self.hook_log))}"
        return {event: [{"matcher": "", "hooks": [{"type": "command", "command": command}]}] for event in HOOK_EVENTS}

    def trust(self, cwd: Path | str) -> None:
        """Accept the trust dialog for `cwd` (not needed under `root`)."""
        _update_json(self.claude_json,
                     lambda d: d.setdefault("projects", {}).setdefault(os.path.realpath(cwd), {}).update(hasTrustDialogAccepted=True))

    def start(self, session: str | None = None, cwd: Path | str | None = None, *, record_hooks: bool = False,
              hooks: dict[str, list] | None = None, settings: dict[str, Any] | None = None,
              env: dict[str, str] | None = None, args: tuple[str, ...] = (), width: int = 120, height: int = 40) -> Claude:
        """Start `claude` as the command of a new tmux session `session` (default cc1, cc2 ...) in `cwd`.

        `record_hooks` adds the recorder for every event; `hooks` (a settings.json `hooks` dict) and
        `settings` are merged into ~/.claude/settings.json first. `env` adds or overrides variables.
        Returns once the registry watcher runs; wait for `wait_status("idle")` to have a ready prompt.
        """
        self._names += 1
        session = session or f"cc{self._names}"
        cwd = Path(os.path.realpath(cwd or self.root / "proj"))
        cwd.mkdir(parents=True, exist_ok=True)
        if not str(cwd).startswith(str(self.root) + os.sep):
            self.trust(cwd)
        if record_hooks or hooks or settings:
            merged = dict(hooks or {})
            if record_hooks:
                for event, entries in self.recorder_hooks().items():
                    merged[event] = [*merged.get(event, []), *entries]
            self.update_settings(settings, merged)
        full_env = {**self.env, **(env or {})}
        # the pane's shell waits for a line, then execs claude: same pid, and the watcher sees the first write
        command = shlex.join(["sh", "-c", 'IFS= read -r _; exec "$0" "$@"', self.binary, *args])
        tmux_args = ["new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), "-c", str(cwd)]
        for key, value in full_env.items():
            tmux_args += ["-e", f"{key}={value}"]
        self.tmux(*tmux_args, f"exec {command}")
        claude = Claude(self, session, cwd)
        self.claudes.append(claude)
        claude.tmux("send-keys", "-t", claude.pane_id, "Enter")
        return claude

    def hook_entries(self) -> list[dict[str, Any]]:
        """Every recorded hook invocation of this world, in order."""
        if not self.hook_log.exists():
            return []
        return [json.loads(line) for line in self.hook_log.read_text().splitlines() if line.strip()]

    def close(self, kill_server: bool = True) -> None:
        """Stop every claude (kill-server, then SIGKILL stragglers) and remove the scratch dir."""
        for claude in self.claudes:
            claude.stop_watching()
        if kill_server:
            self.tmux.kill_server()
        for claude in self.claudes:
            with contextlib.suppress(TimeoutError):
                wait_until(lambda c=claude: not pid_alive(c.pid), 5, f"claude {claude.pid} to exit")
            if pid_alive(claude.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(claude.pid, signal.SIGKILL)
        shutil.rmtree(self.scratch, ignore_errors=True)


class Claude:
    """One running claude in a tmux pane: keys in, screen out, its registry file and hooks."""

    def __init__(self, world: ClaudeWorld, session: str, cwd: Path):
        self.world, self.session, self.cwd, self.tmux = world, session, cwd, world.tmux
        info = self.tmux("display-message", "-p", "-t", f"={session}:", "#{pane_pid} #{window_id} #{pane_id}").split()
        self.pid, self.window_id, self.pane_id = int(info[0]), info[1], info[2]
        self.registry_path = world.registry_dir / f"{self.pid}.json"
        self.history: list[tuple[float, dict[str, Any] | None]] = []
        """Every distinct registry content seen (time.time(), parsed JSON or None when absent), polled every 10 ms."""
        self._shown: dict[str, float] = {}
        """Texts waited for since the last key press, and when each was first seen."""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name=f"registry-{self.pid}", daemon=True)
        self._watcher.start()

    # -- the registry --------------------------------------------------------------------------

    def _watch(self) -> None:
        last: Any = ()
        while not self._stop.is_set():
            data = self.registry()
            if data != last:
                with self._lock:
                    self.history.append((time.time(), data))
                last = data
            self._stop.wait(0.01)

    def stop_watching(self) -> None:
        self._stop.set()
        self._watcher.join(2)

    def registry(self) -> dict[str, Any] | None:
        """The registry file `<pid>.json` now, or None when absent."""
        try:
            return json.loads(self.registry_path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:  # caught mid-write: try again
            time.sleep(0.005)
            try:
                return json.loads(self.registry_path.read_text())
            except (OSError, ValueError):
                return None

    def current(self) -> dict[str, Any] | None:
        """The registry content the watcher saw last (so `statuses()` already includes it)."""
        with self._lock:
            return self.history[-1][1] if self.history else None

    def statuses(self, since: float = 0.0) -> list[str | None]:
        """The sequence of registry statuses seen since `since` (`waiting:<waitingFor>`; None: no status; "gone": no file)."""
        with self._lock:
            entries = [data for t, data in self.history if t >= since]
        out: list[str | None] = []
        for data in entries:
            if data is None:
                value: str | None = "gone"
            elif data.get("status") == "waiting":
                value = f"waiting:{data.get('waitingFor')}"
            else:
                value = data.get("status")
            if not out or out[-1] != value:
                out.append(value)
        return out

    def wait_status(self, status: str | None, waiting_for: str | None = None, timeout: float = 15.0) -> dict[str, Any]:
        """Wait until the registry file says `status` (and `waitingFor`), as the watcher sees it; returns its content."""
        def check() -> dict[str, Any] | None:
            data = self.current()
            if data and data.get("status") == status and (waiting_for is None or data.get("waitingFor") == waiting_for):
                return data
            return None

        return wait_until(check, timeout, f"registry status {status} {waiting_for or ''} of claude {self.pid} "
                                          f"(seen {self.statuses()}, now {self.registry()})\n{self.screen()}")  # type: ignore[return-value]

    def wait_gone(self, timeout: float = 15.0) -> None:
        wait_until(lambda: not self.registry_path.exists(), timeout, f"{self.registry_path} to be removed")

    # -- the screen ----------------------------------------------------------------------------

    def screen(self) -> str:
        """The pane's text; the no-break space claude puts after `❯` in its input box reads as a space."""
        return self.tmux("capture-pane", "-p", "-t", self.pane_id, check=False).replace("\xa0", " ")

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        """Wait until `text` is on screen; returns the screen (and notes when it first appeared, for `answer`)."""
        screen = wait_until(lambda: s if text in (s := self.screen()) else "", timeout,
                            f"{text!r} on claude's screen:\n{self.screen()}")
        self._shown.setdefault(text, time.monotonic())
        return screen  # type: ignore[return-value]

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.pane_id, "-l", text)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.pane_id, *keys)

    def prompt(self, text: str) -> float:
        """Type `text` in the input box, wait for it on screen, press Enter; returns time.time() before Enter."""
        self.type(text)
        self.wait_for(f"❯ {text}")
        self._shown.clear()
        sent = time.time()
        self.keys("Enter")
        return sent

    def answer(self, *keys: str) -> float:
        """Press `keys` at a dialog, no sooner than DIALOG_SETTLE after the text last waited for appeared
        (without a `wait_for` since the last key press: DIALOG_SETTLE from now). Returns time.time() before."""
        shown = max(self._shown.values(), default=time.monotonic())
        remaining = DIALOG_SETTLE - (time.monotonic() - shown)
        if remaining > 0:
            time.sleep(remaining)  # the client drops keys sent right after a dialog opens
        self._shown.clear()
        sent = time.time()
        self.keys(*keys)
        return sent

    # -- hooks, transcript ---------------------------------------------------------------------

    def hooks(self, event: str | None = None, since: float = 0.0) -> list[dict[str, Any]]:
        """Recorded hook invocations of this claude (`record_hooks=True`): {time, event, payload, env}."""
        return [e for e in self.world.hook_entries()
                if e["env"].get("CLAUDE_PID") == str(self.pid) and e["time"] >= since and (event is None or e["event"] == event)]

    def wait_hook(self, event: str, since: float = 0.0, timeout: float = 15.0, **fields: Any) -> dict[str, Any]:
        """Wait for a recorded `event` whose payload has `fields`; returns the entry."""
        def find() -> dict[str, Any] | None:
            for entry in self.hooks(event, since):
                if all(entry["payload"].get(k) == v for k, v in fields.items()):
                    return entry
            return None

        return wait_until(find, timeout, f"hook {event} {fields or ''} (recorded: {[e['event'] for e in self.hooks()]})")  # type: ignore[return-value]

    @property
    def session_id(self) -> str | None:
        """The registry's `sessionId` (remembered after the file is gone)."""
        with self._lock:
            return next((data["sessionId"] for _, data in self.history if data and "sessionId" in data), None)

    def transcript_path(self) -> Path | None:
        if not self.session_id:
            return None
        return next((self.world.claude_dir / "projects").glob(f"*/{self.session_id}.jsonl"), None)

    def transcript(self) -> list[dict[str, Any]]:
        """The session's transcript lines (`~/.claude/projects/<cwd slug>/<sessionId>.jsonl`)."""
        path = self.transcript_path()
        if path is None:
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    # -- stopping ------------------------------------------------------------------------------

    def alive(self) -> bool:
        return pid_alive(self.pid)

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 10.0) -> None:
        """Send `sig` to claude and wait until the process is gone."""
        os.kill(self.pid, sig)
        wait_until(lambda: not self.alive(), timeout, f"claude {self.pid} to exit after signal {sig}")

    def kill_session(self) -> None:
        """`tmux kill-session`, as a user would."""
        self.tmux("kill-session", "-t", f"={self.session}")

    def stop(self, timeout: float = 10.0) -> None:
        """Kill the tmux session and wait until claude has exited and removed its registry file."""
        self.kill_session()
        wait_until(lambda: not self.alive(), timeout, f"claude {self.pid} to exit")
        self.wait_gone(timeout)


@pytest.fixture
def claude_factory(world: dict[str, str], tmux: Tmux, fake_api: FakeAnthropic, claude_bin: str) -> Iterator[ClaudeWorld]:
    """A ClaudeWorld on the test's `world` (its HOME, its private tmux server): `.start(...) -> Claude`."""
    claude_world = ClaudeWorld(Path(world["HOME"]), Path(world["TMUX_TMPDIR"]), fake_api, claude_bin,
                               root=Path(world["HOME"]).parent)
    yield claude_world
    claude_world.close()


class ClaudeHost:
    """An SSH test host with its own world: `sshd` (tests/sshd.Sshd), `claude` (a ClaudeWorld), `spec`."""

    def __init__(self, name: str, sshd: Any, claude: ClaudeWorld, client_key: Path):
        self.name, self.sshd, self.claude, self.client_key = name, sshd, claude, client_key

    def start(self, *args: Any, **kw: Any) -> Claude:
        """Start a claude on this host (see ClaudeWorld.start)."""
        return self.claude.start(*args, **kw)

    def spec(self, **kw: Any) -> Any:
        """The navish RemoteConfig for this host (known_hosts trusting it alone)."""
        return self.sshd.spec(self.client_key, name=self.name, **kw)

    def toml(self, session_dir: str | None = None) -> str:
        """A `[remotes.NAME]` block for navish's config."""
        spec = self.spec()
        lines = [f"\n[remotes.{self.name}]", f'host = "{spec.host}"', f"port = {spec.port}", f'user = "{spec.user}"',
                 f'key = "{spec.key}"', f'known_hosts = "{spec.known_hosts}"']
        if session_dir:
            lines.append(f'session_dir = "{session_dir}"')
        return "\n".join(lines) + "\n"


@pytest.fixture
def claude_host(sshd_factory: Callable[..., Any], client_key: Path, fake_api: FakeAnthropic,
                claude_bin: str) -> Iterator[Callable[..., ClaudeHost]]:
    """`make(name="dev") -> ClaudeHost`: an sshd whose sessions get their own HOME and tmux server,
    where `host.start()` runs claude (the fake API on 127.0.0.1 serves it too)."""
    hosts: list[ClaudeHost] = []

    def make(name: str = "dev") -> ClaudeHost:
        server = sshd_factory()
        world = ClaudeWorld(server.home, server.tmux_dir, fake_api, claude_bin, root=server.home, name=name)
        host = ClaudeHost(name, server, world, client_key)
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.claude.close()
