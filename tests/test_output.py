"""Renderers: the `ls` table, `ls --json`, git text/JSON, ages. Hostile data never reaches the terminal raw."""

import json
import re

import pytest

from navish.git_action import GitInfo, parse_git
from navish.model import Session
from navish.output import format_age, format_ms, git_json, git_text, session_json, sessions_table, short_path, to_json

NOW = 1_000_000.0
# Everything that may not appear in terminal output: C0 (except newline), DEL, C1, bidi controls.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

HOSTILE_NAMES = [
    "it's \"quoted\"",
    "$(rm -rf ~)",
    "a;reboot",
    "two\nlines",
    "\u65e5\u672c\u8a9e \u2603 caf\u00e9",
    "n" * 230,
    "\x1b[2J\x1b]0;pwned\x07red\x1b[31m",
    "\x1b]52;c;cm0gLXJmIH4K\x07clip",
    "\x9b6n\x1bP+q\x1b\\\u202eevil",
    "back\x08\x08\rspace",
    "del\x7fete",
    "\u200fmarks\u061c\u200e\u2067isolated\u2069",
]


def s(name="api", status="working", host="local", ts=NOW - 90, cwd="/srv/app", message="", **kw):
    fields = kw.pop("fields", {"tmux_session": name, "status": status})
    kw.setdefault("status_file", f"{name}.json")
    return Session(host, name, status=status, message=message, cwd=cwd, timestamp=ts, fields=fields, **kw)


# -- format helpers --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "seconds,text",
    [(None, "-"), (0, "0s"), (42.9, "42s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"), (86399, "23h"), (86400, "1d"), (10 * 86400, "10d"), (-5, "0s")],
)
def test_format_age(seconds, text):
    assert format_age(seconds) == text


def test_format_ms():
    assert format_ms(None) == "-" and format_ms(0.0123) == "12 ms"


def test_short_path():
    assert short_path("/home/u/code/x", "/home/u", 30) == "~/code/x"
    assert short_path("/home/u", "/home/u", 30) == "~"
    assert short_path("/home/user2/x", "/home/u", 30) == "/home/user2/x"
    long = short_path("/" + "d" * 50 + "/end", None, 20)
    assert len(long) == 20 and long.startswith("…") and long.endswith("/end")


# -- ls table --------------------------------------------------------------------------------
def test_table_columns_and_rows():
    table = sessions_table([s("api", "permission", message="Allow Bash?"), s("notes", "done", ts=NOW - 7200, cwd="/n")], NOW)
    lines = table.splitlines()
    assert lines[0].split() == ["HOST", "SESSION", "STATUS", "AGE", "CWD", "MESSAGE"]
    assert lines[2].split() == ["local", "api", "permission", "1m", "/srv/app", "Allow", "Bash?"]
    assert lines[3].split() == ["local", "notes", "done", "2h", "/n"]


def test_empty_table():
    assert sessions_table([], NOW) == "no sessions"


def test_table_marks_offline_gone_untracked_and_agents():
    team = {"agents": [{"name": "t", "status": "waiting"}]}
    rows = [
        s("off", "working", host="dev", offline=True),
        s("dead", "idle", live=False),
        Session("local", "loose", status_file=None),
        s("crew", "done", fields={"team": team}),
        s("nots", "idle", ts=None),
    ]
    table = sessions_table(rows, NOW)
    by_name = {line.split()[1]: line for line in table.splitlines()[2:] if line.split()[:1] in (["local"], ["dev"])}
    assert "working (offline)" in by_name["off"]
    assert "gone" in by_name["dead"]
    assert "untracked" in by_name["loose"]
    assert "done*" in by_name["crew"]
    assert table.endswith("* a team agent is waiting for you")
    assert by_name["loose"].split()[3] == "-"


def test_table_colour_only_when_asked():
    plain = sessions_table([s(status="permission"), s("o", offline=True)], NOW, color=False)
    assert "\x1b" not in plain
    coloured = sessions_table([s(status="permission"), s("o", offline=True)], NOW, color=True)
    assert "\x1b[1;31mpermission\x1b[0m" in coloured
    assert "\x1b[2mo\x1b[0m" in coloured


