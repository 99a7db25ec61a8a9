"""Fan-out of registry changes to whoever subscribed (toolbar, notices, `events`, the live view),
coalesced to one call per event-loop tick, so a burst of results costs each consumer one call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .registry import Change

log = logging.getLogger(__name__)

Subscriber = Callable[[list[Change]], None]


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
