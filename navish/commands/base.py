"""The command framework: `Command` declarations, the handler `Context`, `Result`, dispatch and help.

Handlers return a `Result`; they never print. One table drives dispatch, `help` and completion,
in the shell and in `navish -c`.
"""

from __future__ import annotations

import difflib
import logging
import os
import shutil
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from contextlib import AbstractAsyncContextManager
from typing import Any
from collections.abc import Awaitable, Callable, Sequence

from ..app import App
from ..argspec import Kind, Opt, Pos, parse_args, split_line
from ..errors import NavishError, UsageError
from ..hosts.base import AttachCommand
from ..sanitize import one_line

log = logging.getLogger(__name__)


@dataclass
class Result:
    text: str = ""
    warnings: list[str] = field(default_factory=list)
    exit_code: int = 0
    exit_shell: bool = False
    clear_screen: bool = False
    """The shell clears the screen before printing `text` (`clear`)."""
    error: str = ""
    """One line saying why the command failed (set by `execute`)."""


@dataclass
class Context:
    """What a handler may use. `confirm`/`ask` are None when nobody can answer (`navish -c`)."""

    app: App
    run_attached: Callable[[AttachCommand], Awaitable[int]]
    confirm: Callable[[str], Awaitable[bool]] | None = None
    """A y/N question; Ctrl-C or Ctrl-D is no."""
    ask: Callable[[str, str], Awaitable[str]] | None = None
    """`ask(question, default)`: the answer; raises EOFError when the user cancels (Ctrl-C or
    Ctrl-D), so the command stops asking and saves nothing."""
    width: int = 100
    color: bool = False
    say: Callable[[str], None] = field(default=lambda text: None)
    """Tells the user something at once, before the command ends (e.g. how to detach)."""
    out: Callable[[str], None] = field(default=lambda line: None)
    """Prints one line of a command's streamed output (`events`) on standard output at once;
    raises BrokenPipeError when the reader has gone."""
    full_screen: Callable[[], AbstractAsyncContextManager[Callable[[str | None], None]]] | None = None
    """The terminal for a full-screen view (`watch`) while the command runs: the shell puts its
    progress line away and holds its notices; what it yields takes the ref of the session the
    user is looking at (not notified about). None where the command has the terminal already."""

    @classmethod
    def for_terminal(cls, app: App, **kwargs: Any) -> "Context":
        """A context whose width and colour follow this process's terminal (and $NO_COLOR)."""
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        kwargs.setdefault("say", _say)
        kwargs.setdefault("out", _out)
        return cls(app, width=shutil.get_terminal_size().columns, color=color, **kwargs)

    async def confirmed(self, command: str, question: str, yes: bool) -> bool:
        """True when `-y` was given or the user says yes; in `navish -c`, `-y` is required."""
        if yes:
            return True
        if self.confirm is None:
            raise UsageError(f"{command}: add -y to confirm (nobody can answer a question here)")
        return await self.confirm(question)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _out(line: str) -> None:
    print(line, flush=True)


Handler = Callable[[Context, dict[str, Any]], Awaitable[Result]]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    handler: Handler | None = None
    positionals: tuple[Pos, ...] = ()
    options: tuple[Opt, ...] = ()
    aliases: tuple[str, ...] = ()
    subcommands: tuple["Command", ...] = ()
    details: str = ""
    default: str | None = None
    """For a group: the subcommand the group's word alone runs (`remote` runs `remote list`)."""

    def usage(self, prefix: str = "") -> str:
        return " ".join(self.usage_words(prefix))

    def usage_words(self, prefix: str = "") -> list[str]:
        words = [prefix + self.name, *(p.usage for p in self.positionals), *(o.usage for o in self.options)]
        if self.subcommands:
            words.append("|".join(c.name for c in self.subcommands))
        return words


SESSION = Pos("SESSION", Kind.SESSION)
YES = Opt(("-y", "--yes"), help="do not ask for confirmation")
JSON = Opt(("--json",), help="print JSON")


HELP_FLAGS = ("-h", "--help")


def find_command(
    table: Sequence[Command], words: list[str], *, allow_group: bool = False
) -> tuple[Command, str, list[str]]:
    """The command `words` name (descending into subcommands), its full name, and the rest.

    A group's word alone (or followed by options) runs its `default` subcommand (`remote` is
    `remote list`); with `allow_group` (for `help`), or followed by -h, it names the group itself.
    Any other group without its subcommand is an error.
    """
    name = ""
    command: Command | None = None
    rest = list(words)
    level = table
    while rest:
        word = rest[0]
        match = next((c for c in level if word == c.name or word in c.aliases), None)
        if match is None:
            break
        command, rest = match, rest[1:]
        name = f"{name} {match.name}".strip()
        if not match.subcommands:
            return match, name, rest
        level = match.subcommands
    if command is None:
        raise UsageError(f"unknown command {one_line(words[0])!r} {_suggest(words[0], table, 'try: help')}")
    if (allow_group and not rest) or (rest and rest[0] in HELP_FLAGS):
        return command, name, rest
    default = next((c for c in command.subcommands if c.name == command.default), None)
    if default is not None and (not rest or rest[0].startswith("-")):
        return default, f"{name} {default.name}", rest
    choices = ", ".join(c.name for c in command.subcommands)
    if not rest:
        raise UsageError(f"{name}: unknown subcommand (expected one of: {choices})")
    raise UsageError(f"{name}: unknown subcommand {one_line(rest[0])!r} {_suggest(rest[0], command.subcommands, f'expected one of: {choices}')}")


