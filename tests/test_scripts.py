"""Script framing and quoting: the generated POSIX sh text is run by a real `/bin/sh -s` to prove
that hostile values (quotes, `$(...)`, backticks, newlines, unicode) stay literal data.

Actions run against a real tmux on the test world's private server.
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

from navish import actions, git_action, status_files
from navish.hosts.local import LocalHost
from navish.actions import check_new_name
from navish.poll_script import poll
from navish.sh import tmux_arg
from navish.errors import ActionFailed
from navish.hosts.base import OUTPUT_LIMIT, ScriptNotStarted, ScriptResult, build_program, sh_path
from navish.merge import host_sessions

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


# -- the program fed to /bin/sh -s ------------------------------------------------------------
def run_program(script: str, stdin: str | None = None, *, before: str = "", after: str = "", cwd=None, limit=OUTPUT_LIMIT) -> ScriptResult:
    """Run a program as a host does, with `before`/`after` as a login shell's noise around it."""
    program = build_program(script, stdin)
    proc = sh(before + program.text.decode() + after, cwd=cwd)
    collector = program.collector("test", limit)
    collector.feed_stdout(proc.stdout)
    collector.feed_stderr(proc.stderr)
    return collector.result(proc.returncode, 0.0)


@pytest.mark.parametrize("data", HOSTILE, ids=range(len(HOSTILE)))
def test_program_stdin_round_trips_exactly(tmp_path, data):
    result = run_program("cat", data, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == data.encode()
    assert not (tmp_path / "PWNED").exists()


def test_program_without_stdin_reads_dev_null():
    assert run_program("cat; echo done").stdout == b"done\n"


def test_script_cannot_read_the_rest_of_the_program():
    """The script's input is /dev/null, not the program text that follows on the shell's stdin."""
    script = "read line; echo \"got:$line\"\necho second"
    assert run_program(script, after="echo trailing\n").stdout == b"got:\nsecond\ntrailing\n"
    assert run_program("cat; echo end", "input\n", after="echo trailing\n").stdout == b"input\nend\ntrailing\n"


def test_program_exit_status_is_the_scripts():
    assert run_program("exit 13").returncode == 13
    assert run_program("cat >/dev/null; exit 7", "x").returncode == 7


def test_program_refuses_nul():
    with pytest.raises(ValueError, match="NUL"):
        build_program("cat", "a\0b")


def test_login_shell_noise_before_the_program_is_dropped():
    noise = "echo 'Welcome to dev! M 1 2 ./forged.json'; echo 'rc warning' >&2\n"
    result = run_program("echo out; echo err >&2", before=noise)
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")


@pytest.mark.parametrize("rc_file", ["read -r line", "read -r a; read -r b", "cat >/dev/null"])
def test_a_startup_file_that_eats_the_program_runs_nothing_and_says_why(tmp_path, rc_file):
    """As a login shell would: the rc file reads the channel, then `/bin/sh -s` gets the rest."""
    program = build_program(f"touch {shlex.quote(str(tmp_path / 'ran'))}")
    proc = subprocess.run(["/bin/sh", "-c", f"{rc_file}; exec /bin/sh -s"], input=program.text, capture_output=True, timeout=10)
    collector = program.collector("dev")
    collector.feed_stdout(proc.stdout)
    collector.feed_stderr(proc.stderr)
    with pytest.raises(ScriptNotStarted, match="dev: the script did not run: a startup file of the login shell"):
        collector.result(proc.returncode, 0.0)
    assert not (tmp_path / "ran").exists()


def test_output_is_cut_at_the_limit():
    result = run_program("yes | head -c 100000", limit=1000)
    assert result.stdout == b"y\n" * 500 and result.cut == 1000 and result.cut_note == "output cut at 0.976562 KiB"


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
def test_tmux_arg_escapes_a_trailing_semicolon():
    assert shlex.split(tmux_arg("a;")) == ["a\\;"]
    assert shlex.split(tmux_arg("a;b")) == ["a;b"]


@pytest.mark.parametrize("name", ["it's", "$(touch PWNED)", "a;", "sp ace", "\u2603"])
def test_tmux_arg_reaches_the_command_literally(tmp_path, name):
    result = sh(f"printf '%s' {tmux_arg(name)}", cwd=tmp_path)
    assert result.stdout.decode() == (name[:-1] + "\\;" if name.endswith(";") else name)
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


# -- the real action scripts against a real tmux ----------------------------------------------
def status(name: str, state: str = "idle", **extra) -> bytes:
    return (json.dumps({"tmux_session": name, "status": state, **extra}, ensure_ascii=False) + "\n").encode()


HOSTILE_NAMES = ["plain", "sp ace", "it's", "$(touch PWNED)", "`touch PWNED`", "semi;colon", "caf\u00e9 \u2603", "-dash", "F 3 10"]


def run_poll(host: LocalHost):
    return asyncio.run(poll(host, 10))


def test_poll_script_reads_hostile_file_names_and_contents(tmp_path, tmux):
    d = tmp_path / "sessions dir"
    d.mkdir()
    expected = {}
    for i, name in enumerate(HOSTILE_NAMES):
        content = status(name, "waiting", message=f"msg {i} $(touch PWNED) \nM 1 2 ./plain.json\n|{{}}\nE")
        (d / f"{name}.json").write_bytes(content)
        expected[f"{name}.json"] = content
    (d / "notjson.txt").write_text("{}")
    (d / "dir.json").mkdir()
    (d / ".tmp.AbC123").write_text("{half")
    for name in HOSTILE_NAMES[:-1]:
        tmux.new(name)
    data = run_poll(LocalHost(str(d)))
    assert {f.name: f.content for f in data.files} == expected
    assert all(f.size == len(expected[f.name]) and f.mtime > 0 for f in data.files)
    assert sorted(data.tmux_sessions or ()) == sorted(HOSTILE_NAMES[:-1])
    found = host_sessions("local", data)
    assert found.warnings == ()
    sessions = {s.name: s for s in found.sessions}
    assert set(sessions) == set(HOSTILE_NAMES)
    assert all(s.status == "waiting" for s in sessions.values())
    assert not sessions["F 3 10"].live and sessions["plain"].live
    assert not (tmp_path / "PWNED").exists() and not (d / "PWNED").exists()


def test_poll_script_session_dir_under_home_with_spaces(world, tmux):
    d = Path(world["HOME"]) / "my sessions"
    d.mkdir()
    (d / "a.json").write_bytes(status("a"))
    assert [f.name for f in run_poll(LocalHost("~/my sessions")).files] == ["a.json"]


def test_poll_script_file_names_like_awk_assignments(tmp_path, tmux):
    """`x=y.json` is a file, not an awk assignment, and cannot replace another file's content."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.json").write_bytes(status("a", "permission"))
    (d / "x=y.json").write_bytes(status("x=y", "waiting"))
    (d / "name=c.json").write_bytes(status("c"))
    for name in ("a", "x=y", "c"):
        tmux.new(name)
    found = host_sessions("local", run_poll(LocalHost(str(d))))
    assert found.warnings == ()
    assert {s.name: s.status for s in found.sessions} == {"a": "permission", "x=y": "waiting", "c": "idle"}


def test_poll_script_bad_files_are_warned_not_fatal(tmp_path, tmux):
    d = tmp_path / "d"
    d.mkdir()
    (d / "good.json").write_bytes(status("good"))
    (d / "empty.json").write_bytes(b"")
    (d / "latin.json").write_bytes('{"tmux_session": "caf\u00e9"}'.encode("latin-1"))
    (d / "half.json").write_bytes(status("half")[:10])
    (d / "nul.json").write_bytes(b'{"a": "\x00"}\n')
    (d / "zz.json").write_bytes(status("zz", "error"))
    tmux.new("good")
    tmux.new("zz")
    found = host_sessions("local", run_poll(LocalHost(str(d))), include_untracked=False)
    assert {s.name: s.status for s in found.sessions} == {"good": "idle", "zz": "error"}
    warned = " ".join(found.warnings)
    for name in ("empty.json", "latin.json", "half.json", "nul.json"):
        assert name in warned


def test_poll_script_without_files_or_dir(tmp_path, tmux):
    tmux.new("a")
    data = run_poll(LocalHost(str(tmp_path / "missing")))
    assert data.dir_missing and data.tmux_sessions == ("a",) and data.files == ()
    (tmp_path / "empty").mkdir()
    tmux.kill_server()
    data = run_poll(LocalHost(str(tmp_path / "empty")))
    assert not data.dir_missing and data.files == () and data.tmux_sessions == ()


def test_poll_script_without_tmux(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.json").write_bytes(status("a"))
    host = LocalHost(str(d))
    host.tmux = "/nonexistent/tmux"
    data = run_poll(host)
    assert data.tmux_sessions is None and [f.name for f in data.files] == ["a.json"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_kill_passes_the_name_literally(tmp_path, tmux, name):
    d = tmp_path / "d"
    d.mkdir()
    (d / f"{name}.json").write_bytes(status(name))
    (d / "other.json").write_bytes(status("other"))
    tmux.new(name)
    tmux.new("other")
    assert asyncio.run(actions.kill(LocalHost(str(d)), name, f"{name}.json", timeout=10)) == actions.Killed(True, True)
    assert tmux.sessions() == ["other"]
    assert sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) == ["other.json"]
    assert not (tmp_path / "PWNED").exists()


def test_prune_removes_gone_files_reports_names_and_leaves_sessions_that_came_back(tmp_path, tmux):
    d = tmp_path / "d"
    d.mkdir()
    gone = [(n, f"{n}.json") for n in HOSTILE_NAMES]
    for _, f in gone:
        (d / f).write_bytes(b"{}")
    (d / "back.json").write_bytes(b"{}")
    tmux.new("back")
    pruned = asyncio.run(actions.prune(LocalHost(str(d)), [*gone, ("back", "back.json")], timeout=10))
    assert pruned == HOSTILE_NAMES
    assert [p.name for p in d.iterdir() if not p.name.startswith(".")] == ["back.json"]
    assert not (tmp_path / "PWNED").exists()


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
    new = asyncio.run(status_files.dismiss(LocalHost(str(d)), f.name, now=1234.9, timeout=10))
    on_disk = json.loads(f.read_text())
    assert on_disk == new == {**obj, "status": "working", "message": "", "timestamp": 1234}
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) == [f.name]
    assert not (tmp_path / "PWNED").exists()


def test_rename_moves_the_file_and_renames_tmux_literally(tmp_path, tmux):
    d = tmp_path / "d"
    d.mkdir()
    (d / "old one.json").write_bytes(status("old one", "waiting", extra={"x": 1}))
    tmux.new("old one")
    new = "new `id` it's"
    asyncio.run(actions.rename(LocalHost(str(d)), "old one", "old one.json", new, live=True, timeout=10))
    assert [p.name for p in d.iterdir() if not p.name.startswith(".")] == [f"{new}.json"]
    moved = json.loads((d / f"{new}.json").read_text())
    assert moved == {"tmux_session": new, "status": "waiting", "extra": {"x": 1}}
    assert tmux.sessions() == [new]


def test_rename_refuses_an_existing_target(tmp_path, tmux):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.json").write_bytes(status("a"))
    (d / "b.json").write_bytes(status("b"))
    tmux.new("a")
    with pytest.raises(ActionFailed, match="already exists"):
        asyncio.run(actions.rename(LocalHost(str(d)), "a", "a.json", "b", live=True, timeout=10))
    assert json.loads((d / "a.json").read_text())["tmux_session"] == "a"
    assert tmux.sessions() == ["a"]


def test_git_script_with_hostile_cwd_stays_literal(tmp_path):
    host = LocalHost(str(tmp_path))
    cwd = str(tmp_path / "$(touch PWNED)" / "`touch PWNED`")
    result = asyncio.run(host.run(git_action.git_script(cwd), timeout=10))
    assert git_action.parse_git(result.stdout) == "no such directory"
    assert not (tmp_path / "PWNED").exists()


def test_git_script_outside_a_repo(tmp_path):
    plain = tmp_path / "not a repo $(x)"
    plain.mkdir()
    host = LocalHost(str(tmp_path))
    os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    result = asyncio.run(host.run(git_action.git_script(str(plain)), timeout=10))
    assert git_action.parse_git(result.stdout) == "not a git repository"
