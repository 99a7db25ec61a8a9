"""The live view's model (`watch`): rows from sessions, the selection by ref, the sort and the
filter, and the fragments of the window of rows on screen. Pure; the prompt_toolkit glue is in
`dashboard_view.py`.

Rows are kept in sort order as they change: a change costs time proportional to the sessions it
touches (a binary search and an insert per session), and drawing costs time proportional to the
rows on screen, whatever the number of sessions.
"""

from __future__ import annotations

import os
from bisect import bisect_left, insort
from fnmatch import fnmatchcase
from collections.abc import Callable, Iterable

from prompt_toolkit.utils import get_cwidth

from .model import ATTENTION_ORDER, LOCAL, HostState, Session
from .output import format_age, short_path
from .registry import ATTENTION, FILTER_MODES, SORT_KEYS, Change, Registry, host_in_mode, match_sessions
from .sanitize import one_line
from .toolbar import Fragments, same_session

Key = tuple[object, float, str, str]

FLASH_SECONDS = 2.0
"""How long a row that changed stays highlighted."""

STATUS_STYLES = {
    "permission": "class:status.permission",
    "waiting": "class:status.waiting",
    "error": "class:status.error",
    "working": "class:status.working",
    "idle": "class:status.idle",
    "done": "class:status.done",
    "stopped": "class:status.idle",
}
COLUMNS = ("HOST", "SESSION", "STATUS", "AGE", "CWD", "MESSAGE")
GAP = "  "


def sort_key(sort: str, session: Session) -> Key:
    """Where a session goes in the view: the same order as `registry.sort_sessions` (the primary
    key, then most recent first, then host and name), as one comparable tuple."""
    primary: object
    if sort == "attention":
        primary = session.rank
    elif sort == "name":
        primary = (session.name.casefold(), session.host)
    elif sort == "age":
        primary = 0
    elif sort == "status":
        primary = session.own_rank
    elif sort == "dir":
        primary = session.cwd
    else:
        raise ValueError(f"unknown sort key {sort!r}")
    return (primary, -session.recency(), session.host, session.name)


def text_filter(text: str) -> Callable[[Session], bool]:
    """What `/TEXT` keeps, as in `ls PATTERN`: name, cwd or message containing TEXT (globs
    allowed), or with a `:`, a glob over HOST:SESSION."""
    if not text:
        return lambda s: True
    if ":" in text:
        return lambda s: fnmatchcase(s.ref, text)
    return lambda s: bool(match_sessions((s,), text))


def fit(text: str, width: int) -> str:
    """`text` cut (with `…`) or padded to exactly `width` terminal cells."""
    if width <= 0:
        return ""
    if text.isascii():
        return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"
    cells = get_cwidth(text)
    if cells <= width:
        return text + " " * (width - cells)
    out, used = [], 0
    for char in text:
        w = get_cwidth(char)
        if used + w > width - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…" + " " * (width - 1 - used)


def natural_widths(session: Session) -> tuple[int, int, int, int]:
    """How wide a session's host, name, status and cwd would like their columns."""
    star = 1 if "team" in session.fields else 0  # room for the `*` of a waiting agent (cheaper than asking)
    return len(session.host), len(session.name), len(session.display_status) + star, len(session.cwd)


def column_widths(width: int, natural: tuple[int, int, int, int] = (40, 40, 11, 40)) -> tuple[int, int, int, int, int, int]:
    """HOST, SESSION, STATUS, AGE, CWD and MESSAGE widths for a terminal `width` wide, from the
    widest host, name, status and cwd shown: the message gets what is left, and when little is
    left the cwd, the name and the host give way."""
    host, name, status, cwd = natural
    host, name, status, age, cwd = min(max(host, 4), 14), min(max(name, 7), 28), min(max(status, 6), 14), 4, min(max(cwd, 3), 24)
    room = width - 1 - len(GAP) * 5
    for column, floor in (("cwd", 12), ("name", 12), ("host", 6), ("cwd", 0), ("name", 7)):
        spare = room - (host + name + status + age + cwd) - 16
        if spare >= 0:
            break
        if column == "cwd":
            cwd = min(cwd, max(cwd + spare, floor))
        elif column == "name":
            name = min(name, max(name + spare, floor))
        else:
            host = min(host, max(host + spare, floor))
    message = max(room - (host + name + status + age + cwd), 0)
    return host, name, status, age, cwd, message


