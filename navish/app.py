"""The running state of navish: hosts, their monitors, the registry, the background poll loop.

Commands and the shell talk to this object; it owns every I/O resource and closes them all.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from collections.abc import Callable

from . import git_action
from .config import RemoteConfig
from .errors import HostUnreachable, NavishError
from .hosts.base import Host
from .model import HostState, Session, parse_ref
from .poller import HostMonitor, PollOutcome, poll_loop, refresh_all
from .hub import Hub
from .registry import Change, Registry


LISTING_WAIT = 1.0
"""Seconds a command waits for a slow host's fresh snapshot once the background loop runs."""


class App:
    def __init__(
        self,
        *,
        poll_interval: float,
        command_timeout: float,
        config_path: Path | None = None,
        remote_factory: Callable[[RemoteConfig], Host] | None = None,
        demo: bool = False,
        watch: bool = True,
        pager: str = "",
        clock: Callable[[], float] = time.time,
    ):
        self.poll_interval = poll_interval
        self.command_timeout = command_timeout
        self.config_path = config_path
        self.remote_factory = remote_factory
        self.demo = demo
        self.watch = watch
        """Whether hosts are watched (else only polled)."""
        self.pager = "" if pager == "off" else pager
        """The pager command (settings.pager; "" for $PAGER or less)."""
        self.paging = pager != "off"
        """Whether the shell pages long output (`pager on|off`)."""
        """The demo world: nothing outside it (config, Claude Code settings) may be changed."""
        self.remotes: dict[str, RemoteConfig] = {}
        """The configured remotes the running hosts were built from."""
        self.clock = clock
        self.registry = Registry()
        self.filter_mode = "all"
        self.hosts: dict[str, Host] = {}
        self.monitors: dict[str, HostMonitor] = {}
        self.hub = Hub()
        """Every registry change goes out through here (coalesced per loop tick)."""
        self.listing_wait: float | None = None
        """Seconds a command waits for fresh snapshots before answering with what it has (the
        hosts still answering are marked); None: each host up to the command timeout."""
        self._loop_task: asyncio.Task[None] | None = None
        self._git_cache: dict[tuple[str, str], tuple[float, git_action.GitInfo | str]] = {}

    # -- hosts -----------------------------------------------------------------------------
    def add_host(self, host: Host, cache_ttl: float) -> None:
        self.hosts[host.name] = host
        self.registry.add_host(host.name, cache_ttl)
        monitor = self.monitors[host.name] = HostMonitor(
            host, self.registry, timeout=self.command_timeout, on_change=self._changed, clock=self.clock
        )
        if self._loop_task is not None and self.watch:
            monitor.start_watch()

    async def remove_host(self, name: str) -> None:
        host = self.hosts.pop(name, None)
        monitor = self.monitors.pop(name, None)
        self._changed(self.registry.remove_host(name))
        if monitor:
            await monitor.close()
        if host:
            await host.close()

    async def sync_remotes(self, remotes: dict[str, RemoteConfig]) -> None:
        """Make the running remote hosts match the config: new ones added, removed or changed ones closed."""
        for name, current in list(self.remotes.items()):
            if remotes.get(name) != current:
                del self.remotes[name]
                await self.remove_host(name)
        for name, remote in remotes.items():
            if name not in self.remotes:
                if self.remote_factory is None:
                    raise NavishError("remote hosts are not available here")
                self.remotes[name] = remote
                self.add_host(self.remote_factory(remote), remote.cache_ttl)

    def on_host_state(self, name: str, state: HostState, error: str | None) -> None:
        """A host's connection changed state by itself (lost, reconnecting): show it at once."""
        if name not in self.hosts or state.reachable:
            return  # a host is shown connected once a poll has brought its sessions
        if state is HostState.CONNECTING:
            self._changed(self.registry.set_state(name, state))
        else:
            self._changed(self.registry.mark_failed(name, state, error or state.value))

    def host(self, name: str) -> Host:
        self.registry.host(name)  # raises NotFound with the list of hosts
        return self.hosts[name]

    def set_filter(self, mode: str) -> None:
        self.filter_mode = mode

    def _changed(self, change: Change) -> None:
        self.hub.publish(change)

    # -- polling ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the watchers and the background poll loop (the shell and `events` do; other `-c` commands do not)."""
        if self.listing_wait is None:
            self.listing_wait = LISTING_WAIT
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(
                poll_loop(lambda: list(self.monitors.values()), lambda: self.poll_interval), name="poll loop"
            )
            for monitor in self.monitors.values() if self.watch else ():
                monitor.start_watch()

    async def refresh(self, names: list[str] | None = None) -> tuple[float, list[PollOutcome]]:
        return await refresh_all(self._monitors(names))

    async def ensure_fresh(self, names: list[str] | None = None) -> list[str]:
        """Poll the hosts whose snapshot is older than their TTL, concurrently; returns the hosts
        still answering.

        Nobody waits more than `listing_wait` for a slow host: its poll goes on, and its last
        known sessions serve meanwhile.
        """
        waits = {asyncio.ensure_future(m.ensure_fresh()): m.host.name for m in self._monitors(names)}
        if not waits:
            return []
        _, pending = await asyncio.wait(waits, timeout=self.listing_wait)
        for wait in pending:
            wait.cancel()  # only the waiting: the poll itself is shielded and goes on
        return sorted(waits[w] for w in pending)

    def _monitors(self, names: list[str] | None) -> list[HostMonitor]:
        return [self.monitors[n] for n in (names if names is not None else list(self.monitors)) if n in self.monitors]

    # -- sessions --------------------------------------------------------------------------
    async def resolve(self, ref: str) -> Session:
        """The session a user named, from data no older than its host's TTL."""
        host, _ = parse_ref(ref)
        await self.ensure_fresh([host] if host else None)
        return self.registry.resolve(ref)

    def reachable_host(self, name: str) -> Host:
        """A host to act on; fails fast when its last poll failed (the poll loop retries it)."""
        status = self.registry.host(name)
        if status.error is not None:
            raise HostUnreachable(f"{name} is unreachable: {status.error}")
        return self.hosts[name]

    def action_host(self, session: Session) -> Host:
        """The host to act on for a session; fails fast when that host is offline."""
        if session.offline:
            status = self.registry.host(session.host)
            raise HostUnreachable(f"{session.ref} is on an unreachable host: {status.error or status.state.value}")
        return self.reachable_host(session.host)

    async def git_info(self, session: Session) -> git_action.GitInfo | str:
        """Git info for a session's cwd, cached per host and cwd for the host's TTL."""
        key = (session.host, session.cwd)
        cached = self._git_cache.get(key)
        ttl = self.registry.host(session.host).cache_ttl
        if cached and self.clock() - cached[0] <= ttl:
            return cached[1]
        info = await git_action.git_info(self.action_host(session), session.cwd, self.command_timeout)
        self._git_cache[key] = (self.clock(), info)
        return info

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        for name in list(self.hosts):
            await self.remove_host(name)
