"""What the line editor writes to the terminal for hostile session names and statuses: bidi
controls, C1 and escape sequences are drawn as visible text, in the menu and in the completed line,
and the completed line still holds the exact name."""

from __future__ import annotations

import asyncio
import io
import re
import shlex

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from navish.commands import COMMANDS
from navish.completion import NavishCompleter, Snapshot
from navish.sanitize import BIDI_CONTROLS
from navish.shell import show_controls_visibly
from navish.shell_keys import key_bindings
from tests.conftest import run

HOSTILE = "local:rtl\u202egnp.exe\u2066\x1b]0;pwned\x07\u200f"
SNAPSHOT = Snapshot(sessions=((HOSTILE, "wait\u202eing\u2067\x1b]2;pwned\x07"), ("local:plain", "idle")))
RAW = re.compile(f"[{BIDI_CONTROLS}\x80-\x9f\x07]|\x1b\\]")  # bidi, C1, BEL, any OSC


async def _type(keys: list[tuple[str, str]]) -> tuple[str, str]:
    """Type each group of keys into a navish-like prompt, once the screen has settled; the accepted
    line and everything written to the terminal."""
    screen = io.StringIO()
    with create_pipe_input() as pipe, create_app_session(
        input=pipe, output=Vt100_Output(screen, lambda: Size(rows=24, columns=120), term="xterm")
    ):
        show_controls_visibly()
        session: PromptSession[str] = PromptSession(
            "navish> ", completer=NavishCompleter(COMMANDS, lambda: SNAPSHOT), key_bindings=key_bindings()
        )
        prompt = asyncio.ensure_future(session.prompt_async())
        for group, wait_for in keys:
            pipe.send_text(group)
            for _ in range(500):  # up to 5 s for what the keys should draw
                await asyncio.sleep(0.01)
                if wait_for in screen.getvalue():
                    break
            else:
                raise AssertionError(f"{wait_for!r} never drawn: {screen.getvalue()[-500:]!r}")
        pipe.send_text("\r")
        line = await prompt
    return line, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())  # without cursor moves and colours


def test_the_menu_draws_hostile_names_and_statuses_visibly():
    _, drawn = run(_type([("preview ", "local:plain")]))  # the menu opens while typing
    assert not RAW.search(drawn), ascii(drawn[-600:])
    assert "local:rtl<U+202E>gnp.exe<U+2066>" in drawn and "wait<U+202E>ing" in drawn


def test_a_completed_hostile_name_is_drawn_visibly_and_stays_exact():
    line, drawn = run(_type([("preview rt", "rt"), ("\t", "gnp.exe")]))
    assert shlex.split(line) == ["preview", HOSTILE]  # completable: the command gets the real name
    assert not RAW.search(drawn), ascii(drawn[-600:])
    assert "'local:rtl<U+202E>gnp.exe<U+2066>^[]0;pwned^G<U+200F>'" in drawn
