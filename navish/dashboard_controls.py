"""The live view's controls: the table of sessions (only the rows on screen are drawn; a click
selects) and the detail pane, with the view's colours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prompt_toolkit.data_structures import Point
from prompt_toolkit.layout.controls import UIContent, UIControl
from prompt_toolkit.mouse_events import MouseButton, MouseEvent, MouseEventType
from prompt_toolkit.styles import Style

from .dashboard import Fragments
from .style import TOOLBAR

if TYPE_CHECKING:
    from .dashboard_view import DashboardView

STYLE = Style.from_dict(
    {
        **TOOLBAR,
        "dash.title": "bold",
        "dash.title.attention": "bold #ff5f5f",
        "dash.columns": "bold",
        "dash.selected": "reverse",
        "dash.changed": "bold bg:#3a3a00",
        "dash.offline": "#6c6c6c",
        "dash.detail": "reverse",
        "dash.footer": "#8a8a8a",
        "dash.key": "bold #d0d0d0",
        "dash.busy": "#5fafff",
        "dash.question": "bold #ffaf00",
        "status.permission": "bold #ff5f5f",
        "status.error": "#ff5f5f",
        "status.waiting": "#ffaf00",
        "status.working": "#5fd75f",
        "status.idle": "#5fd7d7",
        "status.done": "#5f87ff",
        "error": "#ff5f5f",
        "warning": "#d7af00",
    }
)


class TableControl(UIControl):
    """The rows on screen, drawn from the model at the window's real size; a click selects."""

    def __init__(self, view: DashboardView):
        self.view = view

    def is_focusable(self) -> bool:
        return True

    def create_content(self, width: int, height: int) -> UIContent:
        rows = self.view.draw_rows(width, height)
        selected = self.view.model.index(self.view.model.selected)
        y = 0 if selected is None else max(0, min(selected - self.view.model.top, len(rows) - 1))
        return UIContent(
            get_line=lambda i: rows[i] if i < len(rows) else [],
            line_count=max(len(rows), 1),
            cursor_position=Point(0, y),
            show_cursor=False,
        )

    def mouse_handler(self, mouse_event: MouseEvent) -> object:
        model = self.view.model
        if mouse_event.event_type is MouseEventType.MOUSE_UP and mouse_event.button is MouseButton.LEFT:
            model.select_index(model.top + mouse_event.position.y)
        elif mouse_event.event_type is MouseEventType.SCROLL_UP:
            model.move(-3)
        elif mouse_event.event_type is MouseEventType.SCROLL_DOWN:
            model.move(3)
        else:
            return NotImplemented
        self.view.selection_moved()
        return None


class DetailControl(UIControl):
    """The detail pane: the last lines of the preview, or the first lines of a text."""

    def __init__(self) -> None:
        self.lines: list[Fragments] = []
        self.tail = False

    def create_content(self, width: int, height: int) -> UIContent:
        lines = self.lines[-height:] if self.tail else self.lines[:height]
        return UIContent(get_line=lambda i: lines[i] if i < len(lines) else [], line_count=max(len(lines), 1), show_cursor=False)
