"""The shell's prompt, toolbar, completion menu and key bindings, driven through prompt_toolkit's
pipe input (no terminal): what the user sees must never end the shell."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.filters import to_filter
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from navish import shell as shell_module
from navish.app import App
from navish.completion import NavishCompleter
from navish.commands import COMMANDS
from navish.model import Session
from navish.parsing import HostSessions
from navish.shell import Shell
from tests.conftest import run

UP = "\x1b[A"


@pytest.fixture
def pipe():
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        yield inp


def make_shell(history_file=None) -> Shell:
    app = App(poll_interval=1, command_timeout=1)
    app.registry.add_host("local", 10)
    return Shell(app, history_file=history_file)


def text_of(fragments) -> str:
    return "".join(text for _, text in fragments)


def test_the_prompt_counts_the_sessions_that_need_you(pipe):
    shell = make_shell()
    assert text_of(shell._prompt()) == "navish> "
    sessions = (Session("local", "a", "permission", status_file="a.json"), Session("local", "b", "waiting", status_file="b.json"))
    shell.app.registry.apply_poll("local", HostSessions(sessions), polled_at=1.0, duration=0.01)
    assert text_of(shell._prompt()) == "navish 2> "
    pipe.send_text("ls\r")
    assert run(shell.session.prompt_async()) == "ls"


def test_a_failing_toolbar_shows_one_line_and_the_prompt_goes_on(pipe, monkeypatch, caplog):
    def broken(*args):
        raise KeyError("boom")

    monkeypatch.setattr(shell_module, "toolbar_fragments", broken)
    shell = make_shell()
    with caplog.at_level(logging.ERROR, logger="navish.shell"):
        pipe.send_text("ls\r")
        assert run(shell.session.prompt_async()) == "ls"
        pipe.send_text("refresh\r")
        assert run(shell.session.prompt_async()) == "refresh"
    assert text_of(shell._toolbar()) == " toolbar failed: 'boom' (details in the log) "
    assert caplog.text.count("drawing the toolbar failed") == 1  # drawn every second, logged once
    assert "KeyError: 'boom'" in caplog.text


def test_a_failing_prompt_falls_back_to_the_plain_prompt(pipe, monkeypatch):
    monkeypatch.setattr(shell_module, "attention_count", lambda *a: 1 / 0)
    shell = make_shell()
    assert text_of(shell._prompt()) == "navish> "
    pipe.send_text("ls\r")
    assert run(shell.session.prompt_async()) == "ls"


def test_a_failing_completer_says_so_in_the_toolbar_and_the_prompt_goes_on(pipe, caplog):
    shell = make_shell()
    failing = True

    def snapshot():
        if failing:
            raise RuntimeError("snapshot exploded")
        return shell._snapshot()

    shell.completer.snapshot = snapshot

    async def scenario():
        task = asyncio.ensure_future(shell.session.prompt_async())
        pipe.send_text("attach a\t")
        await asyncio.sleep(0.3)
        shown = text_of(shell._toolbar())
        pipe.send_text("\r")
        return await task, shown

    with caplog.at_level(logging.ERROR, logger="navish.completion"):
        line, toolbar = run(scenario())
    assert line == "attach a"  # Tab inserted nothing
    assert toolbar.endswith(" completion failed: snapshot exploded (details in the log) ")
    assert "RuntimeError: snapshot exploded" in caplog.text
    failing = False
    pipe.send_text("attach a\t\r")
    assert run(shell.session.prompt_async()) == "attach a"
    assert "completion failed" not in text_of(shell._toolbar())


def test_up_searches_the_history_by_what_is_typed(pipe, tmp_path):
    path = tmp_path / "history"
    history = FileHistory(str(path))
    for line in ("ls --all", "remote list", "lss", "preview api"):
        history.append_string(line)
    shell = make_shell(history_file=path)
    pipe.send_text("ls" + UP + "\r")
    assert run(shell.session.prompt_async()) == "lss"
    pipe.send_text("ls -" + UP + "\r")
    assert run(shell.session.prompt_async()) == "ls --all"
    pipe.send_text(UP + "\r")  # nothing typed: the previous line, whatever it is
    assert run(shell.session.prompt_async()) == "ls --all"
    pipe.send_text("rem" + UP + "\r")
    assert run(shell.session.prompt_async()) == "remote list"
    # and the menu still pops up while typing (prompt_toolkit turns that off with history search)
    assert to_filter(shell.session.default_buffer.complete_while_typing)()


def test_escape_closes_the_completion_menu(pipe):
    shell = make_shell()

    async def scenario():
        task = asyncio.ensure_future(shell.session.prompt_async())
        pipe.send_text("re\t")
        await asyncio.sleep(0.3)
        buffer = shell.session.default_buffer
        opened = buffer.complete_state is not None and len(buffer.complete_state.completions) > 1
        pipe.send_text("\x1b")
        for _ in range(40):  # a lone Escape is told from a sequence after a short wait
            await asyncio.sleep(0.05)
            if buffer.complete_state is None:
                break
        closed = buffer.complete_state is None
        pipe.send_text("\r")
        return opened, closed, await task

    opened, closed, line = run(scenario())
    assert opened and closed
    assert line == "re"
