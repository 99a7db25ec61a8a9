"""Notifications that reach the user anywhere: the terminal bell, a desktop notification (OSC 9 /
OSC 777 escape sequences, which travel over SSH, or notify-send / osascript), a tmux message on the
client navish runs in, and a command of the user's (ntfy, Slack, a phone), all from the registry's
changes.

Sessions turning within `group` seconds give one notification ("3 sessions need you: …"); a state
must last `dwell` seconds to be announced (a flip back is not); muted hosts, the quiet hours and
the session the user is looking at (attached, or selected in the live view) are left out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO
from collections.abc import Callable

from .model import Session
from .sanitize import one_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifySettings:
    """`[notify]` in the config."""

    bell: bool = True
    desktop: str = "auto"
    """`auto` (OSC 9 and 777 to the terminal, plus notify-send/osascript when present), `osc`, `off`."""
    tmux: bool = True
    command: str = ""
    """Run with sh for each notification; it gets NAVISH_TITLE, NAVISH_MESSAGE, NAVISH_COUNT, NAVISH_SESSIONS."""
    quiet: str = ""
    """`HH:MM-HH:MM`: no notification in those hours (local time)."""
    dwell: float = 1.5
    group: float = 1.5
    muted: frozenset[str] = field(default_factory=frozenset)
    """Hosts never announced."""


@dataclass(frozen=True)
class Notification:
    title: str
    message: str
    sessions: tuple[Session, ...]

    @classmethod
    def of(cls, sessions: list[Session]) -> Notification:
        parts = [f"{one_line(s.ref, 40)} {one_line(s.attention_reason, 30)}" for s in sessions[:5]]
        more = f", and {len(sessions) - 5} more" if len(sessions) > 5 else ""
        if len(sessions) == 1:
            s = sessions[0]
            detail = f": {one_line(s.message, 100)}" if s.message else ""
            return cls(f"{one_line(s.ref, 60)} needs you", f"{one_line(s.attention_reason)}{detail}", tuple(sessions))
        return cls(f"{len(sessions)} sessions need you", ", ".join(parts) + more, tuple(sessions))


def in_quiet_hours(quiet: str, now: time.struct_time) -> bool:
    """Whether `now` falls in `HH:MM-HH:MM` (which may wrap past midnight)."""
    try:
        start, end = (int(h) * 60 + int(m) for h, m in (part.split(":") for part in quiet.split("-")))
    except ValueError:
        return False
    minute = now.tm_hour * 60 + now.tm_min
    return start <= minute < end if start <= end else minute >= start or minute < end


class Notifier:
    """Turns sessions that newly need the user into grouped, dwelled notifications."""

    def __init__(
        self,
        settings: NotifySettings,
        still_needs_you: Callable[[Session], bool],
        *,
        terminal: TextIO | None = None,
        environ: dict[str, str] | None = None,
        muted: Callable[[str], bool] | None = None,
    ):
        self.settings = settings
        self.muted = muted or (lambda host: host in settings.muted)
        """Whether a host is muted now (`remote mute` changes it while navish runs)."""
        self.still_needs_you = still_needs_you
        self.terminal = terminal or sys.stdout
        self.environ = dict(os.environ if environ is None else environ)
        self.focus: str | None = None
        """The session the user is looking at (`HOST:SESSION`): never announced."""
        self._pending: dict[str, Session] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.sent: list[Notification] = []
        self._children: set[asyncio.Task[None]] = set()

    def announce(self, sessions: list[Session]) -> None:
        """Sessions that newly need the user (the shell's notices): notified after the dwell,
        grouped with others turning meanwhile, if they still need the user then."""
        for session in sessions:
            if not self.muted(session.host):
                self._pending[session.ref] = session
        if self._pending and self._timer is None:
            delay = max(self.settings.dwell, self.settings.group)
            self._timer = asyncio.get_running_loop().call_later(delay, self._flush)

    def _flush(self) -> None:
        self._timer = None
        due = [s for s in self._pending.values() if s.ref != self.focus and self.still_needs_you(s)]
        self._pending.clear()
        if not due or (self.settings.quiet and in_quiet_hours(self.settings.quiet, time.localtime())):
            return
        note = Notification.of(sorted(due, key=lambda s: (s.rank, s.ref)))
        self.sent.append(note)
        self.deliver(note)

    def deliver(self, note: Notification) -> None:
        """Every configured channel; a failing one is logged, never raised."""
        out = ""
        if self.settings.bell:
            out += "\a"
        if self.settings.desktop in ("auto", "osc"):
            out += f"\x1b]9;{note.title}: {note.message}\x07"
            out += f"\x1b]777;notify;{note.title};{note.message}\x07"
        if out:
            try:
                self.terminal.write(out)
                self.terminal.flush()
            except OSError:
                log.debug("terminal notification failed", exc_info=True)
        if self.settings.desktop == "auto":
            self._desktop(note)
        if self.settings.tmux and self.environ.get("TMUX"):
            self._run(["tmux", "display-message", "-d", "5000", f"navish: {note.title}: {note.message}"])
        if self.settings.command:
            self._run(["/bin/sh", "-c", self.settings.command], self._command_env(note))

    def _desktop(self, note: Notification) -> None:
        if shutil.which("notify-send") and (self.environ.get("DISPLAY") or self.environ.get("WAYLAND_DISPLAY")):
            self._run(["notify-send", "--app-name=navish", note.title, note.message])
        elif shutil.which("osascript"):
            script = "on run argv\ndisplay notification (item 2 of argv) with title (item 1 of argv)\nend run"
            self._run(["osascript", "-e", script, note.title, note.message])

    def _command_env(self, note: Notification) -> dict[str, str]:
        return {
            **self.environ,
            "NAVISH_TITLE": note.title,
            "NAVISH_MESSAGE": note.message,
            "NAVISH_COUNT": str(len(note.sessions)),
            "NAVISH_SESSIONS": " ".join(one_line(s.ref) for s in note.sessions),
        }

    def _run(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        """Start `argv` in the background (output discarded, 10 s at most); never wait, never raise."""
        task = asyncio.get_running_loop().create_task(self._spawn(argv, env or self.environ))
        self._children.add(task)
        task.add_done_callback(self._children.discard)

    async def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            log.debug("notification %s failed", argv[0], exc_info=True)
            return
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except (TimeoutError, asyncio.CancelledError):
            proc.kill()
            await proc.wait()

    async def close(self) -> None:
        """Cancel the pending group and wait for the notification commands still running."""
        if self._timer is not None:
            self._timer.cancel()
        await asyncio.gather(*self._children, return_exceptions=True)
