"""The colours shared by the shell and the live view (prompt_toolkit style classes)."""

from __future__ import annotations

TOOLBAR = {
    "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
    "toolbar.attention": "bg:#d70000 #ffffff bold",
    "toolbar.ok": "#5fd75f",
    "toolbar.pending": "#d7af00",
    "toolbar.bad": "#ff5f5f bold",
}
"""The toolbar line, as both draw it."""