def _suggest(word: str, table: Sequence[Command], otherwise: str) -> str:
    """`(did you mean ls?)` for a near miss, else `(otherwise)`."""
    names = [n for c in table for n in (c.name, *c.aliases) if len(n) > 1]
    close = difflib.get_close_matches(word, names, n=3, cutoff=0.6)
    return f"(did you mean {' or '.join(close)}?)" if close else f"({otherwise})"


async def execute(table: Sequence[Command], ctx: Context, line: str, *, debug: bool = False, log_file: Path | None = None) -> Result:
    """Run one command line; a known error, or a bug (logged), becomes a Result with `error` set.

    With `debug`, a bug's exception propagates so its traceback is shown.
    """
    try:
        return await dispatch(table, ctx, line)
    except NavishError as exc:
        return Result(error=one_line(exc), exit_code=exc.exit_code)
    except Exception as exc:
        log.exception("command failed: %s", line)
        if debug:
            raise
        where = f" (details in {log_file})" if log_file else ""
        return Result(error=f"internal error: {one_line(exc)}{where}", exit_code=1)


async def dispatch(table: Sequence[Command], ctx: Context, line: str) -> Result:
    words = split_line(line)
    if not words:
        return Result()
    command, name, rest = find_command(table, words)
    if rest and rest[0] in HELP_FLAGS:
        return Result(help_text(table, name, ctx.width if ctx is not None else HELP_WIDTH))
    assert command.handler is not None
    args = parse_args(name, command.positionals, command.options, rest)
    return await command.handler(ctx, args)


HELP_WIDTH = 100


def help_text(table: Sequence[Command], name: str | None = None, width: int = HELP_WIDTH) -> str:
    """The command list, or one command's usage, options and subcommands, wrapped at word
    boundaries to `width` columns (continuation lines indented under their column)."""
    width = max(width, 40)
    if not name:
        lines = ["commands:"]
        for command in table:
            for sub in command.subcommands or (command,):
                label = f"{command.name} {sub.name}" if command.subcommands else command.name
                lines += _row(label, sub.summary, 16, width)
        lines += ["", *_wrap(
            "help COMMAND for details. Sessions are named HOST:SESSION, or just SESSION when the name is unique.", width
        )]
        return "\n".join(lines)
    command, full, rest = find_command(table, split_line(name), allow_group=True)
    if rest:
        raise UsageError(f"help: no command {one_line(name)!r}")
    prefix = full[: -len(command.name)]
    lines = [*_wrap_words(["usage:", *command.usage_words(prefix)], width, 4), *_wrap(command.summary, width, 2)]
    if command.details:
        lines += _wrap(command.details, width, 2)
    for opt in command.options:
        spelled = ", ".join(opt.names) + (f" {opt.metavar}" if opt.metavar else "")
        lines += _row(spelled, opt.help, 24, width)
    for sub in command.subcommands:
        lines += [*_wrap_words(sub.usage_words(command.name + " "), width, 6, 2), *_wrap(sub.summary, width, 6)]
    if command.default:
        lines += _wrap(f"{command.name} alone runs {command.name} {command.default}", width, 2)
    if command.aliases:
        lines.append(f"  aliases: {', '.join(command.aliases)}")
    return "\n".join(lines)


def _wrap(text: str, width: int, indent: int = 0) -> list[str]:
    return textwrap.wrap(
        text, width, initial_indent=" " * indent, subsequent_indent=" " * indent, break_long_words=False, break_on_hyphens=False
    )


def _row(label: str, text: str, column: int, width: int) -> list[str]:
    """`  label      text` with `text` wrapped under its own column."""
    if not text:
        return [f"  {label}"]
    return textwrap.wrap(
        text,
        width,
        initial_indent=f"  {label:<{column}} ",
        subsequent_indent=" " * (column + 3),
        break_long_words=False,
        break_on_hyphens=False,
    )


def _wrap_words(words: list[str], width: int, hanging: int, indent: int = 0) -> list[str]:
    """Usage words (`[--port P]` is one word) filled into lines of `width`."""
    lines: list[str] = []
    line = " " * indent
    for word in words:
        if line.strip() and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = " " * hanging
        line += word if not line.strip() else f" {word}"
    lines.append(line)
    return lines
