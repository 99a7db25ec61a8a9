"""One host's sessions from one poll: tmux panes, Claude Code's registry and status files merged.
Pure, no I/O.

A status file names its tmux session; a registry entry is matched to its tmux session by pane id,
then by pid (the pane's own process, or its parent when claude runs under the pane's shell).
A Claude Code session with a registry entry and no status file is listed like any other, so a host
with nothing installed but tmux and Claude Code shows its sessions.
"""

from __future__ import annotations

from dataclasses import replace

from .claude_registry import ClaudeProcess, live_processes, merged
from .model import Session
from .parsing import HostSessions, PollData, parse_status_object, session_from_object


def host_sessions(host: str, poll: PollData, *, include_untracked: bool = True) -> HostSessions:
    """Turn one poll into sessions: status files and Claude Code processes matched with tmux."""
    warnings = [f"{host}: {w}" for w in poll.warnings]
    if poll.tmux_sessions is None:
        warnings.append(f"{host}: tmux is not installed; sessions cannot be checked for liveness")
    live = set(poll.tmux_sessions or ())
    by_name: dict[str, Session] = {}
    for status_file in poll.files:
        try:
            obj = parse_status_object(status_file.content or b"", status_file.name)
        except ValueError as exc:
            warnings.append(f"{host}: skipped {status_file.name}: {exc}")
            continue
        session = session_from_object(host, obj, status_file.name, status_file.mtime)
        if poll.tmux_sessions is not None and session.name not in live:
            session = replace(session, live=False)
        previous = by_name.get(session.name)
        if previous is not None:
            keep, drop = sorted((previous, session), key=_owns_name_first)
            warnings.append(f"{host}: {drop.status_file} also claims session {session.name!r}; ignored")
            session = keep
        by_name[session.name] = session
    processes, skipped = live_processes(poll.registry, poll.alive)
    warnings += [f"{host}: {w}" for w in skipped]
    claimed: dict[str, Session] = {}
    for process in processes:
        name = _tmux_session(process, poll)
        in_tmux = name is not None
        name = name or f"claude-{process.text('sessionId')[:8] or process.pid}"
        screen = poll.screens.get(process.pane)
        session = merged(by_name.get(name), process, host=host, name=name, live=in_tmux or name in live, screen=screen)
        other = claimed.get(name)
        if other is None or session.rank < other.rank:  # two claudes in one tmux session: the more urgent
            claimed[name] = session
    by_name.update(claimed)
    if include_untracked:
        for name in poll.tmux_sessions or ():
            if name not in by_name:
                by_name[name] = Session(host=host, name=name, status_file=None)
    return HostSessions(tuple(by_name.values()), tuple(warnings))


def _tmux_session(process: ClaudeProcess, poll: PollData) -> str | None:
    """The tmux session a Claude Code process runs in: by its pane id, else by pid."""
    for pane in poll.panes:
        if process.pane and pane.pane_id == process.pane:
            return pane.session
    parent, _ = poll.alive.get(process.pid, (None, None))
    for pane in poll.panes:
        if pane.pid in (process.pid, parent):
            return pane.session
    return None


def _owns_name_first(session: Session) -> tuple[bool, float]:
    return (session.status_file != f"{session.name}.json", -session.recency())
