"""The poll: one script run that reports a host's live tmux sessions and its status files.

Bounded and linear whatever the host holds: `find` lists the `*.json` files (names with a newline
are skipped, so every name fits on one line; `-exec ... {} +` keeps argv under the system limit),
`stat` gives their mtimes and sizes, and one `awk` reads the stat lines on its standard input and
the files themselves with `getline`, printing each content line behind a `|` so no file can forge
another's frame. At most `MAX_FILES` files are read and none beyond `MAX_STATUS_FILE_BYTES`; the
whole answer is capped by `POLL_OUTPUT_LIMIT`. A file that cannot be read is reported, not fatal.

Output, one record per line:

    S <session id> <session name>     a live tmux session ($N, then the exact name)
    T <status>                        tmux's exit status (127: not installed)
    D missing                         the session dir does not exist
    M <mtime> <size> ./<file name>    a status file; its content lines follow
    |<content line>
    E [big|unreadable]                end of that file (and why it was not read)
    N <count>                         how many files there were, when more than MAX_FILES
"""

from __future__ import annotations

import asyncio

from .hosts.base import MiB, Host, sh_path
from .parsing import MAX_STATUS_FILE_BYTES, PollData, StatusFile
from .sh import check_result, q

MAX_FILES = 2000
"""Status files read per poll; more are counted and reported, not read."""
POLL_OUTPUT_LIMIT = 32 * MiB

_AWK_READER = r"""
/^M [0-9]+ [0-9]+ \.\// {
  if (++n > max_files) next
  print
  name = substr($0, length($2) + length($3) + 5)
  if ($3 + 0 > max_bytes) { print "E big"; next }
  size = 0; big = 0
  while ((got = (getline line < name)) > 0) {
    size += length(line) + 1
    if (size > max_bytes + 1) { big = 1; break }
    print "|" line
  }
  close(name)
  print (got < 0 ? "E unreadable" : big ? "E big" : "E")
}
END { if (n > max_files) print "N " n }
"""


def poll_script(host: Host) -> str:
    return f"""d={sh_path(host.session_dir)}
LC_ALL=C; export LC_ALL
{host.tmux} list-sessions -F {q('S #{session_id} #{session_name}')} 2>/dev/null
echo "T $?"
cd "$d" 2>/dev/null || {{ echo 'D missing'; exit 0; }}
nl='
'
if stat -c %Y . >/dev/null 2>&1; then set -- -c 'M %Y %s %n'; else set -- -f 'M %m %z %N'; fi
find -L . ! -name . -prune -type f -name '*.json' ! -name "*$nl*" -exec stat -L "$@" {{}} + 2>/dev/null |
  awk -v max_files={MAX_FILES} -v max_bytes={MAX_STATUS_FILE_BYTES} {q(_AWK_READER)}
"""


def parse_poll(out: bytes, cut: str = "") -> PollData:
    """Parse the poll script's output (see the module docstring); `cut` notes a truncated answer."""
    live: list[str] = []
    tmux_status = 0
    dir_missing = False
    files: list[StatusFile] = []
    warnings: list[str] = []
    current: tuple[str, float, int] | None = None
    content: list[bytes] = []
    for raw in out.split(b"\n"):
        if current is not None and raw.startswith(b"|"):
            content.append(raw[1:])
            continue
        kind, _, rest = raw.decode("utf-8", "replace").partition(" ")
        if kind == "E" and current is not None:
            name, mtime, size = current
            if rest == "big":
                warnings.append(f"skipped {name}: larger than {MAX_STATUS_FILE_BYTES // MiB} MiB")
            elif rest == "unreadable":
                warnings.append(f"skipped {name}: cannot be read (removed meanwhile, or no permission)")
            else:
                files.append(StatusFile(name, mtime, size, b"\n".join(content) + b"\n"))
            current, content = None, []
        elif kind == "S":
            _, _, name = rest.partition(" ")
            live.append(name)
        elif kind == "T":
            tmux_status = int(rest) if rest.isdigit() else 1
        elif kind == "D":
            dir_missing = True
        elif kind == "M":
            mtime, size, path = (rest.split(" ", 2) + ["", ""])[:3]
            if mtime.isdigit() and size.isdigit() and path.startswith("./"):
                current, content = (path[2:], float(mtime), int(size)), []
        elif kind == "N" and rest.isdigit():
            warnings.append(f"{rest} status files; only {MAX_FILES} were read")
    if current is not None:
        warnings.append(f"skipped {current[0]}: the answer ended inside it")
    if cut:
        warnings.append(f"poll {cut}")
    tmux = None if tmux_status == 127 else tuple(live)
    files.sort(key=lambda f: f.name)
    return PollData(tmux_sessions=tmux, files=tuple(files), dir_missing=dir_missing, warnings=tuple(warnings))


async def poll(host: Host, timeout: float) -> PollData:
    """Run the poll on `host`; a large answer is parsed off the event loop."""
    result = check_result(await host.run(poll_script(host), timeout=timeout, limit=POLL_OUTPUT_LIMIT), host, "poll")
    if len(result.stdout) < MiB:
        return parse_poll(result.stdout, result.cut_note)
    return await asyncio.to_thread(parse_poll, result.stdout, result.cut_note)
