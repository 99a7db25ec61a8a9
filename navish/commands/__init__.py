"""The full command table, and the entry points the shell and `navish -c` use."""

from __future__ import annotations

from typing import Any

from ..argspec import Kind, Pos
from pathlib import Path

from .base import Command, Context, Result, find_command, help_text
from .base import dispatch as _dispatch
from .base import execute as _execute
from .answer import ANSWER_COMMANDS
from .remotes import REMOTE_COMMANDS
from .sessions import SESSION_COMMANDS
from .setup import SETUP_COMMANDS


async def _help(ctx: Context, a: dict[str, Any]) -> Result:
    return Result(help_text(COMMANDS, a["command"]))


async def _exit(ctx: Context, a: dict[str, Any]) -> Result:
    return Result(exit_shell=True)


COMMANDS: tuple[Command, ...] = (
    *SESSION_COMMANDS,
    *ANSWER_COMMANDS,
    *REMOTE_COMMANDS,
    *SETUP_COMMANDS,
    Command("help", "list commands, or explain one", _help, (Pos("COMMAND", Kind.COMMAND, True, greedy=True),)),
    Command("exit", "leave navish (also: quit, Ctrl-D)", _exit, aliases=("quit",)),
)


async def dispatch(ctx: Context, line: str) -> Result:
    return await _dispatch(COMMANDS, ctx, line)


async def execute(ctx: Context, line: str, *, debug: bool = False, log_file: Path | None = None) -> Result:
    return await _execute(COMMANDS, ctx, line, debug=debug, log_file=log_file)


__all__ = ["COMMANDS", "Command", "Context", "Result", "dispatch", "execute", "find_command", "help_text"]
