"""The prompt, the bottom status line, the progress line of a running command and the attention
notices, computed from the registry. Pure."""

from __future__ import annotations

from collections import Counter
from typing import Hashable, Iterable

from .model import ATTENTION_ORDER, HostState, Session
from .output import format_age
from .registry import Registry
from .sanitize import one_line

Fragments = list[tuple[str, str]]

_HOST_STYLE = {
    HostState.CONNECTED: "class:toolbar.ok",
    HostState.CONNECTING: "class:toolbar.pending",
    HostState.UNKNOWN: "class:toolbar.pending",
}


def attention_count(registry: Registry, mode: str) -> int:
    """How many sessions within the filter need the user now (reachable hosts only)."""
    return sum(1 for s in registry.sessions(mode) if s.needs_attention)


def prompt_fragments(count: int) -> Fragments:
    """`navish> `, or `navish 3> ` when 3 sessions need the user."""
    if not count:
        return [("class:prompt", "navish> ")]
    return [("class:prompt", "navish "), ("class:prompt.attention", str(count)), ("class:prompt", "> ")]


def toolbar_fragments(registry: Registry, mode: str, now: float) -> Fragments:
    """e.g. ` 2 need you │ 1 permission 1 waiting 3 working │ filter: all │ local● dev✗ │ polled 1s ago`"""
    sessions = registry.sessions(mode)
    live = [s for s in sessions if not s.offline]
    attention = attention_count(registry, mode)
    counts = Counter(s.display_status for s in live)
    order = [status for status in ATTENTION_ORDER if counts[status]] + sorted(
        status for status in counts if status not in ATTENTION_ORDER
    )
    out: Fragments = []
    if attention:
        out.append(("class:toolbar.attention", f" {attention} need{'s' * (attention == 1)} you "))
    else:
        out.append(("class:toolbar", " all quiet "))
    out.append(("class:toolbar", "│ "))
    if order:
        out.append(("class:toolbar", " ".join(f"{counts[s]} {one_line(s, 12)}" for s in order) + " "))
    else:
        out.append(("class:toolbar", "no sessions "))
    out.append(("class:toolbar", f"│ filter: {mode} │"))
    for host in registry.hosts():
        style = _HOST_STYLE.get(host.state, "class:toolbar.bad")
        label = f" {one_line(host.name, 20)}"
        if host.state is HostState.CONNECTED:
            label += " ●" + (" stale" if host.is_stale(now) else "")
        elif host.state in (HostState.UNKNOWN, HostState.CONNECTING):
            label += " …"
        else:
            label += f" ✗ {host.state.value}"
        out.append((style, label))
    polled = [h.polled_at for h in registry.hosts() if h.polled_at is not None]
    age = f"polled {format_age(now - max(polled))} ago" if polled else "not polled yet"
    out.append(("class:toolbar", f" │ {age} "))
    return out


def toolbar_text(registry: Registry, mode: str, now: float) -> str:
    return "".join(text for _, text in toolbar_fragments(registry, mode, now))


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def progress_fragments(command: str, elapsed: float, waiting: Iterable[tuple[str, HostState]] = ()) -> Fragments:
    """The line shown while a command runs, e.g.
    `⠹ remote add lab · waiting for lab (connecting) · 1.2s · Ctrl-C cancels`.

    `waiting`: the hosts whose poll is in flight, with their state.
    """
    frame = SPINNER[int(elapsed * 10) % len(SPINNER)]
    hosts = [
        one_line(name, 20) + ("" if state is HostState.CONNECTED else f" ({'connecting' if state is HostState.UNKNOWN else state.value})")
        for name, state in waiting
    ]
    out: Fragments = [("class:progress.spinner", f"{frame} "), ("class:progress", one_line(command, 50))]
    if hosts:
        shown = ", ".join(hosts[:4]) + (f" and {len(hosts) - 4} more" if len(hosts) > 4 else "")
        out.append(("class:progress", f" · waiting for {shown}"))
    out.append(("class:progress.detail", f" · {elapsed:.1f}s · Ctrl-C cancels"))
    return out


def session_keys(session: Session) -> frozenset[Hashable]:
    """What identifies a session across a rename: its Claude Code process (pid) and Claude Code
    session id, from the registry or the status file, on its host; empty when neither is known."""
    keys: set[Hashable] = set()
    if session.claude_pid is not None:
        keys.add((session.host, "pid", session.claude_pid))
    registry = session.fields.get("claude_code")
    for sid in (session.fields.get("session_id"), registry.get("sessionId") if isinstance(registry, dict) else None):
        if isinstance(sid, str) and sid:
            keys.add((session.host, "session_id", sid))
    return frozenset(keys)


def same_session(a: Session, b: Session) -> bool:
    """Whether two sightings are one session: by identity when both have one, else by name."""
    keys_a, keys_b = session_keys(a), session_keys(b)
    if keys_a and keys_b:
        return bool(keys_a & keys_b)
    return a.ref == b.ref


def new_attention(before: dict[str, Session], after: dict[str, Session]) -> list[Session]:
    """Sessions that need the user now and did not before (or now for a different reason).

    A session is matched across a rename by its identity (`session_keys`), so a renamed session
    that needs the user is not announced again.
    """
    by_key: dict[Hashable, Session] = {key: s for s in before.values() for key in session_keys(s)}
    by_ref = {s.ref: s for s in before.values()}
    found = []
    for session in after.values():
        candidates = [by_key[key] for key in session_keys(session) if key in by_key]
        if session.ref in by_ref:
            candidates.append(by_ref[session.ref])
        prior = next((c for c in candidates if same_session(c, session)), None)
        if prior is None or prior.attention_reason != session.attention_reason:
            found.append(session)
    return found


def notice_line(session: Session) -> str:
    message = f": {one_line(session.message, 100)}" if session.message else ""
    return f"! {one_line(session.ref, 60)} needs you ({one_line(session.attention_reason)}){message}"


VANISHED_GRACE = 30.0
"""Seconds a session that needed the user and vanished (not answered) is remembered."""


class AttentionMemory:
    """Which sessions to announce as newly needing the user, change after change.

    A rename is not atomic: tmux renames the session, then its status file moves, so a poll in
    between sees the old name gone and the new one untracked. A session that needed the user and
    vanished that way (rather than being answered: seen live without asking) is remembered for
    `VANISHED_GRACE` seconds, so when it comes back under its new name it is not news.
    """

    def __init__(self, asking: dict[str, Session] | None = None, grace: float = VANISHED_GRACE):
        self.asking: dict[str, Session] = dict(asking or {})
        self.vanished: list[tuple[Session, float]] = []
        self.grace = grace

    def update(self, asking: dict[str, Session], present: Iterable[Session], now: float) -> list[Session]:
        """`asking`: the sessions that ask for the user now, by ref; `present`: every session
        known now. Returns the ones to announce."""
        present = list(present)
        for ref, session in self.asking.items():
            if ref not in asking and not any(_answered(session, p) for p in present):
                self.vanished.append((session, now))
        self.vanished = [(s, at) for s, at in self.vanished if now - at <= self.grace]
        known = {f"\0vanished {i}": s for i, (s, _) in enumerate(self.vanished)}
        known.update(self.asking)
        fresh = new_attention(known, asking)
        self.asking = dict(asking)
        return fresh


def _answered(session: Session, seen: Session) -> bool:
    """`seen` is `session`, live, reported and no longer asking: the user answered it."""
    return seen.live and seen.tracked and not seen.asks_for_user and same_session(session, seen)
