"""`watch`, the live view, in the real shell in an 80×24 tmux pane, driven like a user: rows that
update when a status file changes, a selection that stays on its session, Tab, the preview,
dismiss, kill with its question, attach and back, q back to the prompt."""

from __future__ import annotations

import re

import pytest

from tests.claude_code import claude_bin, claude_factory, fake_api  # noqa: F401
from tests.conftest import NAVISH, Pane, navish, wait_until, write_config, write_status
from tests.fake_anthropic import script_make_and_refuse

PROMPT = re.compile(r"^navish( \d+)?> ?")


@pytest.fixture
def shell_pane(world, tmux, tmp_path):  # type: ignore[no-untyped-def]
    """`start()`: the shell in an 80×24 pane (the smallest terminal the view must work in)."""
    panes: list[Pane] = []

    def start() -> Pane:
        write_config(world, "[settings]\npoll_interval = 0.2\n")
        pane = Pane(world, str(tmp_path / "driver.sock"), [NAVISH], width=80, height=24)
        panes.append(pane)
        wait_until(lambda: any(PROMPT.match(line) for line in pane.screen().splitlines()), what="the prompt")
        return pane

    yield start
    for pane in panes:
        pane.close()


@pytest.fixture
def small_pane(shell_pane, session_dir):  # type: ignore[no-untyped-def]
    return shell_pane()


def selected(pane: Pane) -> str:
    """The selected row (marked ▶), or ""."""
    return next((line for line in pane.screen().splitlines() if line.startswith("▶")), "")


def row(pane: Pane, name: str) -> str:
    return next((line for line in pane.screen().splitlines() if re.match(rf"^.local +{name} ", line)), "")


def wait_selected(pane: Pane, name: str) -> None:
    wait_until(lambda: re.match(rf"^▶local +{name} ", selected(pane)), what=f"{name} selected:\n{pane.screen()}")


def test_the_live_view_at_80x24(world, tmux, session_dir, small_pane):
    pane = small_pane
    for name in ("api", "web", "docs", "doomed"):
        tmux.new(name, f"echo {name.upper()}-PANE-TEXT; exec cat")
    write_status(session_dir, "api", "working", message="Running the tests")
    write_status(session_dir, "web", "waiting", message="Which branch should I deploy?")
    write_status(session_dir, "docs", "idle")
    write_status(session_dir, "doomed", "done")
    pane.wait_for("1 needs you")

    pane.type("watch")
    pane.keys("Enter")
    screen = pane.wait_for("navish watch · 4 sessions")
    lines = screen.splitlines()
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    assert lines[1].split() == ["HOST", "SESSION", "STATUS", "AGE", "CWD", "MESSAGE"]
    assert "? all keys" in lines[-1] and "q back" in lines[-1]  # the keys, at the bottom
    assert "1 needs you" in lines[-2] and "local ●" in lines[-2]  # the toolbar, per host
    wait_selected(pane, "web")  # the most urgent first
    assert [line.split()[1] for line in lines[2:6]] == ["web", "api", "docs", "doomed"]
    assert "Which branch should I deploy?" in row(pane, "web")

    # the selection stays on its session when another row moves above it
    pane.keys("j", "j")
    wait_selected(pane, "docs")
    write_status(session_dir, "api", "permission", message="Bash: npm test")
    wait_until(lambda: "permission" in row(pane, "api"), what=f"api's row to update:\n{pane.screen()}")
    assert "Bash: npm test" in row(pane, "api")
    assert pane.screen().splitlines()[2].split()[1] == "api"  # moved to the top
    wait_selected(pane, "docs")
    assert pane.screen().startswith(" navish watch") and "! local:api" not in pane.screen()  # no notice over the view

    # a click selects a row
    y = next(i for i, line in enumerate(pane.screen().splitlines()) if re.match(r"^.local +web ", line))
    pane.type(f"\x1b[<0;10;{y + 1}M\x1b[<0;10;{y + 1}m")  # SGR mouse: press and release on web's row
    wait_selected(pane, "web")
    pane.keys("j")
    wait_selected(pane, "docs")

    # Tab: the next session that needs you (wrapping to the top)
    pane.keys("Tab")
    wait_selected(pane, "api")
    pane.wait_for("local:api needs you (permission): Bash: npm test")

    # p: the live preview of the selected session
    pane.keys("p")
    pane.wait_for("preview local:api (live")
    pane.wait_for("API-PANE-TEXT")
    tmux("send-keys", "-t", "=api:", "-l", "more output while it is open")
    tmux("send-keys", "-t", "=api:", "Enter")
    pane.wait_for("more output while it is open")
    pane.keys("p")
    wait_until(lambda: "API-PANE-TEXT" not in pane.screen(), what="the preview to close")

    # d: dismiss
    pane.keys("d")
    pane.wait_for("dismissed local:api: permission → working")
    wait_until(lambda: "working" in row(pane, "api"), what="api's row to say working")

    # x: kill, after the question in the view
    pane.keys("End")
    wait_selected(pane, "doomed")
    pane.keys("x")
    pane.wait_for("Kill local:doomed (its tmux session and its status file)? [y/N]")
    pane.type("y")
    pane.wait_for("killed local:doomed and removed its status file")
    wait_until(lambda: not row(pane, "doomed"), what="doomed's row to go")
    assert "doomed" not in tmux.sessions() and not (session_dir / "doomed.json").exists()
    pane.wait_for("navish watch · 3 sessions")

    # Enter: attach; detaching comes back to the view
    pane.keys("Home")
    pane.keys("Tab")
    wait_selected(pane, "web")
    pane.keys("Enter")
    pane.wait_for("WEB-PANE-TEXT")
    pane.keys("C-b", "d")
    pane.wait_for("back from local:web")
    screen = pane.wait_for("navish watch · 3 sessions")
    assert selected(pane).startswith("▶local  web")
    assert "Traceback" not in screen

    # q: back to a working prompt
    pane.keys("q")
    wait_until(lambda: any(PROMPT.match(line) for line in pane.screen().splitlines()), what="the prompt after q")
    pane.type("ls")
    pane.keys("Enter")
    wait_until(lambda: any(line.startswith("local ") and " web " in line for line in pane.screen().splitlines()), what="ls after watch")
    assert "! local:api" not in pane.history()  # what the view showed is not announced late


