"""The command framework: `Command` declarations, the handler `Context`, `Result`, dispatch and help.

Handlers return a `Result`; they never print. One table drives dispatch, `help` and completion,
in the shell and in `navish -c`.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

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
    error: str = ""
    """One line saying why the command failed (set by `execute`)."""


@dataclass
class Context:
    """What a handler may use. `confirm`/`ask` are None when nobody can answer (`navish -c`)."""

    app: App
    run_attached: Callable[[AttachCommand], Awaitable[int]]
    confirm: Callable[[str], Awaitable[bool]] | None = None
    ask: Callable[[str, str], Awaitable[str]] | None = None
    width: int = 100
    color: bool = False
    say: Callable[[str], None] = field(default=lambda text: None)
    """Tells the user something at once, before the command ends (e.g. how to detach)."""

    @classmethod
    def for_terminal(cls, app: App, **kwargs: Any) -> "Context":
        """A context whose width and colour follow this process's terminal (and $NO_COLOR)."""
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        kwargs.setdefault("say", _say)
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

    def usage(self, prefix: str = "") -> str:
        words = [prefix + self.name, *(p.usage for p in self.positionals), *(o.usage for o in self.options)]
        if self.subcommands:
            words.append("|".join(c.name for c in self.subcommands))
        return " ".join(words)


SESSION = Pos("SESSION", Kind.SESSION)
YES = Opt(("-y", "--yes"), help="do not ask for confirmation")
JSON = Opt(("--json",), help="print JSON")


def find_command(
    table: Sequence[Command], words: list[str], *, allow_group: bool = False
) -> tuple[Command, str, list[str]]:
    """The command `words` name (descending into subcommands), its full name, and the rest.

    A group (`remote`) without its subcommand is an error unless `allow_group` (for `help`).
    """
    name = ""
    command: Command | None = None
    rest = list(words)
    while rest:
        word = rest[0]
        match = next((c for c in table if word == c.name or word in c.aliases), None)
        if match is None:
            break
        command, rest = match, rest[1:]
        name = f"{name} {match.name}".strip()
        if not match.subcommands:
            return match, name, rest
        table = match.subcommands
    if command is None:
        raise UsageError(f"unknown command {one_line(words[0])!r} (try: help)")
    if allow_group and not rest:
        return command, name, rest
    choices = ", ".join(c.name for c in command.subcommands)
    given = f" {one_line(rest[0])!r}" if rest else ""
    raise UsageError(f"{name}: unknown subcommand{given} (expected one of: {choices})")


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
    assert command.handler is not None
    if rest and rest[0] in ("-h", "--help"):
        return Result(help_text(table, name))
    args = parse_args(name, command.positionals, command.options, rest)
    return await command.handler(ctx, args)


def help_text(table: Sequence[Command], name: str | None = None) -> str:
    """The command list, or one command's usage, options and subcommands."""
    if not name:
        rows = []
        for command in table:
            for sub in command.subcommands or (command,):
                label = f"{command.name} {sub.name}" if command.subcommands else command.name
                rows.append(f"  {label:<16} {sub.summary}")
        return (
            "commands:\n" + "\n".join(rows) + "\n\nhelp COMMAND for details. "
            "Sessions are named HOST:SESSION, or just SESSION when the name is unique."
        )
    command, full, rest = find_command(table, split_line(name), allow_group=True)
    if rest:
        raise UsageError(f"help: no command {one_line(name)!r}")
    prefix = full[: -len(command.name)]
    lines = [f"usage: {command.usage(prefix)}", f"  {command.summary}"]
    if command.details:
        lines.append(f"  {command.details}")
    for opt in command.options:
        spelled = ", ".join(opt.names) + (f" {opt.metavar}" if opt.metavar else "")
        lines.append(f"  {spelled:<24} {opt.help}")
    for sub in command.subcommands:
        lines += [f"  {sub.usage(command.name + ' ')}", f"      {sub.summary}"]
    if command.aliases:
        lines.append(f"  aliases: {', '.join(command.aliases)}")
    return "\n".join(lines)
