"""Fan-out of registry changes to whoever subscribed (toolbar, notices, `events`, the live view),
coalesced to one call per event-loop tick, so a burst of results costs each consumer one call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .registry import Change

log = logging.getLogger(__name__)

Subscriber = Callable[[list[Change]], None]

REDRAW_EVERY = 0.05
"""Seconds between two redraws for changes in the background: 500 hosts landing results must
not keep the screen redrawing (each redraw holds the loop, and the keys, for milliseconds)."""


class Hub:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._pending: list[Change] = []
        self._scheduled = False

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with each tick's changes; returns the function that unsubscribes."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber) if subscriber in self._subscribers else None

    def publish(self, change: Change) -> None:
        if not change:
            return
        self._pending.append(change)
        if self._scheduled:
            return
        try:
            asyncio.get_running_loop().call_soon(self._flush)
            self._scheduled = True
        except RuntimeError:  # no loop (a synchronous caller): deliver at once
            self._flush()

    def _flush(self) -> None:
        batch, self._pending, self._scheduled = self._pending, [], False
        for subscriber in list(self._subscribers):
            try:
                subscriber(batch)
            except Exception:  # one broken consumer must not starve the others
                log.exception("change subscriber failed")


class Throttled:
    """Calls `action` at once, then at most once every `interval` seconds: a burst of calls costs
    one call per interval, and the last one is always followed by a call."""

    def __init__(self, action: Callable[[], None], interval: float = REDRAW_EVERY):
        self.action = action
        self.interval = interval
        self._last = float("-inf")
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self) -> None:
        if self._timer is not None:
            return  # a call is already due
        loop = asyncio.get_running_loop()
        wait = self._last + self.interval - loop.time()
        if wait <= 0:
            self._fire()
        else:
            self._timer = loop.call_later(wait, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._last = asyncio.get_running_loop().time()
        self.action()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
