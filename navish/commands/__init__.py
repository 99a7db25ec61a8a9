"""The full command table, and the entry points the shell and `navish -c` use."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..argspec import Kind, Pos
from .base import HELP_WIDTH, Command, Context, Result, find_command, help_text
from .base import dispatch as _dispatch
from .base import execute as _execute
from .answer import ANSWER_COMMANDS
from .events import EVENT_COMMANDS
from .remotes import REMOTE_COMMANDS
from .sessions import SESSION_COMMANDS
from .setup import SETUP_COMMANDS
from .watch import WATCH_COMMANDS

GROUP_DEFAULTS = {"remote": "list"}
"""What a group's word alone runs (`remote` is `remote list`)."""


async def _help(ctx: Context, a: dict[str, Any]) -> Result:
    return Result(help_text(COMMANDS, a["command"], ctx.width if ctx is not None else HELP_WIDTH))


async def _clear(ctx: Context, a: dict[str, Any]) -> Result:
    return Result(clear_screen=True)


async def _exit(ctx: Context, a: dict[str, Any]) -> Result:
    return Result(exit_shell=True)


def _with_defaults(commands: tuple[Command, ...]) -> tuple[Command, ...]:
    return tuple(replace(c, default=GROUP_DEFAULTS[c.name]) if c.name in GROUP_DEFAULTS else c for c in commands)


COMMANDS: tuple[Command, ...] = _with_defaults(
    (
        *SESSION_COMMANDS,
        *ANSWER_COMMANDS,
        *EVENT_COMMANDS,
        *REMOTE_COMMANDS,
        *SETUP_COMMANDS,
        *WATCH_COMMANDS,
        Command(
            "help",
            "list commands, or explain one (also: ?)",
            _help,
            (Pos("COMMAND", Kind.COMMAND, True, greedy=True),),
            aliases=("?",),
        ),
        Command("clear", "clear the screen (also: Ctrl-L)", _clear),
        Command("exit", "leave navish (also: quit, Ctrl-D)", _exit, aliases=("quit",)),
    )
)


async def dispatch(ctx: Context, line: str) -> Result:
    return await _dispatch(COMMANDS, ctx, line)


async def execute(ctx: Context, line: str, *, debug: bool = False, log_file: Path | None = None) -> Result:
    return await _execute(COMMANDS, ctx, line, debug=debug, log_file=log_file)


__all__ = ["COMMANDS", "Command", "Context", "Result", "dispatch", "execute", "find_command", "help_text"]