def test_top_with_a_filter_and_esc(world, tmux, session_dir, small_pane):
    pane = small_pane
    tmux.new("alpha")
    tmux.new("beta")
    write_status(session_dir, "alpha", "working")
    write_status(session_dir, "beta", "working")
    pane.wait_for("2 working")
    pane.type("top bet")
    pane.keys("Enter")
    pane.wait_for("navish watch · 1 session of 2")
    assert row(pane, "beta") and not row(pane, "alpha")
    pane.keys("/")
    pane.wait_for("filter: bet")
    pane.keys("C-u")
    pane.wait_for("navish watch · 2 sessions")
    pane.keys("Enter")
    pane.wait_for("no filter")
    pane.keys("s")
    pane.wait_for("sort: name")
    pane.keys("Escape")
    wait_until(lambda: any(PROMPT.match(line) for line in pane.screen().splitlines()), what="the prompt after Esc")


def test_approve_deny_and_reply_to_the_real_claude_code_from_the_view(world, claude_factory, fake_api, tmp_path, shell_pane):
    made, refused = script_make_and_refuse(fake_api, tmp_path)
    claude = claude_factory.start()
    claude.wait_status("idle")
    pane = shell_pane()
    pane.type("watch")
    pane.keys("Enter")
    wait_until(lambda: "idle" in row(pane, "cc1"), what=f"cc1's row:\n{pane.screen()}")

    claude.prompt("make it")
    claude.wait_status("waiting", "permission prompt")
    wait_until(lambda: "permission" in row(pane, "cc1"), what=f"cc1 asking:\n{pane.screen()}")
    pane.keys("a")
    pane.wait_for("approved local:cc1 (Bash command: touch", timeout=20)
    wait_until(made.exists, what="the approved command to run")

    claude.wait_status("idle")
    claude.prompt("refuse it")
    claude.wait_status("waiting", "permission prompt")
    wait_until(lambda: "permission" in row(pane, "cc1"), what=f"cc1 asking again:\n{pane.screen()}")
    pane.keys("N")  # deny, telling Claude what to do instead
    pane.wait_for("deny local:cc1; tell Claude instead:")
    pane.type("use echo instead")
    pane.wait_for("tell Claude instead: use echo instead")
    pane.keys("Enter")
    pane.wait_for("denied local:cc1 (Bash command: touch", timeout=20)
    wait_until(lambda: any("use echo instead" in r.prompt for r in fake_api.main_requests()), what="the message to reach Claude")
    assert not refused.exists()

    claude.wait_for("Echoing instead.")  # the turn the message started is over (before it, idle is the interrupt's)
    claude.wait_status("idle")
    pane.keys("r")
    pane.wait_for("reply to local:cc1:")
    pane.type("now write the docs")
    pane.wait_for("reply to local:cc1: now write the docs")  # as a user would, Enter once it is typed
    pane.keys("Enter")
    pane.wait_for("replied to local:cc1", timeout=20)
    wait_until(lambda: any(r.prompt == "now write the docs" for r in fake_api.main_requests()), what="the typed prompt")


def test_watch_needs_a_terminal(world):
    result = navish(world, "-c", "watch")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "navish: watch: needs a terminal (standard input and output must be a TTY); for scripts use ls --json or events --json"
    )
