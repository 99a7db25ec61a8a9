"""The hub's fan-out and the throttle that keeps a storm of changes from redrawing the screen
hundreds of times a second."""

import asyncio

from navish.hub import Hub, Throttled
from navish.model import HostState
from navish.registry import Change
from tests.conftest import run


def test_a_burst_of_changes_reaches_each_subscriber_in_one_call_and_empty_ones_never():
    async def scenario() -> list[list[str]]:
        hub = Hub()
        calls: list[list[str]] = []
        hub.subscribe(lambda batch: calls.append([c.host for c in batch]))
        for host in ("a", "b", "c"):
            hub.publish(Change(host))  # nothing changed: never published
            hub.publish(Change(host, state=(HostState.UNKNOWN, HostState.CONNECTED)))
        await asyncio.sleep(0)
        return calls

    assert run(scenario()) == [["a", "b", "c"]]


def test_throttled_calls_at_once_then_once_per_interval_and_always_after_the_last():
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        times: list[float] = []
        done = asyncio.Event()

        def action() -> None:
            times.append(loop.time())
            if len(times) == 2:
                done.set()

        throttled = Throttled(action, interval=0.2)
        started = loop.time()
        for _ in range(100):  # a storm: the first call acts at once, the rest wait for one more
            throttled()
        assert len(times) == 1 and times[0] - started < 0.05
        async with asyncio.timeout(5):
            await done.wait()
        assert times[1] - times[0] >= 0.19  # the trailing call, one interval later
        quiet_until = loop.time() + 0.2
        while loop.time() < quiet_until:
            await asyncio.sleep(0.02)
        throttled()  # after a quiet interval: at once again
        assert len(times) == 3
        throttled()
        throttled.cancel()  # a cancelled throttle makes no trailing call
        await asyncio.sleep(0.3)
        assert len(times) == 3

    run(scenario())
