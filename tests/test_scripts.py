"""Script framing and quoting: the generated POSIX sh text is run by a real `/bin/sh -s` to prove
that hostile values (quotes, `$(...)`, backticks, newlines, unicode) stay literal data.

No tmux is used: a fake `tmux` shell script records its arguments.
"""

import asyncio
import json
import os
import shlex
import stat
import subprocess
import time
from pathlib import Path

import pytest

from navish import actions
from navish.actions import check_new_name, parse_poll, poll_script, tmux_arg, tmux_target
from navish.errors import ActionFailed
from navish.hosts.base import ScriptResult, frame_script, sh_path
from navish.parsing import host_sessions

HOSTILE = [
    "it's \"quoted\"",
    "$(touch PWNED)",
    "`touch PWNED`",
    "a;touch PWNED",
    "two\nlines\n",
    "no newline at end",
    "",
    "\\ back\\slash \\n %s %d",
    "\u65e5\u672c\u8a9e \u2603 caf\u00e9 \U0001f600",
    "\x1b]0;title\x07\x1b[31m",
    "'\"'\"'",
    "-n",
    "x" * 200_000,
]


def sh(program: str, *, env=None, cwd=None, timeout=10) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/sh", "-s"], input=program.encode(), capture_output=True, env=env, cwd=cwd, timeout=timeout)


