"""The status navish shows is what the real Claude Code is doing (issue 8), on this machine and on
an sshd host, with and without navish's hook: driven through the real client and `navish -c`."""

from __future__ import annotations

import json
import signal
from typing import Any, Callable

import pytest

from tests.claude_code import claude_bin, claude_factory, claude_host, fake_api  # noqa: F401
from tests.conftest import navish, wait_until, write_config
from tests.fake_anthropic import ask_user_question, bash, error, text


@pytest.fixture(params=["local", "ssh"])
def place(request, world, claude_factory, claude_host):  # type: ignore[no-untyped-def]
    """Where the claudes run: (start(**kw) -> Claude, host name, the host's HOME)."""
    if request.param == "local":
        write_config(world, "")
        return claude_factory.start, "local", claude_factory.home
    dev = claude_host("dev")
    write_config(world, dev.toml())
    return dev.start, "dev", dev.claude.home


def shown(world: dict[str, str], host: str, name: str) -> dict[str, Any] | None:
    """The session as `navish -c ls --json` shows it (None when not listed)."""
    result = navish(world, "-c", f"ls --all --json --host {host}")
    assert result.returncode == 0, result.stderr
    return next((s for s in json.loads(result.stdout) if s["name"] == name), None)


def until(world: dict[str, str], host: str, name: str, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def ok() -> bool:
        found.update(shown(world, host, name) or {"name": None})
        return bool(found.get("name")) and check(found)

    wait_until(ok, timeout=15, what=f"{what} (last seen: {found.get('status')!r} {found.get('message')!r})")
    return found


def test_without_hooks_the_registry_alone_tells_the_truth(world, place, fake_api, tmp_path):
    start, host, _ = place
    fake_api.on("run it", bash(f"touch {tmp_path / 'x'}", "Touch"), text("Done."))
    fake_api.on("ask", ask_user_question("Which color?", ["Red", "Blue"]), text("Thanks."))
    fake_api.on("slow", text("Slow answer.", delay=3))
    fake_api.on("broken", error(400, "invalid_request_error", "scripted failure"))
    claude = start()
    claude.wait_status("idle")
    s = until(world, host, claude.session, lambda s: s["status"] == "idle", "idle before any prompt")
    assert (s["source"], s["status_file"]) == ("registry", None) and s["cwd"] == str(claude.cwd)

    claude.prompt("slow")
    until(world, host, claude.session, lambda s: s["status"] == "working", "working during a turn")
    claude.wait_status("idle")

    claude.prompt("run it")
    claude.wait_status("waiting", "permission prompt")
    s = until(world, host, claude.session, lambda s: s["status"] == "permission", "permission at the prompt")
    assert s["needs_attention"]
    claude.wait_for("Do you want to proceed?")
    claude.answer("Escape")  # no hook fires for Esc: only the registry knows
    until(world, host, claude.session, lambda s: s["status"] == "idle", "not permission any more after Esc")

    claude.prompt("ask")
    claude.wait_status("waiting", "input needed")
    until(world, host, claude.session, lambda s: s["status"] == "waiting", "waiting on AskUserQuestion")
    claude.wait_for("Type something")
    claude.answer("1")
    claude.wait_status("idle")

    claude.prompt("broken")
    claude.wait_status("idle")
    until(world, host, claude.session, lambda s: s["status"] == "idle", "idle after an API error without hooks")

    claude.prompt("run it")
    claude.wait_status("waiting", "permission prompt")
    claude.kill(signal.SIGKILL)  # its registry file stays behind, still saying "waiting"
    assert claude.registry_path.exists()
    wait_until(
        lambda: (s := shown(world, host, claude.session)) is None or not s["needs_attention"],
        timeout=15,
        what="a killed claude no longer shown as waiting",
    )


def test_with_the_hook_the_details_are_added(world, place, fake_api, tmp_path):
    start, host, home = place
    install = navish(world, "-c", "install-hooks" + ("" if host == "local" else f" --remote {host}"))
    assert install.returncode == 0, install.stderr
    fake_api.on("run it", bash(f"touch {tmp_path / 'hi'}", "Touch"), text("All 42 tests pass."))
    fake_api.on("fail it", bash("mkdir /proc/nope", "Fail"), text("It failed."))
    fake_api.on("broken", error(400, "invalid_request_error", "scripted failure"))
    claude = start()
    claude.wait_status("idle")
    s = until(world, host, claude.session, lambda s: s["status"] == "idle" and s["source"] == "both", "idle with the hook's file")

    claude.prompt("run it")
    claude.wait_status("waiting", "permission prompt")
    s = until(world, host, claude.session, lambda s: s["status"] == "permission" and "touch" in s["message"], "the command in the message")
    assert s["message"].startswith(f"Bash: touch {tmp_path}")
    claude.wait_for("Do you want to proceed?")
    claude.answer("1")
    claude.wait_status("idle")
    s = until(world, host, claude.session, lambda s: s["status"] == "done", "done after the turn")
    assert "All 42 tests pass." in s["message"]
    tokens = s["metrics"]["tokens"]
    assert tokens["output"] >= 30 and tokens["input"] >= 120

    claude.prompt("fail it")
    claude.wait_status("waiting", "permission prompt")
    claude.wait_for("Do you want to proceed?")
    claude.answer("1")
    claude.wait_status("idle")
    until(world, host, claude.session, lambda s: s["status"] in ("done", "idle"), "back from a failed tool")

    claude.prompt("broken")
    claude.wait_status("idle")
    s = until(world, host, claude.session, lambda s: s["status"] == "error", "error after an API error")
    assert s["needs_attention"]

    claude.stop()  # tmux kill-session: SessionEnd runs with the pane gone
    sessions_dir = home / ".claude-sessions"
    assert sorted(p.name for p in sessions_dir.glob("*.json")) == [f"{claude.session}.json"]


def test_without_hooks_ls_says_what_a_blocked_session_asks(world, place, fake_api, tmp_path):
    start, host, _ = place
    fake_api.on("make it", bash(f"touch {tmp_path / 'x'}", "Touch"), text("Done."))
    fake_api.on("ask", ask_user_question("Which color?", ["Red", "Blue"]), text("Thanks."))
    claude = start()
    claude.wait_status("idle")
    claude.prompt("make it")
    claude.wait_status("waiting", "permission prompt")
    until(world, host, claude.session, lambda s: s["message"] == f"Bash command: touch {tmp_path / 'x'}", "the command in ls")
    claude.wait_for("Do you want to proceed?")
    claude.answer("Escape")
    claude.wait_status("idle")
    claude.prompt("ask")
    claude.wait_status("waiting", "input needed")
    until(world, host, claude.session, lambda s: s["message"] == "Which color?", "the question in ls")
