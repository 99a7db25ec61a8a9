"""The live view's keys and what they do: moving, sorting, filtering, and acting on the selected
session through the shell's own commands (one at a time; their questions asked in the view)."""

from __future__ import annotations

import asyncio
import functools
import logging
import shlex
from typing import TYPE_CHECKING
from collections.abc import Awaitable, Callable

from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys

from .commands.base import Result
from .registry import FILTER_MODES
from .sanitize import one_line

if TYPE_CHECKING:
    from .dashboard_view import DashboardView

log = logging.getLogger(__name__)

KEYS = (
    ("q", "back"),
    ("↑↓", "move"),
    ("⏎", "attach"),
    ("p", "preview"),
    ("a", "approve"),
    ("n", "deny"),
    ("r", "reply"),
    ("d", "dismiss"),
    ("x", "kill"),
    ("Tab", "next"),
    ("/", "filter"),
    ("s", "sort"),
)
"""The footer, as much of it as fits (`?` shows all)."""

HELP = """\
↑↓ jk  move, PgUp PgDn Home End, click  Tab the next session that needs you
Enter  attach; detach to come back      p   live preview of the selected one
a      approve its permission prompt    n   deny it (N: and tell Claude why)
r      reply to its question or prompt  d   dismiss its notification
x      kill it (asks first)             R   rename it
g      its git branch and state         /   filter by text (globs, HOST:NAME)
f      hosts: all, local, remote        h   one host (Tab completes)
s      sort: attention/name/age/…       ?   these keys
q Esc  back to the prompt                   (Esc first closes this pane)"""

GLOB_CHARS = "*?["


def selection_arg(ref: str) -> str:
    """A ref as the one SESSION word of a command that takes globs: glob characters in the name
    match only themselves."""
    return shlex.quote("".join(f"[{c}]" if c in GLOB_CHARS else c for c in ref))


def key_bindings(view: DashboardView, actions: Actions) -> KeyBindings:
    kb = KeyBindings()
    normal = Condition(lambda: view.mode == "normal")
    confirm = Condition(lambda: view.mode == "confirm")
    typing = Condition(lambda: view.mode == "input")

    def on(*keys: str, eager: bool = False) -> Callable[[Callable[[], object]], None]:
        def register(action: Callable[[], object]) -> None:
            @kb.add(*keys, filter=normal, eager=eager)
            def _(event: KeyPressEvent) -> None:
                try:
                    action()
                except Exception as exc:  # a bug in one key must not end the view
                    log.exception("a key of the live view failed")
                    view.say_error(f"internal error: {one_line(exc)}")

        return register

    a = actions
    for key, delta in (("up", -1), ("k", -1), ("down", 1), ("j", 1)):
        on(key)(functools.partial(a.move, delta))
    on("pageup")(lambda: a.move(-max(view.table_height() - 1, 1)))
    on("pagedown")(lambda: a.move(max(view.table_height() - 1, 1)))
    on("home")(lambda: a.jump(0))
    on("end")(lambda: a.jump(len(view.model) - 1))
    on("tab")(a.next)
    on("q")(view.quit)
    on("c-c")(view.quit)
    on("escape", eager=True)(a.escape)
    on("p")(view.toggle_preview)
    on("?")(lambda: view.show_text("keys", HELP))
    on("enter")(a.on_selected("attach", lambda ref: a.run(f"attach {selection_arg(ref)}", attach=ref)))
    on("a")(a.on_selected("approve", lambda ref: a.run(f"approve {selection_arg(ref)}")))
    on("n")(a.on_selected("deny", lambda ref: a.run(f"deny {selection_arg(ref)}")))
    on("N")(a.on_selected("deny", a.deny_with_message))
    on("r")(a.on_selected("reply", a.reply))
    on("d")(a.on_selected("dismiss", lambda ref: a.run(f"dismiss {selection_arg(ref)}")))
    on("x")(a.on_selected("kill", lambda ref: a.run(f"kill {selection_arg(ref)}")))
    on("R")(a.on_selected("rename", a.rename))
    on("g")(a.on_selected("git", lambda ref: a.run(f"git {shlex.quote(ref)}", title=f"git {one_line(ref)}")))
    on("/")(a.filter_text)
    on("f")(a.cycle_hosts)
    on("h")(a.pick_host)
    on("s")(a.cycle_sort)

    @kb.add(Keys.Any, filter=confirm)
    @kb.add("enter", filter=confirm)
    @kb.add("escape", filter=confirm)
    @kb.add("c-c", filter=confirm)
    def _(event: KeyPressEvent) -> None:
        """A question in the status line: y is yes, any other key no."""
        view.answer(event.key_sequence[0].data.lower() == "y")

    @kb.add("enter", filter=typing)
    def _(event: KeyPressEvent) -> None:
        view.answer(view.input.text)

    @kb.add("escape", filter=typing, eager=True)
    @kb.add("c-c", filter=typing)
    def _(event: KeyPressEvent) -> None:
        """Esc closes the completion menu, else gives up the input line."""
        if view.input.complete_state is not None:
            view.input.cancel_completion()
        else:
            view.answer(None)

    return kb


