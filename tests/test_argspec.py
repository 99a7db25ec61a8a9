"""Argument parsing, and the command table's help and usage errors (no handler ever runs here)."""

import asyncio
from dataclasses import replace

import pytest

from navish.argspec import Kind, Opt, Pos, convert, parse_args, split_line
from navish.commands import COMMANDS, find_command, help_text
from navish.commands.base import Command, dispatch
from navish.errors import UsageError

POS = (Pos("SESSION", Kind.SESSION), Pos("NEW", optional=True))
OPTS = (
    Opt(("-y", "--yes")),
    Opt(("-n", "--lines"), "LINES", Kind.INT),
    Opt(("--sort",), "KEY", Kind.CHOICE, ("name", "age")),
    Opt(("--wait",), "SECONDS", Kind.NUMBER),
    Opt(("--dry-run",)),
)


def parse(*words):
    return parse_args("cmd", POS, OPTS, list(words))


def test_defaults():
    assert parse("a") == {"session": "a", "new": None, "yes": False, "lines": None, "sort": None, "wait": None, "dry_run": False}


def test_flags_and_values_in_any_order():
    got = parse("-y", "a", "--lines", "5", "b", "--sort", "age", "--dry-run")
    assert got["yes"] is True and got["dry_run"] is True
    assert got["lines"] == 5 and got["sort"] == "age"
    assert (got["session"], got["new"]) == ("a", "b")


def test_short_and_long_spellings_share_a_destination():
    assert parse("a", "-n", "3")["lines"] == 3
    assert parse("a", "--yes")["yes"] is True


def test_inline_values():
    got = parse("a", "--lines=7", "--sort=name", "--wait=0.5")
    assert got["lines"] == 7 and got["sort"] == "name" and got["wait"] == 0.5


def test_empty_inline_value_is_checked_against_choices():
    with pytest.raises(UsageError, match="must be one of name, age"):
        parse("a", "--sort=")


def test_double_dash_ends_options():
    got = parse("--", "-y", "--lines")
    assert (got["session"], got["new"], got["yes"], got["lines"]) == ("-y", "--lines", False, None)


def test_negative_number_is_a_positional():
    assert parse("-5")["session"] == "-5"


def test_later_value_wins():
    assert parse("a", "-n", "1", "-n", "2")["lines"] == 2


@pytest.mark.parametrize(
    "words,message",
    [
        ([], "cmd: missing SESSION"),
        (["a", "b", "c"], "cmd: unexpected argument 'c'"),
        (["a", "--bogus"], "cmd: unknown option '--bogus'"),
        (["a", "--bogus=1"], "cmd: unknown option '--bogus=1'"),
        (["a", "-x"], "cmd: unknown option '-x'"),
        (["a", "--yes=1"], "cmd: --yes takes no value"),
        (["a", "--lines"], "cmd: --lines needs a value (LINES)"),
        (["a", "-n", "many"], "cmd: -n expects a whole number of at least 1, not 'many'"),
        (["a", "-n", "0"], "cmd: -n expects a whole number of at least 1, not '0'"),
        (["a", "-n", "-3"], "cmd: -n expects a whole number of at least 1, not '-3'"),
        (["a", "-n", "2.5"], "cmd: -n expects a whole number"),
        (["a", "--wait", "soon"], "cmd: --wait expects a number of at least 0, not 'soon'"),
        (["a", "--wait", "-1"], "cmd: --wait expects a number of at least 0"),
        (["a", "--wait", "nan"], "cmd: --wait expects a number of at least 0"),
        (["a", "--sort", "size"], "cmd: --sort must be one of name, age, not 'size'"),
    ],
)
def test_usage_errors(words, message):
    with pytest.raises(UsageError) as exc:
        parse(*words)
    assert str(exc.value).startswith(message)
    assert exc.value.exit_code == 2
    assert "\n" not in str(exc.value)


def test_number_accepts_zero_and_fractions():
    assert parse("a", "--wait", "0")["wait"] == 0.0
    assert parse("a", "--wait", "1.25")["wait"] == 1.25


def test_positional_choices():
    pos = (Pos("MODE", Kind.CHOICE, True, ("all", "local", "remote")),)
    assert parse_args("filter", pos, (), ["local"]) == {"mode": "local"}
    assert parse_args("filter", pos, (), []) == {"mode": None}
    with pytest.raises(UsageError, match="filter: MODE must be one of all, local, remote, not 'dev'"):
        parse_args("filter", pos, (), ["dev"])


