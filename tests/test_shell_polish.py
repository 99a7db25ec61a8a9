"""The small things of the first hour (issue 12 items 19 and 20, issue 10's prompt count), in the
real shell in a tmux pane: one shell session checks several of them."""

from __future__ import annotations

import re

from navish.commands import COMMANDS, help_text
from tests.conftest import wait_until, write_config, write_status

PROMPT = re.compile(r"^navish( \d+)?> ?")


def prompt_line(pane) -> str:
    lines = [line.rstrip() for line in pane.screen().splitlines() if PROMPT.match(line)]
    return lines[-1] if lines else ""


def enter(pane, line: str) -> None:
    pane.type(line)
    pane.keys("Enter")


def test_prompt_count_suggestions_help_clear_history_menu_and_paths(world, tmux, session_dir, pane_factory, tmp_path):
    tmux.new("aaa")
    tmux.new("zzz")
    write_status(session_dir, "aaa", "idle")
    write_status(session_dir, "zzz", "permission", message="Allow Bash?", session_id="sid-zzz")
    (tmp_path / "projects").mkdir()
    write_config(world, "[settings]\npoll_interval = 0.2\n")
    pane = pane_factory()
    wait_until(lambda: prompt_line(pane) == "navish 1>", what="the prompt counting the session that needs you")

    enter(pane, "lss")
    pane.wait_for("error: unknown command 'lss' (did you mean ls?)")
    enter(pane, "?")
    pane.wait_for("help COMMAND for details")
    enter(pane, "remote")
    pane.wait_for("no remotes configured")  # `remote` alone is `remote list`
    enter(pane, "clear")
    wait_until(lambda: "did you mean" not in pane.screen() and pane.screen().startswith("navish 1>"), what="a cleared screen")

    # session completion: the one that needs you first, not alphabetical
    pane.type("preview ")
    pane.keys("Tab")
    screen = pane.wait_for("local:aaa")
    lines = screen.splitlines()
    assert next(i for i, l in enumerate(lines) if "local:zzz" in l) < next(i for i, l in enumerate(lines) if "local:aaa" in l)
    pane.keys("Escape")  # closes the menu, keeps the line
    wait_until(lambda: "local:aaa" not in pane.screen(), what="Escape to close the menu")
    assert prompt_line(pane) == "navish 1> preview"
    pane.keys("C-c")

    # Up searches the history by what is typed
    pane.type("l")
    pane.keys("Up")
    wait_until(lambda: prompt_line(pane) == "navish 1> lss", what="Up to find lss")
    pane.keys("C-c")
    pane.type("r")
    pane.keys("Up")
    wait_until(lambda: prompt_line(pane) == "navish 1> remote", what="Up to find remote")
    pane.keys("C-c")

    # local paths complete
    pane.type(f"new x --dir {tmp_path}/proj")
    pane.keys("Tab")
    wait_until(lambda: prompt_line(pane) == f"navish 1> new x --dir {tmp_path}/projects/", what="the directory completed")
    pane.keys("C-c")

    # a renamed session that needs you is not announced again; a new one is, and the count follows
    enter(pane, "rename zzz yyy")
    pane.wait_for("renamed local:zzz to local:yyy")
    write_status(session_dir, "aaa", "waiting", message="Which branch?")
    pane.wait_for("! local:aaa needs you (waiting)")
    wait_until(lambda: prompt_line(pane) == "navish 2>", what="the prompt counting two")
    assert "! local:yyy" not in pane.history()
    write_status(session_dir, "aaa", "working")
    write_status(session_dir, "yyy", "working", session_id="sid-zzz")
    wait_until(lambda: prompt_line(pane) == "navish>", what="the plain prompt when nobody needs you")


def test_help_wraps_to_the_terminal_at_word_boundaries(world, tmux, pane_factory):
    pane = pane_factory()
    pane.wait_for("local ●")
    pane.driver("resize-window", "-t", "driver", "-x", "52")
    enter(pane, "help remote add")
    screen = pane.wait_for("known_hosts file")
    words = set(help_text(COMMANDS, "remote add", 10_000).split())
    shown = screen[screen.index("usage: remote add") : screen.index("known_hosts file") + len("known_hosts file")]
    assert len(shown.splitlines()) > 10
    for line in shown.splitlines():
        assert len(line.rstrip()) <= 52
        assert all(word in words for word in line.split()), line  # no word cut in two
