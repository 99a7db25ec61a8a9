"""Live view (`watch`) benchmark: what drawing and updating cost with many sessions.

    .venv/bin/python bench/dashboard_bench.py [--sessions 10000] [--hosts 20] [--size 200x50] [--runs 200]

Builds a registry of N sessions spread over H hosts (mixed statuses, team agents, messages; one
host offline), opens the view's model on it and measures, as medians over the runs:

- model frame: the rows on screen, the column header, the title counts and the toolbar, i.e. what
  the view computes per frame (target, issue 11: at most 10 ms for 10,000 sessions);
- full frame: the same through prompt_toolkit (layout, screen, diff against the last frame) in
  the real full-screen application, to a terminal of the given size that discards the bytes;
- one change: a registry change of one session (a status flip that moves the row) applied to the
  view, the selection kept;
- host change: a whole host's sessions changing at once (its poll after a reconnect);
- re-sort: cycling the sort key (all N rows sorted again).

No terminal, tmux or network needed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from navish.app import App
from navish.commands.base import Context
from navish.dashboard import Dashboard, toolbar_fragments
from navish.dashboard_view import DashboardView
from navish.model import ATTENTION_ORDER, HostState, Session
from navish.parsing import HostSessions

NOW = 1_700_000_000.0


class SizedOutput(DummyOutput):
    """A terminal of a fixed size that discards what is written (the cost is in computing it)."""

    def __init__(self, size: Size):
        super().__init__()
        self.size = size

    def get_size(self) -> Size:
        return self.size


def make_app(sessions: int, hosts: int) -> App:
    app = App(poll_interval=2, command_timeout=5, clock=lambda: NOW)
    names = ["local", *(f"host{i:03d}" for i in range(1, hosts))]
    per_host = max(sessions // len(names), 1)
    for h, host in enumerate(names):
        app.registry.add_host(host, 10)
        found = []
        for i in range(per_host):
            status = ATTENTION_ORDER[(i * 7 + h) % len(ATTENTION_ORDER)]
            fields = {"team": {"agents": [{"name": "tester", "status": "waiting"}]}} if i % 50 == 0 else {}
            found.append(
                Session(
                    host,
                    f"project-{i:05d}",
                    status,
                    message=f"Bash: npm test -- --grep case-{i} in a long message that will be cut",
                    cwd=f"/home/user/src/project-{i % 97}",
                    timestamp=NOW - (i * 13) % 86400,
                    status_file=f"project-{i:05d}.json",
                    fields=fields,
                )
            )
        app.registry.apply_poll(host, HostSessions(tuple(found)), polled_at=NOW - 1, duration=0.01)
    app.registry.mark_failed(names[-1], HostState.OFFLINE, "connection lost")
    return app


def median_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def bench(args: argparse.Namespace) -> None:
    width, height = (int(x) for x in args.size.split("x"))
    app = make_app(args.sessions, args.hosts)
    total = len(app.registry.sessions())
    model = Dashboard(home="/home/user")
    start = time.perf_counter()
    model.load(app.registry.sessions())
    load_ms = (time.perf_counter() - start) * 1000
    model.select_index(total // 2)
    polled = lambda host: app.registry.host(host).polled_at
    rows = height - 5

    def model_frame() -> None:
        model.window(rows, width, NOW, polled)
        model.header(width)
        app.registry.counts("all")
        toolbar_fragments(app.registry, "all", NOW)

    frame_ms = median_ms(model_frame, args.runs)

    # one change: a session in the middle flips between working and permission (its row moves)
    host = app.registry.hosts()[1]
    victim = host.sessions[len(host.sessions) // 2]
    flips = [replace(victim, status=s) for s in ("permission", "working")]
    index = [0]

    def one_change() -> None:
        before = model.sessions[victim.ref]
        after = flips[index[0] % 2]
        index[0] += 1
        from navish.registry import Change

        model.apply([Change(victim.host, changed=((before, after),))], NOW)

    change_ms = median_ms(one_change, args.runs)

    def host_change() -> None:
        from navish.registry import Change

        status = app.registry.host(host.name)
        pairs = tuple((s, replace(s, offline=not s.offline)) for s in status.sessions)
        model.apply([Change(host.name, changed=pairs)], NOW)

    host_ms = median_ms(host_change, max(args.runs // 10, 5))
    resort_ms = median_ms(model.cycle_sort, max(args.runs // 20, 5))
    model.set_sort("attention")

    with create_pipe_input() as inp, create_app_session(input=inp, output=SizedOutput(Size(rows=height, columns=width))):

        async def ran_attached(command: object) -> int:
            return 0

        view = DashboardView(app, Context(app, run_attached=ran_attached), model)
        task = asyncio.ensure_future(view.run())
        await asyncio.sleep(0.2)
        application = view.application
        full_ms = median_ms(lambda: application.renderer.render(application, application.layout), args.runs)
        inp.send_text("q")
        await asyncio.wait_for(task, 5)

    print(f"live view, {total} sessions on {args.hosts} hosts, {width}x{height} terminal ({rows} table rows):")
    print(f"  model frame (rows on screen, header, counts, toolbar): {frame_ms:.2f} ms   (target ≤ 10 ms)")
    print(f"  full frame through prompt_toolkit:                     {full_ms:.2f} ms")
    print(f"  one session changes (row moves, selection kept):       {change_ms:.3f} ms")
    label = f"a host's {len(host.sessions)} sessions change at once:"
    print(f"  {label:<55}{host_ms:.2f} ms")
    print(f"  re-sort all rows (s):                                  {resort_ms:.2f} ms")
    print(f"  first load:                                            {load_ms:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--size", default="200x50", help="terminal COLUMNSxROWS")
    parser.add_argument("--runs", type=int, default=200)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