class Dashboard:
    """The rows of the live view and where the user is in them.

    `sessions` holds every tracked session of every host; the shown ones (the filter's hosts,
    the text filter) are kept sorted in `_keys`. The selection is a ref, so it stays on its
    session when rows move; `top` is the first row on screen.
    """

    def __init__(self, *, sort: str = "attention", mode: str = "all", text: str = "", home: str | None = None):
        if sort not in SORT_KEYS:
            raise ValueError(f"unknown sort key {sort!r}")
        self.sort = sort
        self.mode = mode
        self.text = text
        self.home = os.path.expanduser("~") if home is None else home
        self.sessions: dict[str, Session] = {}
        self.selected: str | None = None
        self.top = 0
        self.flash: dict[str, float] = {}
        """Refs that changed, and until when they are highlighted."""
        self._keys: list[Key] = []
        self._key_of: dict[str, Key] = {}
        self._matches = text_filter(text)
        self._natural = (0, 0, 0, 0)
        """The widest host, name, status and cwd shown (grown as rows come; exact after a rebuild)."""

    # -- what is shown -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._keys)

    def ref_at(self, index: int) -> str:
        _, _, host, name = self._keys[index]
        return f"{host}:{name}"

    def index(self, ref: str | None) -> int | None:
        """Where a shown ref is in the order; None when it is not shown."""
        key = self._key_of.get(ref) if ref is not None else None
        return None if key is None else bisect_left(self._keys, key)

    def refs(self, start: int = 0, stop: int | None = None) -> list[str]:
        return [f"{k[2]}:{k[3]}" for k in self._keys[start:stop]]

    @property
    def current(self) -> Session | None:
        return self.sessions.get(self.selected) if self.selected is not None else None

    def _shows(self, session: Session) -> bool:
        return host_in_mode(session.host, self.mode) and self._matches(session)

    # -- data in -------------------------------------------------------------------------------
    def load(self, sessions: Iterable[Session]) -> None:
        """Start from every known session (e.g. `registry.sessions()`); nothing is highlighted."""
        self.sessions = {s.ref: s for s in sessions if s.tracked}
        self._rebuild()

    def apply(self, changes: Iterable[Change], now: float) -> None:
        """Take a batch of registry changes: rows come, go and move; the selection stays on its
        session (following it across a rename) at the same place on screen."""
        anchor = self._anchor()
        removed: list[Session] = []
        added: list[Session] = []
        for change in changes:
            # a host's first snapshot (it was never connected before) is news to nobody
            first = change.state is not None and change.state[0] in (HostState.UNKNOWN, HostState.CONNECTING)
            for session in change.removed:
                self._drop(session.ref)
                removed.append(session)
            for session, new in (*((s, True) for s in change.added), *((after, False) for _, after in change.changed)):
                if not session.tracked:
                    self._drop(session.ref)
                    removed.append(session)
                    continue
                self._put(session)
                added.append(session)
                if not (first and new):
                    self.flash[session.ref] = now + FLASH_SECONDS
        self._reselect(anchor, removed, added)

    def _put(self, session: Session) -> None:
        ref = session.ref
        self.sessions[ref] = session
        old = self._key_of.get(ref)
        if not self._shows(session):
            if old is not None:
                self._unshow(ref, old)
            return
        key = sort_key(self.sort, session)
        if key == old:
            return
        if old is not None:
            self._unshow(ref, old)
        insort(self._keys, key)
        self._key_of[ref] = key
        self._natural = tuple(map(max, self._natural, natural_widths(session)))  # type: ignore[assignment]

    def _drop(self, ref: str) -> None:
        self.sessions.pop(ref, None)
        self.flash.pop(ref, None)
        key = self._key_of.get(ref)
        if key is not None:
            self._unshow(ref, key)

    def _unshow(self, ref: str, key: Key) -> None:
        del self._keys[bisect_left(self._keys, key)]
        del self._key_of[ref]

    def _rebuild(self) -> None:
        anchor = self._anchor()
        shown = [s for s in self.sessions.values() if self._shows(s)]
        self._key_of = {s.ref: sort_key(self.sort, s) for s in shown}
        self._keys = sorted(self._key_of.values())
        widths = [natural_widths(s) for s in shown]
        self._natural = tuple(max(column, default=0) for column in zip(*widths, strict=False)) if widths else (0, 0, 0, 0)  # type: ignore[assignment]
        self._reselect(anchor, [], [])

    # -- sort and filter -----------------------------------------------------------------------
    def set_sort(self, sort: str) -> None:
        if sort not in SORT_KEYS:
            raise ValueError(f"unknown sort key {sort!r}")
        self.sort = sort
        self._rebuild()

    def cycle_sort(self) -> str:
        self.set_sort(SORT_KEYS[(SORT_KEYS.index(self.sort) + 1) % len(SORT_KEYS)])
        return self.sort

    def set_mode(self, mode: str) -> None:
        """all, local, remote, or one host's name."""
        self.mode = mode
        self._rebuild()

    def cycle_mode(self) -> str:
        """all → local → remote → all (one host's filter goes back to all)."""
        mode = FILTER_MODES[(FILTER_MODES.index(self.mode) + 1) % len(FILTER_MODES)] if self.mode in FILTER_MODES else "all"
        self.set_mode(mode)
        return mode

    def set_text(self, text: str) -> None:
        self.text = text
        self._matches = text_filter(text)
        self._rebuild()

    # -- the selection -------------------------------------------------------------------------
    def _anchor(self) -> tuple[str | None, int | None, int]:
        index = self.index(self.selected)
        return self.selected, index, (index - self.top) if index is not None else 0

    def _reselect(self, anchor: tuple[str | None, int | None, int], removed: list[Session], added: list[Session]) -> None:
        """After rows moved: the same session (or the one it was renamed to) at the same place on
        screen; if it went, the row that took its place."""
        ref, old_index, offset = anchor
        if not self._keys:
            self.selected, self.top = None, 0
            return
        if ref is not None and self._key_of.get(ref) is None:
            gone = next((s for s in removed if s.ref == ref), None)
            twin = next((s for s in added if gone is not None and s.ref in self._key_of and same_session(gone, s)), None)
            ref = twin.ref if twin is not None else self.ref_at(min(old_index or 0, len(self._keys) - 1))
        elif ref is None:
            ref, offset = self.ref_at(0), 0
        self.selected = ref
        self.top = max((self.index(ref) or 0) - offset, 0)

    def select(self, ref: str) -> bool:
        if ref not in self._key_of:
            return False
        self.selected = ref
        return True

    def select_index(self, index: int) -> None:
        if self._keys:
            self.selected = self.ref_at(max(0, min(index, len(self._keys) - 1)))

    def move(self, delta: int) -> None:
        index = self.index(self.selected)
        self.select_index(0 if index is None else index + delta)

    def next_attention(self) -> Session | None:
        """Select the next session (after the selected one, wrapping) that needs the user."""
        n = len(self._keys)
        start = self.index(self.selected)
        start = -1 if start is None else start
        for step in range(1, n + 1):
            ref = self.ref_at((start + step) % n)
            if self.sessions[ref].needs_attention:
                self.selected = ref
                return self.sessions[ref]
        return None

    def scroll_to(self, height: int) -> None:
        """Make the selected row visible in a window `height` rows high, and fill the window."""
        height = max(height, 1)
        index = self.index(self.selected)
        if index is not None:
            if index < self.top:
                self.top = index
            elif index >= self.top + height:
                self.top = index - height + 1
        self.top = max(0, min(self.top, len(self._keys) - height))

    def expire(self, now: float) -> bool:
        """Forget highlights that are over; True when one was (the rows need drawing again)."""
        over = [ref for ref, until in self.flash.items() if until <= now]
        for ref in over:
            del self.flash[ref]
        return bool(over)

    # -- drawing -------------------------------------------------------------------------------
    def widths(self, width: int) -> tuple[int, int, int, int, int, int]:
        return column_widths(width, self._natural)

    def header(self, width: int) -> Fragments:
        cells = [fit(title, w) for title, w in zip(COLUMNS, self.widths(width), strict=False)]
        return [("class:dash.columns", fit(" " + GAP.join(cells), width))]

    def window(self, height: int, width: int, now: float, polled_at: Callable[[str], float | None]) -> list[Fragments]:
        """The rows on screen (scrolled so the selection shows), one list of fragments each,
        padded to `width`; `polled_at(host)` dates an offline host's rows."""
        self.scroll_to(height)
        widths = self.widths(width)
        return [
            self.row(self.sessions[self.ref_at(i)], widths, now, polled_at)
            for i in range(self.top, min(self.top + height, len(self._keys)))
        ]

    def row(self, s: Session, widths: tuple[int, ...], now: float, polled_at: Callable[[str], float | None]) -> Fragments:
        ref = s.ref
        host_w, name_w, status_w, age_w, cwd_w, message_w = widths
        flashing = self.flash.get(ref, 0.0) > now
        base = "class:dash.row"
        if ref == self.selected:
            base += " class:dash.selected"
        elif flashing:
            base += " class:dash.changed"
        status = one_line(s.display_status) + ("*" if s.rank < s.own_rank else "")
        message = one_line(s.message, message_w + 1) if message_w else ""
        if s.offline:
            seen = polled_at(s.host)
            age = format_age(now - seen) if seen is not None else "-"
            message = f"offline, last seen {age} ago: {status}" + (f" · {message}" if message else "")
            status, status_style, base = "offline", "", base + " class:dash.offline"
        else:
            age = format_age(now - s.recency()) if s.recency() else "-"
            status_style = STATUS_STYLES.get(s.display_status, "")
        home = self.home if s.host == LOCAL else None
        marker = "▶" if ref == self.selected else ("•" if flashing else " ")
        return [
            (base, marker + fit(one_line(s.host), host_w) + GAP + fit(one_line(s.name), name_w) + GAP),
            (f"{base} {status_style}", fit(status, status_w)),
            (base, GAP + fit(age, age_w) + GAP + fit(short_path(s.cwd, home, max(cwd_w, 2)), cwd_w) + GAP + fit(message, message_w)),
        ]


