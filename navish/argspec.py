"""Declared arguments of a command, and the parser for them. Pure.

One declaration serves parsing, usage lines, `help` and completion. Words come from
`shlex.split`, so quoting works as in a POSIX shell.
"""

from __future__ import annotations

import enum
import shlex
from dataclasses import dataclass
from typing import Any

from .errors import UsageError


class Kind(enum.Enum):
    """What a value is, so completion knows what to offer."""

    TEXT = "text"
    SESSION = "session"
    STATUS = "status"
    REMOTE = "remote"
    """A configured remote's name (never `local`)."""
    HOST = "host"
    """A host: `local` or a configured remote's name."""
    FILTER = "filter"
    """What `filter` shows: all, local, remote, or one host's name."""
    COMMAND = "command"
    INT = "int"
    PORT = "port"
    NUMBER = "number"
    PATH = "path"
    CHOICE = "choice"


@dataclass(frozen=True)
class Pos:
    name: str
    kind: Kind = Kind.TEXT
    optional: bool = False
    choices: tuple[str, ...] = ()
    greedy: bool = False
    """Takes every remaining word, joined by spaces (`help remote add`)."""

    @property
    def usage(self) -> str:
        name = f"{self.name}..." if self.greedy else self.name
        return f"[{name}]" if self.optional else name


@dataclass(frozen=True)
class Opt:
    names: tuple[str, ...]
    """Spellings; the first is shown in usage lines: ("-n", "--lines")."""
    metavar: str | None = None
    """None for a flag that takes no value."""
    kind: Kind = Kind.TEXT
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def dest(self) -> str:
        longest = max(self.names, key=len)
        return longest.lstrip("-").replace("-", "_")

    @property
    def usage(self) -> str:
        value = f" {self.metavar}" if self.metavar else ""
        return f"[{self.names[0]}{value}]"


def split_line(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"cannot parse the line: {exc}") from None


def parse_args(command: str, positionals: tuple[Pos, ...], options: tuple[Opt, ...], words: list[str]) -> dict[str, Any]:
    """Parse `words` into {dest: value}; flags give True/False, missing optional values None."""
    by_name = {name: opt for opt in options for name in opt.names}
    values: dict[str, Any] = {opt.dest: (False if opt.metavar is None else None) for opt in options}
    rest: list[str] = []
    words = list(words)
    only_positionals = False
    while words:
        word = words.pop(0)
        if only_positionals or not word.startswith("-") or word == "-" or _is_number(word):
            rest.append(word)
            continue
        if word == "--":
            only_positionals = True
            continue
        name, eq, inline = word.partition("=")
        opt = by_name.get(name)
        if opt is None:
            raise UsageError(f"{command}: unknown option {word!r}")
        if opt.metavar is None:
            if eq:
                raise UsageError(f"{command}: {name} takes no value")
            values[opt.dest] = True
            continue
        if not eq:
            if not words:
                raise UsageError(f"{command}: {name} needs a value ({opt.metavar})")
            inline = words.pop(0)
        values[opt.dest] = convert(command, name, opt.kind, inline, opt.choices)
    for pos in positionals:
        if rest and pos.greedy:
            values[pos.name.lower()] = " ".join(rest)
            rest = []
        elif rest:
            values[pos.name.lower()] = convert(command, pos.name, pos.kind, rest.pop(0), pos.choices)
        elif pos.optional:
            values[pos.name.lower()] = None
        else:
            raise UsageError(f"{command}: missing {pos.name}")
    if rest:
        raise UsageError(f"{command}: unexpected argument {rest[0]!r}")
    return values


def convert(command: str, name: str, kind: Kind, text: str, choices: tuple[str, ...] = ()) -> Any:
    if choices and text not in choices:
        raise UsageError(f"{command}: {name} must be one of {', '.join(choices)}, not {text!r}")
    expected = {Kind.INT: "a whole number of at least 1", Kind.PORT: "a port from 1 to 65535"}.get(kind, "a number of at least 0")
    try:
        if kind in (Kind.INT, Kind.PORT):
            value: Any = int(text)
            if value < 1 or (kind is Kind.PORT and value > 65535):
                raise ValueError
            return value
        if kind is Kind.NUMBER:
            value = float(text)
            if not value >= 0:
                raise ValueError
            return value
    except ValueError:
        raise UsageError(f"{command}: {name} expects {expected}, not {text!r}") from None
    return text


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
