"""The live view (`watch`): thin prompt_toolkit glue around the `Dashboard` model.

A full-screen application: the table (only the rows on screen are drawn, and prompt_toolkit
writes only the cells that changed), an optional detail pane (the live preview, git info, the
keys), a status line that doubles as the input line, the toolbar and the keys. Registry changes
arrive through the hub; actions run the shell's own commands, asking their questions in the view.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from prompt_toolkit.application import Application, in_terminal
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import DummyCompleter, WordCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import ANSI, to_formatted_text
from prompt_toolkit.formatted_text.utils import split_lines
from prompt_toolkit.layout import (
    ConditionalContainer,
    Float,
    FloatContainer,
    FormattedTextControl,
    HSplit,
    Layout,
    VSplit,
    Window,
)
from prompt_toolkit.layout.controls import BufferControl
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.layout.menus import CompletionsMenu

from . import actions
from .app import App
from .commands.base import Context
from .dashboard import Dashboard, Fragments, fit, toolbar_fragments
from .dashboard_controls import STYLE, DetailControl, TableControl
from .dashboard_keys import KEYS, Actions, key_bindings
from .errors import NavishError
from .hosts.base import AttachCommand
from .hub import Throttled
from .registry import ATTENTION, Change
from .sanitize import one_line, pane_text

log = logging.getLogger(__name__)

PREVIEW_EVERY = 1.0
"""Seconds between two captures of the selected session's pane while the preview is open."""
PREVIEW_LINES = 60
ESCAPE_WAIT = 0.1
"""Seconds a lone Esc waits for the rest of an escape sequence (a terminal sends one in a single
write; prompt_toolkit's 0.5 s would make Esc feel slow here)."""

