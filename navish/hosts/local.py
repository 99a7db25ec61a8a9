"""The machine navish runs on: scripts run by a local `/bin/sh`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import time
from collections.abc import AsyncIterator

from ..errors import HostUnreachable
from ..model import LOCAL
from .base import OUTPUT_LIMIT, AttachCommand, MarkerGate, OutputCollector, ScriptResult, build_program


class LocalHost:
    """Runs scripts with `/bin/sh -s` in a new process group, killed whole on timeout, on
    cancellation and when its output reaches the cap."""

    def __init__(self, session_dir: str, *, name: str = LOCAL, tmux_socket: str | None = None):
        self.name = name
        self.session_dir = session_dir
        self.tmux_socket = tmux_socket
        self.tmux_argv = ["tmux", "-S", tmux_socket] if tmux_socket else ["tmux"]
        self.tmux = shlex.join([*self.tmux_argv, "-u"])

    async def run(
        self, script: str, *, stdin: str | None = None, timeout: float, limit: int = OUTPUT_LIMIT
    ) -> ScriptResult:
        program = build_program(script, stdin)
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: _ScriptProtocol(program.collector(self.name, limit), loop),
            "/bin/sh",
            "-s",
            start_new_session=True,
        )
        stdin_pipe = transport.get_pipe_transport(0)
        assert isinstance(stdin_pipe, asyncio.WriteTransport)
        stdin_pipe.write(program.text)
        stdin_pipe.write_eof()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(protocol.finished)
        except BaseException as exc:
            protocol.stop()
            await asyncio.shield(protocol.finished)
            if isinstance(exc, TimeoutError):
                raise HostUnreachable(f"{self.name}: gave no answer within {timeout:g}s") from None
            raise
        finally:
            transport.close()
        return protocol.collector.result(transport.get_returncode() or 0, time.monotonic() - started)

    async def stream(self, script: str) -> AsyncIterator[bytes]:
        program = build_program(script)
        gate = MarkerGate(self.name, program.marker)
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        transport, _protocol = await loop.subprocess_exec(
            lambda: _StreamProtocol(chunks), "/bin/sh", "-s", start_new_session=True, stderr=asyncio.subprocess.DEVNULL
        )
        stdin_pipe = transport.get_pipe_transport(0)
        assert isinstance(stdin_pipe, asyncio.WriteTransport)
        stdin_pipe.write(program.text)
        stdin_pipe.write_eof()
        try:
            while (chunk := await chunks.get()) is not None:
                if data := gate.feed(chunk):
                    yield data
            gate.check_started()
        finally:
            if transport.get_returncode() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(transport.get_pid(), signal.SIGKILL)
            transport.close()

    def attach_command(self, session_id: str) -> AttachCommand:
        if self._inside_same_tmux_server():
            return AttachCommand([*self.tmux_argv, "switch-client", "-t", session_id])
        return AttachCommand([*self.tmux_argv, "attach-session", "-t", session_id], unset_env=("TMUX",))

    def _inside_same_tmux_server(self) -> bool:
        inside = os.environ.get("TMUX", "")
        if not inside:
            return False
        if self.tmux_socket is None:
            return True  # tmux itself talks to the server named by $TMUX
        socket_path = inside.split(",", 1)[0]
        return os.path.realpath(socket_path) == os.path.realpath(self.tmux_socket)

    async def close(self) -> None:
        return None


class _StreamProtocol(asyncio.SubprocessProtocol):
    """Hands a long-running script's output to a queue; None when its output ends."""

    def __init__(self, chunks: asyncio.Queue[bytes | None]):
        self.chunks = chunks

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        self.chunks.put_nowait(data if isinstance(data, bytes) else data.encode())

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self.chunks.put_nowait(None)


class _ScriptProtocol(asyncio.SubprocessProtocol):
    """Feeds a script's output to its collector as it arrives; stops the script at the cap."""

    def __init__(self, collector: OutputCollector, loop: asyncio.AbstractEventLoop):
        self.collector = collector
        self.finished: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.SubprocessTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        chunk = data if isinstance(data, bytes) else data.encode()
        if fd == 2:
            self.collector.feed_stderr(chunk)
        elif self.collector.feed_stdout(chunk):
            self.stop()

    def stop(self) -> None:
        """Kill the script's whole process group and close its pipes; `finished` follows."""
        assert self.transport is not None
        pid = self.transport.get_pid()
        if self.transport.get_returncode() is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """The script exited and its pipes are closed."""
        if not self.finished.done():
            self.finished.set_result(None)
