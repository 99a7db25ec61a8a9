"""The registry: the latest known sessions of every host, merged. Pure and synchronous.

Each host's poll result replaces that host's snapshot the moment it lands; a failed poll keeps
the host's last known sessions, marked offline.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass, field, replace
from collections.abc import Callable, Iterable

from .errors import Ambiguous, NotFound, UsageError
from .model import LOCAL, HostState, Session, parse_ref
from .parsing import HostSessions

FILTER_MODES = ("all", "local", "remote")
ATTENTION = "needs you"
"""The key under which `Registry.counts` gives the number of sessions that need the user."""
SORT_KEYS = ("attention", "name", "age", "status", "dir")


@dataclass(frozen=True)
class HostStatus:
    """What navish knows about one host right now."""

    name: str
    cache_ttl: float
    state: HostState = HostState.UNKNOWN
    sessions: tuple[Session, ...] = ()
    warnings: tuple[str, ...] = ()
    polled_at: float | None = None
    """Wall-clock time of the last successful poll; None if never reached."""
    poll_duration: float | None = None
    error: str | None = None
    fresh_for: float | None = None
    """Seconds the last word from the host stays fresh while its watcher vouches for it with
    heartbeats (their interval, with room for a late one); None: a polled host, fresh for its TTL."""

    @property
    def is_local(self) -> bool:
        return self.name == LOCAL

    def age(self, now: float) -> float | None:
        return None if self.polled_at is None else max(now - self.polled_at, 0.0)

    def is_stale(self, now: float) -> bool:
        """True when the last word from the host (a poll, or a watcher's heartbeat) is older than
        it stays fresh for, or there was none."""
        age = self.age(now)
        return age is None or age > (self.fresh_for or self.cache_ttl)


@dataclass(frozen=True)
class Change:
    """What one event changed on one host: the diff every consumer gets (toolbar, notices,
    completion, `events`). `attention_gained` leaves out a host's first snapshot and sessions
    that already asked before their host went away and came back."""

    host: str
    added: tuple[Session, ...] = ()
    changed: tuple[tuple[Session, Session], ...] = ()
    """(before, after) for sessions whose status, message, attention or reachability changed."""
    removed: tuple[Session, ...] = ()
    state: tuple[HostState, HostState] | None = None
    """(before, after) when the host's state changed."""
    attention_gained: tuple[Session, ...] = ()
    attention_lost: tuple[Session, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.state)


def _shown(session: Session) -> tuple[object, ...]:
    """What a user sees of a session: a change here is a change worth telling."""
    return (session.display_status, session.message, session.attention_reason, session.offline)


@dataclass
class Registry:
    """The only writer of host state: every update returns the `Change` it made, in time
    proportional to that host's sessions. It keeps indexes in step with every update, so that the
    prompt, the toolbar, name resolution and the attention set never walk over all the hosts."""

    _hosts: dict[str, HostStatus] = field(default_factory=dict)
    _counts: dict[str, Counter[str]] = field(default_factory=dict)
    _remote_counts: Counter[str] = field(default_factory=Counter)
    """The remotes' counts summed."""
    _by_name: dict[str, dict[str, Session]] = field(default_factory=dict)
    """Session name → {host: session}."""
    _asking: dict[str, Session] = field(default_factory=dict)
    """`HOST:SESSION` → each tracked session that asks for the user, offline ones included."""
    _order: list[str] | None = None
    """Host names in display order (this machine first), sorted again only when hosts come or go."""

    # -- hosts ---------------------------------------------------------------------------
    def add_host(self, name: str, cache_ttl: float) -> None:
        """Register a host (or change its TTL), keeping whatever is known about it."""
        current = self._hosts.get(name)
        self._hosts[name] = replace(current, cache_ttl=cache_ttl) if current else HostStatus(name, cache_ttl)
        self._counts.setdefault(name, Counter())
        self._order = None

    def remove_host(self, name: str) -> Change:
        before = self._hosts.pop(name, None)
        self._set_counts(name, None)
        self._reindex(before.sessions if before else (), ())
        self._order = None
        return Change(name, removed=before.sessions if before else ())

    def host(self, name: str) -> HostStatus:
        try:
            return self._hosts[name]
        except KeyError:
            raise NotFound(f"no host named {name!r} (hosts: {', '.join(self._hosts)})") from None

    def has_host(self, name: str) -> bool:
        return name in self._hosts

    def hosts(self) -> list[HostStatus]:
        return [self._hosts[name] for name in self.host_names()]

    def host_names(self) -> list[str]:
        if self._order is None:
            self._order = sorted(self._hosts, key=lambda name: (name != LOCAL, name))
        return list(self._order)

    def counts(self, mode: str = "all") -> Counter[str]:
        """Sessions by shown status on the reachable hosts `mode` selects ("needs you" under
        `ATTENTION`); a new Counter, in time independent of the number of hosts."""
        local = self._counts.get(LOCAL, Counter())
        if mode == "all":
            return local + self._remote_counts
        if mode == "local":
            return +local
        if mode == "remote":
            return +self._remote_counts
        return +self._counts.get(mode, Counter())

    # -- snapshots -----------------------------------------------------------------------
    def apply_poll(self, name: str, found: HostSessions, *, polled_at: float, duration: float) -> Change:
        """Replace a host's snapshot with a successful poll's sessions."""
        if name not in self._hosts:
            return Change(name)  # the host was removed while its poll was in flight
        return self._update(
            name,
            state=HostState.CONNECTED,
            sessions=found.sessions,
            warnings=found.warnings,
            polled_at=polled_at,
            poll_duration=duration,
            error=None,
            fresh_for=None,
        )

    def mark_failed(self, name: str, state: HostState, error: str) -> Change:
        """Record a failed poll: the host's last known sessions stay, marked offline."""
        if name not in self._hosts:
            return Change(name)
        sessions = tuple(replace(s, offline=True) for s in self._hosts[name].sessions)
        return self._update(name, state=state, sessions=sessions, error=error)

    def heartbeat(self, name: str, at: float, fresh_for: float) -> Change:
        """The host's watcher was heard from: it is connected, and its snapshot is current for
        `fresh_for` seconds more."""
        if name not in self._hosts:
            return Change(name)
        current = self._hosts[name]
        if current.state is HostState.CONNECTED and current.error is None:
            self._hosts[name] = replace(current, polled_at=at, fresh_for=fresh_for)  # nothing shown changes: no diff
            return Change(name)
        return self._update(name, state=HostState.CONNECTED, polled_at=at, error=None, fresh_for=fresh_for)

    def set_state(self, name: str, state: HostState) -> Change:
        if name not in self._hosts:
            return Change(name)
        return self._update(name, state=state)

    def _update(self, name: str, **values: object) -> Change:
        before = self._hosts[name]
        after = self._hosts[name] = replace(before, **values)  # type: ignore[arg-type]
        counts = Counter(s.display_status for s in after.sessions if s.tracked and not s.offline)
        counts[ATTENTION] = sum(1 for s in after.sessions if s.needs_attention)
        self._set_counts(name, counts)
        self._reindex(before.sessions, after.sessions)
        return _diff(before, after)

    def _reindex(self, before: tuple[Session, ...], after: tuple[Session, ...]) -> None:
        """One host's sessions went from `before` to `after`: the name and attention indexes follow."""
        for session in before:
            on_hosts = self._by_name.get(session.name, {})
            on_hosts.pop(session.host, None)
            if not on_hosts:
                self._by_name.pop(session.name, None)
            self._asking.pop(session.ref, None)
        for session in after:
            self._by_name.setdefault(session.name, {})[session.host] = session
            if session.tracked and session.asks_for_user:
                self._asking[session.ref] = session

    def _set_counts(self, name: str, counts: Counter[str] | None) -> None:
        """Replace one host's counts (None: the host is gone), keeping the remotes' sum in step."""
        before = self._counts.pop(name, None)
        if counts is not None:
            self._counts[name] = counts
        if name != LOCAL:
            if before:
                self._remote_counts.subtract(before)
            if counts:
                self._remote_counts.update(counts)
            self._remote_counts = +self._remote_counts  # drop the statuses that reached zero

    # -- sessions ------------------------------------------------------------------------
    def sessions(self, mode: str = "all", *, include_untracked: bool = False) -> list[Session]:
        """All known sessions of the hosts that `mode` selects, unsorted."""
        return [
            s
            for h in self.hosts()
            if host_in_mode(h.name, mode)
            for s in h.sessions
            if include_untracked or s.tracked
        ]

    def resolve(self, text: str) -> Session:
        """Find the session a user named as `HOST:SESSION` or as a bare, unique `SESSION`."""
        host, name = parse_ref(text)
        if not name:
            raise UsageError(f"{text!r} names no session (expected HOST:SESSION or SESSION)")
        if host is not None:
            status = self.host(host)
            for session in status.sessions:
                if session.name == name:
                    return session
            raise NotFound(f"no session {name!r} on {host}{_unknown_hint(status)}")
        matches = sorted(self._by_name.get(name, {}).values(), key=lambda s: (s.host != LOCAL, s.host))
        if len(matches) == 1:
            return matches[0]
        if matches:
            candidates = ", ".join(s.ref for s in matches)
            raise Ambiguous(f"{name!r} is on several hosts: {candidates}; say which with HOST:{name}")
        raise NotFound(f"no session named {name!r}" + _similar(name, self.sessions(include_untracked=True)))

    def attention_refs(self, *, include_offline: bool = False) -> dict[str, Session]:
        """Sessions that need the user now, by `HOST:SESSION`; with `include_offline`, also those
        last known to (so a host coming back does not announce them again)."""
        return {ref: s for ref, s in self._asking.items() if include_offline or s.needs_attention}


def _diff(before: HostStatus, after: HostStatus) -> Change:
    old = {s.name: s for s in before.sessions}
    new = {s.name: s for s in after.sessions}
    first = before.polled_at is None and after.polled_at is not None
    changed = tuple((old[n], s) for n, s in new.items() if n in old and _shown(old[n]) != _shown(s))
    return Change(
        after.name,
        added=tuple(s for n, s in new.items() if n not in old),
        changed=changed,
        removed=tuple(s for n, s in old.items() if n not in new),
        state=(before.state, after.state) if before.state is not after.state else None,
        attention_gained=tuple(
            s
            for n, s in new.items()
            if s.needs_attention and not first and not (n in old and old[n].asks_for_user and old[n].attention_reason == s.attention_reason)
        ),
        attention_lost=tuple(s for n, s in old.items() if s.needs_attention and not (n in new and new[n].needs_attention)),
    )


def host_in_mode(host: str, mode: str) -> bool:
    """Whether the filter `mode` (all, local, remote, or one host's name) shows `host`."""
    if mode in FILTER_MODES:
        return mode == "all" or (mode == "local") == (host == LOCAL)
    return host == mode


def next_filter_mode(mode: str) -> str:
    return FILTER_MODES[(FILTER_MODES.index(mode) + 1) % len(FILTER_MODES)]


def sort_sessions(sessions: Iterable[Session], key: str = "attention") -> list[Session]:
    """Sort for display; ties fall back to most recent first, then host and name."""
    primary: dict[str, Callable[[Session], object]] = {
        "attention": lambda s: s.rank,
        "name": lambda s: (s.name.casefold(), s.host),
        "age": lambda s: 0,
        "status": lambda s: s.own_rank,
        "dir": lambda s: s.cwd,
    }
    if key not in primary:
        raise UsageError(f"unknown sort key {key!r} (expected one of: {', '.join(SORT_KEYS)})")
    return sorted(sessions, key=lambda s: (primary[key](s), -s.recency(), s.host, s.name))


def match_sessions(sessions: Iterable[Session], pattern: str | None = None, statuses: Iterable[str] = ()) -> list[Session]:
    """Sessions whose name, cwd or message contains `pattern` (case-insensitive; globs allowed)
    and whose shown status is one of `statuses` (when given)."""
    wanted = {s.lower() for s in statuses}
    result = []
    for session in sessions:
        if wanted and session.display_status.lower() not in wanted:
            continue
        if pattern and not any(_text_matches(pattern, t) for t in (session.name, session.cwd, session.message)):
            continue
        result.append(session)
    return result


def _text_matches(pattern: str, text: str) -> bool:
    pattern, text = pattern.casefold(), text.casefold()
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(text, pattern)
    return pattern in text


def _unknown_hint(status: HostStatus) -> str:
    if status.polled_at is None:
        return f" (host not reached yet: {status.error or status.state.value})"
    return ""


def _similar(name: str, sessions: list[Session]) -> str:
    close = sorted({s.ref for s in sessions if name.casefold() in s.name.casefold()})[:5]
    return f"; did you mean {', '.join(close)}?" if close else ""