@pytest.mark.parametrize("width", [80, 100, 160])
def test_table_fits_the_width_by_cutting_messages(width):
    rows = [s("api", message="m" * 300), s("b", message="short")]
    table = sessions_table(rows, NOW, width=width)
    data = table.splitlines()
    assert all(len(line) <= width for line in data)
    assert "…" in data[2] and "m" * 20 in data[2]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_and_messages_never_reach_the_table_raw(name):
    row = s(name, "waiting", message=name, cwd="/tmp/" + name, host="local")
    for color in (False, True):
        table = sessions_table([row, s("ok", message="fine")], NOW, width=120, color=color)
        stripped = re.sub(r"\x1b\[[0-9;]*m", "", table) if color else table
        assert not UNSAFE.search(stripped), repr(stripped)
        assert "\x1b" not in stripped
        assert len(stripped.splitlines()) == 4  # header, rule, two rows, nothing split


def test_hostile_status_never_reaches_the_table_raw():
    """The status string comes from the status file too."""
    row = s("x", "\x1b]52;c;cm0gLXJmIH4K\x07pwn\x1b[2J")
    table = sessions_table([row], NOW)
    assert "\x1b" not in table and "\x07" not in table


def test_lone_surrogate_in_a_message_is_printable():
    """`"message": "\\ud800"` is valid JSON; the table is printed with print(), which must not fail."""
    table = sessions_table([s("x", message="bad \ud800 text")], NOW)
    table.encode("utf-8")


@pytest.mark.parametrize("ts", [float("inf"), float("-inf"), float("nan"), 1e300])
def test_out_of_range_timestamp_does_not_break_the_table(ts):
    """JSON allows 1e400 (= inf) and NaN; one such file must not make `ls` fail for every session."""
    table = sessions_table([s("weird", ts=ts), s("ok", "idle")], NOW)
    assert "weird" in table and "ok" in table


# -- ls --json -------------------------------------------------------------------------------
def test_session_json_keys_and_other_fields():
    fields = {"tmux_session": "api", "status": "permission", "session_id": "id1", "metrics": {"t": 1}, "custom": [1]}
    obj = session_json(s("api", "permission", message="m", fields=fields, ts=5.0))
    for key, value in {"host": "local", "name": "api", "status": "permission", "message": "m", "cwd": "/srv/app", "timestamp": 5.0, "offline": False}.items():
        assert obj[key] == value
    assert obj["offline"] is False
    assert obj["session_id"] == "id1" and obj["metrics"] == {"t": 1} and obj["custom"] == [1]
    assert obj["tmux_session"] == "api"


def test_session_json_offline_and_gone():
    assert session_json(s(offline=True))["offline"] is True
    assert session_json(s(live=False))["status"] == "gone"
    obj = session_json(Session("local", "loose", status_file=None))
    assert obj["status"] == "untracked" and obj["timestamp"] is None


def test_session_json_fixed_keys_win_over_file_fields():
    obj = session_json(s("api", fields={"host": "spoofed", "offline": "no", "status": "idle"}, status="idle"))
    assert obj["host"] == "local" and obj["offline"] is False


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_to_json_has_no_raw_control_characters(name):
    obj = session_json(s(name, name, message=name, cwd=name, fields={"x": name, name: 1}))
    text = to_json([obj])
    assert not UNSAFE.search(text)
    assert text.isascii()
    assert json.loads(text)[0]["name"] == name  # and nothing is lost


# -- git -------------------------------------------------------------------------------------
def framed(**frames: str) -> bytes:
    """What the git script prints: each value as `KEY LEN\\n<value>\\n`."""
    return b"".join(f"{key} {len(value.encode())}\n{value}\n".encode() for key, value in frames.items())


GIT_OUT = framed(
    S="# branch.oid 0123456789abcdef\n# branch.head main\n# branch.upstream origin/main\n# branch.ab +2 -1\nC 3",
    L="abc1234 999400\nAda Lovelace\nFix the\ttabbed subject",
    R="git@example.com:me/repo.git",
)
FRESH = framed(S="# branch.oid (initial)\n# branch.head main\nC 0", L="", R="")


def test_git_text_for_a_repo():
    text = git_text(s("api"), parse_git(GIT_OUT), now=1_000_000)
    assert text.splitlines()[0] == "local:api  /srv/app"
    assert "main → origin/main (ahead 2, behind 1)" in text
    assert "dirty (3 changed files)" in text
    assert "abc1234 10m ago  Ada Lovelace: Fix the" in text
    assert "git@example.com:me/repo.git" in text


