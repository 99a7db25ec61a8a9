"""The poll loop with scripted hosts: one wedged host never delays another, a host never has two
polls in flight, a failure keeps the last known sessions (offline), commands join polls in flight."""

from __future__ import annotations

import asyncio
import json

from navish import poll_script
from navish.app import App
from navish.errors import HostUnreachable
from navish.hosts.base import AttachCommand, ScriptResult
from navish.model import HostState
from tests.conftest import run


def poll_output(*names: str) -> bytes:
    """What the poll script prints for live sessions `names`, each with a status file."""
    out = b"".join(b"P %%%d %d $%d %s\n" % (i, 1000 + i, i, n.encode()) for i, n in enumerate(names)) + b"T 0\n"
    for n in names:
        content = json.dumps({"tmux_session": n, "status": "waiting"}).encode()
        out += b"M 1 %d ./%s.json\n|%s\nE\n" % (len(content), n.encode(), content)
    return out


class ScriptedHost:
    """A Host whose poll answers come from the test: a gate to hold them, a failure to raise."""

    tmux = "tmux -u"
    session_dir = "~/.claude-sessions"

    def __init__(self, name: str, *sessions: str):
        self.name = name
        self.sessions = sessions
        self.gate = asyncio.Event()
        self.gate.set()
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail: str | None = None

    async def run(self, script: str, *, stdin: str | None = None, timeout: float, limit: int = 0) -> ScriptResult:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.wait_for(self.gate.wait(), timeout)
        except TimeoutError:
            raise HostUnreachable(f"{self.name}: no answer within {timeout:g}s") from None
        finally:
            self.in_flight -= 1
        if self.fail:
            raise HostUnreachable(self.fail)
        return ScriptResult(0, poll_output(*self.sessions), b"", 0.0)

    def attach_command(self, session_id: str) -> AttachCommand:
        return AttachCommand(["true"])

    async def close(self) -> None:
        return None


async def _until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def test_a_wedged_host_never_delays_the_others():
    async def scenario() -> None:
        fast, wedged = ScriptedHost("fast", "a"), ScriptedHost("wedged", "b")
        wedged.gate.clear()
        app = App(poll_interval=0.05, command_timeout=30, watch=False)
        app.add_host(fast, 10)
        app.add_host(wedged, 10)
        changes: list[str] = []
        app.hub.subscribe(lambda batch: changes.extend(change.host for change in batch))
        app.start()
        await _until(lambda: app.registry.host("fast").state is HostState.CONNECTED)
        assert [s.ref for s in app.registry.sessions()] == ["fast:a"]  # landed while wedged still hangs
        await asyncio.sleep(0.3)  # several loop intervals pass
        assert wedged.most_in_flight == 1  # never two polls in flight for one host
        assert app.registry.host("wedged").state is HostState.CONNECTING
        wedged.gate.set()
        await _until(lambda: app.registry.host("wedged").state is HostState.CONNECTED)
        assert sorted(s.ref for s in app.registry.sessions()) == ["fast:a", "wedged:b"]
        assert "fast" in changes and "wedged" in changes
        await app.close()

    run(scenario())


def test_a_failed_poll_keeps_the_last_known_sessions_marked_offline():
    async def scenario() -> None:
        host = ScriptedHost("dev", "api")
        app = App(poll_interval=60, command_timeout=5)
        app.add_host(host, 10)
        await app.refresh()
        host.fail = "dev: connection refused (127.0.0.1:22)"
        _, (outcome,) = await app.refresh()
        assert not outcome.ok and outcome.error == host.fail
        (session,) = app.registry.sessions()
        assert session.offline and not session.needs_attention
        status = app.registry.host("dev")
        assert (status.state, status.error) == (HostState.OFFLINE, host.fail)
        await app.close()

    run(scenario())


def test_a_command_joins_the_poll_in_flight_instead_of_starting_another():
    async def scenario() -> None:
        host = ScriptedHost("dev", "api")
        host.gate.clear()
        app = App(poll_interval=60, command_timeout=5)
        app.add_host(host, 10)
        background = app.monitors["dev"].start_poll()
        command = asyncio.ensure_future(app.resolve("dev:api"))
        await asyncio.sleep(0.05)
        assert host.in_flight == 1
        host.gate.set()
        session = await command
        await background
        assert session.ref == "dev:api" and host.most_in_flight == 1
        await app.close()

    run(scenario())


def test_a_poll_that_outlives_its_timeout_marks_the_host_offline():
    async def scenario() -> None:
        host = ScriptedHost("slow")
        host.gate.clear()
        app = App(poll_interval=60, command_timeout=0.1)
        app.add_host(host, 10)
        _, (outcome,) = await app.refresh()
        assert not outcome.ok and "no answer within 0.1s" in (outcome.error or "")
        assert app.registry.host("slow").state is HostState.OFFLINE
        await app.close()

    run(scenario())


def test_the_poll_script_is_what_the_scripted_host_answers_for():
    """Guard for this file: the fake's answer must parse like the real script's output."""
    data = poll_script.parse_poll(poll_output("x", "y z"))
    assert data.tmux_sessions == ("x", "y z") and [f.name for f in data.files] == ["x.json", "y z.json"]


def test_a_slow_host_holds_a_listing_at_most_a_moment_and_is_marked():
    """In the shell (background loop running), `ls` waits for a stale host's poll only briefly, then
    shows its last known sessions with a warning; the poll goes on and lands later."""
    from navish.commands import COMMANDS
    from navish.commands.base import Context, execute

    async def scenario() -> None:
        fast, slow = ScriptedHost("fast", "a"), ScriptedHost("slow", "b")
        app = App(poll_interval=60, command_timeout=30, watch=False)
        app.add_host(fast, 0)
        app.add_host(slow, 0)
        await app.refresh()
        slow.gate.clear()
        app.start()
        ctx = Context(app, run_attached=None)  # type: ignore[arg-type]
        started = asyncio.get_running_loop().time()
        result = await execute(COMMANDS, ctx, "ls")
        waited = asyncio.get_running_loop().time() - started
        assert waited < 5 and "fast" in result.text and "slow" in result.text
        assert any(w.startswith("slow: still answering; its sessions are from") for w in result.warnings)
        slow.gate.set()
        await _until(lambda: slow.in_flight == 0 and not app.monitors["slow"].busy)
        await app.close()

    run(scenario())
