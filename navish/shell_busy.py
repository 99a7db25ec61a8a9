"""What the shell shows and does while a command runs: keys typed are kept for the next prompt,
Ctrl-C cancels, and after a moment a progress line and the toolbar are drawn."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable

from prompt_toolkit import Application
from prompt_toolkit.filters import Condition
from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import get_typeahead
from prompt_toolkit.key_binding import KeyBindings, KeyPress, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import ConditionalContainer, FormattedTextControl, HSplit, Layout, Window
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.styles import BaseStyle

from .toolbar import Fragments

log = logging.getLogger(__name__)

PROGRESS_DELAY = 0.3
"""Seconds a command runs before its progress line and the toolbar are shown."""


class Busy:
    """While a command runs: keys typed are kept (for the next prompt), Ctrl-C cancels the
    command, and after `PROGRESS_DELAY` the progress line and the toolbar are drawn.

    It is a small prompt_toolkit application that reads the terminal in raw mode, so nothing
    typed is echoed into the command's output; `stop()` erases it, `start()` brings it back
    (around a question or an attach).
    """

    def __init__(
        self,
        input: Input,
        progress: Callable[[float], Fragments],
        toolbar: Callable[[], Fragments],
        cancel: Callable[[], object],
        *,
        loop: asyncio.AbstractEventLoop,
        style: BaseStyle,
        delay: float = PROGRESS_DELAY,
    ):
        self.input = input
        self.cancel = cancel
        self.keys: list[KeyPress] = []
        self.started = time.monotonic()
        self.delay = delay
        self.loop = loop
        self._shown = False
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[object] | None = None
        bindings = KeyBindings()

        @bindings.add("c-c", eager=True)
        def _(event: KeyPressEvent) -> None:
            """Ctrl-C cancels the command, and what was typed ahead with it."""
            self.keys.clear()
            cancel()

        @bindings.add(Keys.Any, eager=True)
        def _(event: KeyPressEvent) -> None:
            """Every other key waits for the next prompt."""
            self.keys.extend(k for k in event.key_sequence if k.key != Keys.CPRResponse)

        output = Vt100_Output.from_pty(sys.stdout, term=os.environ.get("TERM"))
        output.enable_cpr = False  # a cursor report arriving after exit would be echoed as ^[[12;1R
        layout = Layout(
            ConditionalContainer(
                HSplit(
                    [
                        Window(FormattedTextControl(lambda: progress(time.monotonic() - self.started)), height=1),
                        Window(FormattedTextControl(toolbar), height=1, style="class:bottom-toolbar"),
                    ]
                ),
                filter=Condition(lambda: self._shown),
            )
        )
        self.app: Application[None] = Application(
            layout=layout,
            key_bindings=bindings,
            input=input,
            style=style,
            output=output,
            erase_when_done=True,
            refresh_interval=0.1,
        )

    def start(self) -> None:
        """Read the keyboard now; draw after the delay (counted from now)."""
        self._shown = False
        self._task = asyncio.ensure_future(self._run())
        self._timer = self.loop.call_later(self.delay, self._show)

    def _show(self) -> None:
        self._shown = True
        self.app.invalidate()

    async def _run(self) -> None:
        try:
            await self.app.run_async(set_exception_handler=False, handle_sigint=False)
        except Exception:  # the keyboard is lost (e.g. stdin closed): the command goes on without it
            log.exception("the progress line failed")

    async def stop(self) -> None:
        """Erase the progress line and stop reading keys; typeahead read so far stays in `keys`."""
        if self._timer is not None:
            self._timer.cancel()
        task, self._task = self._task, None
        if task is None:
            return
        while not task.done() and self.app.future is None:
            await asyncio.sleep(0)  # not started yet: exit() needs a running application
        if not task.done() and not self.app.is_done:
            self.app.exit()
        await task
        self.keys.extend(k for k in get_typeahead(self.input) if k.key != Keys.CPRResponse)