def test_git_text_clean_no_upstream_no_commits():
    text = git_text(s("api"), parse_git(FRESH), now=0)
    assert "main (no upstream)" in text and "clean" in text and "no commits yet" in text and "none" in text


def test_git_text_not_a_repo():
    assert git_text(s("api"), "not a git repository", NOW) == "local:api  /srv/app\nnot a git repository"


def test_git_text_sanitises_every_field():
    evil = framed(
        S="# branch.head m\x1b[31m\u202e\n# branch.upstream o/\x9b2J\u2067x\n# branch.ab +1 -0\nC 0",
        L="\x1b]0;x\x07abc 999400\n\x1b]0;x\x07eve\u200f\n\x1b[2Jsubject\r\u202e\x7f",
        R="\x1b]52;c;eA==\x07url\nE forged\n\x1b]8;;http://e\x1b\\link\x1b]8;;\x1b\\",
    )
    info = parse_git(evil)
    assert isinstance(info, GitInfo) and info.remote is not None and "\nE forged\n" in info.remote
    text = git_text(s("api"), info, NOW)
    assert not UNSAFE.search(text) and "\x1b" not in text
    assert len(text.splitlines()) == 5  # head, branch, state, last, origin: nothing forged
    assert text.splitlines()[-1].startswith("origin") and "E forged" in text.splitlines()[-1]
    assert not UNSAFE.search(git_text(s("api"), "not a repo\x1b]0;t\x07\u202e", NOW))
    assert to_json(git_json(s("api"), info)).isascii() and not UNSAFE.search(to_json(git_json(s("api"), info)))


def test_git_json_for_a_repo():
    obj = git_json(s("api"), parse_git(GIT_OUT))
    assert obj["branch"] == "main" and obj["dirty"] is True and obj["ahead"] == 2 and obj["behind"] == 1
    assert obj["last_commit"]["hash"] == "abc1234" and obj["remote"] == "git@example.com:me/repo.git"
    json.loads(to_json(obj))


def test_git_json_not_a_repo_has_null_keys():
    obj = git_json(s("api"), "not a git repository")
    for key in ("branch", "dirty", "ahead", "behind", "last_commit", "remote"):
        assert key in obj and obj[key] is None
    assert obj["reason"] == "not a git repository"
    assert json.loads(to_json(obj))["branch"] is None


def test_tokens_column_and_totals_per_host():
    def with_tokens(name: str, host: str, **tokens: int) -> Session:
        return Session(host=host, name=name, status="done", status_file=f"{name}.json", timestamp=1,
                       fields={"metrics": {"tokens": {**tokens, "model": "m"}}})

    sessions = [
        with_tokens("a", "local", input=1200, output=300, cache_read=10_000, cache_creation=500),  # 11.7k in
        with_tokens("b", "dev", input=100, output=20),
        Session(host="dev", name="c", status="idle", status_file="c.json", timestamp=1),
    ]
    table = sessions_table(sessions, 10, width=200, tokens=True)
    assert "TOKENS" in table.splitlines()[0]
    assert "12k in 300 out" in table and "100 in 20 out" in table
    assert table.splitlines()[-1] == "tokens: dev 100 in 20 out · local 12k in 300 out · total 12k in 320 out"
    assert "TOKENS" not in sessions_table(sessions, 10, width=200)


@pytest.mark.parametrize("width", [80, 200])
def test_long_names_paths_and_wide_characters_still_fit(width):
    rows = [
        Session(host="build-server-eu-west-1", name="refactor-the-payment-service-" * 3, status="permission",
                message="Bash: " + "npm test -- --runInBand " * 20, cwd="/srv/" + "deep/" * 40 + "repo", status_file="x.json", timestamp=1),
        Session(host="local", name="日本語のセッション名", status="working", message="進行中" * 40, cwd="/tmp", status_file="y.json", timestamp=1),
    ]
    from wcwidth import wcswidth

    table = sessions_table(rows, NOW, width=width, tokens=True)
    assert all(wcswidth(line) <= width for line in table.splitlines())
    assert "permission" in table and "/repo" in table or width == 80
    wide = sessions_table(rows, NOW, width=None)
    assert ("npm test -- --runInBand " * 20).strip() in wide and "/srv/" + "deep/" * 40 + "repo" in wide
