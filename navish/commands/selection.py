"""Which sessions a command acts on: one name, a glob over `HOST:SESSION`, `--host`, `--status`,
or, for commands that allow it, the most urgent session when none is named."""

from __future__ import annotations

import fnmatch
from typing import Any
from collections.abc import Awaitable, Callable

from ..argspec import Kind, Opt, Pos
from ..errors import NavishError, NotFound, UsageError
from ..model import STATUS_NAMES, Session
from ..registry import host_in_mode, sort_sessions
from ..sanitize import one_line
from .base import Context, Result

TARGETS = Pos("SESSION", Kind.SESSION, optional=True)
URGENT = Pos("SESSION", Kind.SESSION, optional=True)
"""One session, the most urgent when left out."""
HOST = Opt(("--host",), "H", Kind.HOST, help="only sessions of host H (local or a remote)")
STATUS = Opt(("--status",), "S", Kind.STATUS, help="only sessions in status S (a comma-separated list)")
GLOB_CHARS = "*?["


def statuses(command: str, text: str | None) -> list[str]:
    """The statuses of a `--status` value; an unknown one is a usage error naming the valid ones."""
    wanted = [s.strip().lower() for s in (text or "").split(",") if s.strip()]
    for status in wanted:
        if status not in STATUS_NAMES:
            raise UsageError(f"{command}: unknown status {one_line(status)!r} (expected one of: {', '.join(STATUS_NAMES)})")
    return wanted


def matches(pattern: str, session: Session) -> bool:
    """`dev:*` and `*:spike-*` match `HOST:SESSION`; a pattern without `:` matches the name."""
    text = session.ref if ":" in pattern else session.name
    return fnmatch.fnmatchcase(text, pattern)


def most_urgent(sessions: list[Session]) -> Session | None:
    """The session to look at first: attention order, then the one that has waited longest."""
    waiting = [s for s in sessions if s.needs_attention]
    return min(waiting, key=lambda s: (s.rank, s.recency(), s.ref)) if waiting else None


async def select(ctx: Context, command: str, a: dict[str, Any], *, urgent_default: bool = False) -> list[Session]:
    """The sessions `a` names (SESSION, --host, --status), sorted by attention.

    A plain SESSION resolves exactly as everywhere else; with none of them, the most urgent
    session within the filter when `urgent_default`, else a usage error.
    """
    app = ctx.app
    pattern, host = a.get("session"), a.get("host")
    wanted = statuses(command, a.get("status"))
    if host is not None:
        app.registry.host(host)  # NotFound, listing the hosts
    if pattern and not any(c in pattern for c in GLOB_CHARS) and host is None and not wanted:
        return [await app.resolve(pattern)]
    if not (pattern or host or wanted) and not urgent_default:
        raise UsageError(f"{command}: name a SESSION (globs like 'dev:*' allowed), or give --host or --status")
    await app.ensure_fresh([host] if host else [h for h in app.registry.host_names() if host_in_mode(h, app.filter_mode)])
    sessions = [
        s
        for s in app.registry.sessions("all" if host else app.filter_mode)
        if (host is None or s.host == host) and (not wanted or s.display_status in wanted) and (not pattern or matches(pattern, s))
    ]
    if not (pattern or host or wanted):
        first = most_urgent(sessions)
        if first is None:
            raise NotFound(f"{command}: no session needs you right now")
        return [first]
    if not sessions:
        raise NotFound(f"{command}: no session matches {_described(pattern, host, wanted)}")
    return sort_sessions(sessions)


def _described(pattern: str | None, host: str | None, wanted: list[str]) -> str:
    parts = [repr(one_line(pattern))] if pattern else []
    if host:
        parts.append(f"--host {one_line(host)}")
    if wanted:
        parts.append(f"--status {','.join(wanted)}")
    return " ".join(parts)


async def for_each(
    ctx: Context,
    command: str,
    sessions: list[Session],
    act: Callable[[Session], Awaitable[str]],
    *,
    question: str | None = None,
    yes: bool = False,
) -> Result:
    """Run `act` on each session, one line of result each; asks once first when `question` is
    given (`{n}` and `{refs}` filled in) or several sessions are selected."""
    refs = ", ".join(one_line(s.ref) for s in sessions)
    if question is not None or len(sessions) > 1:
        text = (question or "{verb} {n} sessions ({refs})?").format(verb=command.capitalize(), n=len(sessions), refs=refs)
        if not await ctx.confirmed(command, text, yes):
            return Result(f"nothing done ({command})", exit_code=1)
    if len(sessions) == 1:
        return Result(await act(sessions[0]))
    lines, failed = [], 0
    for session in sessions:
        try:
            lines.append(await act(session))
        except NavishError as exc:
            failed += 1
            lines.append(f"{one_line(session.ref)}: {one_line(exc)}")
    return Result("\n".join(lines), exit_code=1 if failed else 0)
