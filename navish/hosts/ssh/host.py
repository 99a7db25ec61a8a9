"""`SshHost`: a remote as navish sees it, running scripts over its pooled connection."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from collections.abc import AsyncIterator

import asyncssh

from ...config import RemoteConfig
from ...errors import HostUnreachable
from ...model import HostState
from ..base import OUTPUT_LIMIT, AttachCommand, NoRoomForWatch, ScriptResult, StreamSink, build_program
from .attach import attach_argv
from .endpoint import ConnectFailed, Hop
from .link import ChannelRefused, ScriptSession, Turn
from .trust import HostKey, append_known_host, check_trustable, known_hosts_name

if TYPE_CHECKING:
    from .pool import SshPool

log = logging.getLogger(__name__)


class SshHost:
    """A remote reached over the pool; implements `navish.hosts.base.Host`.

    `state`/`last_error` follow every connect attempt, failure, success and lost connection;
    `on_state_change(host)` is called whenever either changes.
    """

    tmux = "tmux -u"
    """`-u`: UTF-8 session names even where the login gives no UTF-8 locale (tmux would mangle them)."""

    def __init__(
        self, spec: RemoteConfig, pool: SshPool, *, on_state_change: Callable[[SshHost], None] | None = None
    ):
        self.spec = spec
        self.name = spec.name
        self.session_dir = spec.session_dir
        self.state = HostState.UNKNOWN
        self.last_error: str | None = None
        self.on_state_change = on_state_change
        self._pool = pool
        self._hop = Hop.of(spec)
        self._link = pool.link(self._hop)
        self._link.on_lost.append(self._lost)

    def __repr__(self) -> str:
        return f"<SshHost {self.name} {self.state.value}>"

    # -- Host protocol --

    async def run(
        self, script: str, *, stdin: str | None = None, timeout: float, limit: int = OUTPUT_LIMIT
    ) -> ScriptResult:
        """Run `script` under `/bin/sh -s` on a channel of the pooled connection, reading its
        output as it comes; at `limit` bytes, or when cancelled, the channel is closed at once."""
        program = build_program(script, stdin)
        collector = program.collector(self.name, limit)
        conn = await self.connect()
        link = self._link
        started = time.monotonic()
        session: ScriptSession | None = None
        turn = Turn()
        try:
            async with asyncio.timeout(timeout):
                session = await link.open_channel(conn, lambda: ScriptSession(collector), turn)
                session.send(program.text)
                await asyncio.shield(session.done)
        except TimeoutError:
            if turn.in_line:  # the host answers; its channels were all busy
                busy = f"no free channel within {timeout:g}s ({link.where} allows {link.slots.cap} at once)"
                raise HostUnreachable(f"{self.name}: {busy}") from None
            if link.alive() and not link.suspect:  # a dead peer is then found within ~2 s
                link.suspect = True
                conn.set_keepalive(1, 2)
            raise self._fail(HostState.OFFLINE, f"no answer within {timeout:g}s ({link.where})") from None
        except ChannelRefused as exc:
            raise self._fail(HostState.OFFLINE, f"the server refuses to open a channel: {exc} ({link.where})") from None
        except (OSError, asyncssh.Error) as exc:
            log.debug("%s: run failed: %r", self.name, exc)
            raise self._fail(HostState.OFFLINE, f"connection lost ({link.where})") from None
        finally:
            if session is not None:
                link.release(session)
        returncode = session.returncode
        if session.lost is not None or (returncode is None and not collector.full):
            raise self._fail(HostState.OFFLINE, f"connection lost ({link.where})")
        if link.suspect:
            link.suspect = False
            conn.set_keepalive(self._pool.settings.keepalive_interval, self._pool.settings.keepalive_count_max)
        self._set(HostState.CONNECTED, None)
        killed = -signal.SIGKILL  # stopped at the cap before it exited
        return collector.result(killed if returncode is None else returncode, time.monotonic() - started)

    async def stream(self, script: str) -> AsyncIterator[bytes]:
        """Run `script` on a channel of its own for as long as the caller reads. The channel counts
        against the host's cap, so none is taken where the server allows fewer than 2 at once."""
        program = build_program(script)
        sink = StreamSink(self.name, program.marker)
        conn = await self.connect()
        link = self._link
        if link.slots.cap < 2:
            raise NoRoomForWatch(f"{self.name}: the server allows {link.slots.cap} channel at once; it is polled instead")
        try:
            session = await link.open_channel(conn, lambda: ScriptSession(sink))
        except ChannelRefused as exc:
            raise self._fail(HostState.OFFLINE, f"the server refuses to open a channel: {exc} ({link.where})") from None
        except (OSError, asyncssh.Error):
            raise self._fail(HostState.OFFLINE, f"connection lost ({link.where})") from None
        try:
            session.send(program.text)
            while not session.done.done() or not sink.chunks.empty():
                chunk = asyncio.ensure_future(sink.chunks.get())
                waits: set[asyncio.Future[object]] = {chunk, session.done}  # type: ignore[arg-type]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if chunk.done():
                    yield chunk.result()
                else:
                    chunk.cancel()
            if session.lost is not None:
                raise self._fail(HostState.OFFLINE, f"connection lost ({link.where})")
            sink.gate.check_started()
        finally:
            link.release(session)

    def attach_command(self, session_id: str) -> AttachCommand:
        return AttachCommand(attach_argv(self.spec, self._pool.settings.config, self.tmux, session_id))

    async def close(self) -> None:
        """Close this remote's connection (a jump host stays for `SshPool.close_all`)."""
        if self._lost in self._link.on_lost:
            self._link.on_lost.remove(self._lost)
        if not self._link.on_lost:
            await self._pool.close_link(self._link)

    # -- connection management --

    async def connect(self, *, force: bool = False) -> asyncssh.SSHClientConnection:
        """The live pooled connection, connecting if needed; `force` skips the backoff (`remote test`).

        Raises `HostUnreachable` with a one-line message.
        """
        try:
            conn = await self._pool.connection(
                self._link, force=force, attempting=lambda: self._set(HostState.CONNECTING, None)
            )
        except ConnectFailed as exc:
            raise self._fail(exc.failure.state, exc.failure.message(self.name), named=True) from None
        if self.state is not HostState.CONNECTED and not self._link.suspect:
            self._set(HostState.CONNECTED, None)
        return conn

    async def fetch_host_key(self) -> HostKey:
        """The host key to trust next: the jump host's while it is unknown, else the remote's.

        Connects first (skipping the backoff) to learn which hop's key is in question: a REVOKED
        key, a certificate from an untrusted CA and an unreachable host raise `HostUnreachable`
        saying so (a CHANGED key is fetched, for `trust` to refuse with the way out)."""
        link = self._link
        try:
            await self.connect(force=True)
        except HostUnreachable:
            failure = self._link.failure
            refused = (HostState.OFFLINE, HostState.HOST_KEY_REVOKED, HostState.HOST_CERT_UNTRUSTED)
            if failure is None or failure.state in refused:
                raise
            if failure.jump and self._hop.via is not None:
                link = self._pool.link(self._hop.via)
        tunnel: Any = ()
        if link is self._link and self._hop.via is not None:
            tunnel = self._pool.link(self._hop.via).conn
        try:
            return await self._pool.host_key(link, tunnel)
        except ConnectFailed as exc:
            raise HostUnreachable(exc.failure.message(self.name), exc.failure.state) from None

    async def trust(self, line: str) -> bool:
        """Append a known_hosts `line` (from `fetch_host_key`) to the effective known_hosts file.

        Returns False when it is already there. Raises `NavishError` if a known_hosts file marks
        that key @revoked, or holds a different key of its type for the host: a changed key is
        never replaced automatically.
        """
        pattern, _, key_text = line.strip().partition(" ")
        link = self._link
        try:
            if self._hop.via is not None:
                jump = self._pool.link(self._hop.via)
                if pattern == known_hosts_name(await self._pool.options(jump.hop)):
                    link = jump
            known = self._pool.known_hosts(link.hop, await self._pool.options(link.hop))
        except ConnectFailed as exc:
            raise HostUnreachable(exc.failure.message(self.name), exc.failure.state) from None
        key = asyncssh.import_public_key(key_text)
        check_trustable(key, pattern, known.entries(pattern), " or ".join(known.files))
        added = append_known_host(known.files[0], line)
        for each in {self._link, link}:
            each.retry_at = 0.0
        return added

    # -- state --

    def _set(self, state: HostState, error: str | None) -> None:
        if (state, error) == (self.state, self.last_error):
            return
        self.state, self.last_error = state, error
        if self.on_state_change is not None:
            self.on_state_change(self)

    def _fail(self, state: HostState, text: str, *, named: bool = False) -> HostUnreachable:
        message = text if named else f"{self.name}: {text}"
        self._set(state, message)
        return HostUnreachable(message, state)

    def _lost(self, why: str) -> None:
        self._set(HostState.OFFLINE, f"{self.name}: {why}")
