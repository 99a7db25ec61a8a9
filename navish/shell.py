"""The interactive shell: prompt_toolkit glue around the command table. Nothing else lives here."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.filters import has_completions
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.layout.screen import Char
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.shortcuts import print_formatted_text
from prompt_toolkit.styles import Style

from .app import App
from .commands import COMMANDS, Context, Result, execute
from .completion import NavishCompleter, Snapshot
from .hosts.base import AttachCommand, run_attach
from .model import LOCAL
from .sanitize import BIDI_CONTROLS, pane_text
from .toolbar import new_attention, notice_line, toolbar_fragments

log = logging.getLogger(__name__)

STYLE = Style.from_dict(
    {
        "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
        "toolbar.attention": "bg:#d70000 #ffffff bold",
        "toolbar.ok": "#5fd75f",
        "toolbar.pending": "#d7af00",
        "toolbar.bad": "#ff5f5f bold",
        "prompt": "bold",
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

    def __init__(self, app: App, *, history_file: Path | None, debug: bool = False, log_file: Path | None = None):
        self.app = app
        self.debug = debug
        self.log_file = log_file
        self.attached = False
        self._pending_notices: list[str] = []
        self._attention = app.registry.attention_refs(include_offline=True)
        self._seen_hosts: set[str] = set()
        show_controls_visibly()
        self.session: PromptSession[str] = PromptSession(
            message=[("class:prompt", "navish> ")],
            completer=NavishCompleter(COMMANDS, self._snapshot),
            history=_history(history_file),
            auto_suggest=AutoSuggestFromHistory(),
            bottom_toolbar=lambda: toolbar_fragments(app.registry, app.filter_mode, app.clock()),
            refresh_interval=1.0,
            style=STYLE,
            key_bindings=_key_bindings(),
        )
        self.questions: PromptSession[str] = PromptSession(style=STYLE)
        self.context = Context.for_terminal(app, run_attached=self._run_attached, confirm=self._confirm, ask=self._ask)

    # -- background updates ---------------------------------------------------------------
    def _snapshot(self) -> Snapshot:
        sessions = tuple((s.ref, s.display_status) for s in self.app.registry.sessions(include_untracked=True))
        return Snapshot(sessions, tuple(n for n in self.app.registry.host_names() if n != LOCAL))

    def _on_change(self, host: str) -> None:
        """A snapshot landed: print notices for sessions that newly need the user, redraw."""
        status = self.app.registry.hosts()
        first_poll = {h.name for h in status if h.polled_at is not None} - self._seen_hosts
        self._seen_hosts |= first_poll
        now = self.app.registry.attention_refs(include_offline=True)
        for session in new_attention(self._attention, now):
            if session.host not in first_poll:
                self._notice(notice_line(session))
        self._attention = now
        self.session.app.invalidate()

    def _notice(self, line: str) -> None:
        if self.attached:
            self._pending_notices.append(line)
        else:
            _print("class:notice", line)

    # -- prompts the commands may use -----------------------------------------------------
    async def _confirm(self, question: str) -> bool:
        answer = await self._ask(f"{question} [y/N]", "")
        return answer.strip().lower() in ("y", "yes")

    async def _ask(self, question: str, default: str) -> str:
        try:
            with patch_stdout():
                return await self.questions.prompt_async(f"{question} ", default=default)
        except (KeyboardInterrupt, EOFError):
            return ""

    async def _run_attached(self, command: AttachCommand) -> int:
        """Run `tmux attach` / `ssh -t` in the real terminal; notices wait until it returns."""
        self.attached = True
        try:
            return await run_attach(command)
        finally:
            self.attached = False
            for line in self._pending_notices:
                _print("class:notice", line)
            self._pending_notices.clear()

    # -- the loop -------------------------------------------------------------------------
    async def run(self) -> int:
        self.app.listeners.append(self._on_change)
        self.app.start()
        try:
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
        finally:
            self.app.listeners.remove(self._on_change)

    async def _execute(self, line: str) -> Result | None:
        """Run one command line; Ctrl-C cancels it, errors become one line."""
        task = asyncio.ensure_future(execute(self.context, line, debug=self.debug, log_file=self.log_file))
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        try:
            result = await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
            _print("class:warning", "interrupted")
            return None
        finally:
            loop.remove_signal_handler(signal.SIGINT)
        if result.error:
            _print("class:error", f"error: {result.error}")
        if result.text:
            print(pane_text(result.text), flush=True)  # renderers sanitise; this is the last check
        for warning in result.warnings:
            _print("class:warning", f"warning: {warning}")
        return result


def _key_bindings() -> KeyBindings:
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