# -- frame_script ----------------------------------------------------------------------------
@pytest.mark.parametrize("data", HOSTILE, ids=range(len(HOSTILE)))
def test_frame_script_stdin_round_trips_exactly(tmp_path, data):
    result = sh(frame_script("cat", data), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == data.encode()
    assert not (tmp_path / "PWNED").exists()


def test_frame_script_without_stdin_reads_dev_null():
    result = sh(frame_script("cat; echo done"))
    assert result.stdout == b"done\n"


def test_script_cannot_read_the_rest_of_the_program():
    """The script's input is /dev/null, not the program text that follows on the shell's stdin."""
    script = "read line; echo \"got:$line\"\necho second"
    result = sh(frame_script(script) + "echo trailing\n")
    assert result.stdout == b"got:\nsecond\ntrailing\n"
    result = sh(frame_script("cat; echo end", "input\n") + "echo trailing\n")
    assert result.stdout == b"input\nend\ntrailing\n"


def test_frame_script_exit_status_is_the_scripts():
    assert sh(frame_script("exit 13")).returncode == 13
    assert sh(frame_script("cat >/dev/null; exit 7", "x")).returncode == 7


def test_frame_script_refuses_nul():
    with pytest.raises(ValueError, match="NUL"):
        frame_script("cat", "a\0b")


# -- sh_path ---------------------------------------------------------------------------------
def printf_arg(word: str, home: Path) -> bytes:
    return sh(f"printf '%s' {word}", env={"HOME": str(home), "PATH": os.environ["PATH"]}).stdout


def test_sh_path_expands_home_and_keeps_spaces(tmp_path):
    assert printf_arg(sh_path("~/x y"), tmp_path) == f"{tmp_path}/x y".encode()
    assert printf_arg(sh_path("~"), tmp_path) == str(tmp_path).encode()
    assert printf_arg(sh_path("~/.claude-sessions"), tmp_path) == f"{tmp_path}/.claude-sessions".encode()


def test_sh_path_with_home_containing_spaces(tmp_path):
    home = tmp_path / "my home"
    assert printf_arg(sh_path("~/a b"), home) == f"{home}/a b".encode()


@pytest.mark.parametrize("path", ["/tmp/$(touch PWNED)", "/tmp/`touch PWNED`", "/a b/it's", "~user/x", "/x/~/y", "rel/*.json", "-rf"])
def test_sh_path_keeps_other_paths_literal(tmp_path, path):
    result = sh(f"printf '%s' {sh_path(path)}", cwd=tmp_path)
    assert result.stdout == path.encode()
    assert not (tmp_path / "PWNED").exists()


def test_sh_path_hostile_after_home(tmp_path):
    path = "~/$(touch PWNED) `x` 'q'"
    assert printf_arg(sh_path(path), tmp_path) == f"{tmp_path}/$(touch PWNED) `x` 'q'".encode()
    assert not (tmp_path / "PWNED").exists()


# -- tmux arguments --------------------------------------------------------------------------
def test_tmux_target_is_an_exact_match_quoted_once():
    assert tmux_target("api") == "=api"
    assert shlex.split(tmux_target("my api")) == ["=my api"]
    assert shlex.split(tmux_target("$(x)")) == ["=$(x)"]


def test_tmux_arg_escapes_a_trailing_semicolon():
    assert shlex.split(tmux_arg("a;")) == ["a\\;"]
    assert shlex.split(tmux_target("x;")) == ["=x\\;"]
    assert shlex.split(tmux_arg("a;b")) == ["a;b"]


@pytest.mark.parametrize("name", ["it's", "$(touch PWNED)", "a;", "sp ace", "\u2603"])
def test_tmux_target_reaches_the_command_literally(tmp_path, name):
    result = sh(f"printf '%s' {tmux_target(name)}", cwd=tmp_path)
    expected = "=" + (name[:-1] + "\\;" if name.endswith(";") else name)
    assert result.stdout.decode() == expected
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("name", ["new-name", "with space", "caf\u00e9 \u2603", "it's", "a`b`", "x=y", "-dash", "n" * 200])
def test_check_new_name_accepts(name):
    check_new_name(name)


@pytest.mark.parametrize(
    "name",
    ["", "   ", "a:b", "a.b", "#{pane}", "$(x)", "a/b", "a\\b", "a;b", "a\nb", "tab\there", "\x1b[31m", "del\x7f", "n" * 201, "\u00e9" * 101],
)
def test_check_new_name_refuses(name):
    with pytest.raises(ActionFailed) as exc:
        check_new_name(name)
    assert "\x1b" not in str(exc.value) and "\n" not in str(exc.value)


# -- running the real action scripts against a fake tmux ---------------------------------------
FAKE_TMUX = r"""#!/bin/sh
# Record each call's arguments (\037 between, \036 after), then act like tmux.
{ for a in "$@"; do printf '%s\037' "$a"; done; printf '\036'; } >> "$FAKE_LOG"
case "$1" in
  list-sessions) [ -f "$FAKE_SESSIONS" ] && while IFS= read -r s; do printf 'S %s\n' "$s"; done < "$FAKE_SESSIONS"; exit 0 ;;
  has-session) exit "${FAKE_HAS:-0}" ;;
  *) exit 0 ;;
esac
"""


class FakeHost:
    def __init__(self, tmp: Path, session_dir: str, *, has_session: int = 0, sessions=(), tmux: str | None = None):
        self.name = "local"
        self.session_dir = session_dir
        self.home = tmp / "home"
        self.home.mkdir(exist_ok=True)
        fake = tmp / "fake tmux"
        fake.write_text(FAKE_TMUX)
        fake.chmod(0o755)
        self.tmux = tmux or shlex.quote(str(fake))
        self.log = tmp / "tmux.log"
        self.log.write_bytes(b"")
        (tmp / "sessions").write_text("".join(f"{s}\n" for s in sessions))
        self.env = {
            "HOME": str(self.home),
            "PATH": os.environ["PATH"],
            "FAKE_LOG": str(self.log),
            "FAKE_SESSIONS": str(tmp / "sessions"),
            "FAKE_HAS": str(has_session),
        }
        self.cwd = tmp

    async def run(self, script, *, stdin=None, timeout):
        started = time.monotonic()
        proc = subprocess.run(
            ["/bin/sh", "-s"], input=frame_script(script, stdin).encode(), capture_output=True, env=self.env, cwd=self.cwd, timeout=timeout
        )
        return ScriptResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)

    def calls(self) -> list[list[str]]:
        raw = self.log.read_bytes().decode()
        return [call.split("\037")[:-1] for call in raw.split("\036")[:-1]]


def status(name: str, state: str = "idle", **extra) -> bytes:
    return (json.dumps({"tmux_session": name, "status": state, **extra}, ensure_ascii=False) + "\n").encode()


HOSTILE_NAMES = ["plain", "sp ace", "it's", "$(touch PWNED)", "`touch PWNED`", "semi;colon", "caf\u00e9 \u2603", "-dash", "F 3 10"]


def run_poll(host: FakeHost):
    result = asyncio.run(host.run(poll_script(host), timeout=10))
    assert result.returncode == 0, result.stderr
    return parse_poll(result.stdout)


