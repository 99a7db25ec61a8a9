"""Channels on one pooled SSH connection against real sshd: a server allowing fewer sessions than
navish's cap (MaxSessions 1 and 2), the output cap, and Ctrl-C while a remote streams."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from navish.errors import HostUnreachable
from navish.hosts.base import MiB
from navish.model import HostState
from tests.sshd import eventually, make_pool, pid_alive

T = 10.0


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _waiting(started: Path, gate: Path) -> str:
    """A script that says it started, then waits (30 s at most) for `gate` to appear."""
    return (f": > {started}; i=0; while [ ! -e {gate} ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i + 1)); done;"
            " echo survived")


def _written(pid: int) -> int:
    """Bytes process `pid` has written so far (it runs on this machine: the "remote" is local)."""
    try:
        io = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return 0
    return int(next(line.split()[1] for line in io.splitlines() if line.startswith("wchar:")))


@pytest.mark.parametrize("max_sessions", [1, 2])
def test_a_server_allowing_fewer_sessions_queues_runs_and_kills_nothing(sshd_factory, client_key, max_sessions):
    """A refused channel never closes the shared connection: the script already running on it
    survives, the cap drops to what the server allows, and the other runs wait their turn."""
    server = sshd_factory(extra_config=(f"MaxSessions {max_sessions}",))
    started, gate = server.home / "started", server.home / "gate"

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key))
        try:
            long = asyncio.create_task(host.run(_waiting(started, gate), timeout=3 * T))
            await eventually(started.exists, what="the long script to start")
            runs = asyncio.gather(*(host.run(f"echo {i}", timeout=3 * T) for i in range(10)))
            await eventually(lambda: "no more sessions" in server.log_text(), what="sshd to refuse a channel")
            if max_sessions > 1:  # the one session left serves all ten, one after another
                results = await runs
                assert not long.done()
            gate.touch()
            assert (await long).out == "survived\n"
            results = await runs
            assert [r.out for r in results] == [f"{i}\n" for i in range(10)]
            assert server.accepted_logins() == 1 and pool.open_connections() == 1
        finally:
            gate.touch()  # sshd cannot signal a root login's script: let it end by itself
            await pool.close_all()

    asyncio.run(main())


def test_output_cap_stops_the_script_and_keeps_the_connection(sshd_factory, client_key):
    server = sshd_factory()
    pid_file = server.home / "pid"

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key))
        try:
            began = time.monotonic()
            result = await host.run(f"echo $$ > {pid_file}; echo begin; exec cat /dev/zero", timeout=T, limit=MiB)
            assert time.monotonic() - began < 3
            assert result.cut == MiB and result.cut_note == "output cut at 1 MiB"
            assert result.stdout == b"begin\n" + b"\0" * (MiB - 6)
            pid = _pid(pid_file)
            assert pid is not None
            await eventually(lambda: not pid_alive(pid), what="the remote cat to end")
            # A complete answer is not marked cut; the same connection serves it.
            result = await host.run("echo ok", timeout=T, limit=3)
            assert (result.out, result.cut) == ("ok\n", None)
            assert server.accepted_logins() == 1
        finally:
            await pool.close_all()

    asyncio.run(main())


def test_cancel_while_a_remote_streams_hundreds_of_mib_returns_at_once(sshd_factory, client_key):
    server = sshd_factory()
    pid_file = server.home / "pid"

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key))
        try:
            run = asyncio.create_task(
                host.run(f"echo $$ > {pid_file}; exec cat /dev/zero", timeout=60, limit=1 << 40)
            )
            await eventually(lambda: _pid(pid_file) is not None, what="the remote cat to start")
            pid = _pid(pid_file)
            assert pid is not None
            await eventually(lambda: _written(pid) > 200 * MiB, timeout=30, what="200 MiB streamed")
            began = time.monotonic()
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
            assert time.monotonic() - began < 0.5
            await eventually(lambda: not pid_alive(pid), what="the remote cat to end")
            assert (await host.run("echo still here", timeout=T)).out == "still here\n"
            assert server.accepted_logins() == 1
        finally:
            await pool.close_all()

    asyncio.run(main())


def test_a_run_that_waits_too_long_for_a_channel_says_so(sshd_factory, client_key):
    """The host answers, its only session is busy: not "no answer", and not offline."""
    server = sshd_factory(extra_config=("MaxSessions 1",))
    started, gate = server.home / "started", server.home / "gate"

    async def main():
        pool = make_pool()
        host = pool.host(server.spec(client_key))
        try:
            long = asyncio.create_task(host.run(_waiting(started, gate), timeout=T))
            await eventually(started.exists, what="the long script to start")
            with pytest.raises(HostUnreachable) as err:
                await host.run("echo hi", timeout=0.5)
            assert str(err.value) == f"dev: no free channel within 0.5s (127.0.0.1:{server.port} allows 1 at once)"
            assert host.state is HostState.CONNECTED
            gate.touch()
            assert (await long).out == "survived\n"
            assert (await host.run("echo hi", timeout=T)).out == "hi\n"
        finally:
            gate.touch()
            await pool.close_all()

    asyncio.run(main())
