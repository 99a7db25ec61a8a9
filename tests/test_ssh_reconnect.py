"""Reconnecting after an outage against real sshd: the backoff stays for failing attempts, but a
host whose port accepts again is retried at once, so it is live within seconds, not minutes."""

from __future__ import annotations

import asyncio
import time

import pytest

from navish.config import RemoteConfig
from navish.errors import HostUnreachable
from navish.model import HostState
from tests.sshd import eventually, make_pool, write_known_hosts

T = 10.0


async def _outage(host, forced: int) -> None:
    """Let the backoff grow as during a long outage: each failed attempt doubles it (1 s, 2 s,
    ... 2**(forced-1) s), then check that a run now fails at once without connecting."""
    for _ in range(forced):
        with pytest.raises(HostUnreachable):
            await host.connect(force=True)
    began = time.monotonic()
    with pytest.raises(HostUnreachable):
        await host.run("true", timeout=T)
    assert time.monotonic() - began < 0.5


async def _seconds_until_live(host, deadline: float) -> float:
    """Poll the host as the shell does (every 0.2 s) until a run succeeds; the seconds it took."""
    began = time.monotonic()
    while True:
        try:
            result = await host.run("echo back", timeout=T)
        except HostUnreachable:
            assert time.monotonic() - began < deadline, f"still down after {deadline}s: {host.last_error}"
            await asyncio.sleep(0.2)
            continue
        assert result.out == "back\n" and host.state is HostState.CONNECTED
        return time.monotonic() - began


def test_a_host_back_after_a_long_outage_is_live_within_seconds(sshd_factory, client_key):
    server = sshd_factory()

    async def main():
        pool = make_pool()  # the shell's backoff: 1 s doubling up to 60 s, a probe every 2 s
        host = pool.host(server.spec(client_key))
        try:
            assert (await host.run("echo up", timeout=T)).out == "up\n"
            await asyncio.to_thread(server.stop)
            await eventually(lambda: host.state is HostState.OFFLINE, what="the lost connection to show")
            await _outage(host, forced=6)  # the next attempt would be 32 s away
            await asyncio.to_thread(server.start)
            assert await _seconds_until_live(host, deadline=8) < 5
            assert pool.open_connections() == 1
        finally:
            await pool.close_all()

    asyncio.run(main())


def test_a_host_behind_a_jump_host_comes_back_soon(sshd_factory, client_key, tmp_path):
    """Nothing can be probed through a jump host: its backoff is capped short instead."""
    bastion, target = sshd_factory(), sshd_factory()
    known_hosts = write_known_hosts(tmp_path / "known_hosts", bastion, target)

    async def main():
        pool = make_pool(probe_interval=0.5)  # the cap is twice that
        host = pool.host(target.spec(client_key, known_hosts=known_hosts, jump_host=f"127.0.0.1:{bastion.port}"))
        try:
            assert (await host.run("echo up", timeout=T)).out == "up\n"
            await asyncio.to_thread(target.stop)
            await eventually(lambda: host.state is HostState.OFFLINE, what="the lost connection to show")
            await _outage(host, forced=6)
            await asyncio.to_thread(target.start)
            assert await _seconds_until_live(host, deadline=5) < 2
            assert bastion.accepted_logins() == 1  # the jump host's connection stayed up throughout
        finally:
            await pool.close_all()

    asyncio.run(main())


def test_a_port_that_accepts_but_fails_at_the_ssh_level_keeps_its_backoff(tmp_path, client_key):
    """Probing only helps a host whose port was down: one that accepts TCP and then says nothing
    is not retried on every probe (each attempt would cost a whole connect timeout)."""

    async def main():
        handshakes, probes = [], []

        async def silent(reader, writer):  # accepts, reads the client's banner, never answers
            data = await reader.read(100)
            (handshakes if data.startswith(b"SSH-") else probes).append(1)
            await reader.read()
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = make_pool(connect_timeout=0.3, probe_interval=0.05, backoff_initial=30)
        host = pool.host(RemoteConfig("dev", "127.0.0.1", port=port, user="nobody", key=str(client_key),
                                      known_hosts=str(tmp_path / "kh")))
        try:
            with pytest.raises(HostUnreachable, match="no answer within 0.3s"):
                await host.run("true", timeout=T)

            async def poll() -> None:
                began = time.monotonic()
                with pytest.raises(HostUnreachable, match="no answer within 0.3s"):
                    await host.run("true", timeout=T)
                assert time.monotonic() - began < 0.5  # failed fast: no new connect

            while not probes:  # the first poll in backoff probes the port: it accepts
                await poll()
                await asyncio.sleep(0.02)
            polls_until = time.monotonic() + 20 * pool.probe_interval
            while time.monotonic() < polls_until:  # so it is not probed again, nor reconnected
                await poll()
                await asyncio.sleep(0.02)
            assert (len(handshakes), len(probes)) == (1, 1)
        finally:
            await pool.close_all()
            server.close()
            await server.wait_closed()

    asyncio.run(main())