def test_convert_int():
    assert convert("c", "N", Kind.INT, "12") == 12
    assert convert("c", "N", Kind.TEXT, "12") == "12"


def test_split_line_is_posix_shell_like():
    assert split_line("""kill 'my session' -y""") == ["kill", "my session", "-y"]
    assert split_line('rename a "b c"') == ["rename", "a", "b c"]
    assert split_line(r"attach my\ api") == ["attach", "my api"]
    assert split_line("ls $(rm -rf ~) ; x") == ["ls", "$(rm", "-rf", "~)", ";", "x"]
    with pytest.raises(UsageError, match="cannot parse the line"):
        split_line("kill 'open")


def test_opt_usage_and_dest():
    assert Opt(("-n", "--lines"), "LINES").usage == "[-n LINES]"
    assert Opt(("--dry-run",)).dest == "dry_run"
    assert Pos("X", optional=True).usage == "[X]"


# -- the command table -------------------------------------------------------------------------
def run(line):
    return asyncio.run(dispatch(COMMANDS, None, line))


def test_every_documented_command_exists():
    names = {c.name for c in COMMANDS}
    for name in ("ls", "filter", "preview", "git", "kill", "rename", "dismiss", "attach", "refresh", "prune", "help", "exit"):
        assert name in names
    assert find_command(COMMANDS, ["quit"])[0].name == "exit"


def test_help_lists_every_command():
    text = run("help").text
    for command in COMMANDS:
        assert f"  {command.name} " in text
    assert "HOST:SESSION" in text


def test_help_for_one_command():
    text = run("help ls").text
    assert text.startswith("usage: ls [PATTERN] [--status S] [--host H] [--sort KEY] [--json]")
    assert "--sort KEY" in text and "attention" in text and "--all, -a" in text
    assert "PATTERN matches" in text
    assert help_text(COMMANDS, "rename").startswith("usage: rename SESSION NEW")
    assert "aliases: quit" in help_text(COMMANDS, "exit")


def test_help_for_a_command_group():
    text = run("help remote").text
    assert text.startswith("usage: remote")
    for sub in ("add", "list", "remove", "test", "trust"):
        assert f"remote {sub}" in text
    assert help_text(COMMANDS, "remote remove").startswith("usage: remote remove NAME")
    assert run("help 'remote remove'").text.startswith("usage: remote remove NAME")
    assert run("remote remove -h").text.startswith("usage: remote remove NAME")


def test_help_for_a_subcommand_typed_as_two_words():
    """`help remote add` is how a user asks; it must not be a usage error."""
    assert run("help remote remove").text == help_text(COMMANDS, "remote remove")


@pytest.mark.parametrize(
    "line,message",
    [
        ("remote bogus", "remote: unknown subcommand 'bogus' (expected one of: add, list, remove, mute, unmute, test, trust)"),
        ("remote remove", "remote remove: missing NAME"),
        ("remote remove a b", "remote remove: unexpected argument 'b'"),
        ("remote list --bogus", "remote list: unknown option '--bogus'"),
    ],
)
def test_remote_usage_errors(line, message):
    with pytest.raises(UsageError) as exc:
        run(line)
    assert str(exc.value) == message or str(exc.value).startswith(message)
    assert exc.value.exit_code == 2


def test_dash_h_is_help():
    assert run("kill -h").text == help_text(COMMANDS, "kill")
    assert run("rename --help").text.startswith("usage: rename SESSION NEW")


def test_help_of_unknown_command():
    with pytest.raises(UsageError, match="unknown command 'bogus'"):
        run("help bogus")
    with pytest.raises(UsageError, match="no command 'ls extra'"):
        help_text(COMMANDS, "ls extra")


def test_empty_line_does_nothing():
    result = run("   ")
    assert result.text == "" and result.exit_code == 0 and not result.exit_shell


def test_exit_and_quit_leave():
    assert run("exit").exit_shell and run("quit").exit_shell


