"""Everything navish does on a host: a POSIX sh script builder plus a parser of what it prints.

Each action takes any `Host`, so a local and a remote session run exactly the same script. Every
value that reaches a script (session names, paths, file contents) is quoted with `shlex.quote`;
nothing read from a status file is ever executed.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ActionFailed
from .hosts.base import Host, ScriptResult, exact_target, sh_path, tmux_escape
from .parsing import PollData, StatusFile, parse_status_object
from .sanitize import one_line

q = shlex.quote

# Exit codes the scripts use to say what went wrong (shared with setup_actions).
EXIT_EXISTS, EXIT_CHANGED, EXIT_NO_DIR, EXIT_WRITE_FAILED, EXIT_TMUX_FAILED, EXIT_NO_FILE = 10, 11, 12, 13, 14, 15


def tmux_arg(value: str) -> str:
    """A tmux argument quoted for sh."""
    return q(tmux_escape(value))


def tmux_target(session: str) -> str:
    """An exact-match session target, quoted for sh."""
    return q(exact_target(session))


def _session_dir(host: Host) -> str:
    return f"d={sh_path(host.session_dir)}"


def _check(result: ScriptResult, host: Host, what: str, reasons: dict[int, str] | None = None) -> ScriptResult:
    if result.returncode == 0:
        return result
    reason = (reasons or {}).get(result.returncode) or one_line(result.err, 200) or f"exit status {result.returncode}"
    raise ActionFailed(f"{what} on {host.name} failed: {reason}")


# -- poll ----------------------------------------------------------------------------------
# One run, three forks: tmux for the live sessions, stat for names/mtimes/sizes, awk for all
# contents. awk frames each file as `F <name bytes> <content bytes>\n<name><content>` so a
# hostile file cannot forge another file's frame. Files are passed as `./NAME`: awk would take
# a bare `a=b.json` for a variable assignment.
_AWK_FRAMES = r"""
function emit() { printf "F %d %d\n%s%s", length(name), length(buf), name, buf }
FNR == 1 { if (name != "") emit(); name = FILENAME; buf = "" }
{ buf = buf $0 "\n" }
END { if (name != "") emit() }
"""


def poll_script(host: Host) -> str:
    return f"""{_session_dir(host)}
{host.tmux} list-sessions -F {q('S #{session_name}')} 2>/dev/null
echo "T $?"
cd "$d" 2>/dev/null || {{ echo 'D missing'; exit 0; }}
nl='
'
set --
for f in *.json; do
  case $f in *"$nl"*) ;; *) [ -f "$f" ] && set -- "$@" "./$f" ;; esac
