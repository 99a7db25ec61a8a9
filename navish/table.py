"""Plain-text tables that fit the terminal: columns are cut in a fixed order of importance, each to
a minimum, then dropped, until every line fits. Pure; widths in terminal cells (wide characters
count twice)."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Sequence

from wcwidth import wcswidth

GAP = "  "


@dataclass(frozen=True)
class Column:
    header: str
    cut_from_left: bool = False
    """Cut the start (paths: the end is what tells them apart)."""


@dataclass(frozen=True)
class Shrink:
    column: int
    minimum: int
    """Cells kept when cut; 0 drops the column."""


def cells(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)


def cut(text: str, width: int, *, from_left: bool = False) -> str:
    """`text` in at most `width` cells, with `…` where it was cut."""
    if cells(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    chars = list(reversed(text)) if from_left else list(text)
    kept, used = [], 0
    for char in chars:
        w = max(cells(char), 0)
        if used + w > width - 1:
            break
        kept.append(char)
        used += w
    body = "".join(reversed(kept)) if from_left else "".join(kept)
    return "…" + body if from_left else body + "…"


def fit(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int | None,
    shrink: Sequence[Shrink] = (),
    style: Callable[[int, int, str], str] | None = None,
) -> str:
    """The table in at most `width` cells per line (None: as wide as it needs).

    `shrink` says which column gives way first and how far; `style(row, column, text)` may wrap a
    finished cell in colour codes (they take no room).
    """
    widths = [max([cells(c.header), *(cells(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))

    def total() -> int:
        return sum(widths[i] for i in shown) + len(GAP) * (len(shown) - 1)

    for rule in shrink if width is not None else ():
        excess = total() - width  # type: ignore[operator]
        if excess <= 0:
            break
        if rule.column not in shown:
            continue
        if rule.minimum == 0:
            shown.remove(rule.column)
        else:
            widths[rule.column] -= min(excess, max(widths[rule.column] - rule.minimum, 0))

    def line(texts: Sequence[str], row: int | None) -> str:
        out = []
        for position, i in enumerate(shown):
            text = cut(texts[i], widths[i], from_left=columns[i].cut_from_left)
            pad = "" if position == len(shown) - 1 else " " * (widths[i] - cells(text))
            out.append((style(row, i, text) if style is not None and row is not None and text else text) + pad)
        return GAP.join(out).rstrip()

    lines = [line([c.header for c in columns], None), GAP.join("-" * widths[i] for i in shown)]
    lines += [line(r, n) for n, r in enumerate(rows)]
    return "\n".join(lines)
