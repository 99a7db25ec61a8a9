"""The status merge: Claude Code's registry is the authority for the state, the hook file adds
the details. Registry payloads are the real client's (tests/data/claude-code, as Claude Code 2.1.328 wrote them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from navish.merge import host_sessions
from navish.parsing import Pane, PollData, StatusFile

EXAMPLES = Path(__file__).parent / "data" / "claude-code"
PID, PPID, START = 22266, 22200, "276769"
T = 1795713659.674  # statusUpdatedAt of registry-busy.json, in seconds


def registry(state: str | None, **changes) -> dict:  # type: ignore[type-arg]
    """A registry object as the real client writes it, in `state` (None: the first write)."""
    obj = json.loads((EXAMPLES / "registry-first-write.json").read_text())
    if state is not None:
        obj.update(status=state, updatedAt=int(T * 1000), statusUpdatedAt=int(T * 1000))
    obj.update(changes)
    return obj


def hook(status: str, message: str = "", at: float = T, name: str = "cc1") -> StatusFile:
    obj = {"tmux_session": name, "status": status, "message": message, "cwd": "/home/dev/proj", "timestamp": int(at)}
    return StatusFile(f"{name}.json", at, 100, json.dumps(obj).encode())


def poll(reg: dict | None, *hooks: StatusFile, alive=True, start=START, panes=(Pane("%1", PPID, "cc1"),)) -> PollData:  # type: ignore[type-arg]
    files = () if reg is None else (StatusFile(f"{reg['pid']}.json", 0, 0, json.dumps(reg).encode()),)
    return PollData(
        tmux_sessions=tuple(dict.fromkeys(p.session for p in panes)),
        files=hooks,
        panes=panes,
        registry=files,
        alive={PID: (PPID, start)} if alive else {},
    )


def only(data: PollData):  # type: ignore[no-untyped-def]
    found = host_sessions("dev", data, include_untracked=False)
    (session,) = found.sessions
    return session


def test_a_session_without_hooks_is_listed_from_the_registry_alone():
    s = only(poll(registry("busy")))
    assert (s.name, s.status, s.source, s.cwd, s.live) == ("cc1", "working", "registry", "/home/dev/proj", True)
    assert s.status_since == pytest.approx(T) and s.recency() == pytest.approx(T)
    assert (s.tmux_pane, s.claude_pid) == ("%1", PID)
    assert s.fields["claude_code"]["sessionId"].startswith("b2e8")


def test_the_first_write_without_a_status_is_idle():
    s = only(poll(registry(None)))
    assert s.status == "idle" and s.status_since == pytest.approx(1795713654.222)


@pytest.mark.parametrize(
    ("waiting_for", "status"), [("permission prompt", "permission"), ("input needed", "waiting"), ("dialog open", "waiting")]
)
def test_waiting_maps_to_permission_or_waiting(waiting_for, status):
    s = only(poll(registry("waiting", waitingFor=waiting_for)))
    assert s.status == status and s.needs_attention
    assert s.message == f"Claude Code: {waiting_for}"


def test_the_hook_adds_the_message_when_it_agrees():
    s = only(poll(registry("waiting", waitingFor="permission prompt"), hook("permission", "Bash: npm test", at=T - 0.5)))
    assert (s.status, s.message, s.source) == ("permission", "Bash: npm test", "both")


def test_a_hook_stuck_on_permission_after_esc_does_not_win():
    """Esc or "No" at a prompt fires no hook: the registry's idle is the truth."""
    s = only(poll(registry("idle"), hook("permission", "Bash: rm -rf build", at=T - 30)))
    assert (s.status, s.message) == ("idle", "")
    assert not s.needs_attention


def test_a_hook_stuck_on_working_after_esc_does_not_win():
    assert only(poll(registry("idle"), hook("working", at=T - 30))).status == "idle"


def test_approved_prompt_is_working_at_once():
    s = only(poll(registry("busy"), hook("permission", "Bash: sleep 10", at=T - 1)))
    assert (s.status, s.message) == ("working", "")