@pytest.mark.parametrize(
    "line,message",
    [
        ("bogus", "unknown command 'bogus' (try: help)"),
        ("bogus\x1b]0;x\x07 a", "unknown command 'bogus' (try: help)"),
        ("ls --bogus", "ls: unknown option '--bogus'"),
        ("ls --sort size", "ls: --sort must be one of attention, name, age, status, dir, not 'size'"),
        ("ls a b", "ls: unexpected argument 'b'"),
        ("rename", "rename: missing SESSION"),
        ("preview x -n 0", "preview: -n expects a whole number of at least 1"),
        ("preview x -n", "preview: -n needs a value"),
        ("rename a", "rename: missing NEW"),
        ("kill a --yes=no", "kill: --yes takes no value"),
        ("refresh --count x", "refresh: --count expects a whole number"),
        ("kill 'a", "cannot parse the line"),
        ("exit now", "exit: unexpected argument 'now'"),
    ],
)
def test_usage_errors_exit_2(line, message):
    with pytest.raises(UsageError) as exc:
        run(line)
    assert str(exc.value).startswith(message)
    assert exc.value.exit_code == 2
    assert "\x1b" not in str(exc.value) and "\x07" not in str(exc.value)


# -- issue 12 item 19: the small things ----------------------------------------------------------
def test_a_near_miss_suggests_the_command():
    with pytest.raises(UsageError) as exc:
        run("lss")
    assert str(exc.value) == "unknown command 'lss' (did you mean ls?)" and exc.value.exit_code == 2
    with pytest.raises(UsageError, match=r"^unknown command 'previwe' \(did you mean preview\?\)$"):
        run("previwe x")
    with pytest.raises(UsageError, match=r"^remote: unknown subcommand 'lsit' \(did you mean list\?\)$"):
        run("remote lsit")
    with pytest.raises(UsageError, match=r"^unknown command 'xyzzy' \(try: help\)$"):
        run("xyzzy")


def test_question_mark_is_help():
    assert run("?").text == run("help").text
    assert run("\\?").text == run("help").text  # typed `\?`: the shell-like split makes it `?`
    assert run("? ls").text == help_text(COMMANDS, "ls")
    assert find_command(COMMANDS, ["?"])[1] == "help"


def test_clear_asks_the_shell_to_clear_the_screen():
    result = run("clear")
    assert result.clear_screen and result.text == "" and not result.error


def test_a_group_alone_runs_its_default():
    assert find_command(COMMANDS, ["remote"])[:2] == (find_command(COMMANDS, ["remote", "list"])[0], "remote list")
    command, name, rest = find_command(COMMANDS, ["remote", "--json"])
    assert (name, rest) == ("remote list", ["--json"])
    assert run("remote -h").text == help_text(COMMANDS, "remote")  # -h: the group's help, not list's
    assert "remote alone runs remote list" in help_text(COMMANDS, "remote")
    assert help_text(COMMANDS, "remote").startswith("usage: remote")  # help names the group itself


def test_a_group_without_a_default_still_needs_its_subcommand():
    table = (Command("grp", "a group", subcommands=(Command("one", "first"), Command("two", "second"))),)
    with pytest.raises(UsageError, match=r"^grp: unknown subcommand \(expected one of: one, two\)$"):
        find_command(table, ["grp"])
    grouped = (replace(table[0], default="two"),)
    assert find_command(grouped, ["grp"])[1] == "grp two"
    with pytest.raises(UsageError, match="unknown subcommand 'three'"):
        find_command(grouped, ["grp", "three"])  # a word is never taken as the default's argument


@pytest.mark.parametrize("name", [None, "ls", "remote", "remote add", "kill", "new", "install-hooks"])
@pytest.mark.parametrize("width", [40, 60, 80])
def test_help_wraps_at_word_boundaries(name, width):
    wide = help_text(COMMANDS, name, 10_000)
    narrow = help_text(COMMANDS, name, width)
    assert all(len(line) <= width for line in narrow.splitlines() if len(line.split()) > 1)
    assert narrow.split() == wide.split()  # the same words in the same order: none cut in two
    if width == 40:
        assert len(narrow.splitlines()) > len(wide.splitlines())


def test_help_continuation_lines_stay_in_their_column():
    lines = help_text(COMMANDS, "remote add", 50).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  --known-hosts PATH"))
    assert lines[at + 1].startswith(" " * 27) and lines[at + 1].strip()
    assert lines[1].startswith("    [")  # a usage line goes on indented, one [--option VALUE] never split
