"""The prompt, the bottom status line, the progress line of a running command and the attention
notices, computed from the registry. Pure."""

from __future__ import annotations

import shutil
from collections.abc import Hashable, Iterable, Sequence

from prompt_toolkit.formatted_text import StyleAndTextTuples

from .model import ATTENTION_ORDER, HostState, Session
from .output import format_age
from .registry import ATTENTION, HostStatus, Registry
from .sanitize import one_line
from .table import cells, cut

Fragments = StyleAndTextTuples

_HOST_STYLE = {
    HostState.CONNECTED: "class:toolbar.ok",
    HostState.CONNECTING: "class:toolbar.pending",
    HostState.UNKNOWN: "class:toolbar.pending",
}


def attention_count(registry: Registry, mode: str) -> int:
    """How many sessions within the filter need the user now (reachable hosts only)."""
    return registry.counts(mode)[ATTENTION]


def prompt_fragments(count: int) -> Fragments:
    """`navish> `, or `navish 3> ` when 3 sessions need the user."""
    if not count:
        return [("class:prompt", "navish> ")]
    return [("class:prompt", "navish "), ("class:prompt.attention", str(count)), ("class:prompt", "> ")]


def toolbar_fragments(registry: Registry, mode: str, now: float, width: int | None = None) -> Fragments:
    """e.g. ` 2 need you │ 1 permission 1 waiting 3 working │ filter: all │ local● dev✗ │ polled 1s ago`

    The line fits in `width` cells (default: the terminal's): when every host's own entry does
    not fit, the hosts are summed up (` hosts 497● 3✗`; `remote list` lists them), and what
    still does not fit is cut at the end, so the line never wraps."""
    if width is None:
        width = shutil.get_terminal_size().columns
    counts = registry.counts(mode)  # kept per host by the registry: no walk over the sessions
    attention = counts.pop(ATTENTION, 0)
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
    hosts = registry.hosts()
    polled = [h.polled_at for h in hosts if h.polled_at is not None]
    age = f"polled {format_age(now - max(polled))} ago" if polled else "not polled yet"
    tail: Fragments = [("class:toolbar", f" │ {age} ")]
    room = width - fragments_width(out) - fragments_width(tail)
    return fit_fragments(out + host_fragments(hosts, now, room) + tail, width)


def host_fragments(hosts: Sequence[HostStatus], now: float, room: int) -> Fragments:
    """Each host's state (` local ● dev ✗ offline gpu …`) when that fits in `room` cells,
    else the hosts summed up by state (` hosts 497● 2… 3✗`): the troubled hosts counted."""
    out: Fragments = []
    used = 0
    for host in hosts:
        label = f" {one_line(host.name, 20)}"
        if host.state is HostState.CONNECTED:
            label += " ●" + (" stale" if host.is_stale(now) else "")
        elif host.state in (HostState.UNKNOWN, HostState.CONNECTING):
            label += " …"
        else:
            label += f" ✗ {host.state.value}"
        out.append((_HOST_STYLE.get(host.state, "class:toolbar.bad"), label))
        used += cells(label)
        if used > room:
            return host_summary(hosts, now)
    return out


def host_summary(hosts: Sequence[HostStatus], now: float) -> Fragments:
    """` hosts 497● 2 stale 1… 3✗`: connected, connected but not heard from lately, connecting,
    in trouble (offline, auth failed, a host key to check)."""
    up = stale = pending = bad = 0
    for host in hosts:
        if host.state is HostState.CONNECTED:
            if host.is_stale(now):
                stale += 1
            else:
                up += 1
        elif host.state in (HostState.UNKNOWN, HostState.CONNECTING):
            pending += 1
        else:
            bad += 1
    out: Fragments = [("class:toolbar", " hosts")]
    for count, mark, style in (
        (up, "●", "class:toolbar.ok"),
        (stale, " stale", "class:toolbar.pending"),
        (pending, "…", "class:toolbar.pending"),
        (bad, "✗", "class:toolbar.bad"),
    ):
        if count:
            out.append((style, f" {count}{mark}"))
    return out


def fragments_width(fragments: Fragments) -> int:
    return sum(cells(fragment[1]) for fragment in fragments)


def fit_fragments(fragments: Fragments, width: int) -> Fragments:
    """`fragments` cut to `width` cells (the last one shown ending in `…`)."""
    if fragments_width(fragments) <= width:
        return fragments
    out: Fragments = []
    room = max(width, 1)
    for fragment in fragments:
        style, text = fragment[0], fragment[1]
        if cells(text) < room:
            out.append(fragment)
            room -= cells(text)
            continue
        out.append((style, cut(text + " ", room)))  # more follows: always cut, with `…`
        break
    return out


def toolbar_text(registry: Registry, mode: str, now: float, width: int = 10_000) -> str:
    """The toolbar's text, in `width` cells (default: no limit that matters)."""
    return "".join(fragment[1] for fragment in toolbar_fragments(registry, mode, now, width))


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
