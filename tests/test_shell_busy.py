"""A command that waits (issue 12 item 17), driven in the real shell in a tmux pane: a progress
line says what it waits for, the toolbar stays, keys typed meanwhile go to the next prompt (never
raw into the output), and Ctrl-C still cancels it."""

from __future__ import annotations

import re
import socket
import time

import pytest

from tests.conftest import wait_until, write_config

PROMPT = re.compile(r"^navish( \d+)?> ?")


def prompt_line(pane) -> str:
    lines = [line.rstrip() for line in pane.screen().splitlines() if PROMPT.match(line)]
    return lines[-1] if lines else ""


@pytest.fixture
def silent_port():
    """A TCP port that accepts connections and never says a word (an SSH server that hangs)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def test_a_waiting_command_shows_progress_keeps_the_toolbar_and_typeahead(world, tmux, pane_factory, silent_port):
    write_config(world, "[settings]\npoll_interval = 0.2\nconnect_timeout = 3\n")
    pane = pane_factory()
    pane.wait_for("local ●")

    pane.type(f"remote add lab --host 127.0.0.1 --port {silent_port}")
    pane.keys("Enter")
    screen = pane.wait_for("waiting for lab (connecting)", timeout=5)
    progress = next(line for line in screen.splitlines() if "waiting for lab" in line)
    assert progress.startswith(("⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"))
    assert "remote add lab --host 127.0.0.1" in progress and "Ctrl-C cancels" in progress
    assert "filter: all" in screen and "lab …" in screen  # the toolbar stays while it waits

    pane.type("git qqq")  # typed while the command waits
    time.sleep(0.5)
    assert "qqq" not in pane.screen()  # not echoed raw into the output
    screen = pane.wait_for("not reachable now: lab", timeout=10)
    assert "waiting for lab" not in screen  # the progress line is gone with the command
    wait_until(lambda: prompt_line(pane) == "navish> git qqq", what="the typeahead on the next prompt")
    pane.keys("Enter")
    pane.wait_for("error: no session")  # it runs as if typed there

    pane.type("remote test lab")
    pane.keys("Enter")
    pane.wait_for("· Ctrl-C cancels", timeout=5)
    pane.type("ls")  # typed ahead, then cancelled with the command
    cancelled = time.monotonic()
    pane.keys("C-c")
    pane.wait_for("interrupted", timeout=2)
    assert time.monotonic() - cancelled < 2
    wait_until(lambda: prompt_line(pane) == "navish>", what="an empty prompt after Ctrl-C")
    assert "Ctrl-C cancels" not in pane.screen()


def test_a_fast_command_draws_no_progress_line(world, tmux, pane_factory):
    pane = pane_factory()
    pane.wait_for("local ●")
    for line in ("help", "help ls", "? remote"):
        pane.type(line)
        pane.keys("Enter")
    pane.wait_for("remote alone runs remote list")
    assert "Ctrl-C cancels" not in pane.history()
