"""The interactive shell: prompt_toolkit glue around the command table. Nothing else lives here."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import shutil
import signal
import sys
from pathlib import Path
from collections.abc import AsyncIterator, Callable, Iterator

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input.typeahead import store_typeahead
from prompt_toolkit.layout.screen import Char
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.shortcuts import clear, print_formatted_text
from prompt_toolkit.styles import Style

from .app import App
from .commands import COMMANDS, Context, Result, execute
from .completion import NavishCompleter, Snapshot
from .hosts.base import AttachCommand, run_attach
from .hub import Throttled
from .model import LOCAL, Session, attention_rank
from .notify import Notifier, NotifySettings
from .pager import page, pager_argv, too_long
from .registry import Change
from .sanitize import BIDI_CONTROLS, one_line, pane_text
from .shell_busy import Busy
from .shell_keys import PrefixSearch, key_bindings
from .style import TOOLBAR
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
        **TOOLBAR,
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



class Shell:
    """One interactive session: the prompt loop, the toolbar, notices and attach."""

    def __init__(
        self,
        app: App,
        *,
        history_file: Path | None,
        debug: bool = False,
        log_file: Path | None = None,
        notify: NotifySettings | None = None,
    ):
        self.app = app
        self.notifier = Notifier(
            notify or NotifySettings(), self._still_needs_you, terminal=sys.__stdout__,
            muted=lambda host: host in app.remotes and app.remotes[host].mute,
        )
        self.debug = debug
        self.log_file = log_file
        self.attached = False
        self._pending_notices: list[str] = []
        self._attention = AttentionMemory(app.registry.attention_refs(include_offline=True))
        self._seen_hosts: set[str] = set()
        self._completion: tuple[tuple[str, ...], Snapshot] | None = None
        """Completion's snapshot and the hosts it was built for; dropped on every change."""
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
            key_bindings=key_bindings(search),
            enable_history_search=search.active,
        )
        self._redraw = Throttled(self.session.app.invalidate)
        """Redraws for changes in the background; keys redraw at once, on their own."""
        self.questions: PromptSession[str] = PromptSession(style=STYLE)
        self.context = Context.for_terminal(
            app, run_attached=self._run_attached, confirm=self._confirm, ask=self._ask, say=self._say, out=self._say,
            full_screen=self._full_screen,
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
        return [*fragments, ("class:toolbar.bad", f" {problem} (details in the log) ")] if problem else fragments

    def _progress(self, line: str, elapsed: float) -> Fragments:
        def draw() -> Fragments:
            waiting = [
                (name, self.app.registry.host(name).state) for name, monitor in self.app.monitors.items() if monitor.busy
            ]
            return progress_fragments(line, elapsed, waiting)

        return self._guarded("progress line", draw, lambda message: [("class:error", f"{one_line(line, 50)} … ({message})")])

    # -- background updates ---------------------------------------------------------------
    def _snapshot(self) -> Snapshot:
        """What completion offers; built again only after a change (10,000 sessions take 20 ms)."""
        hosts = tuple(self.app.registry.host_names())
        if self._completion is None or self._completion[0] != hosts:
            sessions = tuple(
                (s.ref, s.display_status, attention_rank("offline") if s.offline else s.rank)
                for s in self.app.registry.sessions(include_untracked=True)
            )
            self._completion = hosts, Snapshot(sessions, tuple(n for n in hosts if n != LOCAL))
        return self._completion[1]

    def _still_needs_you(self, session: Session) -> bool:
        status = self.app.registry.host(session.host) if self.app.registry.has_host(session.host) else None
        now = next((s for s in status.sessions if s.name == session.name), None) if status else None
        return now is not None and now.needs_attention

    def _on_changes(self, changes: list[Change]) -> None:
        """Snapshots landed (one call per loop tick): notices and notifications for sessions that
        newly need the user, a fresh snapshot for completion, and a redraw."""
        self._completion = None
        registry = self.app.registry
        first_poll = {
            c.host
            for c in changes
            if c.host not in self._seen_hosts and registry.has_host(c.host) and registry.host(c.host).polled_at is not None
        }
        self._seen_hosts |= first_poll
        present = [s for change in changes for s in (*change.added, *(new for _, new in change.changed))]
        asking = registry.attention_refs(include_offline=True)
        fresh = [s for s in self._attention.update(asking, present, self.app.clock()) if s.host not in first_poll]
        for session in fresh:
            self._notice(notice_line(session))
        self.notifier.announce(fresh)
        self._redraw()

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
        """A y/N question: only y or yes is yes; Ctrl-C and Ctrl-D are no."""
        try:
            answer = await self._ask(f"{question} [y/N]", "")
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    async def _ask(self, question: str, default: str) -> str:
        """The user's answer; Ctrl-C or Ctrl-D raises EOFError: the user gives no answer, and the
        command stops asking (an empty answer is Enter, never a cancelled question)."""
        async with self._paused():
            try:
                with patch_stdout():
                    return await self.questions.prompt_async(f"{question} ", default=default)
            except KeyboardInterrupt:
                raise EOFError("cancelled") from None

    async def _run_attached(self, command: AttachCommand) -> int:
        """Run `tmux attach` / `ssh -t` in the real terminal; notices wait until it returns."""
        async with self._paused():
            self.notifier.focus = command.session_ref
            try:
                with self._holding_notices(), self._cooked():
                    return await run_attach(command)
            finally:
                self.notifier.focus = None

    @contextlib.asynccontextmanager
    async def _full_screen(self) -> AsyncIterator[Callable[[str | None], None]]:
        """The terminal for the live view (`watch`): the progress line goes, notices above the
        prompt stop (the view shows who needs you as it happens), and nothing is announced about
        the session selected in it (the function yielded takes its ref)."""

        def focus(ref: str | None) -> None:
            self.notifier.focus = ref

        async with self._paused():
            with self._holding_notices():
                try:
                    yield focus
                finally:
                    self.notifier.focus = None
                    self._pending_notices.clear()  # the view showed them; stale by now

    @contextlib.contextmanager
    def _holding_notices(self) -> Iterator[None]:
        """Notices wait while the terminal is another program's or the live view's; the
        outermost hold prints them (an attach from the live view returns to the view)."""
        outer, self.attached = self.attached, True
        try:
            yield
        finally:
            self.attached = outer
            if not outer:
                for line in self._pending_notices:
                    _print("class:notice", line)
                self._pending_notices.clear()

    async def _page(self, text: str) -> bool:
        """Show long output in the pager; False when it cannot run (then it is printed)."""
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return False
        with self._cooked():
            return await page(text, pager_argv(self.app.pager))

    def _cooked(self) -> contextlib.AbstractContextManager[None]:
        """The terminal as a program run in it expects it (echo, line editing, signals)."""
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return contextlib.nullcontext()
        return self.session.input.cooked_mode()

    @contextlib.asynccontextmanager
    async def _paused(self) -> AsyncIterator[None]:
        """The terminal for a question or attach: the progress line goes, typeahead stays kept.
        A pause within a pause (attach from the live view) leaves it to the outer one."""
        busy, self._busy = self._busy, None
        if busy is None:
            yield
            return
        await busy.stop()
        try:
            yield
        finally:
            self._busy = busy
            busy.start()
            # a question's prompt takes SIGINT over and gives it back to nobody: take it again
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, busy.cancel)

    # -- the loop -------------------------------------------------------------------------
    async def run(self) -> int:
        unsubscribe = self.app.hub.subscribe(self._on_changes)
        gc.freeze()  # what start-up built lives as long as the shell: full collections skip it
        self.app.start()
        try:
            with self._between_prompts():
                return await self._loop()
        finally:
            unsubscribe()
            self._redraw.cancel()
            await self.notifier.close()

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
                self.session.input, lambda elapsed: self._progress(line, elapsed), self._toolbar, task.cancel, loop=loop, style=STYLE
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
            text = pane_text(result.text)  # renderers sanitise; this is the last check
            rows = shutil.get_terminal_size().lines
            if not (self.app.paging and too_long(text, rows) and await self._page(text)):
                print(text, flush=True)
        for warning in result.warnings:
            _print("class:warning", f"warning: {warning}")
        return result


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

