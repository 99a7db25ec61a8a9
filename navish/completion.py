"""Tab completion: a pure `complete()` over the command table and a registry snapshot, plus the
thin prompt_toolkit wrapper. Completion never waits for a host; the only I/O is listing local
directories for a path (prompt_toolkit's `PathCompleter`)."""

from __future__ import annotations

import heapq
import logging
import re
import shlex
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Iterator, Sequence

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from .argspec import Kind, Opt
from .commands.base import Command
from .model import LOCAL, STATUS_NAMES, attention_rank
from .sanitize import one_line

MAX_SESSION_CANDIDATES = 200
"""Sessions offered for one word at most: the most urgent (typing more narrows them)."""

log = logging.getLogger(__name__)

Paths = Callable[[str], list["Candidate"]]
"""Local paths a word may become (see `local_paths`)."""


@dataclass(frozen=True)
class Candidate:
    text: str
    """What replaces the word being typed (shell-quoted when needed); may hold any character of a
    host's name, which the shell's line editor draws visibly (see `shell.show_controls_visibly`)."""
    display: str
    """The menu entry: sanitised."""
    meta: str = ""
    """The menu's note (a status, a summary): sanitised."""


@dataclass(frozen=True)
class Snapshot:
    """What completion may offer: session refs with their status, and remote names."""

    sessions: tuple[tuple[str, str] | tuple[str, str, int], ...] = ()
    """(HOST:SESSION, status) or (HOST:SESSION, status, attention rank); without a rank, the
    status's own rank is used. Candidates come most urgent first."""
    remotes: tuple[str, ...] = ()


def complete(
    text: str, table: Sequence[Command], snapshot: Snapshot | Callable[[], Snapshot], paths: Paths | None = None
) -> tuple[str, list[Candidate]]:
    """The word being completed and what it may become, for the line typed so far.

    `snapshot` may be a function giving it: it is then only called for a word that needs
    sessions or hosts (a command name, an option or a path does not), as building it costs
    time proportional to the fleet.

    `paths` lists local paths for a PATH value; without it, a path gets no candidates.
    """
    words, current = _split(text)
    if not words:
        return current, _named(current, ((c.name, c.summary) for c in table))
    command: Command | None = None
    options: tuple[Opt, ...] = ()
    level: Sequence[Command] = table
    rest = list(words)
    while rest:
        command = next((c for c in level if rest[0] in (c.name, *c.aliases)), None)
        if command is None:
            return current, []
        rest.pop(0)
        if not command.subcommands:
            break
        level = command.subcommands
        if not rest:
            return current, _named(current, ((c.name, c.summary) for c in level))
    assert command is not None
    options = command.options
    # the value of an option that takes one?
    if rest:
        previous = next((o for o in options if rest[-1] in o.names), None)
        if previous is not None and previous.metavar:
            return current, _values(current, previous.kind, previous.choices, table, snapshot, paths)
    if current.startswith("-"):
        used = set(rest)
        return current, _named(
            current, ((n, o.help) for o in options if not used.intersection(o.names) for n in o.names if n.startswith("--") or len(o.names) == 1)
        )
    index = _positional_index(rest, options)
    if index >= len(command.positionals):
        return current, []
    pos = command.positionals[index]
    return current, _values(current, pos.kind, pos.choices, table, snapshot, paths)


def word_start(text: str) -> int:
    """Index where the word being typed begins (quotes and backslashes respected)."""
    start, quote, escaped = 0, "", False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char.isspace():
            start = i + 1
    return start


def _split(text: str) -> tuple[list[str], str]:
    """Complete words before the cursor, and the (unquoted) word being typed."""
    start = word_start(text)
    return shlex.split(text[:start]), _unquote(text[start:])


def _unquote(word: str) -> str:
    """The word being typed as the shell will see it, even with its quote still open."""
    for closing in ("", '"', "'", "\\"):
        try:
            parts = shlex.split(word + closing)
        except ValueError:
            continue
        return parts[0] if parts else ""
    return word


def _positional_index(rest: list[str], options: tuple[Opt, ...]) -> int:
    count = 0
    skip = False
    for word in rest:
        if skip:
            skip = False
            continue
        opt = next((o for o in options if word in o.names), None)
        if opt is not None:
            skip = opt.metavar is not None
        elif not word.startswith("-"):
            count += 1
    return count