class Actions:
    """What the keys do; an action that runs a command runs alone, its progress and result in
    the status line."""

    def __init__(self, view: DashboardView):
        self.view = view
        self.model = view.model
        self.task: asyncio.Task[None] | None = None
        self.want: str | None = None
        """A ref to select once it appears (a session just renamed)."""

    # -- moving, sorting, filtering ------------------------------------------------------------
    def move(self, delta: int) -> None:
        self.model.move(delta)
        self.view.selection_moved()

    def jump(self, index: int) -> None:
        self.model.select_index(index)
        self.view.selection_moved()

    def next(self) -> None:
        found = self.model.next_attention()
        if found is None:
            self.view.say("no session needs you")
        else:
            message = f": {one_line(found.message, 100)}" if found.message else ""
            self.view.say(f"{one_line(found.ref)} needs you ({one_line(found.attention_reason)}){message}")
        self.view.selection_moved()

    def escape(self) -> None:
        if self.view.detail is not None:
            self.view.close_detail()
        else:
            self.view.quit()

    def cycle_sort(self) -> None:
        self.view.say(f"sort: {self.model.cycle_sort()}")
        self.view.selection_moved()

    def cycle_hosts(self) -> None:
        self._set_hosts(self.model.cycle_mode())

    def _set_hosts(self, mode: str) -> None:
        """The view's hosts; the shell's filter follows (as `filter` does), so the toolbar agrees."""
        self.model.set_mode(mode)
        self.view.app.set_filter(mode)
        self.view.say(f"hosts: {one_line(mode)}")
        self.view.selection_moved()

    def filter_text(self) -> None:
        before = self.model.text

        async def then(text: str | None) -> None:
            self._live_filter(before if text is None else text)
            self.view.say(f"filter: {one_line(self.model.text)}" if self.model.text else "no filter")

        self._typed("filter", " filter: ", then, before, on_change=self._live_filter)

    def _live_filter(self, text: str) -> None:
        self.model.set_text(text)
        self.view.selection_moved()

    def pick_host(self) -> None:
        hosts = self.view.app.registry.host_names()
        current = self.model.current

        async def then(mode: str | None) -> None:
            if mode is None:
                self.view.say(f"hosts: {one_line(self.model.mode)}")
                return
            mode = mode.strip() or "all"
            if mode not in FILTER_MODES and not self.view.app.registry.has_host(mode):
                self.view.say_error(f"no host named {one_line(mode)!r} (hosts: {', '.join(one_line(h) for h in hosts)})")
                return
            self._set_hosts(mode)

        default = current.host if current is not None else self.model.mode
        label = " hosts (all, local, remote or a host; Tab completes): "
        self._typed("hosts", label, then, default, WordCompleter([*FILTER_MODES, *hosts]))

    # -- acting on the selected session --------------------------------------------------------
    def on_selected(self, verb: str, act: Callable[[str], object]) -> Callable[[], None]:
        def run() -> None:
            ref = self.model.selected
            if ref is None:
                self.view.say(f"{verb}: no session selected")
            else:
                act(ref)

        return run

    def busy(self, what: str) -> bool:
        if self.task is not None and not self.task.done():
            self.view.say(f"busy: {one_line(what)} waits until the last action is done")
            return True
        return False

    def start(self, what: str, work: Callable[[], Awaitable[None]]) -> bool:
        if self.busy(what):
            return False
        self.view.status = [("class:dash.busy", f" {one_line(what)} …")]

        async def guarded() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("an action of the live view failed")
                self.view.say_error(f"internal error: {one_line(exc)}")
            finally:
                self.view.application.invalidate()

        self.task = asyncio.ensure_future(guarded())
        return True

    def run(self, line: str, *, title: str | None = None, attach: str | None = None) -> None:
        """Run a command line as if typed at the prompt; its result goes to the status line (a
        longer one, or one with a `title`, to the detail pane)."""

        async def work() -> None:
            await self.execute(line, title=title, attach=attach)

        self.start(line, work)

    async def execute(self, line: str, *, title: str | None = None, attach: str | None = None, select: str | None = None) -> None:
        from .commands import execute  # the command table imports the `watch` command, which imports this

        result: Result = await execute(self.view.context, line)
        if select is not None and not result.error:
            self.want = select
            self.select_wanted()
        self._show(result, title=title, attach=attach)

    def select_wanted(self) -> None:
        if self.want is not None and self.model.select(self.want):
            self.want = None
            self.view.selection_moved()

    def _show(self, result: Result, *, title: str | None, attach: str | None) -> None:
        text = result.text.strip("\n")
        if result.error:
            self.view.say_error(f"error: {result.error}")
        elif title is not None or "\n" in text:
            self.view.show_text(title or one_line(text.split("\n", 1)[0], 60), text)
            self.view.say(f"{title or 'done'}: shown above (Esc closes)")
        elif text:
            self.view.say(text)
        elif attach is not None:
            self.view.say(f"back from {one_line(attach)}")
        if result.warnings and not result.error:
            self.view.status.append(("class:warning", "  warning: " + "; ".join(one_line(w) for w in result.warnings)))

    def _typed(
        self,
        what: str,
        label: str,
        then: Callable[[str | None], Awaitable[None]],
        default: str = "",
        completer: WordCompleter | None = None,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        """Open the input line at once (keys typed right after the one that opened it go into
        it), then act on what was typed (None: Esc)."""
        if self.busy(what):
            return
        answer = self.view.open_input(label, default, completer, on_change)

        async def work() -> None:
            await then(await self.view.read_input(answer))

        self.start(what, work)

    def deny_with_message(self, ref: str) -> None:
        async def then(message: str | None) -> None:
            if message is None:
                self.view.say("nothing sent")
            else:
                await self.execute(f"deny {selection_arg(ref)}" + (f" {shlex.quote(message)}" if message.strip() else ""))

        self._typed(f"deny {ref}", f" deny {one_line(ref)}; tell Claude instead: ", then)

    def reply(self, ref: str) -> None:
        async def then(text: str | None) -> None:
            if not text:
                self.view.say("nothing sent")
            else:
                await self.execute(f"reply {selection_arg(ref)} {shlex.quote(text)}")

        self._typed(f"reply {ref}", f" reply to {one_line(ref)}: ", then)

    def rename(self, ref: str) -> None:
        host, _, name = ref.partition(":")

        async def then(new: str | None) -> None:
            if not new or new == name:
                self.view.say("nothing renamed")
            else:
                await self.execute(f"rename {shlex.quote(ref)} {shlex.quote(new)}", select=f"{host}:{new}")

        # a name that would not print as it is is not offered for editing (it would draw raw)
        self._typed(f"rename {ref}", f" rename {one_line(ref)} to: ", then, name if name == one_line(name) else "")
