"""Many hosts at once without a storm: a bounded number of handshakes in flight (real sshd, 40
hosts), and hosts that fail together do not retry or probe in lockstep."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from types import SimpleNamespace

import asyncssh
import pytest

from navish.config import RemoteConfig
from navish.errors import HostUnreachable
from navish.hosts.ssh import SshPool
from navish.hosts.ssh import pool as pool_module
from tests.sshd import USER, Sshd, free_port, make_pool

PORTS_PER_SSHD = 16  # sshd's MAX_LISTEN_SOCKS
T = 30.0


def _servers(directory: Path, client_key: Path, ports: list[int]) -> tuple[list[Sshd], Path]:
    """sshd instances listening on every port (16 per instance), and a known_hosts file trusting each."""
    servers, lines = [], []
    for n in range(0, len(ports), PORTS_PER_SSHD):
        chunk = ports[n : n + PORTS_PER_SSHD]
        server = Sshd(directory / f"sshd{n}", port=chunk[0], log_level="INFO", extra_config=tuple(f"Port {p}" for p in chunk[1:]))
        server.authorize(f"{client_key}.pub")
        servers.append(server.start())
        lines += [f"[127.0.0.1]:{port} {server.public_host_key()}\n" for port in chunk]
    known_hosts = directory / "known_hosts"
    known_hosts.write_text("".join(lines))
    return servers, known_hosts


class InFlight:
    """Wraps `asyncssh.connect`: counts the handshakes running at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: bool = False):
        self.now = self.peak = self.total = 0
        self.started: list[float] = []
        real = asyncssh.connect

        async def connect(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.now += 1
            self.total += 1
            self.peak = max(self.peak, self.now)
            self.started.append(time.monotonic())
            try:
                if fail:
                    await asyncio.sleep(0)
                    raise ConnectionRefusedError(111, "Connection refused")
                return await real(*args, **kwargs)
            finally:
                self.now -= 1

        monkeypatch.setattr(asyncssh, "connect", connect)


def _connect_all(tmp_path, client_key, monkeypatch, count: int, **pool_kw):  # type: ignore[no-untyped-def]
    """`count` real sshd hosts, each asked to run `echo ok` at once through one pool: the
    handshakes seen in flight, and each host's answer."""
    ports = sorted({free_port() for _ in range(count + 20)})[:count]
    assert len(ports) == count
    servers, known_hosts = _servers(tmp_path, client_key, ports)
    flight = InFlight(monkeypatch)
    answers: list[str] = []

    async def main() -> None:
        pool = make_pool(connect_timeout=20.0, **pool_kw)
        hosts = [
            pool.host(RemoteConfig(f"h{i}", "127.0.0.1", port=port, user=USER, key=str(client_key), known_hosts=str(known_hosts)))
            for i, port in enumerate(ports)
        ]
        try:
            answers.extend(r.out for r in await asyncio.gather(*(h.run("echo ok", timeout=T) for h in hosts)))
            assert pool.open_connections() == count and pool.handshakes == 0
        finally:
            await pool.close_all()

    try:
        asyncio.run(main())
    finally:
        for server in servers:
            server.stop()
    return flight, answers, servers


def test_forty_hosts_connect_with_at_most_the_bound_in_flight(tmp_path, client_key, monkeypatch):
    assert pool_module.MAX_HANDSHAKES == 16
    flight, answers, servers = _connect_all(tmp_path, client_key, monkeypatch, 40)
    assert answers == ["ok\n"] * 40
    assert flight.total == 40  # one handshake per host, none retried
    assert 2 <= flight.peak <= 16, flight.peak
    assert sum(s.log_text().count("Accepted publickey") for s in servers) == 40


def test_a_smaller_bound_is_kept(tmp_path, client_key, monkeypatch):
    flight, answers, _ = _connect_all(tmp_path, client_key, monkeypatch, 20, max_handshakes=3)
    assert answers == ["ok\n"] * 20
    assert flight.peak == 3 and flight.total == 20


def test_hosts_down_together_do_not_retry_or_probe_in_lockstep(world, monkeypatch):
    """500 hosts fail at the same moment; then, as the shell does, every host is asked for a
    connection at the same ticks. Their reconnects and probes spread over many ticks."""
    flight = InFlight(monkeypatch, fail=True)
    probes: list[float] = []

    async def probe(link, address):  # type: ignore[no-untyped-def]
        probes.append(time.monotonic())
        link.down = True  # still refused

    async def options(self, hop, **extra):  # type: ignore[no-untyped-def]
        """What a connect reads of its options, without reading ssh config and keys each time."""
        return SimpleNamespace(host=hop.host, port=hop.port, username="u", tunnel=None, proxy_command=None,
                               known_hosts=None, host_key_alias=None)

    monkeypatch.setattr(SshPool, "_probe", staticmethod(probe))
    monkeypatch.setattr(SshPool, "options", options)
    tick, n = 0.05, 500

    async def main() -> tuple[list[int], list[int]]:
        pool = SshPool(  # no start jitter here: it would slow the ticks down, not spread the retries
            config=None, agent_path=None, backoff_initial=1.6, probe_interval=0.6, start_jitter=0, rng=random.Random(7)
        )
        hosts = [pool.host(RemoteConfig(f"h{i}", "127.0.0.1", port=1 + i)) for i in range(n)]

        async def visit(host) -> None:  # type: ignore[no-untyped-def]
            with pytest.raises(HostUnreachable):
                await host.connect()

        await asyncio.gather(*(visit(h) for h in hosts))  # all fail at once
        assert flight.total == n and flight.peak <= 16
        first = time.monotonic()
        attempts, probed = [], []
        for _ in range(int(3.0 / tick)):  # 3 s of ticks
            before_attempts, before_probes = flight.total, len(probes)
            await asyncio.gather(*(visit(h) for h in hosts))
            attempts.append(flight.total - before_attempts)
            probed.append(len(probes) - before_probes)
            await asyncio.sleep(max(0.0, first + tick * (len(attempts)) - time.monotonic()))
        await pool.close_all()
        return attempts, probed

    attempts, probed = asyncio.run(main())
    said = str((attempts, probed))
    # every host retried (the first backoff is 0.8-1.6 s) and was probed meanwhile...
    assert sum(attempts) >= n and sum(probed) >= n, said
    # ...but never most of them in the same tick: they spread over many
    assert max(attempts) <= n // 4 and len([a for a in attempts if a]) >= 8, said
    assert max(probed) <= pool_module.MAX_PROBES and len([p for p in probed if p]) >= 8, said
    assert flight.peak <= pool_module.MAX_HANDSHAKES
