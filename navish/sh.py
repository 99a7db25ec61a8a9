"""Building blocks of the POSIX `sh` scripts navish runs on hosts: quoting, exit codes, and the
shell functions several actions share (finding a tmux session by exact name, taking the hook's lock).

Every value that reaches a script is quoted with `shlex.quote`; nothing read from a host is executed.
"""

from __future__ import annotations

import shlex

from .errors import ActionFailed
from .hosts.base import Host, ScriptResult, sh_path, tmux_escape
from .sanitize import one_line

q = shlex.quote

# Exit codes the scripts use to say what went wrong.
EXIT_EXISTS, EXIT_CHANGED, EXIT_NO_DIR, EXIT_WRITE_FAILED, EXIT_TMUX_FAILED, EXIT_NO_FILE = 10, 11, 12, 13, 14, 15
EXIT_LOCKED, EXIT_NO_SESSION, EXIT_NO_COMMAND = 16, 17, 18

CLAUDE_SESSIONS = '"${CLAUDE_CONFIG_DIR:-$HOME/.claude}/sessions"'
"""Claude Code's registry of live sessions on a host, as sh (one `<pid>.json` per process)."""

LOCK_FILE = ".navish-hook.lock"
"""The file in a session dir that navish's hook `flock`s around every update of a status file."""
LOCK_WAIT = 5

_PY_LOCK = f"""import fcntl, time
deadline = time.monotonic() + {LOCK_WAIT}
while True:
    try:
        fcntl.flock(9, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except BlockingIOError:
        if time.monotonic() > deadline:
            raise SystemExit(1)
        time.sleep(0.005)
"""

LOCK_FN = f"""lock() {{  # hold the hook's lock on dir $1 until the script ends (fd 9)
  ( : >>"$1/{LOCK_FILE}" ) 2>/dev/null || return 0
  exec 9>>"$1/{LOCK_FILE}"
  if command -v flock >/dev/null 2>&1; then flock -w {LOCK_WAIT} 9 || exit {EXIT_LOCKED}
  elif command -v python3 >/dev/null 2>&1; then python3 -c {q(_PY_LOCK)} || exit {EXIT_LOCKED}
  fi
}}"""
"""`lock DIR`: take the same `flock` the hook takes (flock(1), else python3, which every host with
the hook has). The lock belongs to the open file, so it is held until the script exits. A dir
where the lock file cannot be created is not written by a hook either: no lock is needed."""

LOCK_REASONS = {EXIT_LOCKED: f"the session dir stayed locked by a hook for {LOCK_WAIT}s; try again"}


def session_id_fn(host: Host) -> str:
    """`sid NAME`: print the id (`$N`) of the live tmux session named exactly NAME, or nothing.

    tmux reads `=NAME` targets with `:` and `.` as separators and `$...` as ids, so a name from a
    status file never becomes a target: scripts act on the id this finds, in the same run.
    """
    awk = 'substr($0, index($0, " ") + 1) == ENVIRON["n"] { print $1; exit }'
    return f"""sid() {{
  {host.tmux} list-sessions -F {q('#{session_id} #{session_name}')} 2>/dev/null | n=$1 awk {q(awk)}
}}"""


def require_session_id(host: Host, name: str) -> str:
    """Lines that set `$id` to the live tmux session named exactly `name`, else exit
    `EXIT_NO_SESSION`."""
    return f"""{session_id_fn(host)}
id=$(sid {q(name)})
[ -n "$id" ] || exit {EXIT_NO_SESSION}"""


def session_dir(host: Host) -> str:
    """The line that sets `$d` to the host's session dir."""
    return f"d={sh_path(host.session_dir)}"


def tmux_arg(value: str) -> str:
    """A tmux argument quoted for sh."""
    return q(tmux_escape(value))


def check_result(result: ScriptResult, host: Host, what: str, reasons: dict[int, str] | None = None) -> ScriptResult:
    """`result` when the script succeeded (or was stopped at its output cap); else ActionFailed
    with the reason its exit status names."""
    if result.returncode == 0 or result.cut is not None:
        return result
    reason = (reasons or {}).get(result.returncode) or one_line(result.err, 200) or f"exit status {result.returncode}"
    raise ActionFailed(f"{what} on {host.name} failed: {reason}")
