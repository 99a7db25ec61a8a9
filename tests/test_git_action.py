"""`git`: the script frames every value, the parser reads only frames, and a hostile repository
(origin URL, branch, upstream, author, subject) neither forges a field nor reaches the terminal raw."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from navish.git_action import GitInfo, git_info, parse_git
from navish.hosts.local import LocalHost
from navish.model import Session
from navish.output import git_json, git_text, to_json
from tests.conftest import run

# ESC and every other C0 control but newline, DEL, C1, and Unicode's bidi controls.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def framed(**frames: str) -> bytes:
    return b"".join(f"{key} {len(value.encode())}\n{value}\n".encode() for key, value in frames.items())


def test_parse_git():
    out = framed(
        S="# branch.oid 0123\n# branch.head main\n# branch.upstream origin/main\n# branch.ab +2 -1\nC 3",
        L="abc1234 999400\nAda Lovelace\nFix the\ttabbed subject",
        R="git@example.com:me/repo.git",
    )
    info = parse_git(out)
    assert isinstance(info, GitInfo)
    assert (info.branch, info.upstream, info.ahead, info.behind, info.changes, info.dirty) == ("main", "origin/main", 2, 1, 3, True)
    assert info.last_commit == {"hash": "abc1234", "time": 999400, "author": "Ada Lovelace", "subject": "Fix the\ttabbed subject"}
    assert info.remote == "git@example.com:me/repo.git"


def test_parse_git_fresh_repo_without_upstream_commits_or_origin():
    info = parse_git(framed(S="# branch.oid (initial)\n# branch.head main\nC 0", L="", R=""))
    assert isinstance(info, GitInfo)
    assert (info.branch, info.upstream, info.ahead, info.behind, info.dirty) == ("main", None, None, None, False)
    assert info.last_commit is None and info.remote is None


@pytest.mark.parametrize("reason", ["not a git repository", "no such directory", "git is not installed"])
def test_parse_git_reasons(reason):
    assert parse_git(framed(E=reason)) == reason


def test_byte_lengths_count_utf8_and_keep_newlines_inside_a_value():
    url = "https://ex\u00e9mple/\u202e\nE forged\n"
    info = parse_git(framed(S="# branch.head m\nC 0", L="", R=url))
    assert isinstance(info, GitInfo) and info.remote == url


@pytest.mark.parametrize(
    "out",
    [
        b"E forged\n",  # the old unframed format
        b"R 3\nabc",  # no newline after the value
        b"R 2\nabc\n",  # length does not match
        b"S 3\nC 0\nS 3\nC 1\nR 0\n\n",  # a key twice
        b"S 3\nC 0\nR 0\n\njunk",  # trailing bytes
        b"R 0\n\n",  # no status
        b"S 6\nC many\nR 0\n\n",  # no change count
        b"S 3\nC 0\nR -1\n\n",
    ],
)
def test_anything_but_exact_frames_is_refused(out):
    assert parse_git(out) == "the git script printed something unexpected"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


HOSTILE_URL = (
    "https://example.com/r.git"
    "\x1b]52;c;cm0gLXJmIH4K\x07"  # OSC 52: write the clipboard
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\"  # OSC 8 hyperlink
    "\x1b]0;pwned title\x07"  # window title
    "\x1b[2J\x1b[H"  # clear screen
    "\xc2\x9b31m\x9d2;c1 title\x9c"  # C1 CSI and OSC
    "\u202egnp.exe"  # right-to-left override
    "\nE forged\n"  # an escaped newline that used to forge an `E` line
    "\u2066isolate\u2069\u200f"
)
HOSTILE_BRANCH = "feat\u202eevil\u2067\u00c2\u009b2J"  # git refuses ASCII controls, not these
HOSTILE_UPSTREAM = "up\u202e\u200e\u061cstream\u0085"
HOSTILE_AUTHOR = "Eve \x1b]52;c;aGk=\x07\x1b[2J\u202eMallory\x9b6n"
HOSTILE_SUBJECT = "fix \x1b]0;title\x07\x1b[31mred\r\u202eexe.txt\x1bc end"


@pytest.fixture
def hostile_repo(tmp_path: Path, world) -> Path:  # type: ignore[no-untyped-def]
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", HOSTILE_BRANCH)
    _git(repo, "-c", f"user.name={HOSTILE_AUTHOR}", "-c", "user.email=e@x", "commit", "-q", "--allow-empty", "-m", HOSTILE_SUBJECT)
    _git(repo, "config", "remote.origin.url", HOSTILE_URL)
    _git(repo, "config", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*")
    _git(repo, "update-ref", f"refs/remotes/origin/{HOSTILE_UPSTREAM}", "HEAD")
    _git(repo, "config", f"branch.{HOSTILE_BRANCH}.remote", "origin")
    _git(repo, "config", f"branch.{HOSTILE_BRANCH}.merge", f"refs/heads/{HOSTILE_UPSTREAM}")
    (repo / "changed\nE forged file").write_text("x")
    return repo


@pytest.fixture(params=["local", "ssh"])
def host(request, session_dir: Path):  # type: ignore[no-untyped-def]
    if request.param == "local":
        return LocalHost(str(session_dir))
    return request.getfixturevalue("ssh_host_for")(str(session_dir))


def test_a_hostile_repository_forges_nothing_and_reaches_the_terminal_sanitised(hostile_repo, host):
    info = run(git_info(host, str(hostile_repo), 10))
    assert isinstance(info, GitInfo), info  # not the forged reason "forged"
    # every value arrives whole, exactly as git holds it
    assert info.remote == HOSTILE_URL.rstrip("\n")
    assert (info.branch, info.upstream) == (HOSTILE_BRANCH, f"origin/{HOSTILE_UPSTREAM}")
    assert (info.ahead, info.behind, info.changes, info.dirty) == (0, 0, 1, True)
    assert info.last_commit is not None
    assert (info.last_commit["author"], info.last_commit["subject"]) == (HOSTILE_AUTHOR, HOSTILE_SUBJECT)

    session = Session("local", "api", status="working", cwd=str(hostile_repo), fields={})
    text = git_text(session, info, now=info.last_commit["time"] + 60)
    assert not UNSAFE.search(text), ascii(text)
    lines = text.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["branch", "state", "last", "origin"]  # no forged line
    assert "E forged" in lines[-1] and "gnp.exe" in lines[-1]

    document = to_json(git_json(session, info))
    assert document.isascii() and not UNSAFE.search(document)
    assert json.loads(document)["remote"] == info.remote
