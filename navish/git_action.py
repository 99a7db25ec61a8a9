"""`git`: what the repository in a session's working directory looks like, read on its host.

One script run per question (branch, changes, ahead/behind, last commit, origin URL), the same on
every host. Everything it prints comes from the repository and is untrusted: an origin URL may hold
newlines and escape sequences, a branch name bidi controls. So the script frames every value as
`KEY LEN\\n<LEN bytes>\\n` (byte lengths, `LC_ALL=C`) and `parse_git` reads exactly those frames,
refusing anything else; no value can forge another field. Values are sanitised when rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .hosts.base import Host, sh_path
from .sh import check_result, q

GIT_OUTPUT_LIMIT = 64 * 1024
"""Bytes of git script output read at most (real values are far smaller)."""


@dataclass(frozen=True)
class GitInfo:
    branch: str | None
    dirty: bool
    changes: int
    ahead: int | None
    behind: int | None
    upstream: str | None
    last_commit: dict[str, Any] | None
    remote: str | None


_GIT_CHANGES = '/^#/ { print; next } { n++ } END { print "C " n+0 }'  # headers, then a change count


def git_script(cwd: str) -> str:
    """S: `git status` headers and a change count; L: hash, time, author, subject; R: origin URL."""
    return f"""export LC_ALL=C GIT_OPTIONAL_LOCKS=0
frame() {{ printf '%s %s\\n%s\\n' "$1" "${{#2}}" "$2"; }}
cd {sh_path(cwd)} 2>/dev/null || {{ frame E 'no such directory'; exit 0; }}
command -v git >/dev/null 2>&1 || {{ frame E 'git is not installed'; exit 0; }}
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || {{ frame E 'not a git repository'; exit 0; }}
frame S "$(git status --porcelain=v2 --branch 2>/dev/null | awk {q(_GIT_CHANGES)})"
frame L "$(git log -1 --format='%h %ct%n%an%n%s' 2>/dev/null)"
frame R "$(git config --get remote.origin.url)"
"""


_HEADER = re.compile(rb"([A-Z]) ([0-9]{1,9})\n")
_BAD_OUTPUT = "the git script printed something unexpected"


def _frames(out: bytes) -> dict[str, str] | None:
    """KEY -> value of each `KEY LEN\\n<value>\\n` frame in `out`; None unless `out` is exactly frames."""
    fields: dict[str, str] = {}
    at = 0
    while at < len(out):
        header = _HEADER.match(out, at)
        if header is None:
            return None
        start = header.end()
        end = start + int(header[2])
        key = header[1].decode()
        if out[end : end + 1] != b"\n" or key in fields:
            return None
        fields[key] = out[start:end].decode("utf-8", "replace")
        at = end + 1
    return fields


_AB = re.compile(r"\+([0-9]+) -([0-9]+)")


def _status(text: str) -> dict[str, Any] | None:
    """Branch, upstream, ahead/behind and change count from the S frame; None if malformed."""
    fields: dict[str, Any] = {"branch": None, "changes": None, "ahead": None, "behind": None, "upstream": None}
    for line in text.split("\n"):
        key, _, value = line.partition(" ")
        if key == "C" and value.isdigit() and value.isascii():
            fields["changes"] = int(value)
        elif key == "#":
            name, _, value = value.partition(" ")
            if name == "branch.head":
                fields["branch"] = value
            elif name == "branch.upstream":
                fields["upstream"] = value
            elif name == "branch.ab" and (ab := _AB.fullmatch(value)):
                fields["ahead"], fields["behind"] = int(ab[1]), int(ab[2])
    return None if fields["changes"] is None else fields


def _commit(text: str) -> dict[str, Any] | None:
    """The L frame (`HASH TIME`, author, subject: three lines) as a dict; None when there is no commit."""
    lines = text.split("\n")
    if len(lines) != 3:
        return None
    short, _, when = lines[0].partition(" ")
    if not (when.isdigit() and when.isascii()):
        return None
    return {"hash": short, "time": int(when), "author": lines[1], "subject": lines[2]}


def parse_git(out: bytes | str) -> GitInfo | str:
    """A GitInfo, or the reason there is none (e.g. 'not a git repository')."""
    frames = _frames(out.encode() if isinstance(out, str) else out)
    if frames is None:
        return _BAD_OUTPUT
    if "E" in frames:
        return frames["E"]
    status = _status(frames.get("S", ""))
    if status is None or "R" not in frames:
        return _BAD_OUTPUT
    return GitInfo(
        dirty=status["changes"] > 0, last_commit=_commit(frames.get("L", "")), remote=frames["R"] or None, **status
    )


async def git_info(host: Host, cwd: str, timeout: float) -> GitInfo | str:
    if not cwd:
        return "the session has no working directory"
    result = check_result(await host.run(git_script(cwd), timeout=timeout, limit=GIT_OUTPUT_LIMIT), host, "git")
    if result.cut is not None:
        return f"git on {host.name}: {result.cut_note}"
    return parse_git(result.stdout)
