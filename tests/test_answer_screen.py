"""Reading Claude Code's dialogs off a pane (pure), from screens the real client drew."""

from __future__ import annotations

from pathlib import Path

from navish.dialog import parse_screen

DATA = Path(__file__).parent / "data" / "claude-code"
WAITING_PERMISSION = '{"status":"waiting","waitingFor":"permission prompt"}'


def test_a_permission_dialog_is_read_with_its_options_and_what_it_wants():
    screen = parse_screen("%1", WAITING_PERMISSION, (DATA / "permission-dialog.txt").read_text())
    assert screen.kind == "permission" and (screen.state, screen.waiting_for) == ("waiting", "permission prompt")
    assert screen.context == "Bash command: touch /tmp/pytest-of-root/pytest-153/test_probe0/made"
    assert screen.option(wanted="yes") == (1, "Yes")
    assert screen.option(wanted="always")[0] == 2  # type: ignore[index]
    assert screen.option(wanted="no") == (4, "No")


def test_a_three_option_dialog_has_no_always_and_no_is_still_last():
    text = "────────────────\n Do you want to proceed?\n ❯ 1. Yes\n   2. Yes, and switch to auto mode\n   3. No\n"
    screen = parse_screen("%1", WAITING_PERMISSION, text)
    assert screen.kind == "permission" and screen.option(wanted="always") is None and screen.option(wanted="no") == (3, "No")


def test_a_question_dialog_is_read_with_its_answers():
    screen = parse_screen("%1", '{"status":"waiting","waitingFor":"input needed"}', (DATA / "question-dialog.txt").read_text())
    assert screen.kind == "question" and screen.context == "Which color?"
    assert screen.option(wanted="blue") == (2, "Blue") and screen.option(wanted="type") == (3, "Type something.")


def test_text_that_only_looks_like_a_dialog_above_the_prompt_is_not_one():
    """Options must start at 1 below the last rule: numbered lines in the conversation do not count."""
    text = "● Steps:\n  1. Yes\n  2. No\n────────────────\n❯ \n────────────────\n"
    screen = parse_screen("%1", '{"status":"idle"}', text)
    assert screen.kind == "prompt" and screen.options == ()
