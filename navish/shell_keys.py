"""The shell's key bindings: Tab inserts a single completion, Escape closes the menu, Up and
Down search the history by what is typed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.filters import Condition, completion_is_selected, has_completions
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent


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


def key_bindings(search: PrefixSearch | None = None) -> KeyBindings:
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
