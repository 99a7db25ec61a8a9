"""Background polling: one monitor per host, and the loop that drives them.

A monitor never has two polls in flight; a caller that wants fresh data joins the poll already
running. Each result is delivered to the registry the moment it lands, so one slow host never
delays another. Delivery (`deliver`) is separate from asking (`poll`), so a host that pushes
snapshots by itself can use the same path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from collections.abc import Callable, Iterable

from . import poll_script
from .errors import HostUnreachable, NavishError
from .hosts.base import Host
from .model import HostState
from .merge import host_sessions
from .parsing import PollData
from .registry import Change, Registry
from .watch import STALE_AFTER, watch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollOutcome:
    host: str
    ok: bool
    duration: float
    sessions: int
    error: str | None = None


class HostMonitor:
    """Keeps one host's snapshot in the registry: pushed by its watcher (`navish.watch`) while
    that runs and heartbeats, else polled; each snapshot is delivered the moment it lands."""

    def __init__(
        self,
        host: Host,
        registry: Registry,
        *,
        timeout: float,
        on_change: Callable[[Change], None],
        clock: Callable[[], float] = time.time,
    ):
        self.host = host
        self.registry = registry
        self.timeout = timeout
        self.on_change = on_change
        self.clock = clock
        self._inflight: asyncio.Task[PollOutcome] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._last_frame: float | None = None
        self.watch_note = "starting"
        """Why the host is polled rather than watched, while it is."""

    @property
    def watching(self) -> bool:
        """The watcher runs and was heard from lately: no poll is needed."""
        return self._last_frame is not None and time.monotonic() - self._last_frame < STALE_AFTER

    @property
    def mode(self) -> str:
        """`watch`, or `poll (why)`, for `remote list`; `poll` where no watcher runs (`navish -c`)."""
        if self._watch is None:
            return "poll"
        return "watch" if self.watching else f"poll ({self.watch_note})"

    def start_watch(self) -> None:
        if self._watch is None:
            self._watch = asyncio.create_task(watch(self), name=f"watch {self.host.name}")

    def watched(self) -> None:
        """A frame came from the watcher: the host is live and fresh."""
        first = self._last_frame is None
        self._last_frame = time.monotonic()
        if first:
            self.watch_note = ""
        self.on_change(self.registry.heartbeat(self.host.name, self.clock(), STALE_AFTER))

    def watch_stopped(self) -> None:
        self._last_frame = None
        self.watch_note = "watcher restarting"

    def watch_unavailable(self, why: str) -> None:
        self._last_frame = None
        self.watch_note = why

    @property
    def busy(self) -> bool:
        return self._inflight is not None and not self._inflight.done()

    def start_poll(self) -> asyncio.Task[PollOutcome]:
        """The poll in flight, or a new one."""
        if not self.busy:
            self._inflight = asyncio.create_task(self._poll(), name=f"poll {self.host.name}")
        assert self._inflight is not None
        return self._inflight

    async def poll(self) -> PollOutcome:
        """Poll now (or join the poll in flight); a cancelled caller does not cancel the poll."""
        return await asyncio.shield(self.start_poll())

    async def ensure_fresh(self) -> None:
        """Poll first when the host's snapshot is older than its TTL (bounded by the timeout).

        A host whose last poll failed is not waited for: its last known sessions are served,
        marked offline, and the background loop keeps retrying it.
        """
        status = self.registry.host(self.host.name)
        if status.is_stale(self.clock()) and status.error is None and not self.watching:
            await self.poll()

    async def _poll(self) -> PollOutcome:
        started = time.monotonic()
        if self.registry.host(self.host.name).state is HostState.UNKNOWN:
            self.on_change(self.registry.set_state(self.host.name, HostState.CONNECTING))
        try:
            data = await poll_script.poll(self.host, self.timeout)
        except NavishError as exc:
            state = exc.state if isinstance(exc, HostUnreachable) else HostState.OFFLINE
            self.on_change(self.registry.mark_failed(self.host.name, state, str(exc)))
            return PollOutcome(self.host.name, False, time.monotonic() - started, 0, str(exc))
        except Exception as exc:  # a bug must not kill the poll loop; it is logged and shown
            log.exception("poll of %s failed", self.host.name)
            self.on_change(self.registry.mark_failed(self.host.name, HostState.OFFLINE, f"{self.host.name}: internal error: {exc}"))
            return PollOutcome(self.host.name, False, time.monotonic() - started, 0, str(exc))
        duration = time.monotonic() - started
        return self.deliver(data, duration)

    def deliver(self, data: PollData, duration: float) -> PollOutcome:
        """Merge one snapshot of the host into the registry and tell the UI."""
        found = host_sessions(self.host.name, data)
        self.on_change(self.registry.apply_poll(self.host.name, found, polled_at=self.clock(), duration=duration))
        tracked = sum(1 for s in found.sessions if s.tracked)
        return PollOutcome(self.host.name, True, duration, tracked)

    async def close(self) -> None:
        tasks = [t for t in (self._inflight, self._watch) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def poll_loop(monitors: Callable[[], Iterable[HostMonitor]], interval: Callable[[], float]) -> None:
    """Start a poll of every idle host that is not watched, each `interval`, spread evenly over
    the interval (500 polls at once would hold the event loop, and the prompt, for a moment);
    results land on their own. Watched hosts take no turn: with all hosts watched, the loop
    wakes once per interval."""
    loop = asyncio.get_running_loop()
    while True:
        cycle = [monitor for monitor in monitors() if not monitor.watching]
        started = loop.time()
        for done, monitor in enumerate(cycle, 1):
            if not monitor.busy and not monitor.watching:
                monitor.start_poll()
            await asyncio.sleep(max(started + interval() * done / len(cycle) - loop.time(), 0))
        if not cycle:
            await asyncio.sleep(interval())


async def refresh_all(monitors: Iterable[HostMonitor]) -> tuple[float, list[PollOutcome]]:
    """Poll every host now (joining polls in flight); returns the cycle time and each outcome."""
    started = time.monotonic()
    outcomes = await asyncio.gather(*(m.poll() for m in monitors))
    return time.monotonic() - started, list(outcomes)
