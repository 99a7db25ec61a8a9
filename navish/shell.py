"""The interactive shell: prompt_toolkit glue around the command table. Nothing else lives here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

from prompt_toolkit import Application, PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.filters import Condition, completion_is_selected, has_completions
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import get_typeahead, store_typeahead
from prompt_toolkit.key_binding import KeyBindings, KeyPress, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import ConditionalContainer, FormattedTextControl, HSplit, Layout, Window
from prompt_toolkit.layout.screen import Char
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.shortcuts import clear, print_formatted_text
from prompt_toolkit.styles import Style

from .app import App
from .commands import COMMANDS, Context, Result, execute
from .completion import NavishCompleter, Snapshot
from .hosts.base import AttachCommand, run_attach
from .model import LOCAL, attention_rank
from .sanitize import BIDI_CONTROLS, one_line, pane_text
from .toolbar import (
    AttentionMemory,
    Fragments,
    attention_count,
    notice_line,
    progress_fragments,
    prompt_fragments,
    toolbar_fragments,
)

log = logging.getLogger(__name__)

STYLE = Style.from_dict(
    {
        "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
        "toolbar.attention": "bg:#d70000 #ffffff bold",
        "toolbar.ok": "#5fd75f",
        "toolbar.pending": "#d7af00",
        "toolbar.bad": "#ff5f5f bold",
        "prompt": "bold",
        "prompt.attention": "bold #ff5f5f",
        "progress.spinner": "#5fafff bold",
        "progress.detail": "#8a8a8a",
        "completion-error": "bg:#5f0000 #ffffff",
        "notice": "#ffaf00 bold",
        "error": "#ff5f5f",
        "warning": "#d7af00",
    }
)


def show_controls_visibly() -> None:
    """Make prompt_toolkit draw bidi controls as `<U+202E>`, as it draws C0/C1 as `^[`/`<9b>`.

    Everything the line editor draws goes through `Char`: the typed and completed line (a host's
    session name may hold any character and must stay completable), the menu, the toolbar and the
    questions. Text printed above the prompt does not: `_print` and `_execute` sanitise that.
    """
    Char.display_mappings.update({char: f"<U+{ord(char):04X}>" for char in BIDI_CONTROLS})


def _print(style: str, text: str) -> None:
    print_formatted_text(FormattedText([(style, pane_text(text, keep_color=False))]), style=STYLE)


PROGRESS_DELAY = 0.3
"""Seconds a command runs before its progress line and the toolbar are shown."""


class Shell:
    """One interactive session: the prompt loop, the toolbar, notices and attach."""

    def __init__(self, app: App, *, history_file: Path | None, debug: bool = False, log_file: Path | None = None):
        self.app = app
        self.debug = debug
        self.log_file = log_file
        self.attached = False
        self._pending_notices: list[str] = []
        self._attention = AttentionMemory(app.registry.attention_refs(include_offline=True))
        self._seen_hosts: set[str] = set()
        self._logged: set[str] = set()
        self._busy: Busy | None = None
        search = PrefixSearch()
        show_controls_visibly()
        self.completer = NavishCompleter(COMMANDS, self._snapshot)
        self.session: PromptSession[str] = PromptSession(
            message=self._prompt,
            completer=self.completer,
            history=_history(history_file),
            auto_suggest=AutoSuggestFromHistory(),
            bottom_toolbar=self._toolbar,
            refresh_interval=1.0,
            style=STYLE,
            key_bindings=_key_bindings(search),
            enable_history_search=search.active,
        )
        self.questions: PromptSession[str] = PromptSession(style=STYLE)
        self.context = Context.for_terminal(
            app, run_attached=self._run_attached, confirm=self._confirm, ask=self._ask, say=self._say, out=self._say
        )

    # -- what the prompt draws: each guarded, so a bug shows one line instead of ending the shell
    def _guarded(self, what: str, draw: Callable[[], Fragments], fallback: Callable[[str], Fragments]) -> Fragments:
        try:
            return draw()
        except Exception as exc:
            message = one_line(exc, 80)
            if message not in self._logged:  # drawn every second: log each distinct failure once
                self._logged.add(message)
                log.exception("drawing the %s failed", what)
            return fallback(message)

    def _prompt(self) -> Fragments:
        return self._guarded(
            "prompt", lambda: prompt_fragments(attention_count(self.app.registry, self.app.filter_mode)), lambda _: prompt_fragments(0)
        )

    def _toolbar(self) -> Fragments:
        """The toolbar, and what failed in completion (its menu stays empty) while it fails."""
        fragments = self._guarded(
            "toolbar",
            lambda: toolbar_fragments(self.app.registry, self.app.filter_mode, self.app.clock()),
            lambda message: [("class:toolbar.bad", f" toolbar failed: {message} (details in the log) ")],
        )
        problem = self.completer.problem
        return fragments + [("class:toolbar.bad", f" {problem} (details in the log) ")] if problem else fragments

    def _progress(self, line: str, elapsed: float) -> Fragments:
        def draw() -> Fragments:
            waiting = [
                (name, self.app.registry.host(name).state) for name, monitor in self.app.monitors.items() if monitor.busy
            ]
            return progress_fragments(line, elapsed, waiting)

        return self._guarded("progress line", draw, lambda message: [("class:error", f"{one_line(line, 50)} … ({message})")])

    # -- background updates ---------------------------------------------------------------
    def _snapshot(self) -> Snapshot:
        sessions = tuple(
            (s.ref, s.display_status, attention_rank("offline") if s.offline else s.rank)
            for s in self.app.registry.sessions(include_untracked=True)
        )
        return Snapshot(sessions, tuple(n for n in self.app.registry.host_names() if n != LOCAL))

    def _on_change(self, host: str) -> None:
        """A snapshot landed: print notices for sessions that newly need the user, redraw."""
        status = self.app.registry.hosts()
        first_poll = {h.name for h in status if h.polled_at is not None} - self._seen_hosts
        self._seen_hosts |= first_poll
        registry = self.app.registry
        asking = registry.attention_refs(include_offline=True)
        for session in self._attention.update(asking, registry.sessions(include_untracked=True), self.app.clock()):
            if session.host not in first_poll:
                self._notice(notice_line(session))
        self.session.app.invalidate()

    def _notice(self, line: str) -> None:
        if self.attached:
            self._pending_notices.append(line)
        else:
            _print("class:notice", line)

    def _say(self, text: str) -> None:
        """A command tells the user something (or streams a line, `events`) before it ends:
        printed above the progress line."""
        _print("", text)

    # -- prompts the commands may use -----------------------------------------------------
    async def _confirm(self, question: str) -> bool:
        answer = await self._ask(f"{question} [y/N]", "")
        return answer.strip().lower() in ("y", "yes")

    async def _ask(self, question: str, default: str) -> str:
        async with self._paused():
            try:
                with patch_stdout():
                    return await self.questions.prompt_async(f"{question} ", default=default)
            except (KeyboardInterrupt, EOFError):
                return ""

    async def _run_attached(self, command: AttachCommand) -> int:
        """Run `tmux attach` / `ssh -t` in the real terminal; notices wait until it returns."""
        async with self._paused():
            self.attached = True
            try:
                with self._cooked():
                    return await run_attach(command)
            finally:
                self.attached = False
                for line in self._pending_notices:
                    _print("class:notice", line)
                self._pending_notices.clear()

    def _cooked(self) -> contextlib.AbstractContextManager[None]:
        """The terminal as a program run in it expects it (echo, line editing, signals)."""
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return contextlib.nullcontext()
        return self.session.input.cooked_mode()

    @contextlib.asynccontextmanager
    async def _paused(self) -> AsyncIterator[None]:
        """The terminal for a question or attach: the progress line goes, typeahead stays kept."""
        busy = self._busy
        if busy is None:
            yield
            return
        await busy.stop()
        try:
            yield
        finally:
            busy.start()
            # a question's prompt takes SIGINT over and gives it back to nobody: take it again
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, busy.cancel)

    # -- the loop -------------------------------------------------------------------------
    async def run(self) -> int:
        self.app.listeners.append(self._on_change)
        self.app.start()
        try:
            with self._between_prompts():
                return await self._loop()
        finally:
            self.app.listeners.remove(self._on_change)

    def _between_prompts(self) -> contextlib.AbstractContextManager[None]:
        """The terminal stays in raw mode for the whole shell, not only while a prompt is up:
        keys typed between two prompts wait for the next one instead of being echoed raw (and a
        Ctrl-C there clears the next prompt's line instead of killing navish)."""
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return contextlib.nullcontext()
        return self.session.input.raw_mode()

    async def _loop(self) -> int:
        while True:
            try:
                with patch_stdout():
                    line = await self.session.prompt_async()
            except KeyboardInterrupt:
                continue
            except EOFError:
                return 0
            self.context.width = shutil.get_terminal_size().columns
            result = await self._execute(line)
            if result is not None and result.exit_shell:
                return 0

    async def _execute(self, line: str) -> Result | None:
        """Run one command line; Ctrl-C cancels it, errors become one line.

        While it runs, keys typed are kept for the next prompt (never echoed into the output),
        and after `PROGRESS_DELAY` a progress line and the toolbar show what it waits for.
        """
        task = asyncio.ensure_future(execute(self.context, line, debug=self.debug, log_file=self.log_file))
        loop = asyncio.get_running_loop()
        busy = None
        if sys.stdin.isatty() and sys.stdout.isatty():
            busy = self._busy = Busy(
                self.session.input, lambda elapsed: self._progress(line, elapsed), self._toolbar, task.cancel, loop=loop
            )
            busy.start()
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        try:
            try:
                result = await task
            finally:
                if busy is not None:
                    self._busy = None
                    await busy.stop()
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
            _print("class:warning", "interrupted")
            return None
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            if busy is not None and busy.keys:
                store_typeahead(self.session.input, busy.keys)
        if result.clear_screen:
            clear()
        if result.error:
            _print("class:error", f"error: {result.error}")
        if result.text:
            print(pane_text(result.text), flush=True)  # renderers sanitise; this is the last check
        for warning in result.warnings:
            _print("class:warning", f"warning: {warning}")
        return result


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
            style=STYLE,
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


class PrefixSearch:
    """Up and Down search the history by the text typed so far, as prompt_toolkit's
    `enable_history_search` does, without turning off completion while typing (which
    prompt_toolkit ties to that flag): the flag is on only while Up or Down is handled."""

    def __init__(self) -> None:
        self.on = False
        self.active = Condition(lambda: self.on)

    @contextlib.contextmanager
    def searching(self) -> Iterator[None]:
        self.on = True
        try:
            yield
        finally:
            self.on = False


def _key_bindings(search: PrefixSearch | None = None) -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("tab", filter=~has_completions)
    def _(event: KeyPressEvent) -> None:
        """Tab inserts the only completion at once (even `ap` -> `local:api`), else opens the menu."""
        buffer = event.current_buffer
        if buffer.completer is not None:
            found = list(buffer.completer.get_completions(buffer.document, CompleteEvent(completion_requested=True)))
            if len(found) == 1:
                buffer.apply_completion(found[0])
                return
        buffer.start_completion(insert_common_part=True)

    @bindings.add("escape", filter=has_completions, eager=True)
    def _(event: KeyPressEvent) -> None:
        """Escape closes the completion menu (the line goes back to what was typed)."""
        event.current_buffer.cancel_completion()

    if search is not None:

        @bindings.add("up", filter=~completion_is_selected)
        def _(event: KeyPressEvent) -> None:
            """Up: the previous history line that starts with what is typed (a menu that popped up
            while typing, with nothing chosen in it yet, is closed first)."""
            buffer = event.current_buffer
            if buffer.complete_state is not None:
                buffer.cancel_completion()
            with search.searching():
                buffer.auto_up(count=event.arg)

        @bindings.add("down", filter=~has_completions)
        def _(event: KeyPressEvent) -> None:
            """Down: the next history line that starts with what was typed."""
            with search.searching():
                event.current_buffer.auto_down(count=event.arg)

    return bindings


def _history(path: Path | None) -> FileHistory | InMemoryHistory:
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError as exc:
        log.warning("history file %s unusable: %s", path, exc)
        return InMemoryHistory()
    return FileHistory(str(path))

