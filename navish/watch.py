"""The watch feed: one long-lived channel per host running `navish.watcher`, which pushes a fresh
snapshot the moment something changes there and a heartbeat in between. While it runs, the host is
not polled; when it cannot start (no python3 there) or keeps failing, the poll loop carries on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import NavishError
from .hosts.base import MiB, Host, NoRoomForWatch, sh_path
from .poll_script import POLL_OUTPUT_LIMIT, parse_poll, poll_script
from .sh import CLAUDE_SESSIONS, q

if TYPE_CHECKING:
    from .poller import HostMonitor

log = logging.getLogger(__name__)

WATCHER_SOURCE = (Path(__file__).parent / "watcher.py").read_text(encoding="utf-8")
BEAT = 10.0
"""Seconds between the watcher's heartbeats (kept in step with `watcher.BEAT`): 50 idle hosts
cost their servers about 3 ms of CPU a minute each at this rate."""
STALE_AFTER = 3 * BEAT
"""A watch whose last frame is older than this is not trusted: the host is polled again."""
NO_PYTHON = b"@nopython"
MAX_HEADER = 64


def watch_script(host: Host) -> str:
    """The program that runs the watcher on `host` (or says it cannot)."""
    return f"""d={sh_path(host.session_dir)}
command -v python3 >/dev/null 2>&1 || {{ echo {NO_PYTHON.decode()}; exit 0; }}
exec python3 -c {q(WATCHER_SOURCE)} {q(poll_script(host))} {q(host.tmux)} "$d" {CLAUDE_SESSIONS}
"""


@dataclass(frozen=True)
class Frame:
    kind: str
    """`snapshot`, `beat`, or `nopython`."""
    data: bytes = b""


class FrameReader:
    """Cuts the watcher's output into frames as it arrives; a snapshot's length is its header's,
    so nothing inside one can forge another. A frame over `limit` bytes ends the watch."""

    def __init__(self, limit: int = POLL_OUTPUT_LIMIT):
        self.limit = limit
        self._buffer = bytearray()
        self._need: int | None = None

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buffer += chunk
        frames = []
        while True:
            if self._need is not None:
                if len(self._buffer) < self._need:
                    break
                frames.append(Frame("snapshot", bytes(self._buffer[: self._need])))
                del self._buffer[: self._need]
                self._need = None
                continue
            end = self._buffer.find(b"\n", 0, MAX_HEADER + 1)
            if end < 0:
                if len(self._buffer) > MAX_HEADER:
                    raise NavishError("the watcher sent a garbled frame header")
                break
            header = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            kind, _, value = header.partition(b" ")
            if kind == b"@snapshot" and value.isdigit():
                size = int(value)
                if size > self.limit:
                    raise NavishError(f"the watcher sent a snapshot of {size // MiB} MiB, over the limit")
                self._need = size
            elif kind == b"@beat":
                frames.append(Frame("beat"))
            elif header == NO_PYTHON:
                frames.append(Frame("nopython"))
            else:
                raise NavishError("the watcher sent a garbled frame header")
        return frames


async def watch(monitor: HostMonitor, *, backoff_max: float = 60.0) -> None:
    """Keep `monitor`'s host watched: restart with backoff after a failure; give up for good where
    the host has no python3 (it is then polled, as `monitor.mode` says)."""
    failures = 0
    while True:
        started = time.monotonic()
        try:
            reader = FrameReader()
            async for chunk in monitor.host.stream(watch_script(monitor.host)):
                for frame in reader.feed(chunk):
                    if frame.kind == "nopython":
                        monitor.watch_unavailable("no python3 there")
                        return
                    if frame.kind == "snapshot":
                        monitor.deliver(parse_poll(frame.data), 0.0)
                    monitor.watched()
        except NoRoomForWatch as exc:
            monitor.watch_unavailable(str(exc).partition(": ")[2])
            await asyncio.sleep(backoff_max)  # a new connection may allow more
            continue
        except NavishError as exc:
            log.info("watch of %s stopped: %s", monitor.host.name, exc)
        except Exception:  # a bug must not take the host down: it is polled instead
            log.exception("watch of %s failed", monitor.host.name)
        monitor.watch_stopped()
        failures = 0 if time.monotonic() - started > 4 * backoff_max else failures + 1
        await asyncio.sleep(min(2 ** (failures - 1), backoff_max) * random.uniform(0.5, 1))  # hosts out of step
