"""Status files and poll output: parsing, skipping bad files with a warning, liveness."""

import json

import pytest

from navish.merge import host_sessions
from navish.poll_script import parse_poll
from navish.model import GONE, UNTRACKED
from navish.output import session_json
from navish.parsing import (
    MAX_STATUS_FILE_BYTES,
    PollData,
    StatusFile,
    parse_status_object,
    session_from_object,
)

# Copies of /work/shared/examples/status-full.json and status-minimal.json (the navi hook format).
FULL = b"""{
  "tmux_session": "webapp",
  "session_id": "7f3c2a9e-1b4d-4c8e-9a0f-5d6e7f8a9b0c",
  "status": "permission",
  "message": "Claude needs your permission to use Bash",
  "cwd": "/home/dev/projects/webapp",
  "timestamp": 1764000000,
  "metrics": {
    "time": {"started": 1763996400, "total_seconds": 3600, "working_seconds": 2700, "waiting_seconds": 900},
    "tools": {"recent": ["Read", "Edit", "Bash"], "counts": {"Read": 14, "Edit": 6, "Bash": 9}}
  },
  "team": {
    "name": "refactor-crew",
    "agents": [
      {"name": "tester", "status": "working", "timestamp": 1763999990, "session_id": "a1"},
      {"name": "reviewer", "status": "stopped", "timestamp": 1763999000}
    ]
  },
  "agents": {"codex": {"status": "idle", "timestamp": 1763999500}}
}
"""
MINIMAL = b'{"tmux_session": "notes", "status": "done", "message": "", "cwd": "/home/dev/notes", "timestamp": 1764000100}'


def sf(name, content, mtime=1.0):
    return StatusFile(name, mtime, len(content or b""), content)


def good(name, status="idle", **extra):
    return sf(f"{name}.json", json.dumps({"tmux_session": name, "status": status, **extra}).encode())


def poll(*files, tmux=None):
    names = tmux if tmux is not None else tuple(f.name.removesuffix(".json") for f in files)
    return PollData(tmux_sessions=tuple(names), files=tuple(files))


def by_name(found):
    return {s.name: s for s in found.sessions}


# -- the two example files -------------------------------------------------------------------
def test_full_example():
    found = host_sessions("local", poll(sf("webapp.json", FULL, 7.0)))
    assert found.warnings == ()
    (s,) = found.sessions
    assert (s.host, s.name, s.status) == ("local", "webapp", "permission")
    assert s.message == "Claude needs your permission to use Bash"
    assert s.cwd == "/home/dev/projects/webapp"
    assert s.timestamp == 1764000000
    assert s.status_file == "webapp.json" and s.mtime == 7.0 and s.live
    assert s.fields["session_id"] == "7f3c2a9e-1b4d-4c8e-9a0f-5d6e7f8a9b0c"
    assert s.fields["metrics"]["tools"]["counts"]["Bash"] == 9
    assert [(a.name, a.status) for a in s.team_agents] == [("tester", "working"), ("reviewer", "stopped")]
    assert s.needs_attention and s.attention_reason == "permission"
    out = session_json(s)
    for key in ("session_id", "metrics", "team", "agents"):
        assert out[key] == json.loads(FULL)[key]


def test_minimal_example():
    found = host_sessions("local", poll(sf("notes.json", MINIMAL)))
    assert found.warnings == ()
    (s,) = found.sessions
    assert (s.name, s.status, s.message, s.cwd, s.timestamp) == ("notes", "done", "", "/home/dev/notes", 1764000100)
    assert s.team_agents == ()
    assert not s.needs_attention


def test_unknown_fields_are_kept_in_fields_and_json():
    content = json.dumps({"tmux_session": "a", "status": "idle", "future_field": {"x": [1, 2]}, "zz": None}).encode()
    (s,) = host_sessions("local", poll(sf("a.json", content))).sessions
    assert s.fields["future_field"] == {"x": [1, 2]}
    assert "zz" in s.fields
    out = session_json(s)
    assert out["future_field"] == {"x": [1, 2]} and out["zz"] is None


def test_missing_optional_fields_are_tolerated():
    (s,) = host_sessions("local", poll(sf("bare.json", b"{}"))).sessions
    assert s.name == "bare"  # from the file name
    assert (s.status, s.message, s.cwd, s.timestamp) == ("", "", "", None)
    assert s.display_status == "?"


def test_mistyped_fields_do_not_crash():
    obj = {"tmux_session": 42, "status": 3, "message": ["a"], "cwd": None, "timestamp": "yesterday", "team": "x"}
    s = session_from_object("local", obj, "typo.json", 5.0)
    assert s.name == "typo"
    assert s.status == "3" and s.message == '["a"]' and s.cwd == ""
    assert s.timestamp is None and s.recency() == 5.0
    assert s.team_agents == ()
    assert not s.needs_attention
    assert json.dumps(session_json(s))  # still renders


