"""Notifications: grouped, dwelled, muted, quiet, and delivered to the bell, the terminal's
desktop notifications, tmux and a command of the user's (issue 11 §3)."""

from __future__ import annotations

import asyncio
import io
import json
import time

from navish.model import Session
from navish.notify import Notification, Notifier, NotifySettings, in_quiet_hours
from tests.conftest import Tmux, run, wait_until


def needs(name: str, host: str = "local", status: str = "permission", message: str = "") -> Session:
    return Session(host=host, name=name, status=status, message=message, status_file=f"{name}.json")


def notifier(**settings) -> tuple[Notifier, io.StringIO, set[str]]:  # type: ignore[no-untyped-def]
    terminal = io.StringIO()
    still: set[str] = set()
    fast = {"dwell": 0.05, "group": 0.05, "desktop": "osc", **settings}
    return Notifier(NotifySettings(**fast), lambda s: s.ref in still, terminal=terminal, environ={}), terminal, still


def test_sessions_turning_together_give_one_notification_on_every_channel():
    async def scenario() -> None:
        n, terminal, still = notifier()
        still |= {"local:a", "dev:b"}
        n.announce([needs("a", message="Bash: rm -rf \x1b]52;c;x\x07build")])
        n.announce([needs("b", "dev", "waiting")])
        await asyncio.sleep(0.2)
        assert [note.title for note in n.sent] == ["2 sessions need you"]
        assert n.sent[0].message == "local:a permission, dev:b waiting"
        out = terminal.getvalue()
        assert out.startswith("\a") and "\x1b]9;2 sessions need you: local:a permission, dev:b waiting\x07" in out
        assert "\x1b]777;notify;2 sessions need you;" in out
        assert out.count("\x1b]52") == 0
        await n.close()

    run(scenario())


def test_a_flip_back_within_the_dwell_the_focused_session_and_muted_hosts_are_not_announced():
    async def scenario() -> None:
        n, terminal, still = notifier(muted=frozenset({"lab"}))
        n.focus = "local:seen"
        still |= {"local:seen", "lab:x"}  # "local:flip" went back before the dwell ended
        n.announce([needs("flip"), needs("seen")])
        n.announce([needs("x", "lab")])
        await asyncio.sleep(0.2)
        assert n.sent == [] and terminal.getvalue() == ""
        await n.close()

    run(scenario())


def test_the_command_gets_the_details_in_its_environment(tmp_path):
    async def scenario() -> None:
        out = tmp_path / "env.json"
        command = f"python3 -c 'import json, os; json.dump({{k: v for k, v in os.environ.items() if k.startswith(\"NAVISH_\")}}, open(\"{out}\", \"w\"))'"
        n, _, still = notifier(command=command, bell=False, desktop="off")
        still.add("dev:api")
        n.announce([needs("api", "dev", message="Bash: npm test")])
        await asyncio.sleep(0.1)
        await n.close()
        assert json.loads(out.read_text()) == {
            "NAVISH_TITLE": "dev:api needs you",
            "NAVISH_MESSAGE": "permission: Bash: npm test",
            "NAVISH_COUNT": "1",
            "NAVISH_SESSIONS": "dev:api",
        }

    run(scenario())


def test_quiet_hours_wrap_past_midnight():
    def at(hour: int, minute: int = 0) -> time.struct_time:
        return time.struct_time((2026, 1, 1, hour, minute, 0, 0, 1, 0))

    assert in_quiet_hours("22:00-07:00", at(23)) and in_quiet_hours("22:00-07:00", at(6, 59))
    assert not in_quiet_hours("22:00-07:00", at(7)) and not in_quiet_hours("22:00-07:00", at(12))
    assert in_quiet_hours("12:00-13:00", at(12, 30)) and not in_quiet_hours("", at(12))


def test_many_sessions_are_summarised():
    note = Notification.of([needs(f"s{i}") for i in range(8)])
    assert note.title == "8 sessions need you" and note.message.endswith(", and 3 more")


def test_tmux_message_on_the_client_navish_runs_in(world, tmux, tmp_path):
    """Attached through tmux, you still hear of other sessions: the message shows on your client."""
    tmux.new("main")
    driver = Tmux(world, str(tmp_path / "driver.sock"))
    driver("new-session", "-d", "-s", "term", "-x", "120", "-y", "20", "env -u TMUX tmux attach -t =main")
    wait_until(lambda: tmux("list-clients").strip(), what="a client attached")
    socket = tmux("display-message", "-p", "-t", "=main:", "#{socket_path}").strip()

    async def scenario() -> None:
        n, _, still = notifier(bell=False, desktop="off")
        n.environ = {**world, "TMUX": f"{socket},1,0"}
        still.add("local:api")
        n.announce([needs("api")])
        await asyncio.sleep(0.1)
        await n.close()

    try:
        run(scenario())
        wait_until(lambda: "navish: local:api needs you: permission" in driver("capture-pane", "-p", "-t", "term"),
                   what="the message on the attached client")
    finally:
        driver.kill_server()
