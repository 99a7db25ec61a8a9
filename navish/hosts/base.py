"""The one interface every host implements: run a POSIX `sh` script, with a timeout.

Local and SSH hosts both feed `frame_script(...)` to `/bin/sh -s` on its standard input, so a
script behaves the same on either, whatever the remote user's login shell is: the only command
line a login shell ever parses is the literal `/bin/sh -s`.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from dataclasses import dataclass, field
from typing import Protocol

SH_COMMAND = "/bin/sh -s"


@dataclass(frozen=True)
class ScriptResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    elapsed: float
    """Seconds from sending the script to its exit."""

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip()


@dataclass(frozen=True)
class AttachCommand:
    """A command to run in the real terminal for `attach`; `unset_env` names variables to drop."""

    argv: list[str]
    unset_env: tuple[str, ...] = field(default=())


async def run_attach(command: AttachCommand) -> int:
    """Run an attach command in this process's terminal and wait for the user to detach."""
    env = {k: v for k, v in os.environ.items() if k not in command.unset_env}
    proc = await asyncio.create_subprocess_exec(*command.argv, env=env)
    try:
        return await asyncio.shield(proc.wait())
    except asyncio.CancelledError:  # Ctrl-C reached the child too: the prompt waits for the terminal
        await proc.wait()
        raise


class Host(Protocol):
    """A machine navish manages. Implementations: `LocalHost`, `SshHost`."""

    name: str
    session_dir: str
    """Where status files live, as the host's shell sees it (`~/` allowed)."""
    tmux: str
    """Shell words that run tmux there, already quoted (e.g. `tmux -u` or `tmux -S /tmp/s -u`).

    `-u` keeps session names UTF-8 whatever locale the script runs under."""

    async def run(self, script: str, *, stdin: str | None = None, timeout: float) -> ScriptResult:
        """Run `script` under `/bin/sh` with `stdin` as its input.

        Raises `HostUnreachable` when the host cannot be reached or the script outlives `timeout`.
        """
        ...

    def attach_command(self, session: str) -> AttachCommand:
        """The command that attaches the user's terminal to tmux session `session` there."""
        ...

    async def close(self) -> None: ...


def frame_script(script: str, stdin: str | None = None) -> str:
    """The program text fed to `/bin/sh -s` that runs `script` with `stdin` as its input.

    The script is wrapped in `{ ...; }` so the shell parses all of it before running any of it:
    nothing the script starts can read the rest of the program as its own input. Its input is
    `/dev/null`, or `stdin` piped in by `printf` (a builtin, so no argument length limit).
    """
    if stdin is None:
        return f"{{\n{script}\n}} </dev/null\n"
    if "\0" in stdin:
        raise ValueError("script input cannot contain NUL bytes")
    return f"printf '%s' {shlex.quote(stdin)} | {{\n{script}\n}}\n"


def tmux_escape(value: str) -> str:
    """A tmux argument as tmux must receive it: a trailing `;` would end the tmux command."""
    return value[:-1] + "\\;" if value.endswith(";") else value


def exact_target(session: str) -> str:
    """A target naming exactly this session (no prefix or pattern match, no `$id` lookup)."""
    return tmux_escape("=" + session)


def sh_path(path: str) -> str:
    """Quote a path for sh, expanding a leading `~` to the host's `$HOME`."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)
