"""Long output through a pager (`$PAGER`, else `less -SRFX`) in the shell; never in `navish -c`."""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Mapping

DEFAULT = "less -SRFX"
"""-S: long lines are not wrapped; -R: colours pass; -F: quit at once if it fits; -X: keep the screen."""


def pager_argv(setting: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    """The pager to run: `settings.pager`, else `$PAGER`, else less -SRFX."""
    return shlex.split(setting or environ.get("PAGER", "") or DEFAULT)


def too_long(text: str, rows: int) -> bool:
    """Whether `text` needs more lines than the terminal shows (one is kept for the prompt)."""
    return text.count("\n") + 1 > max(rows - 1, 1)


async def page(text: str, argv: list[str]) -> bool:
    """Show `text` in the pager, in this terminal; False when the pager cannot be run."""
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.PIPE)
    except OSError:
        return False
    try:
        await proc.communicate(text.encode("utf-8", "replace") + b"\n")
    except (BrokenPipeError, ConnectionResetError):  # quit before reading it all
        await proc.wait()
    return True