def toolbar_fragments(registry: Registry, mode: str, now: float) -> Fragments:
    """The shell's toolbar line from the registry's kept counts (time proportional to the hosts,
    not the sessions): ` 2 need you │ 1 permission 3 working │ filter: all │ local ● dev ✗ offline`."""
    counts = registry.counts(mode)
    attention = counts.pop(ATTENTION, 0)
    order = [s for s in ATTENTION_ORDER if counts[s]] + sorted(s for s in counts if counts[s] and s not in ATTENTION_ORDER)
    out: Fragments = [
        ("class:toolbar.attention", f" {attention} need{'s' * (attention == 1)} you ") if attention else ("class:toolbar", " all quiet "),
        ("class:toolbar", "│ " + (" ".join(f"{counts[s]} {one_line(s, 12)}" for s in order) if order else "no sessions") + " "),
        ("class:toolbar", f"│ filter: {one_line(mode, 20)} │"),
    ]
    hosts = registry.hosts()
    for host in hosts:
        if host.state is HostState.CONNECTED:
            out.append(("class:toolbar.ok", f" {one_line(host.name, 20)} ●" + (" stale" if host.is_stale(now) else "")))
        elif host.state in (HostState.UNKNOWN, HostState.CONNECTING):
            out.append(("class:toolbar.pending", f" {one_line(host.name, 20)} …"))
        else:
            seen = host.age(now)
            since = f" {format_age(seen)}" if seen is not None else ""
            out.append(("class:toolbar.bad", f" {one_line(host.name, 20)} ✗ {host.state.value}{since}"))
    polled = [h.polled_at for h in hosts if h.polled_at is not None]
    out.append(("class:toolbar", f" │ polled {format_age(now - max(polled))} ago " if polled else " │ not polled yet "))
    return out
