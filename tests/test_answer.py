"""Answering the real Claude Code from navish, without attaching (issue 10): approve, deny,
reply, keys, next and bulk approve, on this machine and over sshd, against the fake API."""

from __future__ import annotations

import json

from tests.claude_code import claude_bin, claude_factory, claude_host, fake_api  # noqa: F401
from tests.conftest import navish, wait_until, write_config
from tests.fake_anthropic import ask_user_question, bash, script_make_and_refuse, text


def _quiet(world):  # type: ignore[no-untyped-def]
    write_config(world, "")


def test_approve_runs_the_tool_deny_does_not_and_says_what_it_did(world, claude_factory, fake_api, tmp_path):
    _quiet(world)
    made, refused = script_make_and_refuse(fake_api, tmp_path)
    claude = claude_factory.start()
    claude.wait_status("idle")

    claude.prompt("make it")
    claude.wait_status("waiting", "permission prompt")
    nxt = navish(world, "-c", "next")
    assert nxt.returncode == 0, nxt.stderr
    assert nxt.stdout.startswith("local:cc1  permission")
    assert f"Bash command: touch {made}" in nxt.stdout and "4. No" in nxt.stdout
    assert "approve local:cc1 · deny local:cc1 [MESSAGE] · attach local:cc1" in nxt.stdout
    result = navish(world, "-c", "approve")  # no SESSION: the most urgent
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("approved local:cc1 (Bash command: touch /") and ") → " in result.stdout
    wait_until(made.exists, what="the approved command to run")

    claude.wait_status("idle")
    claude.prompt("refuse it")
    claude.wait_status("waiting", "permission prompt")
    result = navish(world, "-c", "deny cc1 use echo instead")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("denied local:cc1 (Bash command: touch /") and ") → " in result.stdout
    wait_until(lambda: any("use echo instead" in r.prompt for r in fake_api.main_requests()), what="the message to reach Claude")
    assert not refused.exists()

    claude.wait_for("Echoing instead.")  # the turn the message started is over (before it, idle is the interrupt's)
    claude.wait_status("idle")
    gone = navish(world, "-c", "approve cc1")
    assert gone.returncode == 1
    assert "local:cc1 shows no permission prompt (Claude Code is idle); nothing sent" in gone.stderr


def test_reply_to_a_question_by_label_by_text_and_to_the_prompt(world, claude_factory, fake_api):
    _quiet(world)
    fake_api.on("pick one", ask_user_question("Which color?", ["Red", "Blue"]), text("Thanks."))
    fake_api.on("pick again", ask_user_question("Which shape?", ["Square", "Circle"]), text("Noted."))
    claude = claude_factory.start()
    claude.wait_status("idle")
    claude.prompt("pick one")
    claude.wait_status("waiting", "input needed")
    result = navish(world, "-c", "reply cc1 blue")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("replied to local:cc1 (Which color?) → ")
    claude.wait_for("Which color? → Blue")

    claude.wait_status("idle")
    claude.prompt("pick again")
    claude.wait_status("waiting", "input needed")
    assert navish(world, "-c", "reply cc1 a triangle, please").returncode == 0
    claude.wait_for("Which shape? → a triangle, please")

    claude.wait_status("idle")
    assert navish(world, "-c", "reply cc1 now write the docs").returncode == 0
    wait_until(lambda: any(r.prompt == "now write the docs" for r in fake_api.main_requests()), what="the typed prompt")
    bad = navish(world, "-c", "reply cc1 'two\nlines'")
    assert bad.returncode == 2 and "one line of printable characters" in bad.stderr


def test_approve_hits_claudes_pane_not_the_active_one(world, claude_factory, fake_api, tmp_path, tmux):
    _quiet(world)
    made = tmp_path / "made"
    fake_api.on("make it", bash(f"touch {made}"), text("Made."))
    claude = claude_factory.start()
    claude.wait_status("idle")
    tmux("split-window", "-t", f"={claude.session}:", "exec cat")  # the new pane is the active one
    claude.prompt("make it")
    claude.wait_status("waiting", "permission prompt")
    result = navish(world, "-c", "approve cc1")
    assert result.returncode == 0, result.stderr
    wait_until(made.exists, what="the approved command to run")


def test_always_answers_with_the_option_that_allows_it_for_good(world, claude_factory, fake_api, tmp_path):
    """Which option --always picks is checked on the real dialog's text in test_answer_screen."""
    _quiet(world)
    fake_api.on("make it", bash(f"touch {tmp_path / 'made'}"), text("Made."))
    claude = claude_factory.start()
    claude.wait_status("idle")
    claude.prompt("make it")
    claude.wait_status("waiting", "permission prompt")
    claude.wait_for("Yes, and always allow")
    result = navish(world, "-c", "approve cc1 --always")
    assert result.returncode == 0, result.stderr
    wait_until((tmp_path / "made").exists, what="the command to run")
    wait_until(lambda: "Ran 1 shell command" in claude.screen(), what="the tool to be shown as run")


def test_bulk_approve_on_two_hosts_with_a_hostile_prompt_text(world, claude_factory, claude_host, fake_api, tmp_path):
    dev = claude_host("dev")
    write_config(world, dev.toml())
    hostile = "printf '\\033]52;c;cHduZWQ=\\007\\u202e' > /dev/null"
    fake_api.on("local job", bash(f"touch {tmp_path / 'local-made'}"), text("Done."))
    fake_api.on("remote job", bash(f"touch {dev.claude.home / 'remote-made'}; {hostile}"), text("Done."))
    here = claude_factory.start()
    there = dev.start()
    here.wait_status("idle")
    there.wait_status("idle")
    here.prompt("local job")
    there.prompt("remote job")
    here.wait_status("waiting", "permission prompt")
    there.wait_status("waiting", "permission prompt")
    ask = navish(world, "-c", "approve --status permission")
    assert ask.returncode == 2 and "approve: add -y to confirm" in ask.stderr
    result = navish(world, "-c", "approve --status permission -y")
    assert result.returncode == 0, result.stderr
    lines = sorted(result.stdout.splitlines())
    assert len(lines) == 2 and lines[0].startswith("approved dev:cc1 (Bash command: touch") and lines[1].startswith("approved local:cc1")
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout and "\x07" not in result.stdout
    wait_until(lambda: (tmp_path / "local-made").exists() and (dev.claude.home / "remote-made").exists(), what="both tools to run")
    listed = {s["host"]: s for s in json.loads(navish(world, "-c", "ls --json").stdout)}
    assert set(listed) == {"local", "dev"}


def test_keys_reach_the_pane(world, claude_factory):
    _quiet(world)
    claude = claude_factory.start()
    claude.wait_status("idle")
    result = navish(world, "-c", "keys cc1 h i")
    assert result.returncode == 0 and result.stdout.startswith("sent 2 keys to local:cc1")
    claude.wait_for("❯ hi")
