"""The one interface every host implements: run a POSIX `sh` script, with a timeout and a cap.

Local and SSH hosts both feed a `Program` to `/bin/sh -s` on its standard input, so a script
behaves the same on either, whatever the remote user's login shell is: the only command line a
login shell ever parses is the literal `/bin/sh -s`.

What a host sends back is untrusted and may be huge or noisy: `OutputCollector` drops whatever a
login shell's startup files printed before the script's own per-run marker, and keeps at most a
fixed number of bytes (the host then stops the script and closes its channel).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
from dataclasses import dataclass, field
from typing import Protocol
from collections.abc import AsyncIterator

from ..errors import ActionFailed

SH_COMMAND = "/bin/sh -s"

MiB = 1 << 20
OUTPUT_LIMIT = 8 * MiB
"""Default cap on the standard output of one script run."""
STDERR_LIMIT = 64 * 1024
READ_CHUNK = 64 * 1024
EXIT_NOT_STARTED = 97
"""The exit status of a program whose first line was eaten before `sh` saw it."""


@dataclass(frozen=True)
class ScriptResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    elapsed: float
    """Seconds from sending the script to its exit."""
    cut: int | None = None
    """The byte limit stdout was cut at (the script was stopped there); None when complete."""

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip()

    @property
    def cut_note(self) -> str:
        """`output cut at N MiB`, or "" when the output is complete."""
        return "" if self.cut is None else f"output cut at {format_size(self.cut)}"


def format_size(size: int) -> str:
    return f"{size / MiB:g} MiB" if size >= MiB else f"{size / 1024:g} KiB"


@dataclass(frozen=True)
class AttachCommand:
    """A command to run in the real terminal for `attach`; `unset_env` names variables to drop."""

    argv: list[str]
    unset_env: tuple[str, ...] = field(default=())
    session_ref: str | None = None
    """`HOST:SESSION` being attached to (no notification for it meanwhile), when known."""


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

    async def run(
        self, script: str, *, stdin: str | None = None, timeout: float, limit: int = OUTPUT_LIMIT
    ) -> ScriptResult:
        """Run `script` under `/bin/sh` with `stdin` as its input; at most `limit` bytes of its
        output are read (then it is stopped and the result says where it was cut).

        Raises `HostUnreachable` when the host cannot be reached or the script outlives `timeout`,
        `ScriptNotStarted` when the host's login shell swallowed the program.
        """
        ...

    def stream(self, script: str) -> AsyncIterator[bytes]:
        """Run `script` for as long as the caller reads, yielding its output as it comes (what a
        login shell printed before the script is dropped). Closing the iterator stops the script.

        Raises `HostUnreachable` when the host cannot be reached, `ScriptNotStarted` when the
        script never began; the iteration simply ends when the script exits.
        """
        ...

    def attach_command(self, session_id: str) -> AttachCommand:
        """The command that attaches the user's terminal to the tmux session with id `session_id`
        (`$N`, as `resolve_session_id` finds it) there."""
        ...

    async def close(self) -> None: ...


class ScriptNotStarted(ActionFailed):
    """The program never ran as sent: the login shell's startup files read or printed over it."""


@dataclass(frozen=True)
class Program:
    """The text fed to `/bin/sh -s` for one run, and the marker it prints before anything else."""

    text: bytes
    marker: bytes

    def collector(self, host: str, limit: int = OUTPUT_LIMIT) -> OutputCollector:
        return OutputCollector(host, self.marker, limit)


def build_program(script: str, stdin: str | None = None) -> Program:
    """The program that runs `script` with `stdin` as its input, marked for this run.

    The script is wrapped in `{ ...; }` so the shell parses all of it before running any of it:
    nothing the script starts can read the rest of the program as its own input. Its input is
    `/dev/null`, or `stdin` piped in by `printf` (a builtin, so no argument length limit).

    The first line sets a per-run token that the block checks before doing anything: if a startup
    file of the login shell eats that line, nothing runs (exit 97). The block then prints the
    marker on stdout and stderr, so whatever the startup files printed before it is dropped.
    """
    token = secrets.token_hex(16)
    marker = f"navish-{token}"
    body = f"""[ "$navish_token" = {token} ] || exit {EXIT_NOT_STARTED}
printf '%s\\n' {marker}; printf '%s\\n' {marker} >&2
{script}"""
    if stdin is None:
        text = f"navish_token={token}\n{{\n{body}\n}} </dev/null\n"
    else:
        if "\0" in stdin:
            raise ValueError("script input cannot contain NUL bytes")
        text = f"navish_token={token}\nprintf '%s' {shlex.quote(stdin)} | {{\n{body}\n}}\n"
    return Program(text.encode(), marker.encode())