class DashboardView:
    """One run of the live view over `app`; `ctx` is the command's context (how to attach)."""

    def __init__(
        self, app: App, ctx: Context, model: Dashboard | None = None, *, focus: Callable[[str | None], None] | None = None
    ):
        self.app = app
        self.ctx = ctx
        self.focus = focus or (lambda ref: None)
        """Told the selected session's ref as it changes (the shell does not notify about it)."""
        self.model = model if model is not None else Dashboard(mode=app.filter_mode)
        self.status: Fragments = [("", "")]
        self.detail: str | None = None
        """None, "preview", or the title of a text shown in the pane."""
        self.detail_control = DetailControl()
        self.mode = "normal"
        """normal, confirm (one key answers) or input (the input line has the keys)."""
        self._question = ""
        self._answer: asyncio.Future[object] | None = None
        self._label = ""
        self._on_input: Callable[[str], None] | None = None
        self._preview: asyncio.Task[None] | None = None
        self._preview_wake = asyncio.Event()
        self._logged: set[str] = set()
        self.context = dataclasses.replace(
            ctx, confirm=self._confirm, ask=self._ask, say=self.say, out=self.say, run_attached=self._run_attached
        )
        """The context the view's commands run with: their questions and news go to the status line."""
        self.actions = Actions(self)
        self.input = Buffer(multiline=False, complete_while_typing=True, on_text_changed=self._input_changed)
        self.application: Application[None] = Application(
            layout=self._layout(),
            key_bindings=key_bindings(self, self.actions),
            style=STYLE,
            full_screen=True,
            mouse_support=True,
            refresh_interval=1.0,
        )
        self.application.ttimeoutlen = ESCAPE_WAIT
        self._redraw = Throttled(self.application.invalidate)
        """Redraws for changes in the background; keys redraw at once, on their own."""

    # -- layout --------------------------------------------------------------------------------
    def _layout(self) -> Layout:
        typing = Condition(lambda: self.mode == "input")
        detail = Condition(lambda: self.detail is not None)
        self.table = Window(TableControl(self), height=Dimension(min=3, weight=1), wrap_lines=False)
        body = HSplit(
            [
                Window(FormattedTextControl(self._guard(self._title)), height=1, style="class:dash.title"),
                Window(FormattedTextControl(self._guard(self._columns)), height=1),
                self.table,
                ConditionalContainer(
                    HSplit(
                        [
                            Window(FormattedTextControl(self._guard(self._detail_title)), height=1, style="class:dash.detail"),
                            Window(self.detail_control, height=self._detail_height, wrap_lines=False),
                        ]
                    ),
                    filter=detail,
                ),
                ConditionalContainer(
                    VSplit(
                        [
                            Window(FormattedTextControl(lambda: [("class:dash.question", self._label)]), dont_extend_width=True),
                            Window(BufferControl(self.input), height=1),
                        ]
                    ),
                    filter=typing,
                ),
                ConditionalContainer(Window(FormattedTextControl(self._guard(self._status_line)), height=1), filter=~typing),
                Window(FormattedTextControl(self._guard(self._toolbar)), height=1, style="class:bottom-toolbar"),
                Window(FormattedTextControl(self._guard(self._footer)), height=1, style="class:dash.footer"),
            ]
        )
        root = FloatContainer(body, floats=[Float(xcursor=True, ycursor=True, content=CompletionsMenu(max_height=8))])
        return Layout(root, focused_element=self.table)

    def _detail_height(self) -> Dimension:
        """The preview shares the room with the table; a text takes what it needs."""
        if self.detail == "preview":
            return Dimension(min=3, weight=1)
        lines = len(self.detail_control.lines)
        return Dimension(min=min(lines, 3), max=lines, preferred=lines, weight=1)

    def _width(self) -> int:
        return self.application.output.get_size().columns

    def _guard(self, draw: Callable[[], Fragments]) -> Callable[[], Fragments]:
        """A part of the screen that fails draws one line saying so (logged once), not a crash."""

        def guarded() -> Fragments:
            try:
                return draw()
            except Exception as exc:
                return self._failed(exc)

        return guarded

    def _failed(self, exc: Exception) -> Fragments:
        message = one_line(exc, 80)
        if message not in self._logged:  # drawn every second: each distinct failure logged once
            self._logged.add(message)
            log.exception("drawing the live view failed")
        return [("class:error", f" drawing failed: {message} (details in the log)")]

    def draw_rows(self, width: int, height: int) -> list[Fragments]:
        try:
            now = self.app.clock()
            self.model.expire(now)
            rows = self.model.window(height, width, now, self._polled_at)
        except Exception as exc:
            return [self._failed(exc)]
        if rows:
            return rows
        if any(h.polled_at is None for h in self.app.registry.hosts()):
            text = "waiting for the hosts' sessions…"
        else:
            text = "no session matches the filter" if self.model.sessions else "no sessions"
        return [[("class:dash.offline", fit(f" {text}", width))]]

    def _polled_at(self, host: str) -> float | None:
        try:
            return self.app.registry.host(host).polled_at
        except NavishError:
            return None

    def _title(self) -> Fragments:
        counts = self.app.registry.counts(self.model.mode)
        need = counts.get(ATTENTION, 0)
        shown, total = len(self.model), len(self.model.sessions)
        parts = [f" navish watch · {shown} session{'s' * (shown != 1)}" + (f" of {total}" if shown != total else "")]
        out: Fragments = [("class:dash.title", parts[0])]
        if need:
            out.append(("class:dash.title.attention", f" · {need} need{'s' * (need == 1)} you"))
        out.append(("class:dash.title", f" · sort: {self.model.sort} · hosts: {one_line(self.model.mode, 20)}"))
        if self.model.text:
            out.append(("class:dash.title", f" · /{one_line(self.model.text, 30)}"))
        return out

    def _columns(self) -> Fragments:
        return self.model.header(self._width())

    def _detail_title(self) -> Fragments:
        if self.detail == "preview":
            ref = self.model.selected
            return [("", fit(f" preview {one_line(ref or '-', 60)} (live; p closes)", self._width()))]
        return [("", fit(f" {self.detail} (Esc closes)", self._width()))]

    def _status_line(self) -> Fragments:
        if self.mode == "confirm":
            return [("class:dash.question", f" {self._question}")]
        return list(self.status)

    def _toolbar(self) -> Fragments:
        return toolbar_fragments(self.app.registry, self.model.mode, self.app.clock())

    def _footer(self) -> Fragments:
        width, used = self._width(), 0
        out: Fragments = []
        end = [("class:dash.key", " ?"), ("class:dash.footer", " all keys")]
        room = width - sum(len(t) for _, t in end)
        for key, label in KEYS:
            piece = len(key) + len(label) + 2
            if used + piece > room:
                break
            out += [("class:dash.key", f" {key}"), ("class:dash.footer", f" {label}")]
            used += piece
        return out + end

    # -- what the keys use ---------------------------------------------------------------------
    def table_height(self) -> int:
        info = self.table.render_info
        return info.window_height if info is not None else 10

    def selection_moved(self) -> None:
        self._preview_wake.set()
        self.focus(self.model.selected)
        self.application.invalidate()

    def quit(self) -> None:
        if not self.application.is_done:
            self.application.exit()

    # -- the detail pane -----------------------------------------------------------------------
    def toggle_preview(self) -> None:
        if self.detail == "preview":
            self.close_detail()
            return
        self.detail = "preview"
        self.detail_control.tail = True
        self.detail_control.lines = [[("class:dash.offline", " capturing…")]]
        if self._preview is None or self._preview.done():
            self._preview = asyncio.ensure_future(self._preview_loop())

    def show_text(self, title: str, text: str) -> None:
        self.close_detail()
        self.detail = title
        self.detail_control.tail = False
        self.detail_control.lines = [[("", " " + line)] for line in pane_text(text, keep_color=False).split("\n")]

    def close_detail(self) -> None:
        self.detail = None
        if self._preview is not None:
            self._preview.cancel()
            self._preview = None

    async def _preview_loop(self) -> None:
        """While the preview is open: the selected session's pane, every second and at once
        when the selection moves."""
        while self.detail == "preview":
            self._preview_wake.clear()
            session = self.model.current
            lines: list[Fragments]
            if session is None:
                lines = [[("class:dash.offline", " no session selected")]]
            elif not session.live:
                lines = [[("class:dash.offline", f" {one_line(session.ref)} has no tmux session any more")]]
            else:
                try:
                    shown = await actions.preview(self.app.action_host(session), session.name, PREVIEW_LINES, self.app.command_timeout)
                    text = pane_text(shown.text, keep_color=self.ctx.color)
                    lines = list(split_lines(to_formatted_text(ANSI(text)))) or [[("class:dash.offline", " (empty pane)")]]
                except NavishError as exc:
                    lines = [[("class:error", f" {one_line(exc)}")]]
            if self.detail == "preview":
                self.detail_control.lines = lines
                self.application.invalidate()
            try:
                await asyncio.wait_for(self._preview_wake.wait(), PREVIEW_EVERY)
            except TimeoutError:
                pass

    # -- questions in the view (what a command's `confirm` and `ask` do here) -------------------
    async def _confirm(self, question: str) -> bool:
        self._answer = asyncio.get_running_loop().create_future()
        self._question = f"{one_line(question)} [y/N]"
        self.mode = "confirm"
        self.application.invalidate()
        try:
            return bool(await self._answer)
        finally:
            self.mode = "normal"
            self._answer = None

    async def _ask(self, question: str, default: str) -> str:
        return await self.read_input(self.open_input(f" {one_line(question)} ", default)) or ""

    def open_input(
        self, label: str, default: str = "", completer: WordCompleter | None = None, on_change: Callable[[str], None] | None = None
    ) -> asyncio.Future[object]:
        """Give the input line the keys; the future gets what was typed (None: Esc)."""
        answer = self._answer = asyncio.get_running_loop().create_future()
        self._label = label
        self.input.completer = completer or DummyCompleter()
        self.input.set_document(Document(default, len(default)), bypass_readonly=True)
        self._on_input = on_change
        self.mode = "input"
        self.application.layout.focus(self.input)
        self.application.invalidate()
        return answer

    async def read_input(self, answer: asyncio.Future[object]) -> str | None:
        try:
            value = await answer
            return None if value is None else str(value)
        finally:
            self._on_input = None
            self.mode = "normal"
            self._answer = None
            self.input.reset()
            self.application.layout.focus(self.table)
            self.application.invalidate()  # the line closes now, not at the next second's redraw

    def answer(self, value: object) -> None:
        """The answer to the question or input line that is open."""
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(value)

    def _input_changed(self, buffer: Buffer) -> None:
        if self._on_input is not None:
            self._on_input(buffer.text)

    async def _run_attached(self, command: AttachCommand) -> int:
        """Attach in the real terminal, the view put away meanwhile and drawn again after."""
        try:
            async with in_terminal():
                return await self.ctx.run_attached(command)
        finally:
            self.focus(self.model.selected)  # attaching focused the shell on that session; the view is back

    def say(self, text: str) -> None:
        self.status = [("", " " + one_line(text))]
        self.application.invalidate()

    def say_error(self, text: str) -> None:
        self.status = [("class:error", " " + one_line(text))]
        self.application.invalidate()

    # -- changes in ----------------------------------------------------------------------------
    def _on_changes(self, batch: list[Change]) -> None:
        before = self.model.selected
        self.model.apply(batch, self.app.clock())
        self.actions.select_wanted()
        if self.model.selected != before:
            self.selection_moved()
        self._redraw()

    # -- the run -------------------------------------------------------------------------------
    async def run(self) -> None:
        self.model.load(self.app.registry.sessions())
        self.focus(self.model.selected)
        unsubscribe = self.app.hub.subscribe(self._on_changes)
        try:
            await self.application.run_async(handle_sigint=False, set_exception_handler=False)
        finally:
            unsubscribe()
            self._redraw.cancel()
            for task in (self.actions.task, self._preview):
                if task is not None and not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
