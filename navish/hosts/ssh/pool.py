"""`SshPool`: at most one connection per SSH endpoint, connected lazily, replaced when it dies,
retried with capped exponential backoff while the host is down, and probed cheaply during the
backoff so that a host coming back is used again within seconds.

Hundreds of hosts connect without a storm: at most `max_handshakes` handshakes (TCP, key
exchange, login) run at once, a handshake that finds others under way starts after a small
random delay, and the backoff and the probes of hosts that failed together are spread at random,
so they do not retry or probe in lockstep."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import asyncssh

from ...config import RemoteConfig
from ...model import HostState
from ...sanitize import one_line
from .endpoint import (
    CIPHERS,
    ConnectFailed,
    ConnectSettings,
    Failure,
    Hop,
    connect_options,
    direct_address,
    network_failure,
    quiet_asyncssh,
    settings_failure,
    tcp_down,
    where,
)
from .host import SshHost
from .link import Client, Link
from .trust import (
    HostKey,
    KnownHosts,
    host_key,
    key_failure,
    known_hosts_name,
    load_known_hosts,
    type_failure,
)

PROBE_TIMEOUT = 1.0
"""Seconds a TCP probe waits for the port to accept."""
PROBE_WAIT = 0.2
"""Seconds a caller in backoff waits for a probe it started (a slow one goes on by itself)."""
MAX_HANDSHAKES = 16
"""Handshakes (TCP, key exchange, login) in flight at once; more wait their turn."""
START_JITTER = 0.1
"""At most this many seconds a handshake that finds others under way waits before it queues."""
BACKOFF_JITTER = 0.5
"""A retry waits between (1 - this) and all of its backoff, chosen at random."""
PROBE_JITTER = 0.25
"""A probe's interval varies by up to this fraction either way, chosen at random."""
MAX_PROBES = 64
"""TCP probes in flight at once; a host due for one when that many run is probed next time."""


_CUT_OFF = (asyncssh.ConnectionLost, asyncssh.KeyExchangeFailed, ConnectionResetError, ConnectionAbortedError)
"""How a handshake the server dropped ends (it may have found no key type in common)."""