class OutputCollector:
    """Gathers one run's stdout and stderr: noise before the marker dropped, stdout capped.

    Feed it chunks as they arrive; `feed_stdout` returns True once the cap is reached, and the
    host must then stop reading and stop the script.
    """

    def __init__(self, host: str, marker: bytes, limit: int):
        self.host = host
        self.limit = limit
        self._out = _Stream(marker + b"\n", limit)
        self._err = _Stream(marker + b"\n", STDERR_LIMIT)

    def feed_stdout(self, chunk: bytes) -> bool:
        return self._out.feed(chunk)

    def feed_stderr(self, chunk: bytes) -> None:
        self._err.feed(chunk)

    @property
    def full(self) -> bool:
        return self._out.full

    def result(self, returncode: int, elapsed: float) -> ScriptResult:
        """The run's result; raises `ScriptNotStarted` when the marker never came."""
        if not self._out.started:
            if self._out.full or returncode == EXIT_NOT_STARTED or not self._err.started:
                raise _not_started(self.host)
            raise ScriptNotStarted(f"{self.host}: the script's output never began (exit status {returncode})")
        cut = self.limit if self._out.full else None
        return ScriptResult(returncode, self._out.data(), self._err.data(), elapsed, cut)


class OutputSink(Protocol):
    """Where a host hands a script's output as it arrives (`OutputCollector`, `StreamSink`)."""

    def feed_stdout(self, chunk: bytes) -> bool:
        """Take a chunk of stdout; True when no more is wanted (stop the script)."""
        ...

    def feed_stderr(self, chunk: bytes) -> None: ...


class StreamSink:
    """For `Host.stream`: stdout past the marker, chunk by chunk, in a queue; stderr dropped."""

    def __init__(self, host: str, marker: bytes):
        self.gate = MarkerGate(host, marker)
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def feed_stdout(self, chunk: bytes) -> bool:
        if data := self.gate.feed(chunk):
            self.chunks.put_nowait(data)
        return False

    def feed_stderr(self, chunk: bytes) -> None:
        return None


class NoRoomForWatch(ActionFailed):
    """The host allows too few channels at once to keep one open for a watcher."""


class MarkerGate:
    """For a stream: drops what comes before `marker` + newline, then lets everything through."""

    def __init__(self, host: str, marker: bytes):
        self.host = host
        self._stream = _Stream(marker + b"\n", 1 << 62)

    def feed(self, chunk: bytes) -> bytes:
        """What of `chunk` is the script's own output."""
        self._stream.feed(chunk)
        return self._stream.take()

    def check_started(self) -> None:
        """At the end of the stream: raise `ScriptNotStarted` when the marker never came."""
        if not self._stream.started:
            raise _not_started(self.host)


def _not_started(host: str) -> ScriptNotStarted:
    return ScriptNotStarted(
        f"{host}: the script did not run: a startup file of the login shell there "
        "(e.g. ~/.bashrc) reads standard input or prints without end; make it do so only in interactive shells"
    )


class _Stream:
    """One output stream: bytes before `marker` dropped, at most `limit` bytes kept after it."""

    def __init__(self, marker: bytes, limit: int):
        self.marker = marker
        self.limit = limit
        self.started = False
        self.full = False
        self._noise = b""
        self._chunks: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> bool:
        if self.full:
            return True
        if not self.started:
            seen = self._noise + chunk
            at = seen.find(self.marker)
            if at < 0:
                self._noise = seen[-len(self.marker) :]  # keep just enough to find a split marker
                return False
            self.started, self._noise = True, b""
            chunk = seen[at + len(self.marker) :]
        room = self.limit - self._size
        if len(chunk) >= room + 1:
            chunk, self.full = chunk[:room], True
        self._chunks.append(chunk)
        self._size += len(chunk)
        return self.full

    def data(self) -> bytes:
        return b"".join(self._chunks)

    def take(self) -> bytes:
        """The bytes kept since the last take."""
        data, self._chunks = b"".join(self._chunks), []
        return data


def tmux_escape(value: str) -> str:
    """A tmux argument as tmux must receive it: a trailing `;` would end the tmux command."""
    return value[:-1] + "\\;" if value.endswith(";") else value


def sh_path(path: str) -> str:
    """Quote a path for sh, expanding a leading `~` to the host's `$HOME`."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)
