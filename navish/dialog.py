"""Reading Claude Code's dialogs off a captured pane. Pure.

Observed with Claude Code 2.1.328: a permission dialog lists numbered options, "Yes" first and
"No" last (3 or 4 of them), under the tool and what it wants to run; an AskUserQuestion dialog
lists its answers, then "Type something.".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

SCREEN_LINES = 80
TYPE_SOMETHING = "Type something."
_OPTION = re.compile(r"^\s*(?:❯\s*)?(\d{1,2})\.\s+(\S.*?)\s*$")
_RULE = re.compile(r"^\s*[─━]{8,}\s*$")
_DASHES = re.compile(r"^\s*╌{8,}\s*$")
_EMPTY_PROMPT = re.compile(r"^\s*❯\s*$")


@dataclass(frozen=True)
class Screen:
    """What a session's pane shows and what Claude Code says about it, read in one run."""

    pane: str
    state: str
    """Claude Code's registry status (`waiting`, `idle`, `busy`), "" when unknown."""
    waiting_for: str
    options: tuple[tuple[int, str], ...]
    """The numbered options of the dialog at the bottom of the pane, if any."""
    context: str
    """What the dialog asks: `Bash command: npm test`, or the question."""

    @property
    def kind(self) -> str:
        """`permission`, `question`, `prompt` (waiting for a new message), or "" (nothing to answer)."""
        texts = [text for _, text in self.options]
        if len(texts) >= 2 and texts[0] == "Yes" and texts[-1].startswith("No"):
            return "permission"
        if TYPE_SOMETHING in texts:
            return "question"
        if not self.options and self.state in ("idle", ""):
            return "prompt"
        return ""

    def option(self, *, wanted: str) -> tuple[int, str] | None:
        """The option to press: `yes`, `always` (the "Yes, and …" that allows it for good), `no`,
        `type` (the question's text field), or an answer's own text."""
        for number, text in self.options:
            if wanted == "yes" and text == "Yes":
                return number, text
            if wanted == "always" and re.match(r"Yes, and (always allow|don't ask again)", text):
                return number, text
            if wanted == "no" and text.startswith("No") and (number, text) == self.options[-1]:
                return number, text
            if wanted == "type" and text == TYPE_SOMETHING:
                return number, text
            if wanted not in ("yes", "always", "no", "type") and text.casefold() == wanted.casefold():
                return number, text
        return None

    def seen(self) -> str:
        """One line saying what the pane shows, for a refusal."""
        if self.options:
            return f"{self.kind or 'a dialog'}: " + " / ".join(f"{n}. {t}" for n, t in self.options)
        return f"Claude Code is {self.state}" if self.state else "no dialog"


def parse_screen(pane: str, registry: str, text: str) -> Screen:
    """Pure: the last block of numbered options on `text` (a captured pane) and its context."""
    lines = text.split("\n")
    start = _last_dialog(lines)
    options: list[tuple[int, str]] = []
    first = None
    for index in range(start, len(lines)):
        match = _OPTION.match(lines[index])
        if not match:
            continue
        number = int(match.group(1))
        if number == 1:
            options, first = [], index
        if number == len(options) + 1:
            options.append((number, match.group(2)))
    state, waiting_for = state_of(registry)
    if state in ("idle", "busy") or any(_EMPTY_PROMPT.match(line) for line in lines[start:][-8:]):
        options = []  # numbered lines in the conversation, with the input prompt below them
    context = _context(lines[start : first if first is not None else len(lines)]) if options else ""
    return Screen(pane, state, waiting_for, tuple(options), context)


def _last_dialog(lines: list[str]) -> int:
    """Index of the dialog at the bottom: after the last rule above its option 1."""
    firsts = [i for i, line in enumerate(lines) if (m := _OPTION.match(line)) and m.group(1) == "1"]
    if not firsts:
        return len(lines)
    rules = [i for i, line in enumerate(lines[: firsts[-1]]) if _RULE.match(line)]
    return rules[-1] + 1 if rules else 0


def _context(lines: list[str]) -> str:
    """`Bash command: <the command>` for a permission dialog, else the question asked."""
    body = [line.strip() for line in lines if line.strip() and not _DASHES.match(line)]
    body = [line for line in body if not line.startswith(("Tip:", "☐", "☑", "Do you want"))]
    if not body:
        return ""
    inner = [line.strip().strip("│").strip() for line in _between_dashes(lines)]
    if inner:
        return f"{body[0]}: {' '.join(inner)}"
    return body[-1]


def _between_dashes(lines: list[str]) -> list[str]:
    marks = [i for i, line in enumerate(lines) if _DASHES.match(line)]
    if len(marks) < 2:
        return []
    return [line for line in lines[marks[0] + 1 : marks[1]] if line.strip()]


def state_of(registry: str) -> tuple[str, str]:
    try:
        obj = json.loads(registry) if registry else {}
    except ValueError:
        return "", ""
    if not isinstance(obj, dict):
        return "", ""
    state, waiting_for = obj.get("status"), obj.get("waitingFor")
    return (state if isinstance(state, str) else ""), (waiting_for if isinstance(waiting_for, str) else "")
