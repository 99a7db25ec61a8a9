"""Claude Code's own registry of live sessions, and the one status navish shows. Pure, no I/O.

Claude Code (since about 2.1.139) keeps `<config dir>/sessions/<pid>.json` per interactive
process: `status` is `idle`, `busy` or `waiting` (with `waitingFor`), rewritten within ~0.1 s of
every transition (Esc and "No" included, which no hook reports), removed on a clean exit. So the
registry is the authority for the state; navish's hook file adds what only it knows (the message,
tool counts, metrics, team agents) and decides between `done`, `error` and `idle` when Claude Code
says `idle`. A registry file of a dead pid (left by SIGKILL) counts as no file at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from collections.abc import Mapping

from .dialog import parse_screen
from .model import Session, as_number
from .parsing import StatusFile, parse_status_object

PERMISSION_PROMPT = "permission prompt"
FINISHED = ("done", "error")
"""Hook statuses that say how an `idle` turn ended."""
CLOCK_SLACK = 2.0
"""Seconds a hook's whole-second timestamp may trail the registry's transition and still count."""


@dataclass(frozen=True)
class ClaudeProcess:
    """One live Claude Code process as its registry file describes it."""

    pid: int
    fields: Mapping[str, Any]

    def text(self, key: str) -> str:
        value = self.fields.get(key)
        return value if isinstance(value, str) else ""

    @property
    def state(self) -> str:
        """`idle`, `busy`, `waiting`, ...; "" before the first transition is written."""
        return self.text("status")

    @property
    def pane(self) -> str:
        """The tmux pane id from `tmux: "session:@window.%pane"` (the session part goes stale)."""
        _, sep, pane = self.text("tmux").rpartition(".%")
        return f"%{pane}" if sep and pane.isdigit() else ""

    @property
    def since(self) -> float | None:
        """When the status last changed (epoch seconds), else when the process started."""
        for key in ("statusUpdatedAt", "startedAt"):
            millis = as_number(self.fields.get(key))
            if millis is not None:
                return millis / 1000
        return None


def live_processes(
    files: tuple[StatusFile, ...], alive: Mapping[int, tuple[int | None, str | None]]
) -> tuple[list[ClaudeProcess], list[str]]:
    """The registry entries of processes that are still the ones that wrote them, and warnings.

    A pid reused by another process since (its `procStart` differs) is dead to us; legacy
    `pid-N.json` files and files without a matching `pid` are ignored.
    """
    processes, warnings = [], []
    for file in files:
        stem = file.name.removesuffix(".json")
        if not stem.isdigit():
            continue
        try:
            obj = parse_status_object(file.content or b"", file.name)
        except ValueError as exc:
            warnings.append(f"skipped Claude Code's registry file {file.name}: {exc}")
            continue
        pid = int(stem)
        if obj.get("pid") != pid or pid not in alive:
            continue
        _, started = alive[pid]
        recorded = obj.get("procStart")
        if started is not None and isinstance(recorded, str) and recorded != started:
            continue
        processes.append(ClaudeProcess(pid, obj))
    return processes, warnings


def merged(
    hook: Session | None, process: ClaudeProcess, *, host: str, name: str, live: bool, screen: str | None = None
) -> Session:
    """The session as navish shows it: the registry's state, the hook's details; while it waits
    and the hook has nothing to say, what its dialog on `screen` (its pane's last lines) asks."""
    state = process.state
    since = process.since
    waiting_for = process.text("waitingFor")
    if state == "busy" or state == "shell":
        status = "working"
    elif state == "waiting":
        status = "permission" if waiting_for == PERMISSION_PROMPT else "waiting"
    elif state in ("idle", ""):
        status = "idle"
        if hook is not None and hook.status in FINISHED and _at_or_after(hook.timestamp, since):
            status = hook.status  # how the turn ended: only the hook knows
    else:
        status = state  # a state this version of navish does not know: shown as it is
    message = ""
    if hook is not None and hook.status == status and _at_or_after(hook.timestamp, since):
        message = hook.message
    elif status in ("permission", "waiting"):
        asked = parse_screen(process.pane, json.dumps(dict(process.fields)), screen).context if screen else ""
        message = asked or (f"Claude Code: {waiting_for}" if waiting_for else "")
    fields: dict[str, Any] = dict(hook.fields) if hook is not None else {}
    fields["claude_code"] = _summary(process)
    base = hook or Session(host=host, name=name, cwd=process.text("cwd"))
    return replace(
        base,
        name=name,
        status=status,
        message=message,
        cwd=base.cwd or process.text("cwd"),
        fields=fields,
        live=live,
        tmux_pane=process.pane or base.tmux_pane,
        claude_pid=process.pid,
        status_since=since,
    )


def _at_or_after(timestamp: float | None, since: float | None) -> bool:
    return since is None or (timestamp is not None and timestamp >= since - CLOCK_SLACK)


def _summary(process: ClaudeProcess) -> dict[str, Any]:
    keys = ("pid", "sessionId", "status", "waitingFor", "name", "version", "statusUpdatedAt", "tmux")
    return {k: process.fields[k] for k in keys if k in process.fields and _plain(process.fields[k])}


def _plain(value: Any) -> bool:
    """A small JSON scalar (what ls --json may carry from another machine)."""
    return isinstance(value, (str, int, float, bool)) and len(json.dumps(value)) <= 512
