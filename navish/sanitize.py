"""Make untrusted text (session names, messages, pane output) safe to print on a terminal.

Nothing from another machine may drive the local terminal: escape sequences (CSI, OSC, DCS, ...),
C0/C1 control characters and bidirectional controls (overrides, embeddings, isolates, marks) are
removed or shown as harmless text, and lone surrogates become `?`.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC strings (terminated by BEL
# or ST), and two-character escapes. The 8-bit C1 forms (U+009B CSI, U+009D OSC, ...) likewise.
_CSI = r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
_STRING = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
_TWO_CHAR = r"\x1b[ -~]?"
_ESCAPE_RE = re.compile(f"{_STRING}|{_CSI}|{_TWO_CHAR}")
_SGR_RE = re.compile(r"\x1b\[[0-9;:]*m")

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Unicode's Bidi_Control characters: marks, embeddings, overrides and isolates reorder the text
around them, so a name can read differently from what it is."""
_CONTROL_RE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]")


def _caret(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def _encodable(text: str) -> str:
    """Lone surrogates (valid in JSON strings) cannot be printed as UTF-8: make them `?`."""
    return text.encode("utf-8", "replace").decode("utf-8")


def one_line(text: object, limit: int | None = None) -> str:
    """Untrusted text as one printable line: escape sequences dropped, controls shown as `^X`."""
    text = _ESCAPE_RE.sub("", _encodable(str(text)))
    text = text.replace("\r\n", "\n").replace("\n", " ⏎ ").replace("\t", " ")
    text = _CONTROL_RE.sub(_caret, text)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def pane_text(text: str, keep_color: bool = True) -> str:
    """Captured pane output safe to print: only SGR colour codes (optionally) survive."""
    text = _encodable(text)
    pieces: list[str] = []
    position = 0
    for match in _ESCAPE_RE.finditer(text):
        pieces.append(_CONTROL_RE.sub("", text[position : match.start()]))
        if keep_color and _SGR_RE.fullmatch(match.group()):
            pieces.append(match.group())
        position = match.end()
    pieces.append(_CONTROL_RE.sub("", text[position:]))
    return "".join(pieces)