def test_poll_script_reads_hostile_file_names_and_contents(tmp_path):
    d = tmp_path / "sessions dir"
    d.mkdir()
    expected = {}
    for i, name in enumerate(HOSTILE_NAMES):
        content = status(name, "waiting", message=f"msg {i} $(touch PWNED) \nF 6 10\nplain.json{{}}")
        (d / f"{name}.json").write_bytes(content)
        expected[f"{name}.json"] = content
    (d / "notjson.txt").write_text("{}")
    (d / "dir.json").mkdir()
    (d / ".tmp.AbC123").write_text("{half")
    host = FakeHost(tmp_path, str(d), sessions=HOSTILE_NAMES[:-1])
    data = run_poll(host)
    assert {f.name: f.content for f in data.files} == expected
    assert all(f.size == len(expected[f.name]) and f.mtime > 0 for f in data.files)
    assert data.tmux_sessions == tuple(HOSTILE_NAMES[:-1])
    found = host_sessions("local", data)
    assert found.warnings == ()
    sessions = {s.name: s for s in found.sessions}
    assert set(sessions) == set(HOSTILE_NAMES)
    assert all(s.status == "waiting" for s in sessions.values())
    assert not sessions["F 3 10"].live and sessions["plain"].live
    assert not (tmp_path / "PWNED").exists() and not (d / "PWNED").exists()


def test_poll_script_session_dir_under_home_with_spaces(tmp_path):
    host = FakeHost(tmp_path, "~/my sessions")
    d = host.home / "my sessions"
    d.mkdir()
    (d / "a.json").write_bytes(status("a"))
    data = run_poll(host)
    assert [f.name for f in data.files] == ["a.json"]


def test_poll_script_file_names_with_equals_sign(tmp_path):
    """tmux allows `=` in session names; `x=y.json` must be read as a file, not an awk assignment."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "x=y.json").write_bytes(status("x=y", "waiting"))
    data = run_poll(FakeHost(tmp_path, str(d), sessions=["x=y"]))
    found = host_sessions("local", data)
    assert found.warnings == ()
    assert [(s.name, s.status) for s in found.sessions] == [("x=y", "waiting")]


def test_poll_script_file_name_cannot_hide_another_session(tmp_path):
    """A file named like an awk assignment (`buf=x.json`) must not replace another file's content."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.json").write_bytes(status("a", "permission"))
    (d / "buf=x.json").write_bytes(status("buf=x"))
    (d / "c.json").write_bytes(status("c"))
    found = host_sessions("local", run_poll(FakeHost(tmp_path, str(d), sessions=["a", "buf=x", "c"])))
    sessions = {s.name: s for s in found.sessions}
    assert sessions["a"].status == "permission" and sessions["a"].needs_attention
    assert found.warnings == ()


def test_poll_script_bad_files_are_warned_not_fatal(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "good.json").write_bytes(status("good"))
    (d / "empty.json").write_bytes(b"")
    (d / "latin.json").write_bytes('{"tmux_session": "caf\u00e9"}'.encode("latin-1"))
    (d / "half.json").write_bytes(status("half")[:10])
    (d / "nul.json").write_bytes(b'{"a": "\x00"}\n')
    (d / "zz.json").write_bytes(status("zz", "error"))
    found = host_sessions("local", run_poll(FakeHost(tmp_path, str(d), sessions=["good", "zz"])), include_untracked=False)
    assert {s.name: s.status for s in found.sessions} == {"good": "idle", "zz": "error"}
    warned = " ".join(found.warnings)
    for name in ("empty.json", "latin.json", "half.json", "nul.json"):
        assert name in warned


def test_poll_script_without_files_or_dir(tmp_path):
    host = FakeHost(tmp_path, str(tmp_path / "missing"), sessions=["a"])
    data = run_poll(host)
    assert data.dir_missing and data.tmux_sessions == ("a",) and data.files == ()
    (tmp_path / "empty").mkdir()
    data = run_poll(FakeHost(tmp_path, str(tmp_path / "empty")))
    assert not data.dir_missing and data.files == () and data.tmux_sessions == ()