class SshPool:
    """At most one connection per SSH endpoint, shared by all callers as separate channels
    (at most `max_channels` at once, fewer when the server allows fewer).

    `config` is passed to asyncssh: `()` reads ~/.ssh/config, `None` reads nothing, or paths.
    `agent_path`: `()` uses $SSH_AUTH_SOCK, `None` no agent. `ciphers`: preference order, `()` for
    asyncssh's own (or ssh_config's `Ciphers`). Times are seconds. After a failed connect, callers
    fail fast with the same error for `backoff_initial` seconds, doubling per consecutive failure
    up to `backoff_max`; meanwhile a host that was not accepting TCP connections is probed at most
    every `probe_interval` and retried as soon as it accepts (a host behind a jump host or proxy,
    which cannot be probed, waits at most twice `probe_interval`). `SshHost.connect(force=True)`
    retries at once. At most `max_handshakes` connects run at once; one that finds others under
    way first waits up to `start_jitter` seconds. `rng`: the randomness (tests pass a seeded one).
    """

    def __init__(
        self,
        *,
        config: Any = (),
        agent_path: Any = (),
        connect_timeout: float = 5.0,
        keepalive_interval: float = 15.0,
        keepalive_count_max: int = 3,
        max_channels: int = 8,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        probe_interval: float = 2.0,
        ciphers: Any = CIPHERS,
        max_handshakes: int = MAX_HANDSHAKES,
        start_jitter: float = START_JITTER,
        rng: random.Random | None = None,
    ):
        quiet_asyncssh()
        self.settings = ConnectSettings(
            config, agent_path, connect_timeout, keepalive_interval, keepalive_count_max, ciphers
        )
        self.max_channels = max_channels
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.probe_interval = probe_interval
        self.max_handshakes = max_handshakes
        self.start_jitter = start_jitter
        self.handshakes = 0
        """Handshakes in flight now, and waiting for their turn (`_handshake`)."""
        self._handshake_slots: asyncio.Semaphore | None = None
        self._probes = 0
        self._rng = rng or random.Random()
        self._links: dict[Hop, Link] = {}

    def host(self, spec: RemoteConfig, *, on_state_change: Callable[[SshHost], None] | None = None) -> SshHost:
        return SshHost(spec, self, on_state_change=on_state_change)

    def open_connections(self) -> int:
        """How many pooled connections are up (remotes and jump hosts)."""
        return sum(link.alive() for link in self._links.values())

    async def close_all(self) -> None:
        """Close every connection and wait until each is fully closed."""
        links = sorted(self._links.values(), key=lambda link: link.hop.via is None)  # tunnelled ones first
        for link in links:
            await self.close_link(link)

    # -- used by SshHost --

    def link(self, hop: Hop) -> Link:
        link = self._links.get(hop)
        if link is None:
            link = self._links[hop] = Link(hop, self.max_channels)
        if hop.via is not None:
            self.link(hop.via)
        return link

    async def close_link(self, link: Link) -> None:
        if link.probe is not None:
            link.probe.cancel()
        conn, link.conn = link.conn, None
        if conn is not None:
            conn.close()
            await conn.wait_closed()
        if link.tasks:
            await asyncio.gather(*link.tasks, return_exceptions=True)

    async def connection(
        self, link: Link, *, force: bool = False, attempting: Callable[[], None] | None = None
    ) -> asyncssh.SSHClientConnection:
        """The link's live connection, connecting first if needed. Raises `ConnectFailed`."""
        conn = link.conn
        if conn is not None and not conn.is_closed():
            return conn
        async with link.lock:
            conn = link.conn
            if conn is not None and not conn.is_closed():
                return conn
            failure = link.failure
            if failure and not force and time.monotonic() < link.retry_at and not await self._seen_again(link):
                raise ConnectFailed(failure)
            if attempting:
                attempting()
            try:
                tunnel: Any = ()
                if link.hop.via is not None:
                    try:
                        tunnel = await self.connection(self._links[link.hop.via], force=force)
                    except ConnectFailed as exc:
                        raise ConnectFailed(replace(exc.failure, jump=True)) from None
                conn = await self._open(link, tunnel)
            except ConnectFailed as exc:
                self._back_off(link, exc.failure)
                raise
            link.connected(conn)
            return conn

    async def options(self, hop: Hop, **extra: Any) -> asyncssh.SSHClientConnectionOptions:
        return await connect_options(hop, self.settings, **extra)

    def known_hosts(self, hop: Hop, opts: asyncssh.SSHClientConnectionOptions) -> KnownHosts:
        try:
            return load_known_hosts(hop, opts)
        except (OSError, ValueError) as exc:
            # said as what it is: a file that cannot be read, not a failed login
            which = f" {exc.filename}" if isinstance(exc, OSError) and exc.filename else ""
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            text = f"cannot read the known_hosts file{which}: {one_line(reason, 200)}"
            raise ConnectFailed(Failure(settings_failure(exc).state, text, f"jump host: {text}")) from None

    async def host_key(self, link: Link, tunnel: Any) -> HostKey:
        """The host key `link`'s server presents, fetched without trusting it."""
        opts = await self.options(link.hop)
        known = self.known_hosts(link.hop, opts)
        try:
            key = await self._server_key(link.hop, opts, tunnel)
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            raise ConnectFailed(network_failure(exc, link.where, opts, self.settings.connect_timeout)) from None
        if key is None:
            text = f"server sent no host key ({link.where})"
            raise ConnectFailed(Failure(HostState.OFFLINE, text, text))
        name = known_hosts_name(opts)
        return host_key(key, name, known.entries(name))

    # -- internals --

    async def _open(self, link: Link, tunnel: Any) -> asyncssh.SSHClientConnection:
        hop = link.hop
        opts = await self.options(hop, client_factory=lambda: Client(link))
        link.where = where(opts.host, opts.port)
        link.address = direct_address(hop, opts)
        known = self.known_hosts(hop, opts)
        try:
            async with self._handshake():
                # connect()'s own arguments override the options': pass tunnel and known_hosts here
                return await asyncssh.connect(
                    hop.host, hop.port or (), tunnel=tunnel, options=opts, config=self.settings.config,
                    known_hosts=known.match,
                )
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            link.down = tcp_down(exc)
            raise ConnectFailed(await self._explain(exc, link, opts, known, tunnel)) from None

    async def _explain(
        self, exc: BaseException, link: Link, opts: asyncssh.SSHClientConnectionOptions, known: KnownHosts, tunnel: Any
    ) -> Failure:
        """A connect error in one line, for the remote itself and as a jump host."""
        entries = known.entries(known_hosts_name(opts))
        if isinstance(exc, asyncssh.HostKeyNotVerifiable):
            return Failure.at(*key_failure(exc, entries), link.where)
        if isinstance(exc, _CUT_OFF) and entries.trusted:
            # sshd drops a client that asks only for key types it has none of
            try:
                offered = await self._server_key(link.hop, await self.options(link.hop), tunnel)
            except (TimeoutError, OSError, asyncssh.Error):
                offered = None
            explained = type_failure(offered, entries) if offered is not None else None
            if explained is not None:
                return Failure.at(*explained, link.where)
        return network_failure(exc, link.where, opts, self.settings.connect_timeout)

    async def _server_key(
        self, hop: Hop, opts: asyncssh.SSHClientConnectionOptions, tunnel: Any
    ) -> asyncssh.SSHKey | None:
        async with self._handshake():
            return await asyncssh.get_server_host_key(
                hop.host, hop.port or (), tunnel=tunnel, options=opts, config=self.settings.config
            )

    @contextlib.asynccontextmanager
    async def _handshake(self) -> AsyncIterator[None]:
        """A turn to handshake: at most `max_handshakes` at once, first come first served; one
        that finds others under way (hosts starting together) waits a moment at random first."""
        if self._handshake_slots is None:
            self._handshake_slots = asyncio.Semaphore(self.max_handshakes)
        self.handshakes += 1
        try:
            if self.handshakes > 1 and self.start_jitter > 0:
                await asyncio.sleep(self._rng.uniform(0, self.start_jitter))
            async with self._handshake_slots:
                yield
        finally:
            self.handshakes -= 1

    def _back_off(self, link: Link, failure: Failure) -> None:
        link.failures += 1
        delay = min(self.backoff_initial * 2 ** (link.failures - 1), self.backoff_max)
        if link.address is None and failure.state is HostState.OFFLINE:
            delay = min(delay, 2 * self.probe_interval)  # nothing to probe: retry soon instead
        # hosts that failed together (a network outage) retry, and are probed, at different moments
        now = time.monotonic()
        link.retry_at = now + delay * (1 - BACKOFF_JITTER * self._rng.random())
        link.probed_at = now + PROBE_JITTER * self.probe_interval * self._rng.uniform(-1, 1)  # the attempt was a probe
        link.failure = failure

    async def _seen_again(self, link: Link) -> bool:
        """During backoff: whether a TCP probe found the server's port accepting again after it
        was not. Probes at most every `probe_interval`; only a host whose port was seen down (or
        timed out) is probed: for one that refused at the SSH level, an open port is no news."""
        if link.address is None or link.down is False:
            return False
        now = time.monotonic()
        if link.probe is None and now - link.probed_at >= self.probe_interval and self._probes < MAX_PROBES:
            # the next one is due after the interval, give or take: hosts down together spread out
            link.probed_at = now + PROBE_JITTER * self.probe_interval * self._rng.uniform(-1, 1)
            self._probes += 1
            probe = link.probe = asyncio.ensure_future(self._probe(link, link.address))
            link.tasks.add(probe)
            probe.add_done_callback(lambda task: self._probe_done(link, task))
        if link.probe is not None:
            await asyncio.wait({link.probe}, timeout=PROBE_WAIT)
        seen, link.seen_again = link.seen_again, False
        return seen

    @staticmethod
    async def _probe(link: Link, address: tuple[str, int]) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                _, writer = await asyncio.open_connection(*address)
        except OSError:  # refused, unreachable, or no answer (TimeoutError)
            link.down = True
            return
        writer.close()
        if link.down:
            link.seen_again = True
        link.down = False

    def _probe_done(self, link: Link, task: asyncio.Task[None]) -> None:
        self._probes -= 1
        link.tasks.discard(task)
        if link.probe is task:
            link.probe = None