done
[ $# -gt 0 ] || exit 0
stat -c 'M %Y %s %n' -- "$@" 2>/dev/null || stat -f 'M %m %z %N' -- "$@"
echo '@files'
LC_ALL=C awk {q(_AWK_FRAMES)} "$@"
"""


def parse_poll(out: bytes) -> PollData:
    """Parse the poll script's output (see `poll_script`)."""
    head, _, frames = out.partition(b"\n@files\n")
    live: list[str] = []
    tmux_status = 0
    stats: dict[str, tuple[float, int]] = {}
    dir_missing = False
    for raw in head.split(b"\n"):
        line = raw.decode("utf-8", "replace")
        kind, _, rest = line.partition(" ")
        if kind == "S":
            live.append(rest)
        elif kind == "T":
            tmux_status = int(rest) if rest.isdigit() else 1
        elif kind == "D":
            dir_missing = True
        elif kind == "M":
            mtime, size, name = (rest.split(" ", 2) + ["", ""])[:3]
            if mtime.isdigit() and size.isdigit() and name.startswith("./"):
                stats[name[2:]] = (float(mtime), int(size))
    contents = _parse_frames(frames)
    files = tuple(
        StatusFile(name, mtime, size, contents.get(name)) for name, (mtime, size) in sorted(stats.items())
    )
    tmux = None if tmux_status == 127 else tuple(live)
    return PollData(tmux_sessions=tmux, files=files, dir_missing=dir_missing)


def _parse_frames(data: bytes) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        header = data[pos:end].split(b" ") if end >= 0 else []
        if len(header) != 3 or header[0] != b"F" or not header[1].isdigit() or not header[2].isdigit():
            break  # truncated or garbled output: keep what was framed so far
        name_len, content_len = int(header[1]), int(header[2])
        start = end + 1
        name = data[start : start + name_len].decode("utf-8", "replace").removeprefix("./")
        contents[name] = data[start + name_len : start + name_len + content_len]
        pos = start + name_len + content_len
    return contents


async def poll(host: Host, timeout: float) -> PollData:
    result = await host.run(poll_script(host), timeout=timeout)
    return parse_poll(_check(result, host, "poll").stdout)


# -- preview -------------------------------------------------------------------------------
async def preview(host: Host, session: str, lines: int, timeout: float) -> str:
    """The last `lines` lines of the session's active pane, with SGR colour codes kept."""
    script = f"{host.tmux} capture-pane -p -e -J -t {tmux_arg('=' + session + ':')} -S {-int(lines)}"
    result = _check(await host.run(script, timeout=timeout), host, f"preview of {session!r}")
    text = result.out.rstrip("\n ")
    return "\n".join(text.split("\n")[-lines:]) if text else ""


# -- git -----------------------------------------------------------------------------------
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
    return f"""cd {sh_path(cwd)} 2>/dev/null || {{ echo 'E no such directory'; exit 0; }}
command -v git >/dev/null 2>&1 || {{ echo 'E git is not installed'; exit 0; }}
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || {{ echo 'E not a git repository'; exit 0; }}
git status --porcelain=v2 --branch 2>/dev/null | awk {q(_GIT_CHANGES)}
git log -1 --format='L %h%x09%ct%x09%an%x09%s' 2>/dev/null
printf 'R %s\\n' "$(git config --get remote.origin.url)"
"""


def parse_git(out: str) -> GitInfo | str:
    """A GitInfo, or the reason there is none (e.g. 'not a git repository')."""
    fields: dict[str, Any] = {"branch": None, "changes": 0, "ahead": None, "behind": None, "upstream": None}
    last_commit = None
    remote = None
    for line in out.splitlines():
        if line.startswith("E "):
            return line[2:]
        if line.startswith("# branch.head "):
            fields["branch"] = line.split(" ", 2)[2]
        elif line.startswith("# branch.upstream "):
            fields["upstream"] = line.split(" ", 2)[2]
        elif line.startswith("# branch.ab "):
            ahead, behind = line.split(" ")[2:4]
            fields["ahead"], fields["behind"] = int(ahead.lstrip("+")), int(behind.lstrip("-"))
        elif line.startswith("C "):
            fields["changes"] = int(line[2:])
        elif line.startswith("L "):
            parts = line[2:].split("\t", 3)
            if len(parts) == 4:
                short, when, author, subject = parts
                last_commit = {"hash": short, "time": int(when), "author": author, "subject": subject}
        elif line.startswith("R "):
            remote = line[2:] or None
    return GitInfo(dirty=fields["changes"] > 0, last_commit=last_commit, remote=remote, **fields)


async def git_info(host: Host, cwd: str, timeout: float) -> GitInfo | str:
    if not cwd:
        return "the session has no working directory"
    result = await host.run(git_script(cwd), timeout=timeout)
    return parse_git(_check(result, host, "git").out)


# -- kill, prune ---------------------------------------------------------------------------
async def kill(host: Host, session: str, status_file: str | None, timeout: float) -> None:
    """Kill the tmux session (if it exists) and remove its status file (if any)."""
    script = f"""{_session_dir(host)}
if {host.tmux} has-session -t {tmux_target(session)} 2>/dev/null; then
  {host.tmux} kill-session -t {tmux_target(session)} || exit {EXIT_TMUX_FAILED}
fi
"""
    if status_file:
        script += f'rm -f -- "$d"/{q(status_file)}\n'
    _check(await host.run(script, timeout=timeout), host, f"kill {session!r}", {EXIT_TMUX_FAILED: "tmux refused"})


async def prune(host: Host, gone: list[tuple[str, str]], timeout: float) -> list[str]:
    """Remove the status files of sessions (name, file) whose tmux session is still gone.

    Returns the names pruned; a session that came back meanwhile is left alone.
    """
    lines = [_session_dir(host)]
    for name, status_file in gone:
        lines.append(
            f"{host.tmux} has-session -t {tmux_target(name)} 2>/dev/null || "
            f'{{ rm -f -- "$d"/{q(status_file)} && printf "P %s\\n" {q(name)}; }}'
        )
    result = _check(await host.run("\n".join(lines), timeout=timeout), host, "prune")
    return [line[2:] for line in result.out.splitlines() if line.startswith("P ")]


# -- rewriting status files: dismiss, rename -----------------------------------------------
async def read_status(host: Host, status_file: str, timeout: float) -> str:
    script = f'{_session_dir(host)}\ncat -- "$d"/{q(status_file)} 2>/dev/null || exit {EXIT_NO_FILE}'
    result = _check(await host.run(script, timeout=timeout), host, "read", {EXIT_NO_FILE: f"{status_file} is gone"})
    try:
        return result.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ActionFailed(f"{host.name}: {status_file} is not UTF-8 text") from None


def replace_file_script(directory: str, source: str, target: str, expected: str | None, before_write: str = "") -> str:
    """Replace `target` in `directory` (an sh expression) with stdin, atomically, if `source`
    still holds `expected` (None: if `source` still does not exist).

    Runs `before_write` after that check; `source` is removed when it differs from `target`.
    The new file keeps the old one's mode (`cp -p`, then overwritten in place), made writable
    for its owner.
    """
    if expected is None:
        check = f"[ -e {q(source)} ] && exit {EXIT_CHANGED}"
        keep_mode = ""
    else:
        check = f"printf '%s' {q(expected)} | cmp -s - {q(source)} || exit {EXIT_CHANGED}"
        keep_mode = f'cp -p -- {q(source)} "$tmp" 2>/dev/null && chmod u+w "$tmp"'
    script = f"""cd {directory} || exit {EXIT_NO_DIR}
{check}
{before_write}
tmp=$(mktemp .navish.XXXXXX) || exit {EXIT_WRITE_FAILED}
{keep_mode}
cat > "$tmp" && mv -f -- "$tmp" {q(target)} || {{ rm -f -- "$tmp"; exit {EXIT_WRITE_FAILED}; }}
"""
    if source != target:
        script += f"rm -f -- {q(source)}\n"
    return script


async def rewrite_status(
    host: Host,
    status_file: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    timeout: float,
    *,
    target: str | None = None,
    before_write: str = "",
    reasons: dict[int, str] | None = None,
    attempts: int = 3,
) -> dict[str, Any]:
    """Read-modify-write a status file, retrying when a hook rewrote it meanwhile.

    Every field `change` does not touch is kept as it was.
    """
    for _ in range(attempts):
        text = await read_status(host, status_file, timeout)
        try:
            obj = parse_status_object(text, status_file)
        except ValueError as exc:
            raise ActionFailed(f"{host.name}: cannot rewrite {status_file}: {exc}") from None
        new = change(dict(obj))
        script = replace_file_script(sh_path(host.session_dir), status_file, target or status_file, text, before_write)
        result = await host.run(script, stdin=json.dumps(new, ensure_ascii=False, indent=2) + "\n", timeout=timeout)
        if result.returncode != EXIT_CHANGED:
            _check(result, host, f"rewrite of {status_file}", {EXIT_WRITE_FAILED: "could not write the file", **(reasons or {})})
            return new
    raise ActionFailed(f"{host.name}: {status_file} keeps changing; try again")


async def dismiss(host: Host, status_file: str, now: float, timeout: float) -> dict[str, Any]:
    """Acknowledge a notification as navi does: status working, message cleared, timestamp now."""

    def change(obj: dict[str, Any]) -> dict[str, Any]:
        return {**obj, "status": "working", "message": "", "timestamp": int(now)}

    return await rewrite_status(host, status_file, change, timeout)


_BAD_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f:.#$/\\;]")


def check_new_name(name: str) -> None:
    """Refuse a name tmux would alter (`:` `.` `#` `$` ...) or that cannot name `NAME.json`."""
    if not name.strip():
        raise ActionFailed("the new name is empty")
    bad = _BAD_NAME_CHARS.search(name)
    if bad:
        raise ActionFailed(f"the new name cannot contain {one_line(bad.group())!r}")
    if len(name.encode()) > 200:
        raise ActionFailed("the new name is longer than 200 bytes")


async def rename(host: Host, session: str, status_file: str | None, new: str, live: bool, timeout: float) -> None:
    """Rename the tmux session and move its status file to `NEW.json`, rewriting `tmux_session`."""
    check_new_name(new)
    new_file = f"{new}.json"
    guard = f"""{host.tmux} has-session -t {tmux_target(new)} 2>/dev/null && exit {EXIT_EXISTS}
[ -e {q(new_file)} ] && exit {EXIT_EXISTS}"""
    rename_tmux = ""
    if live:
        rename_tmux = (
            f"{host.tmux} rename-session -t {tmux_target(session)} -- {tmux_arg(new)} || exit {EXIT_TMUX_FAILED}"
        )
    reasons = {EXIT_EXISTS: f"a session named {new!r} already exists", EXIT_TMUX_FAILED: "tmux refused the rename"}
    if status_file is None:
        script = f'{_session_dir(host)}\ncd "$d" 2>/dev/null || cd /\n{guard}\n{rename_tmux}'
        _check(await host.run(script, timeout=timeout), host, f"rename of {session!r}", reasons)
        return
    await rewrite_status(
        host,
        status_file,
        lambda obj: {**obj, "tmux_session": new},
        timeout,
        target=new_file,
        before_write=f"{guard}\n{rename_tmux}",
        reasons=reasons,
    )