def test_poll_script_without_tmux(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.json").write_bytes(status("a"))
    data = run_poll(FakeHost(tmp_path, str(d), tmux="/nonexistent/tmux"))
    assert data.tmux_sessions is None and [f.name for f in data.files] == ["a.json"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_kill_script_passes_the_name_literally(tmp_path, name):
    d = tmp_path / "d"
    d.mkdir()
    (d / f"{name}.json").write_bytes(status(name))
    (d / "other.json").write_bytes(status("other"))
    host = FakeHost(tmp_path, str(d), has_session=0)
    asyncio.run(actions.kill(host, name, f"{name}.json", timeout=10))
    target = "=" + (name[:-1] + "\\;" if name.endswith(";") else name)
    assert host.calls() == [["has-session", "-t", target], ["kill-session", "-t", target]]
    assert sorted(p.name for p in d.iterdir()) == ["other.json"]
    assert not (tmp_path / "PWNED").exists()


def test_kill_of_a_gone_session_only_removes_the_file(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "x.json").write_bytes(status("x"))
    host = FakeHost(tmp_path, str(d), has_session=1)
    asyncio.run(actions.kill(host, "x", "x.json", timeout=10))
    assert [c[0] for c in host.calls()] == ["has-session"]
    assert list(d.iterdir()) == []


def test_prune_script_removes_gone_files_and_reports_names(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    gone = [(n, f"{n}.json") for n in HOSTILE_NAMES]
    for _, f in gone:
        (d / f).write_bytes(b"{}")
    (d / "keep.json").write_bytes(b"{}")
    host = FakeHost(tmp_path, str(d), has_session=1)
    pruned = asyncio.run(actions.prune(host, gone, timeout=10))
    assert pruned == HOSTILE_NAMES
    assert [p.name for p in d.iterdir()] == ["keep.json"]
    assert not (tmp_path / "PWNED").exists()


def test_prune_leaves_sessions_that_came_back(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "x.json").write_bytes(b"{}")
    host = FakeHost(tmp_path, str(d), has_session=0)
    assert asyncio.run(actions.prune(host, [("x", "x.json")], timeout=10)) == []
    assert (d / "x.json").exists()


def test_dismiss_rewrites_hostile_content_keeping_other_fields_and_mode(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    obj = {
        "tmux_session": "it's $(x)",
        "status": "permission",
        "message": "'; rm -rf ~; echo '$(touch PWNED)`id`\n\u2603",
        "timestamp": 1,
        "custom": {"keep": ["me", "\x1b[31m"]},
    }
    f = d / "it's $(x).json"
    f.write_text(json.dumps(obj, ensure_ascii=False))
    f.chmod(0o640)
    host = FakeHost(tmp_path, str(d))
    new = asyncio.run(actions.dismiss(host, f.name, now=1234.9, timeout=10))
    on_disk = json.loads(f.read_text())
    assert on_disk == new == {**obj, "status": "working", "message": "", "timestamp": 1234}
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert sorted(p.name for p in d.iterdir()) == [f.name]
    assert not (tmp_path / "PWNED").exists()


def test_rename_moves_the_file_and_renames_tmux_literally(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "old one.json").write_bytes(status("old one", "waiting", extra={"x": 1}))
    host = FakeHost(tmp_path, str(d), has_session=1)  # NEW does not exist yet
    new = "new `id` it's"
    asyncio.run(actions.rename(host, "old one", "old one.json", new, live=True, timeout=10))
    assert [p.name for p in d.iterdir()] == [f"{new}.json"]
    moved = json.loads((d / f"{new}.json").read_text())
    assert moved == {"tmux_session": new, "status": "waiting", "extra": {"x": 1}}
    assert ["rename-session", "-t", "=old one", "--", new] in host.calls()


def test_rename_refuses_an_existing_target(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.json").write_bytes(status("a"))
    (d / "b.json").write_bytes(status("b"))
    host = FakeHost(tmp_path, str(d), has_session=1)
    with pytest.raises(ActionFailed, match="already exists"):
        asyncio.run(actions.rename(host, "a", "a.json", "b", live=True, timeout=10))
    assert json.loads((d / "a.json").read_text())["tmux_session"] == "a"
    assert not any(c[0] == "rename-session" for c in host.calls())


def test_git_script_with_hostile_cwd_stays_literal(tmp_path):
    host = FakeHost(tmp_path, str(tmp_path))
    cwd = str(tmp_path / "$(touch PWNED)" / "`touch PWNED`")
    result = asyncio.run(host.run(actions.git_script(cwd), timeout=10))
    assert actions.parse_git(result.out) == "no such directory"
    assert not (tmp_path / "PWNED").exists()


def test_git_script_outside_a_repo(tmp_path):
    plain = tmp_path / "not a repo $(x)"
    plain.mkdir()
    host = FakeHost(tmp_path, str(tmp_path))
    host.env["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    result = asyncio.run(host.run(actions.git_script(str(plain)), timeout=10))
    assert actions.parse_git(result.out) == "not a git repository"
