"""One pooled connection (a `Link` per hop) and the channels that run scripts on it.

sshd refuses a session channel beyond its `MaxSessions` (10 by default; any number in the
server's config). A refusal never closes the connection (scripts running on it would die): it
tells the link how many channels the server allows, the link's cap drops to that, and callers
wait in line for a channel instead of failing.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import asyncssh

from ...sanitize import one_line
from ..base import SH_COMMAND, OutputSink
from .endpoint import DEFAULT_PORT, Failure, Hop, where

log = logging.getLogger(__name__)

REFUSED_RETRY = (0.01, 0.03, 0.1, 0.3)
"""Waits before retrying a refused channel that may only be waiting for sshd to free a session:
it does so a moment after the close handshake, so an open sent right after a close can be
refused. Past these the refusal is the server's limit."""
LINGER = 0.5
"""Seconds after one of ours closed during which a refusal may be that close not yet seen."""


class ChannelRefused(Exception):
    """The server refuses session channels even with none of ours open (its reason, one line)."""

    def __init__(self, reason: str):
        super().__init__(one_line(reason, 200))


class ChannelSlots:
    """A first-come, first-served count of channels; the cap can be lowered while in use.

    `busy` counts slots held (a channel opening, open, or closing); `open` those whose channel
    is open on the server."""

    def __init__(self, cap: int):
        self.cap = cap
        self.busy = 0
        self.open = 0
        self.closed_at = 0.0
        """When one of ours last closed (monotonic)."""
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if self.busy < self.cap and not self._waiters:
            self.busy += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over as we were cancelled: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        self.busy -= 1
        self._hand_over()

    def refused(self) -> bool:
        """A channel open was refused: the server allows no more than are open now. Returns
        whether any are open (one closing frees a slot)."""
        self.cap = max(1, min(self.cap, self.open))
        return self.open > 0

    def reset(self, cap: int) -> None:
        """A new connection: the server may allow more again."""
        self.cap = cap
        self._hand_over()

    def _hand_over(self) -> None:
        while self._waiters and self.busy < self.cap:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.busy += 1
                waiter.set_result(None)


@dataclass
class Turn:
    """Whether a caller of `Link.open_channel` is in line for a slot (else opening, or done)."""

    in_line: bool = False


class ScriptSession(asyncssh.SSHClientSession[bytes]):
    """One script's channel: output fed to its collector as it arrives; stopped at the cap."""

    def __init__(self, collector: OutputSink):
        self.collector = collector
        self.chan: asyncssh.SSHClientChannel[bytes] | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Set when the channel has closed, or when the output reached the cap (then it is closing)."""
        self.closed = False
        self.stopped = False
        self.lost: Exception | None = None
        self.exit_status: int | None = None
        self.exit_signal: str | None = None

    def connection_made(self, chan: asyncssh.SSHClientChannel[bytes]) -> None:
        self.chan = chan

    def send(self, program: bytes) -> None:
        """The script's whole input, then end of file."""
        assert self.chan is not None
        self.chan.write(program)
        self.chan.write_eof()

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if datatype == asyncssh.EXTENDED_DATA_STDERR:
            self.collector.feed_stderr(data)
        elif self.collector.feed_stdout(data):
            self.stop()
            self._finish()

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = signal

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed, self.lost = True, exc
        self._finish()

    @property
    def returncode(self) -> int | None:
        """The exit status, or minus the signal number that ended the script, or None."""
        if self.exit_status is not None:
            return self.exit_status
        if self.exit_signal is not None:
            try:
                return -signal.Signals[f"SIG{self.exit_signal}"]
            except KeyError:
                return -1
        return None

    def stop(self) -> None:
        """Kill the script (sshd signals its process group; it refuses for root logins) and
        close the channel at once, dropping whatever is still in flight."""
        if self.chan is None or self.closed or self.stopped:
            return
        self.stopped = True
        if self.returncode is None:
            try:
                self.chan.send_signal("KILL")
            except OSError:
                pass
        self.chan.abort()

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