@pytest.mark.parametrize("ended", ["done", "error"])
def test_idle_after_a_turn_is_how_the_hook_says_it_ended(ended):
    s = only(poll(registry("idle"), hook(ended, "All 42 tests pass.", at=T)))
    assert (s.status, s.message) == (ended, "All 42 tests pass.")


def test_an_older_done_does_not_describe_a_later_idle():
    assert only(poll(registry("idle"), hook("done", "old turn", at=T - 60))).status == "idle"


def test_a_dead_process_counts_as_no_registry_file():
    s = only(poll(registry("waiting", waitingFor="permission prompt"), hook("working"), alive=False))
    assert (s.status, s.source) == ("working", "hook")


def test_a_reused_pid_counts_as_no_registry_file():
    s = only(poll(registry("busy"), hook("done"), start="999"))
    assert (s.status, s.source) == ("done", "hook")


def test_legacy_and_foreign_files_are_ignored():
    legacy = StatusFile("pid-4242.json", 0, 0, (EXAMPLES / "legacy-pid-4242.json").read_bytes())
    wrong_pid = StatusFile(f"{PID}.json", 0, 0, json.dumps(registry("busy", pid=1)).encode())
    data = PollData(tmux_sessions=("cc1",), panes=(Pane("%1", PPID, "cc1"),), registry=(legacy, wrong_pid), alive={PID: (PPID, START)})
    assert host_sessions("dev", data, include_untracked=False).sessions == ()


def test_matched_by_pid_when_the_pane_is_unknown():
    """`tmux` is missing or names another pane: the pane's pid (claude as the pane's command) or
    its parent (claude under the pane's shell) still finds the session; a stale session part never counts."""
    reg = registry("busy", tmux="renamed-long-ago:@1.%77")
    assert only(poll(reg, panes=(Pane("%3", PID, "work"),))).name == "work"
    assert only(poll(reg, panes=(Pane("%3", PPID, "work"),))).name == "work"


def test_the_pane_id_wins_over_a_stale_session_name():
    reg = registry("busy", tmux="old-name:@1.%5")
    panes = (Pane("%5", 4242, "new-name"), Pane("%6", PPID, "other"))
    assert only(poll(reg, panes=panes)).name == "new-name"


def test_outside_tmux_the_session_is_named_like_the_hook_names_it():
    reg = registry("waiting", waitingFor="input needed")
    del reg["tmux"]
    data = poll(reg, hook("waiting", "Which branch?", name="claude-b2e88542"), panes=())
    s = only(data)
    assert (s.name, s.status, s.message, s.source) == ("claude-b2e88542", "waiting", "Which branch?", "both")


def test_two_claudes_in_one_tmux_session_show_the_more_urgent():
    other = registry("waiting", pid=PID + 1, waitingFor="permission prompt", tmux="cc1:@1.%2")
    data = poll(registry("busy"))
    data = PollData(
        tmux_sessions=("cc1",),
        panes=(Pane("%1", PPID, "cc1"), Pane("%2", 5, "cc1")),
        registry=(*data.registry, StatusFile(f"{PID + 1}.json", 0, 0, json.dumps(other).encode())),
        alive={PID: (PPID, START), PID + 1: (5, START)},
    )
    assert only(data).status == "permission"


def test_without_a_hook_the_dialog_on_screen_says_what_is_asked():
    dialog = (EXAMPLES / "permission-dialog.txt").read_text()
    data = poll(registry("waiting", waitingFor="permission prompt"))
    data = PollData(tmux_sessions=data.tmux_sessions, panes=data.panes, registry=data.registry, alive=data.alive,
                    screens={"%1": dialog})
    s = only(data)
    assert (s.status, s.message) == ("permission", "Bash command: touch /tmp/pytest-of-root/pytest-153/test_probe0/made")
    question = (EXAMPLES / "question-dialog.txt").read_text()
    data = PollData(tmux_sessions=data.tmux_sessions, panes=data.panes, registry=poll(registry("waiting", waitingFor="input needed")).registry,
                    alive=data.alive, screens={"%1": question})
    assert only(data).message == "Which color?"