def test_bool_timestamp_is_not_a_number():
    s = session_from_object("local", {"timestamp": True}, "b.json", None)
    assert s.timestamp is None


# -- bad files: skipped with a warning naming them, the rest still shown ---------------------
BAD = [
    ("empty", b"", "empty"),
    ("blank", b"  \n\t\n", "empty"),
    ("malformed", b"{not json", "invalid JSON"),
    ("truncated", FULL[: len(FULL) // 2], "invalid JSON"),
    ("list", b"[1, 2]", "expected a JSON object, got list"),
    ("string", b'"hello"', "expected a JSON object, got str"),
    ("number", b"42", "expected a JSON object, got int"),
    ("null", b"null", "expected a JSON object"),
    ("latin1", '{"tmux_session": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
    ("huge", b'{"pad": "' + b"x" * MAX_STATUS_FILE_BYTES + b'"}', "larger than"),
]


@pytest.mark.parametrize("label,content,reason", BAD, ids=[b[0] for b in BAD])
def test_bad_file_is_skipped_with_a_warning_and_hides_nothing(label, content, reason):
    bad = sf(f"{label}.json", content)
    found = host_sessions("local", poll(good("before", "waiting"), bad, good("after", "permission")), include_untracked=False)
    assert set(by_name(found)) == {"before", "after"}
    assert len(found.warnings) == 1
    warning = found.warnings[0]
    assert f"{label}.json" in warning and reason in warning and warning.startswith("local:")
    assert "\n" not in warning


def test_file_without_content_is_skipped():
    found = host_sessions("local", poll(StatusFile("unread.json", 1.0, 10, None), good("ok")), include_untracked=False)
    assert set(by_name(found)) == {"ok"}
    assert "unread.json" in found.warnings[0]


def test_deeply_nested_file_is_skipped_not_raised():
    """A hostile, deeply nested (but small) file must be a warning, not an exception that hides the host."""
    nested = sf("deep.json", b"[" * 200_000)
    found = host_sessions("local", poll(good("ok", "waiting"), nested), include_untracked=False)
    assert set(by_name(found)) == {"ok"}
    assert any("deep.json" in w for w in found.warnings)


def test_parse_status_object_errors_are_one_line_value_errors():
    with pytest.raises(ValueError, match="line 1 column"):
        parse_status_object('{"a": }', "x.json")
    assert parse_status_object(b'\xef\xbb\xbf{"a": 1}', "bom.json") == {"a": 1}


# -- liveness ------------------------------------------------------------------------------
def test_file_without_tmux_session_is_gone_and_tmux_without_file_is_untracked():
    found = host_sessions("local", poll(good("alive"), good("dead", "permission"), tmux=("alive", "loose")))
    sessions = by_name(found)
    assert sessions["alive"].live and sessions["alive"].display_status == "idle"
    assert not sessions["dead"].live and sessions["dead"].display_status == GONE
    assert not sessions["dead"].needs_attention
    assert sessions["loose"].status_file is None and sessions["loose"].display_status == UNTRACKED


def test_untracked_sessions_can_be_left_out():
    found = host_sessions("local", poll(good("a"), tmux=("a", "loose")), include_untracked=False)
    assert set(by_name(found)) == {"a"}


def test_tmux_missing_keeps_sessions_live_and_warns():
    found = host_sessions("local", PollData(tmux_sessions=None, files=(good("a", "waiting"),)))
    (s,) = found.sessions
    assert s.live and s.needs_attention
    assert any("tmux is not installed" in w for w in found.warnings)


def test_no_tmux_server_means_every_file_is_gone():
    found = host_sessions("local", PollData(tmux_sessions=(), files=(good("a"),)))
    assert found.sessions[0].display_status == GONE


def test_duplicate_claims_keep_the_file_named_after_the_session():
    own = sf("api.json", json.dumps({"tmux_session": "api", "status": "idle", "timestamp": 1}).encode())
    stray = sf("old.json", json.dumps({"tmux_session": "api", "status": "permission", "timestamp": 99}).encode())
    for files in ((own, stray), (stray, own)):
        found = host_sessions("local", poll(*files, tmux=("api",)))
        (s,) = found.sessions
        assert s.status_file == "api.json" and s.status == "idle"
        assert len(found.warnings) == 1 and "old.json" in found.warnings[0] and "'api'" in found.warnings[0]


def test_duplicate_claims_without_own_file_keep_the_most_recent():
    a = sf("x.json", json.dumps({"tmux_session": "api", "status": "idle", "timestamp": 1}).encode())
    b = sf("y.json", json.dumps({"tmux_session": "api", "status": "waiting", "timestamp": 9}).encode())
    for files in ((a, b), (b, a)):
        (s,) = host_sessions("local", poll(*files, tmux=("api",))).sessions
        assert s.status_file == "y.json"


# -- parse_poll ----------------------------------------------------------------------------
def frame(name: bytes, content: bytes, mtime: int = 100) -> bytes:
    """What the poll script prints for one file: its stat line, `|` + each line, `E`."""
    lines = content.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return b"M %d %d ./%s\n" % (mtime, len(content), name) + b"".join(b"|" + line + b"\n" for line in lines) + b"E\n"


def poll_output(sessions=(), tmux_status=0, files=(), mtime=100):
    head = b"".join(b"P %%%d %d $%d %s\n" % (i, 1000 + i, i, s) for i, s in enumerate(sessions)) + b"T %d\n" % tmux_status
    return head + b"".join(frame(n, c, mtime) for n, c in files)


def test_parse_poll_sessions_and_files():
    a = b'{"tmux_session": "a", "status": "idle"}\n'
    b = b'{"tmux_session": "b b", "status": "waiting"}\n'
    data = parse_poll(poll_output([b"a", b"b b"], files=[(b"a.json", a), (b"b b.json", b)]))
    assert data.tmux_sessions == ("a", "b b")
    assert not data.dir_missing
    assert [(f.name, f.mtime, f.size, f.content) for f in data.files] == [
        ("a.json", 100.0, len(a), a),
        ("b b.json", 100.0, len(b), b),
    ]
    assert {s.name: s.live for s in host_sessions("local", data).sessions} == {"a": True, "b b": True}


def test_parse_poll_tmux_missing():
    data = parse_poll(b"T 127\n")
    assert data.tmux_sessions is None and data.files == ()


def test_parse_poll_no_tmux_server():
    data = parse_poll(b"T 1\n")
    assert data.tmux_sessions == ()


def test_parse_poll_dir_missing():
    data = parse_poll(b"P %0 10 $0 a\nT 0\nD missing\n")
    assert data.dir_missing and data.files == () and data.tmux_sessions == ("a",)


def test_parse_poll_unicode_and_spaced_names():
    name = "r\u00e9sum\u00e9 \u2603 x".encode()
    content = json.dumps({"tmux_session": name.decode(), "status": "idle"}, ensure_ascii=False).encode() + b"\n"
    data = parse_poll(poll_output([name], files=[(name + b".json", content)]))
    (f,) = data.files
    assert f.name == name.decode() + ".json" and f.content == content
    (s,) = host_sessions("local", data).sessions
    assert s.name == name.decode() and s.live


def test_hostile_content_cannot_forge_another_frame():
    """Every content line travels behind `|`: a file's text can never start a record of its own."""
    victim = b'{"tmux_session": "victim", "status": "idle"}\n'
    evil = b'{"tmux_session": "evil", "status": "idle"}\nE\nM 1 1 ./victim.json\n|{"status": "permission"}\nE\nP %9 9 $9 ghost\n@registry\n'
    data = parse_poll(poll_output([b"evil", b"victim"], files=[(b"evil.json", evil), (b"victim.json", victim)]))
    contents = {f.name: f.content for f in data.files}
    assert contents == {"evil.json": evil, "victim.json": victim}
    assert data.tmux_sessions == ("evil", "victim")
    found = host_sessions("local", data)
    assert by_name(found)["victim"].status == "idle"
    assert any("evil.json" in w for w in found.warnings)  # its content is not JSON


def test_a_cut_answer_keeps_earlier_files_and_says_so():
    a = b'{"tmux_session": "a", "status": "waiting"}\n'
    b = b'{"tmux_session": "b", "status": "idle", "message": "long enough to be cut"}\n'
    full = poll_output([b"a", b"b"], files=[(b"a.json", a), (b"b.json", b)])
    for cut in (len(full) - 3, len(full) - len(b) - 3, len(full) - len(b) - 10):
        data = parse_poll(full[:cut], "output cut at 1 KiB")
        found = host_sessions("local", data)
        assert by_name(found)["a"].status == "waiting"
        assert "b" not in by_name(found) or by_name(found)["b"].status_file is None
        assert "local: poll output cut at 1 KiB" in found.warnings


def test_files_not_read_are_warnings_by_name():
    out = b"T 0\nM 5 9000000 ./big.json\nE big\nM 5 2 ./locked.json\nE unreadable\nN 2500\n"
    data = parse_poll(out)
    assert data.files == ()
    assert data.warnings == (
        "skipped big.json: larger than 1 MiB",
        "skipped locked.json: cannot be read (removed meanwhile, or no permission)",
        "2500 status files; only 2000 were read",
    )


def test_a_host_with_too_many_panes_is_cut_with_a_warning(monkeypatch):
    from navish import poll_script

    monkeypatch.setattr(poll_script, "MAX_PANES", 3)
    data = parse_poll(poll_output([b"s%d" % i for i in range(5)]))
    assert data.tmux_sessions == ("s0", "s1", "s2")
    assert data.warnings == ("5 tmux panes; only the first 3 were read",)
