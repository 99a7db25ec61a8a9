"""Untrusted text never drives the terminal: escape sequences and control characters are neutralised."""

import re

import pytest

from navish.sanitize import one_line, pane_text

# Any C0 control (tab and newline excepted), DEL, C1 control, or bidi override/isolate.
BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI}]")
ONE_LINE_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI}]")

HOSTILE = {
    "csi-colour": ("a\x1b[31mred\x1b[0mb", "aredb"),
    "csi-clear": ("x\x1b[2J\x1b[Hy", "xy"),
    "csi-private": ("x\x1b[?1049hy", "xy"),
    "osc-title-bel": ("\x1b]0;pwned title\x07ok", "ok"),
    "osc-title-st": ("\x1b]2;pwned\x1b\\ok", "ok"),
    "osc52-clipboard": ("a\x1b]52;c;cm0gLXJmIH4K\x07b", "ab"),
    "osc8-hyperlink": ("\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"),
    "dcs": ("a\x1bPq#0;2;0;0;0#1~~@@\x1b\\b", "ab"),
    "apc": ("a\x1b_hidden\x1b\\b", "ab"),
    "c1-csi": ("a\x9b31mb", "ab"),
    "c1-osc": ("a\x9d0;title\x9cb", "ab"),
    "two-char-esc": ("a\x1bcb", "ab"),  # RIS: full terminal reset
    "unterminated-osc": ("a\x1b]0;title", "a"),
}


@pytest.mark.parametrize("raw,expected", HOSTILE.values(), ids=HOSTILE.keys())
def test_one_line_drops_escape_sequences(raw, expected):
    out = one_line(raw)
    assert out == expected
    assert not ONE_LINE_UNSAFE.search(out)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("ding\x07", "ding^G"),
        ("abc\x08\x08\x08xyz", "abc^H^H^Hxyz"),
        ("fake\rreal", "fake^Mreal"),
        ("nul\x00byte", "nul^@byte"),
        ("del\x7f", "del^?"),
        ("c1\x85nel", "c1<U+0085>nel"),
        ("lone\x1b", "lone"),
    ],
)
def test_one_line_shows_control_characters_as_harmless_text(raw, expected):
    assert one_line(raw) == expected


BIDI_CHARS = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("char", BIDI_CHARS)
def test_one_line_neutralises_bidi_controls(char):
    out = one_line(f"safe{char}txt.exe")
    assert char not in out
    assert f"<U+{ord(char):04X}>" in out


@pytest.mark.parametrize("char", BIDI_CHARS)
def test_pane_text_drops_bidi_controls(char):
    assert pane_text(f"a{char}b\n", keep_color=True) == "ab\n"


def test_pane_text_output_is_printable_utf8():
    pane_text("x \ud800\udfff y").encode("utf-8")


def test_one_line_folds_newlines_and_tabs():
    out = one_line("first\nsecond\r\nthird\tend")
    assert "\n" not in out and "\r" not in out and "\t" not in out
    assert out.startswith("first") and "second" in out and out.endswith("third end")


def test_one_line_keeps_unicode_and_shell_metacharacters():
    text = "caf\u00e9 \u2603 \u65e5\u672c $(rm -rf ~) `id` ; 'q' \"dq\""
    assert one_line(text) == text


def test_one_line_accepts_non_strings():
    assert one_line(42) == "42"
    assert one_line(None) == "None"


def test_one_line_truncates_long_text_with_an_ellipsis():
    name = "n" * 250
    out = one_line(name, limit=40)
    assert len(out) == 40 and out.endswith("…") and out.startswith("n" * 39)
    assert one_line("short", limit=40) == "short"
    assert one_line("x" * 40, limit=40) == "x" * 40


def test_one_line_limit_counts_after_neutralising():
    out = one_line("\x1b]0;" + "t" * 500 + "\x07ok", limit=10)
    assert out == "ok"


def test_one_line_output_is_printable_utf8():
    """A lone surrogate (valid in JSON as "\\ud800") must not reach print(): it cannot be encoded."""
    out = one_line('msg \ud800 end')
    out.encode("utf-8")


def test_nested_and_interleaved_sequences_leave_no_escape():
    raw = "\x1b\x1b[31m\x1b]\x1b]0;x\x07\x07\x1b[\x1b[1m\x9b\x9b2J\x1bP\x1b\\"
    out = one_line(raw)
    assert "\x1b" not in out and not ONE_LINE_UNSAFE.search(out)


def test_pane_text_keeps_colour_only_when_asked():
    raw = "\x1b[1;31mred\x1b[0m plain \x1b[38;5;208morange\x1b[m"
    assert pane_text(raw, keep_color=True) == raw
    assert pane_text(raw, keep_color=False) == "red plain orange"


def test_pane_text_strips_everything_else_but_keeps_lines():
    raw = (
        "line1\x1b]0;title\x07\n"
        "\x1b[2J\x1b[Hline2\x1b]52;c;ZXZpbA==\x1b\\\n"
        "\x1bPdcs\x1b\\\x9b2Jline3\x07\x08\r\n"
        "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\t\u202eend\x00"
    )
    for keep in (True, False):
        out = pane_text(raw, keep_color=keep)
        assert out == "line1\nline2\nline3\nlink\tend"
        assert not UNSAFE.search(out) and "\x1b" not in out


def test_pane_text_with_colour_never_keeps_non_sgr_csi():
    raw = "\x1b[31mok\x1b[6n\x1b[>4m\x1b[?25l\x1b[0m"
    out = pane_text(raw, keep_color=True)
    assert out == "\x1b[31mok\x1b[0m"