def _named(current: str, items: Iterable[tuple[str, str]]) -> list[Candidate]:
    return [Candidate(name, one_line(name, 60), one_line(meta, 60)) for name, meta in items if name.startswith(current)]


def _values(
    current: str,
    kind: Kind,
    choices: tuple[str, ...],
    table: Sequence[Command],
    source: Snapshot | Callable[[], Snapshot],
    paths: Paths | None,
) -> list[Candidate]:
    if choices:
        return _named(current, ((c, "") for c in choices))
    if kind is Kind.STATUS:
        return _named(current, ((s, "") for s in STATUS_NAMES))
    if kind is Kind.COMMAND:
        return _named(current, ((c.name, c.summary) for c in table))
    if kind is Kind.PATH:
        return paths(current) if paths is not None else []
    if kind not in (Kind.REMOTE, Kind.HOST, Kind.FILTER, Kind.SESSION):
        return []
    snapshot = source() if callable(source) else source
    if kind is Kind.REMOTE:
        return _named(current, ((r, "remote") for r in snapshot.remotes))
    if kind is Kind.HOST:
        return _named(current, [(LOCAL, "this machine"), *((r, "remote") for r in snapshot.remotes)])
    if kind is Kind.FILTER:
        modes = [("all", "every host"), (LOCAL, "this machine"), ("remote", "every remote")]
        return _named(current, [*modes, *((r, "remote") for r in snapshot.remotes if r not in ("all", "remote"))])
    return _sessions(current, snapshot)


def _sessions(current: str, snapshot: Snapshot) -> list[Candidate]:
    """`ap` offers `local:api`; `dev:` offers the sessions of dev; `de` offers `dev:...` too.

    Most urgent first (attention rank), then by name, as `ls` lists them; at most
    `MAX_SESSION_CANDIDATES` (a menu of 10,000 would take the prompt 100 ms to build).
    """
    wanted = current.casefold()
    found = []
    for entry in snapshot.sessions:
        ref, status = entry[0], entry[1]
        rank = entry[2] if len(entry) > 2 else attention_rank(status)
        host, _, name = ref.partition(":")
        if ref.casefold().startswith(wanted) or name.casefold().startswith(wanted):
            found.append((rank, name.casefold(), host, ref, status))
    return [
        Candidate(shlex.quote(ref), one_line(ref, 60), one_line(status, 20))
        for *_, ref, status in heapq.nsmallest(MAX_SESSION_CANDIDATES, found)
    ]


_PLAIN_PATH = re.compile(r"[\w@%+=:,./~-]+")


def local_paths(current: str) -> list[Candidate]:
    """Files and directories of this machine that `current` may become (`~` expanded for the
    lookup, kept as typed); a directory ends in `/`, so Tab again descends into it."""
    found = []
    for completion in PathCompleter(expanduser=True).get_completions(Document(current), CompleteEvent(completion_requested=True)):
        shown = completion.display_text
        path = current + completion.text + ("/" if shown.endswith("/") else "")
        text = path if _PLAIN_PATH.fullmatch(path) else shlex.quote(path)
        found.append(Candidate(text, one_line(shown, 60)))
    return found


class NavishCompleter(Completer):
    """prompt_toolkit adapter: reads the latest snapshot through a callable, never blocks.

    A failure (a bug, a snapshot that cannot be read) never reaches prompt_toolkit, which would
    end the prompt: it is logged (once per distinct error), the menu stays empty, and `problem`
    says what failed until a completion works again (the shell's toolbar shows it).
    """

    def __init__(self, table: Sequence[Command], snapshot: Callable[[], Snapshot], paths: Paths | None = local_paths):
        self.table = table
        self.snapshot = snapshot
        self.paths = paths
        self.problem: str | None = None
        self._logged: set[str] = set()

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        try:
            _, candidates = complete(text, self.table, self.snapshot, self.paths)
            start = word_start(text) - len(text)
            completions = [Completion(c.text, start_position=start, display=c.display, display_meta=c.meta) for c in candidates]
        except Exception as exc:
            self.problem = f"completion failed: {one_line(exc, 60)}"
            if self.problem not in self._logged:
                self._logged.add(self.problem)
                log.exception("completion failed for %r", text)
            return
        self.problem = None
        yield from completions
