"""Answering a Claude Code session without attaching: read what its pane asks, then send keys
only if the pane and Claude Code's own state still say the same thing.

Observed with Claude Code 2.1.328: a permission dialog lists numbered options, "Yes" first and
"No" last (3 or 4 of them; a digit picks one at once); "No" interrupts the turn and leaves the
prompt waiting for what to do instead. An AskUserQuestion dialog lists its answers, then
"Type something." (a digit moves into a text field). Keys sent within ~0.3 s of a dialog appearing
are dropped, so the keys go out at least `SETTLE` seconds after the dialog was first read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .dialog import SCREEN_LINES, Screen, parse_screen, state_of
from .errors import ActionFailed
from .hosts.base import Host
from .model import Session
from .sanitize import one_line
from .sh import CLAUDE_SESSIONS, EXIT_CHANGED, EXIT_NO_SESSION, check_result, q, require_session_id, tmux_arg

SETTLE = 0.35
"""Seconds a dialog must have been on screen before it takes keys."""


def _locate(host: Host, session: Session) -> str:
    """sh that sets `$pane` to Claude Code's pane in the session (the known pane if it still
    belongs to the session named exactly so, else the session's active pane) and `$r` to Claude
    Code's registry file ("" when its pid is unknown)."""
    registry = "''" if session.claude_pid is None else f"{CLAUDE_SESSIONS}/{session.claude_pid}.json"
    return f"""{require_session_id(host, session.name)}
pane={q(session.tmux_pane)}
if [ -z "$pane" ] || [ "$({host.tmux} display-message -p -t "$pane" '#{{session_id}}' 2>/dev/null)" != "$id" ]; then
  pane=$({host.tmux} display-message -p -t "$id:" '#{{pane_id}}')
fi
r={registry}"""


def _screen(host: Host) -> str:
    """sh printing the last lines of `$pane`."""
    return f'{host.tmux} capture-pane -p -t "$pane" | tail -n {SCREEN_LINES}'


_PRINT_REGISTRY = """if [ -n "$r" ] && [ -r "$r" ]; then head -c 65536 "$r" | tr -d '\\n'; fi
echo"""
"""sh printing Claude Code's registry entry (capped) on one line."""


_GONE = {EXIT_NO_SESSION: "its tmux session is gone"}


async def read_screen(host: Host, session: Session, timeout: float) -> Screen:
    """What the session shows; while Claude Code says it waits but its dialog is not drawn yet
    (it is, a moment after the state changes), read again for up to a second."""
    for _ in range(10):
        screen = await _read_once(host, session, timeout)
        if screen.state != "waiting" or screen.kind in ("permission", "question"):
            break
        await asyncio.sleep(0.1)
    return screen


async def _read_once(host: Host, session: Session, timeout: float) -> Screen:
    """One run: the pane Claude Code runs in, its last lines, and Claude Code's registry entry."""
    script = f"""{_locate(host, session)}
echo "$pane"
{_PRINT_REGISTRY}
{_screen(host)}"""
    result = check_result(await host.run(script, timeout=timeout, limit=1 << 20), host, f"reading {one_line(session.ref)}", _GONE)
    pane, registry, text = ([*result.out.split("\n", 2), "", ""])[:3]
    return parse_screen(pane.strip(), registry, text)


@dataclass(frozen=True)
class Sent:
    state: str
    """Claude Code's state after the keys ("" when unknown)."""
    waiting_for: str


async def send_answer(
    host: Host, session: Session, screen: Screen, keys: list[str], *, then_type: str | None, timeout: float
) -> Sent:
    """Send `keys` (tmux key names) to the pane, then type `then_type` and Enter, only if the pane
    still shows exactly `screen`'s options and Claude Code's state is still `screen.state`.

    `then_type` waits for the text field: the prompt after "No" (Claude Code idle again) or the
    question's "Type something." field."""
    expect = "\n".join(f"{n}. {t}" for n, t in screen.options)
    awk = r"""{ line = $0; sub(/^[^0-9]*/, "", line); sub(/[ \t]+$/, "", line); seen[line] = 1 }
END { n = split(ENVIRON["expect"], want, "\n"); for (i = 1; i <= n; i++) if (!(want[i] in seen)) exit 1 }"""
    state_re = f'"status": ?"{screen.state}"'
    send = f'{host.tmux} send-keys -t "$pane" ' + " ".join(tmux_arg(k) for k in keys) if keys else ""
    typed = ""
    if then_type is not None:
        typed = f"""i=0
while [ $i -lt 40 ]; do
  if [ -n "$r" ]; then grep -Eq '"status": ?"(idle|waiting)"' "$r" 2>/dev/null && break; else break; fi
  sleep 0.05; i=$((i+1))
done
sleep {SETTLE}
{host.tmux} send-keys -t "$pane" -l -- {tmux_arg(then_type)}
{host.tmux} send-keys -t "$pane" Enter"""
    script = f"""{_locate(host, session)}
[ "$pane" = {q(screen.pane)} ] || exit {EXIT_CHANGED}
{_screen(host)} | expect={q(expect)} awk {q(awk)} || exit {EXIT_CHANGED}
if [ -n "$r" ] && [ -n {q(screen.state)} ]; then grep -Eq {q(state_re)} "$r" 2>/dev/null || exit {EXIT_CHANGED}; fi
{send}
{typed}
i=0
while [ -n "$r" ] && [ $i -lt 40 ] && grep -Eq {q(state_re)} "$r" 2>/dev/null; do sleep 0.05; i=$((i+1)); done
{_PRINT_REGISTRY}"""
    result = await host.run(script, timeout=timeout + 5, limit=1 << 20)
    if result.returncode == EXIT_CHANGED:
        raise ActionFailed(f"{one_line(session.ref)} changed before the keys went out: nothing sent; look again")
    check_result(result, host, f"answering {one_line(session.ref)}", _GONE)
    state, waiting_for = state_of(result.out.strip())
    return Sent(state, waiting_for)
