"""The real `navish` executable in a tmux pane, driven like a user: keys in, screen out."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import wait_until, write_config, write_status

FAST = "[settings]\npoll_interval = 0.2\n"
PROMPT = re.compile(r"^navish( \d+)?> ?")


def prompt_line(pane) -> str:
    """The last prompt on screen: `navish> ...`, or `navish 2> ...` while 2 sessions need you."""
    lines = [line for line in pane.screen().splitlines() if PROMPT.match(line)]
    return lines[-1] if lines else ""


def _start(world, pane_factory, tmux, session_dir: Path):
    write_config(world, FAST)
    pane = pane_factory()
    wait_until(lambda: prompt_line(pane), what="the prompt")
    return pane


def test_ls_toolbar_and_tab_completion(world, tmux, session_dir, pane_factory):
    tmux.new("api")
    tmux.new("web")
    write_status(session_dir, "api", "permission", message="Claude needs your permission to use Bash")
    write_status(session_dir, "web", "working")
    pane = _start(world, pane_factory, tmux, session_dir)

    screen = pane.wait_for("1 need")
    assert "1 permission 1 working" in screen
    assert "filter: all" in screen and "local ●" in screen

    pane.type("ls")
    pane.keys("Enter")
    screen = pane.wait_for("Claude needs your permission to use Bash")
    rows = [line.split() for line in screen.splitlines() if line.startswith("local ")]
    assert [r[1] for r in rows] == ["api", "web"]  # most urgent first
    assert rows[0][2] == "permission"

    pane.type("preview ap")
    pane.keys("Tab")
    wait_until(lambda: prompt_line(pane).rstrip() == "navish 1> preview local:api", what="Tab to complete local:api")

    pane.keys("C-u")  # a session that comes later is offered too (completion's snapshot follows changes)
    tmux.new("zeta")
    write_status(session_dir, "zeta", "working")
    pane.wait_for("2 working")
    pane.type("preview ze")
    pane.keys("Tab")
    wait_until(lambda: prompt_line(pane).rstrip() == "navish 1> preview local:zeta", what="Tab to complete local:zeta")


def test_attach_detach_returns_to_a_working_prompt(world, tmux, session_dir, pane_factory):
    tmux.new("work", "echo INSIDE-THE-SESSION; exec cat")
    write_status(session_dir, "work", "waiting")
    pane = _start(world, pane_factory, tmux, session_dir)
    pane.wait_for("local ●")

    pane.type("attach work")
    pane.keys("Enter")
    pane.wait_for("INSIDE-THE-SESSION")
    pane.keys("C-b", "d")
    pane.wait_for("[detached")
    pane.type("ls")
    pane.keys("Enter")
    wait_until(lambda: any(line.startswith("local ") and "work" in line for line in pane.screen().splitlines()),
               what="ls output after detach")


def test_notice_appears_while_the_user_is_typing(world, tmux, session_dir, pane_factory):
    tmux.new("build")
    write_status(session_dir, "build", "working")
    pane = _start(world, pane_factory, tmux, session_dir)
    pane.wait_for("1 working")

    pane.type("preview bu")
    write_status(session_dir, "build", "permission", message="Claude needs your permission to use Edit")
    screen = pane.wait_for("! local:build needs you (permission)")
    assert "Claude needs your permission to use Edit" in screen
    # what the user was typing is still there, on the prompt below the notice
    wait_until(lambda: prompt_line(pane).rstrip() == "navish 1> preview bu", what="the typed line, and the count")
    lines = screen.splitlines()
    notice = next(i for i, line in enumerate(lines) if line.startswith("! local:build"))
    prompt = max(i for i, line in enumerate(lines) if PROMPT.match(line))
    assert notice < prompt


def test_ctrl_c_clears_the_line_and_errors_are_one_line(world, tmux, session_dir, pane_factory):
    pane = _start(world, pane_factory, tmux, session_dir)
    pane.type("some half typed")
    pane.keys("C-c")
    wait_until(lambda: prompt_line(pane).rstrip() == "navish>", what="an empty prompt after Ctrl-C")
    pane.type("frobnicate")
    pane.keys("Enter")
    screen = pane.wait_for("error: unknown command 'frobnicate' (try: help)")
    assert "Traceback" not in screen
    pane.type("exit")
    pane.keys("Enter")
    wait_until(lambda: "Pane is dead" in pane.screen() or "navish>" not in pane.screen().splitlines()[-1], what="exit")


def test_questions_in_the_shell_kill_new_and_remote_add(world, tmux, session_dir, pane_factory):
    tmux.new("doomed")
    write_status(session_dir, "doomed", "done")
    pane = _start(world, pane_factory, tmux, session_dir)
    pane.wait_for("1 done")

    pane.type("kill doomed")
    pane.keys("Enter")
    pane.wait_for("Kill local:doomed (its tmux session and its status file)? [y/N]")
    pane.type("n")
    pane.keys("Enter")
    pane.wait_for("nothing done")
    assert tmux.sessions() == ["doomed"]

    pane.type("new fresh --cmd 'exec cat'")
    pane.keys("Enter")
    pane.wait_for("Attach to it now? [y/N]")
    pane.keys("Enter")
    pane.wait_for("started local:fresh in")
    assert sorted(tmux.sessions()) == ["doomed", "fresh"]

    pane.type("remote add lab")
    pane.keys("Enter")
    pane.wait_for("host name, address or ~/.ssh/config alias (required):")
    pane.type("127.0.0.1")
    pane.keys("Enter")
    pane.wait_for("port (empty: ")
    pane.type("99999")
    pane.keys("Enter")
    pane.wait_for("not a port from 1 to 65535: '99999'")  # a bad answer is explained, asked again
    pane.type("1")
    pane.keys("Enter")
    for question in ("user (empty:", "private key file (empty:", "known_hosts file (empty:", "jump host [USER@]HOST[:PORT] (empty:",
                     "status-file directory there (empty:", "seconds a snapshot serves commands (empty:"):
        pane.wait_for(question)  # every other field keeps its default
        pane.keys("Enter")
    pane.wait_for("not reachable now: lab: connection refused")
    pane.wait_for("lab ✗ offline")
    config = (Path(world["XDG_CONFIG_HOME"]) / "navish" / "config.toml").read_text()
    assert '[remotes.lab]\nhost = "127.0.0.1"\nport = 1\n' in config


# Bidi controls, C1 controls and the start of any OSC string: none may reach the terminal raw.
RAW_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\x80-\x9f\x07]|\x1b\\]")


def test_hostile_name_and_status_are_drawn_visibly_and_the_session_stays_reachable(world, tmux, session_dir, pane_factory):
    name = "rtl\u202egnp-exe\u2066"  # tmux keeps bidi controls in a session name
    tmux.new(name, "echo PANE-OK; exec cat")
    tmux.new("plain")
    write_status(session_dir, name, "wait\u202eing\u2067\x1b]0;pwned\x07", message="m\u202e\x1b]2;pwned\x07sg\x9b2J")
    write_status(session_dir, "plain", "idle")
    pane = _start(world, pane_factory, tmux, session_dir)
    pane.wait_for("1 wait<U+202E")  # the toolbar (its status cut at 12 characters)

    def raw_screen() -> None:
        """What the terminal got (with attributes, and what scrolled off) holds no raw control."""
        screen = pane.driver("capture-pane", "-p", "-e", "-t", "driver", "-S", "-100")
        assert not RAW_CONTROLS.search(screen), ascii(screen)
        assert "pwned" not in pane.driver("display-message", "-p", "-t", "driver", "#{pane_title}")

    def prompt_ready() -> None:
        wait_until(lambda: prompt_line(pane).rstrip() == "navish>", what="an empty prompt")

    pane.type("ls")
    pane.keys("Enter")
    pane.wait_for("m<U+202E>sg")
    raw_screen()

    prompt_ready()
    pane.type("preview rt")
    pane.keys("Tab")
    completed = "navish> preview 'local:rtl<U+202E>gnp-exe<U+2066>'"
    wait_until(lambda: prompt_line(pane).rstrip() == completed, what="Tab to complete the hostile name")
    raw_screen()
    pane.keys("Enter")
    pane.wait_for("PANE-OK")  # the completed line names the real session
    raw_screen()

    prompt_ready()
    pane.type("preview ")
    pane.keys("Tab")
    menu = pane.wait_for("local:plain ")
    assert "local:rtl<U+202E>gnp-exe<U+2066>" in menu and "wait<U+202E>ing" in menu
    raw_screen()
