"""The poll: one script run that reports a host's tmux panes, Claude Code's own registry of live
sessions, and navish's status files.

Bounded and linear whatever the host holds. Claude Code's registry (`<config dir>/sessions/<pid>.json`)
is read only for live pids, each checked on the host (`kill -0`, and on Linux `procStart` and the
parent pid from `/proc/<pid>/stat`, read with the shell's own `read`: no fork per file). For the
status files, `find` lists the `*.json` files (names with a newline are skipped, so every name
fits on one line; `-exec ... {} +` keeps argv under the system limit) and `stat` gives their
mtimes and sizes. One `awk` per directory reads the files with `getline`, printing each content
line behind a `|` so no file can forge another's frame. At most `MAX_FILES` files are read per
directory and none beyond `MAX_STATUS_FILE_BYTES`; the whole answer is capped by
`POLL_OUTPUT_LIMIT`. A file that cannot be read is reported, not fatal.

Output, one record per line:

    P <pane id> <pane pid> <session id> <session name>   a tmux pane ($N, then the exact name)
    T <status>                        tmux's exit status (127: not installed)
    @registry                         Claude Code's registry follows (when its dir exists)
    A <pid> <ppid> <proc start>       a live pid with a registry file (ppid, start: Linux only)
    W <pane id>                       after a registry file saying `waiting`: its pane's last lines
                                      follow, as `|` lines and `E` (what the dialog asks)
    @status                           the status files follow
    D missing                         the session dir does not exist
    M <mtime> <size> ./<file name>    a file; its content lines follow
    |<content line>
    E [big|unreadable]                end of that file (and why it was not read)
    N <count>                         how many files there were, when more than MAX_FILES
"""

from __future__ import annotations

import asyncio

from .hosts.base import MiB, Host, sh_path
from .parsing import MAX_STATUS_FILE_BYTES, Pane, PollData, StatusFile
from .sh import CLAUDE_SESSIONS, check_result, q

MAX_FILES = 2000
"""Status files read per poll; more are counted and reported, not read."""
MAX_PANES = 10_000
"""tmux panes taken from one host; more are counted and reported."""
POLL_OUTPUT_LIMIT = 32 * MiB

_AWK_READER = r"""
/^M [0-9]+ [0-9]+ \.\// {
  if (++n > max_files) next
  print
  name = substr($0, length($2) + length($3) + 5)
  if ($3 + 0 > max_bytes) { print "E big"; next }
  size = 0; big = 0; waiting = 0; pane = ""
  while ((got = (getline line < name)) > 0) {
    size += length(line) + 1
    if (size > max_bytes + 1) { big = 1; break }
    print "|" line
    if (screens && line ~ /"status": ?"waiting"/) waiting = 1
    if (screens && match(line, /"tmux": ?"[^"]*\.%[0-9]+"/)) { pane = substr(line, RSTART, RLENGTH); sub(/.*\./, "", pane); sub(/"$/, "", pane) }
  }
  close(name)
  print (got < 0 ? "E unreadable" : big ? "E big" : "E")
  if (waiting && pane ~ /^%[0-9]+$/) {
    print "W " pane
    command = ENVIRON["tmux_words"] " capture-pane -p -t " pane " 2>/dev/null | tail -n 60"
    while ((command | getline line) > 0) print "|" line
    close(command)
    print "E"
  }
}
END { if (n > max_files) print "N " n }
"""


def poll_script(host: Host) -> str:
    read = f"awk -v max_files={MAX_FILES} -v max_bytes={MAX_STATUS_FILE_BYTES} {q(_AWK_READER)}"
    read_registry = f"tmux_words={q(host.tmux)} awk -v screens=1 -v max_files={MAX_FILES} -v max_bytes={MAX_STATUS_FILE_BYTES} {q(_AWK_READER)}"
    return f"""d={sh_path(host.session_dir)}
LC_ALL=C; export LC_ALL
{host.tmux} list-panes -a -F {q('P #{pane_id} #{pane_pid} #{session_id} #{session_name}')} 2>/dev/null
echo "T $?"
if cd {CLAUDE_SESSIONS} 2>/dev/null; then
  echo @registry
  m=
  for f in *.json; do
    pid=${{f%.json}}
    case $pid in ''|*[!0-9]*) continue ;; esac
    kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ] || continue
    pp= st=
    if [ -r "/proc/$pid/stat" ] && read -r line < "/proc/$pid/stat"; then
      set -- ${{line##*) }}; pp=$2; shift 19; st=$1
    fi
    echo "A $pid $pp $st"
    m="${{m}}M 0 0 ./$f
"
  done
  printf '%s' "$m" | {read_registry}
fi
echo @status
cd "$d" 2>/dev/null || {{ echo 'D missing'; exit 0; }}
nl='
'
if stat -c %Y . >/dev/null 2>&1; then set -- -c 'M %Y %s %n'; else set -- -f 'M %m %z %N'; fi
find -L . ! -name . -prune -type f -name '*.json' ! -name "*$nl*" -exec stat -L "$@" {{}} + 2>/dev/null | {read}
"""


