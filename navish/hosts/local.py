"""The machine navish runs on: scripts run by a local `/bin/sh`."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import time

from ..errors import HostUnreachable
from ..model import LOCAL
from .base import AttachCommand, ScriptResult, exact_target, frame_script


class LocalHost:
    """Runs scripts with `/bin/sh -s` in a new process group, killed whole on timeout."""

    def __init__(self, session_dir: str, *, name: str = LOCAL, tmux_socket: str | None = None):
        self.name = name
        self.session_dir = session_dir
        self.tmux_socket = tmux_socket
        self.tmux_argv = ["tmux", "-S", tmux_socket] if tmux_socket else ["tmux"]
        self.tmux = shlex.join([*self.tmux_argv, "-u"])

    async def run(self, script: str, *, stdin: str | None = None, timeout: float) -> ScriptResult:
        program = frame_script(script, stdin).encode()
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-s",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(program), timeout)
        except BaseException as exc:
            _kill_group(proc)
            await proc.wait()
            if isinstance(exc, TimeoutError):
                raise HostUnreachable(f"{self.name}: gave no answer within {timeout:g}s") from None
            raise
        return ScriptResult(proc.returncode or 0, out, err, time.monotonic() - started)

    def attach_command(self, session: str) -> AttachCommand:
        target = exact_target(session)
        if self._inside_same_tmux_server():
            return AttachCommand([*self.tmux_argv, "switch-client", "-t", target])
        return AttachCommand([*self.tmux_argv, "attach-session", "-t", target], unset_env=("TMUX",))

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


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
