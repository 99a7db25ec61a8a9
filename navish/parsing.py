"""Pure parsers from what a host printed to the session model. No I/O.

Everything parsed here comes from another machine and is untrusted: a bad status file becomes a
warning naming it and never hides another session.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

from .model import Session, as_number

MAX_STATUS_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class StatusFile:
    """One `*.json` file of a host's session dir as the poll script saw it."""

    name: str
    mtime: float
    size: int
    content: bytes | None = None
    """None when the poll saw no content (an empty or unreadable file)."""


@dataclass(frozen=True)
class Pane:
    """One live tmux pane: its id (`%N`), the pid of its first process, its session's name."""

    pane_id: str
    pid: int
    session: str


@dataclass(frozen=True)
class PollData:
    """Everything one poll script run reports about a host."""

    tmux_sessions: tuple[str, ...] | None
    """Names of live tmux sessions; None when tmux is not installed there."""
    files: tuple[StatusFile, ...] = ()
    dir_missing: bool = False
    warnings: tuple[str, ...] = ()
    """What the poll skipped (unreadable or oversized files, a cut answer), without the host name."""
    panes: tuple[Pane, ...] = ()
    registry: tuple[StatusFile, ...] = ()
    """Claude Code's registry files (`<pid>.json`) of live pids."""
    alive: Mapping[int, tuple[int | None, str | None]] = field(default_factory=dict)
    """Live pids with a registry file: (parent pid, `procStart`), each None where unknown."""
    screens: Mapping[str, str] = field(default_factory=dict)
    """The last lines of the panes where Claude Code waits, by pane id (what its dialog asks)."""


@dataclass(frozen=True)
class HostSessions:
    """The sessions found on one host, and warnings about what was skipped."""

    sessions: tuple[Session, ...]
    warnings: tuple[str, ...] = field(default=())


def parse_status_object(text: str | bytes, filename: str) -> dict[str, Any]:
    """Decode a status file to its JSON object; raises ValueError with a one-line reason."""
    if not text or not text.strip():
        raise ValueError("empty file")
    if len(text) > MAX_STATUS_FILE_BYTES:
        raise ValueError(f"larger than {MAX_STATUS_FILE_BYTES} bytes")
    try:
        obj = json.loads(text)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def session_from_object(host: str, obj: dict[str, Any], filename: str, mtime: float | None) -> Session:
    """Build a Session from a status object; missing or mistyped optional fields get defaults."""
    name = obj.get("tmux_session")
    if not isinstance(name, str) or not name:
        name = filename.removesuffix(".json")
    return Session(
        host=host,
        name=name,
        status=_text(obj.get("status")),
        message=_text(obj.get("message")),
        cwd=_text(obj.get("cwd")),
        timestamp=as_number(obj.get("timestamp")),
        fields=obj,
        status_file=filename,
        mtime=mtime,
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)