class Link:
    """The pooled connection to one hop: connect lock, channel slots, backoff, probe, listeners."""

    def __init__(self, hop: Hop, max_channels: int):
        self.hop = hop
        self.max_channels = max_channels
        self.conn: asyncssh.SSHClientConnection | None = None
        self.lock = asyncio.Lock()
        self.slots = ChannelSlots(max_channels)
        self.where = where(hop.host, hop.port or DEFAULT_PORT)
        self.address: tuple[str, int] | None = None
        """Where a TCP probe can look for the server; None behind a jump host or proxy."""
        self.failures = 0
        self.retry_at = 0.0
        self.failure: Failure | None = None
        self.down: bool | None = None
        """What the last look at the TCP port found: True not accepting, False accepting, None unknown."""
        self.seen_again = False
        """A probe found the port accepting again since it was down: retry without waiting."""
        self.probed_at = 0.0
        self.probe: asyncio.Task[None] | None = None
        self.suspect = False
        """Keepalive was tightened after a timeout; restored on the next answer."""
        self.on_lost: list[Callable[[str], None]] = []
        self.tasks: set[asyncio.Task[None]] = set()
        """Channels being closed (their slots come back once closed) and probes."""

    def alive(self) -> bool:
        return self.conn is not None and not self.conn.is_closed()

    def connected(self, conn: asyncssh.SSHClientConnection) -> None:
        self.conn = conn
        self.failures, self.failure, self.suspect = 0, None, False
        self.down, self.seen_again = False, False
        self.slots.reset(self.max_channels)

    async def open_channel(
        self, conn: asyncssh.SSHClientConnection, factory: Callable[[], ScriptSession], turn: Turn | None = None
    ) -> ScriptSession:
        """A channel running `/bin/sh -s`, once a slot is free; the caller must `release` it.

        A refused open is retried after a moment while it may be a session sshd has not freed
        yet; otherwise it lowers the cap and waits for a slot again. Raises `ChannelRefused` when
        the server refuses with none of ours open, `asyncssh.Error`/`OSError` when the
        connection fails. `turn.in_line` says whether it is waiting for a slot."""
        delays = iter(REFUSED_RETRY)
        turn = turn or Turn()
        while True:
            turn.in_line = True
            await self.slots.acquire()
            turn.in_line = False
            kept = False  # the slot goes with an open channel, or with an open still in flight
            try:
                while True:
                    sent = time.monotonic()
                    made: list[ScriptSession] = []
                    opening = asyncio.ensure_future(_create(conn, self._counted(factory, made)))
                    try:
                        session = await asyncio.shield(opening)
                    except asyncio.CancelledError:
                        kept = True
                        self._track(self._close_when_open(opening, made))  # it would hold a session for good
                        raise
                    except asyncssh.ChannelOpenError as exc:
                        if made:  # opened, then its command failed: the slot goes when it closes
                            kept = True
                            self.release(made[0])
                        if conn.is_closed():
                            raise
                        if made:
                            raise ChannelRefused(exc.reason) from None
                        log.debug("%s: channel refused (%s), %d open", self.where, exc.reason, self.slots.open)
                        lingering = self.slots.closed_at >= sent - LINGER
                        delay = next(delays, None) if lingering or not self.slots.open else None
                        if delay is not None:
                            await asyncio.sleep(delay)
                            continue
                        if not self.slots.refused():
                            raise ChannelRefused(exc.reason) from None
                        break  # in line again: a slot comes back when one of ours closes
                    kept = True
                    return session
            finally:
                if not kept:
                    self.slots.release()

    def release(self, session: ScriptSession) -> None:
        """Give back the slot of a channel from `open_channel`: at once when it has closed, else
        once the channel, stopped now, has closed (sshd counts it against MaxSessions until then)."""
        if session.closed:
            self._closed()
            return
        session.stop()
        self._track(self._release_when_closed(session))

    def _track(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _counted(self, factory: Callable[[], ScriptSession], made: list[ScriptSession]) -> Callable[[], ScriptSession]:
        """`factory`, counting the channel as open from the server's confirmation on (asyncssh
        calls it then, before the command is started)."""

        def make() -> ScriptSession:
            session = factory()
            made.append(session)
            self.slots.open += 1
            return session

        return make

    async def _close_when_open(self, opening: asyncio.Future[ScriptSession], made: list[ScriptSession]) -> None:
        try:
            await opening
        except (OSError, asyncssh.Error, asyncio.CancelledError):
            pass
        if made:
            self.release(made[0])
        else:
            self.slots.release()

    async def _release_when_closed(self, session: ScriptSession) -> None:
        try:
            if session.chan is not None:
                await session.chan.wait_closed()
        finally:
            self._closed()

    def _closed(self) -> None:
        self.slots.open -= 1
        self.slots.closed_at = time.monotonic()
        self.slots.release()

    def lost(self, conn: asyncssh.SSHClientConnection) -> None:
        if conn is self.conn:  # not a connection we closed or already replaced
            for callback in list(self.on_lost):
                callback(f"connection lost ({self.where})")


async def _create(conn: asyncssh.SSHClientConnection, factory: Callable[[], ScriptSession]) -> ScriptSession:
    _, session = await conn.create_session(factory, SH_COMMAND, encoding=None)
    assert isinstance(session, ScriptSession)
    return session


class Client(asyncssh.SSHClient):
    """Tells the link at once when its connection drops (keepalive, TCP reset, sshd exit)."""

    def __init__(self, link: Link):
        self._link = link
        self._conn: asyncssh.SSHClientConnection | None = None

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._link.lost(self._conn)