def parse_poll(out: bytes, cut: str = "") -> PollData:
    """Parse the poll script's output (see the module docstring); `cut` notes a truncated answer."""
    panes: list[Pane] = []
    tmux_status = 0
    dir_missing = False
    files: dict[str, list[StatusFile]] = {"@registry": [], "@status": []}
    section = "@status"
    alive: dict[int, tuple[int | None, str | None]] = {}
    warnings: list[str] = []
    current: tuple[str, float, int] | None = None
    content: list[bytes] = []
    too_many_panes = 0
    screens: dict[str, str] = {}
    screen: str | None = None
    for raw in out.split(b"\n"):
        if current is not None and raw.startswith(b"|"):
            content.append(raw[1:])
            continue
        kind, _, rest = raw.decode("utf-8", "replace").partition(" ")
        if kind == "E" and screen is not None:
            screens[screen] = b"\n".join(content).decode("utf-8", "replace").rstrip()
            screen, current, content = None, None, []
        elif kind == "E" and current is not None:
            name, mtime, size = current
            where = "Claude Code's registry file " if section == "@registry" else ""
            if rest == "big":
                warnings.append(f"skipped {where}{name}: larger than {MAX_STATUS_FILE_BYTES // MiB} MiB")
            elif rest == "unreadable":
                warnings.append(f"skipped {where}{name}: cannot be read (removed meanwhile, or no permission)")
            else:
                files[section].append(StatusFile(name, mtime, size, b"\n".join(content) + b"\n"))
            current, content = None, []
        elif kind in files and not rest:
            section, current = kind, None
        elif kind == "P":
            pane_id, pane_pid, _, name = ([*rest.split(" ", 3), "", "", ""])[:4]
            if len(panes) >= MAX_PANES:
                too_many_panes += 1
            elif pane_id.startswith("%") and pane_pid.isdigit():
                panes.append(Pane(pane_id, int(pane_pid), name))
        elif kind == "T":
            tmux_status = int(rest) if rest.isdigit() else 1
        elif kind == "W" and section == "@registry" and rest.startswith("%") and rest[1:].isdigit():
            screen, current, content = rest, ("", 0.0, 0), []
        elif kind == "A":
            pid, ppid, start = ([*rest.split(" "), "", ""])[:3]
            if pid.isdigit():
                alive[int(pid)] = (int(ppid) if ppid.isdigit() else None, start or None)
        elif kind == "D":
            dir_missing = True
        elif kind == "M":
            mtime_text, size_text, path = [*rest.split(" ", 2), "", ""][:3]
            if mtime_text.isdigit() and size_text.isdigit() and path.startswith("./"):
                current, content = (path[2:], float(mtime_text), int(size_text)), []
        elif kind == "N" and rest.isdigit():
            what = "Claude Code registry files" if section == "@registry" else "status files"
            warnings.append(f"{rest} {what}; only {MAX_FILES} were read")
    if current is not None:
        warnings.append(f"skipped {current[0]}: the answer ended inside it")
    if too_many_panes:
        warnings.append(f"{MAX_PANES + too_many_panes} tmux panes; only the first {MAX_PANES} were read")
    if cut:
        warnings.append(f"poll {cut}")
    return PollData(
        tmux_sessions=None if tmux_status == 127 else tuple(dict.fromkeys(p.session for p in panes)),
        files=tuple(sorted(files["@status"], key=lambda f: f.name)),
        dir_missing=dir_missing,
        warnings=tuple(warnings),
        panes=tuple(panes),
        registry=tuple(files["@registry"]),
        alive=alive,
        screens=screens,
    )


async def poll(host: Host, timeout: float) -> PollData:
    """Run the poll on `host`; a large answer is parsed off the event loop."""
    result = check_result(await host.run(poll_script(host), timeout=timeout, limit=POLL_OUTPUT_LIMIT), host, "poll")
    if len(result.stdout) < MiB:
        return parse_poll(result.stdout, result.cut_note)
    return await asyncio.to_thread(parse_poll, result.stdout, result.cut_note)
