"""`events`: the change stream, one line (or JSON line) per change, until interrupted."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from typing import Any
from collections.abc import Iterator

from ..model import Session
from ..registry import Change
from ..sanitize import one_line
from .base import JSON, Command, Context, Result
from .selection import HOST, STATUS, statuses


@dataclass(frozen=True)
class Event:
    at: float
    """When navish received it (epoch seconds)."""
    host: str
    session: str | None
    kind: str
    """added, status, message, removed, or host (a host's state)."""
    status: str | None
    previous_status: str | None
    message: str


def events_of(change: Change, at: float) -> Iterator[Event]:
    """The user-level events in one registry change."""
    if change.state is not None:
        before, after = change.state
        yield Event(at, change.host, None, "host", after.value, before.value, "")
    for s in change.added:
        yield Event(at, change.host, s.name, "added", s.display_status, None, s.message)
    for old, new in change.changed:
        kind = "status" if old.display_status != new.display_status or old.offline != new.offline else "message"
        yield Event(at, change.host, new.name, kind, _status(new), _status(old), new.message)
    for s in change.removed:
        yield Event(at, change.host, s.name, "removed", None, s.display_status, "")


def _status(session: Session) -> str:
    return "offline" if session.offline else session.display_status


def event_line(event: Event) -> str:
    if event.session is None:
        return f"{one_line(event.host)}  host {event.previous_status} → {event.status}"
    ref = one_line(f"{event.host}:{event.session}")
    if event.kind == "added":
        text = f"{ref}  added {event.status}"
    elif event.kind == "removed":
        text = f"{ref}  removed (was {event.previous_status})"
    else:
        text = f"{ref}  {event.previous_status} → {event.status}"
    return text + (f"  {one_line(event.message, 100)}" if event.message and event.kind != "removed" else "")


async def _events(ctx: Context, a: dict[str, Any]) -> Result:
    app = ctx.app
    wanted = set(statuses("events", a["status"]))
    if a["host"] is not None:
        app.registry.host(a["host"])  # NotFound, listing the hosts
    queue: asyncio.Queue[list[Change]] = asyncio.Queue()
    unsubscribe = app.hub.subscribe(queue.put_nowait)
    app.start()
    try:
        while True:
            for change in await queue.get():
                for event in events_of(change, app.clock()):
                    if a["host"] not in (None, event.host):
                        continue
                    if wanted and not wanted & {event.status, event.previous_status}:
                        continue
                    ctx.out(json.dumps(asdict(event), ensure_ascii=True) if a["json"] else event_line(event))
    except BrokenPipeError:  # the reader stopped reading: that is how a pipe ends a stream
        return Result()
    finally:
        unsubscribe()


EVENT_COMMANDS: tuple[Command, ...] = (
    Command(
        "events",
        "print each change (sessions added, status or message changed, removed; host states) until Ctrl-C",
        _events,
        (),
        (JSON, HOST, STATUS),
        details="--json prints JSON Lines: at, host, session, kind, status, previous_status, message.",
    ),
)
