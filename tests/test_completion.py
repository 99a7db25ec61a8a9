"""Pure tab completion over the command table and a hand-built registry snapshot."""

import logging
import shlex

from prompt_toolkit.document import Document

from navish.argspec import Kind, Opt, Pos
from navish.commands import COMMANDS
from navish.commands.base import Command
from navish.completion import MAX_SESSION_CANDIDATES, NavishCompleter, Snapshot, complete, local_paths, word_start

SNAP = Snapshot(
    sessions=(
        ("local:api", "permission"),
        ("local:notes", "done"),
        ("local:my api", "working"),
        ("dev:web", "idle"),
        ("dev:build", "waiting"),
    ),
    remotes=("dev", "gpu"),
)


def texts(line, table=COMMANDS, snapshot=SNAP):
    return [c.text for c in complete(line, table, snapshot)[1]]


def test_command_names():
    assert texts("") == [c.name for c in COMMANDS]
    assert texts("l") == ["ls"]
    assert {"rename", "refresh"} <= set(texts("re"))
    assert set(texts("re")) == {c.name for c in COMMANDS if c.name.startswith("re")}
    assert texts("zz") == []


def test_command_candidates_carry_their_summary():
    (c,) = complete("pru", COMMANDS, SNAP)[1]
    assert c.text == "prune" and c.meta.startswith("remove status files")


def test_unknown_command_gives_nothing():
    assert texts("bogus ") == []
    assert texts("bogus x") == []
    assert texts("bogus --") == []


LS = (
    Command(
        "ls",
        "list",
        positionals=(Pos("PATTERN", optional=True),),
        options=(
            Opt(("--status",), "S", Kind.STATUS),
            Opt(("--sort",), "KEY", Kind.CHOICE, ("attention", "name")),
            Opt(("--json",)),
            Opt(("--all", "-a")),
        ),
    ),
)


def test_options_offer_long_spellings_not_yet_used():
    assert texts("ls -", LS) == ["--status", "--sort", "--json", "--all"]
    assert texts("ls --s", LS) == ["--status", "--sort"]
    assert texts("ls --json --all -", LS) == ["--status", "--sort"]
    assert texts("ls -a -", LS) == ["--status", "--sort", "--json"]
    assert {"--status", "--host", "--sort", "--json", "--all"} <= set(texts("ls -"))  # the real table
    assert "--lines" in texts("preview x -") and "--yes" in texts("kill x -")
    assert "--yes" not in texts("kill x --yes -")


def test_option_values():
    assert texts("ls --sort ") == ["attention", "name", "age", "status", "dir"]
    assert texts("ls --sort a") == ["attention", "age"]
    assert texts("ls --status w") == ["waiting", "working"]
    assert set(texts("ls --status ")) >= {"permission", "gone", "offline", "untracked"}
    assert texts("preview x -n ") == []  # a number: nothing to offer


def test_positional_choices():
    table = (Command("sort", "s", positionals=(Pos("KEY", Kind.CHOICE, True, ("name", "age", "attention")),)),)
    assert texts("sort ", table) == ["name", "age", "attention"]
    assert texts("sort a", table) == ["age", "attention"]
    assert texts("sort name ", table) == []


def test_help_offers_commands():
    assert texts("help pr") == ["preview", "prune"]


def test_word_being_completed_is_returned():
    assert complete("ls --status w", COMMANDS, SNAP)[0] == "w"
    assert complete("attach dev:", COMMANDS, SNAP)[0] == "dev:"
    assert complete("ls ", COMMANDS, SNAP)[0] == ""


def test_bare_name_offers_host_session():
    assert "local:api" in texts("preview ap")
    assert "local:notes" in texts("git no")


def test_host_prefix_offers_that_hosts_sessions():
    assert texts("attach dev:") == ["dev:build", "dev:web"]
    assert texts("attach dev:w") == ["dev:web"]
    assert texts("attach de") == ["dev:build", "dev:web"]


def test_sessions_come_most_urgent_first_then_by_name():
    assert texts("attach ") == ["local:api", "dev:build", "'local:my api'", "dev:web", "local:notes"]
    snap = Snapshot(sessions=(("local:b", "idle"), ("dev:a", "working"), ("local:c", "waiting"), ("local:a", "idle")))
    assert texts("attach ", snapshot=snap) == ["local:c", "dev:a", "local:a", "local:b"]


def test_ten_thousand_sessions_offer_the_most_urgent_few_hundred():
    many = tuple((f"h{h}:s{i}", "working") for h in range(500) for i in range(20))
    snap = Snapshot(sessions=(*many, ("h7:late", "permission")))
    offered = texts("attach ", snapshot=snap)
    assert len(offered) == MAX_SESSION_CANDIDATES and offered[0] == "h7:late"  # the one asking comes first
    assert texts("attach h499:s1", snapshot=snap) == ["h499:s1", *(f"h499:s{i}" for i in range(10, 20))]  # typing narrows


def test_a_given_rank_wins_over_the_status():
    """A session whose team agent waits for the user ranks with the agent (the shell passes it)."""
    snap = Snapshot(sessions=(("local:lead", "working", 1), ("local:api", "error")))
    assert texts("attach ", snapshot=snap) == ["local:lead", "local:api"]


def test_session_completion_is_case_insensitive():
    assert texts("kill API") == ["local:api"]


def test_session_after_options():
    assert texts("preview -n 5 no") == ["local:notes"]
    assert texts("kill -y no") == ["local:notes"]
    assert texts("preview local:api ") == []  # SESSION already given


def test_session_candidates_show_status():
    candidates = complete("kill b", COMMANDS, SNAP)[1]
    assert [(c.text, c.meta) for c in candidates] == [("dev:build", "waiting")]


def test_names_with_spaces_come_back_shell_quoted():
    assert texts("attach my") == ["'local:my api'"]
    assert shlex.split(texts("attach my")[0]) == ["local:my api"]


def test_completion_inside_an_open_quote():
    assert texts("attach 'local:m") == ["'local:my api'"]
    assert texts('attach "my') == ["'local:my api'"]


def test_completion_inside_an_open_quote_after_a_space():
    """`attach 'local:my ` + Tab: the quote is still open, so the word is still `local:my `."""
    line = "attach 'local:my "
    word, candidates = complete(line, COMMANDS, SNAP)
    assert word == "local:my "
    assert [c.text for c in candidates] == ["'local:my api'"]


def test_completion_after_a_backslash_escaped_space():
    line = "attach local:my\\ "
    word, candidates = complete(line, COMMANDS, SNAP)
    assert word == "local:my "
    assert [c.text for c in candidates] == ["'local:my api'"]


def test_hostile_session_names_display_sanitised_and_insert_quoted():
    hostile = "local:x\x1b]0;pwn\x07$(id);`y`"
    snap = Snapshot(sessions=((hostile, "idle"),))
    (c,) = complete("attach x", COMMANDS, snap)[1]
    assert "\x1b" not in c.display and "\x07" not in c.display
    assert shlex.split(c.text) == [hostile]


BIDI_AND_C1 = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\x85\x9b\x9d"


def test_menu_text_of_hostile_names_and_statuses_shows_bidi_and_controls_as_text():
    hostile = "local:rtl\u202egnp.exe\u2066\u200f\x9b2J"
    status = "wait\u202eing\u2067\x1b]0;pwned\x07\x9d2;t\x9c\u061c"
    snap = Snapshot(sessions=((hostile, status),))
    (c,) = complete("preview rt", COMMANDS, snap)[1]
    for drawn in (c.display, c.meta):
        assert not any(char in drawn for char in BIDI_AND_C1) and "\x1b" not in drawn and "\x07" not in drawn
    assert "<U+202E>" in c.display and c.meta.startswith("wait<U+202E>ing")
    assert shlex.split(c.text) == [hostile]  # still completes to the exact name


def test_command_and_remote_menu_text_is_sanitised():
    table = (Command("go\u202e", "sum\u2067mary\x1b[2J", positionals=(Pos("NAME", Kind.REMOTE),)),)
    (command,) = complete("go", table, SNAP)[1]
    assert command.display == "go<U+202E>" and command.meta == "sum<U+2067>mary"
    (remote,) = complete("go\u202e r", table, Snapshot(remotes=("r\u202e",)))[1]
    assert remote.display == "r<U+202E>" and remote.text == "r\u202e"


def test_remote_names_where_a_command_takes_one():
    table = (Command("remote", "remotes", subcommands=(Command("rm", "remove one", positionals=(Pos("NAME", Kind.REMOTE),)),)),)
    assert texts("remote ", table) == ["rm"]
    assert texts("remote rm ", table) == ["dev", "gpu"]
    assert texts("remote rm g", table) == ["gpu"]


def test_remote_subcommands_and_remote_names_in_the_real_table():
    assert texts("remote ") == ["add", "list", "remove", "mute", "unmute", "test", "trust"]
    assert texts("remote t") == ["test", "trust"]
    assert texts("remote remove ") == ["dev", "gpu"]
    assert texts("remote trust g") == ["gpu"]
    assert texts("remote test d") == ["dev"]
    assert texts("remote bogus ") == []


def test_option_with_single_spelling_and_text_values():
    table = (Command("x", "x", options=(Opt(("-q",)), Opt(("--out",), "PATH", Kind.PATH), Opt(("--name",), "N"))),)
    assert texts("x -", table) == ["-q", "--out", "--name"]
    assert texts("x --out ", table) == []  # no path lister given: nothing
    assert texts("x --name ", table) == []


HOSTS = (
    Command(
        "new",
        "start",
        positionals=(Pos("NAME"),),
        options=(Opt(("--host",), "H", Kind.HOST), Opt(("--remote",), "NAME", Kind.REMOTE)),
    ),
    Command("filter", "filter", positionals=(Pos("MODE", Kind.FILTER, True),)),
)


def test_a_host_is_local_or_a_remote():
    assert texts("new x --host ", HOSTS) == ["local", "dev", "gpu"]
    assert texts("new x --host l", HOSTS) == ["local"]
    assert texts("new x --host g", HOSTS) == ["gpu"]
    assert complete("new x --host ", HOSTS, SNAP)[1][0].meta == "this machine"


def test_a_remote_is_never_local():
    assert texts("new x --remote ", HOSTS) == ["dev", "gpu"]


def test_filter_offers_its_modes_then_every_remote():
    assert texts("filter ", HOSTS) == ["all", "local", "remote", "dev", "gpu"]
    assert texts("filter r", HOSTS) == ["remote"]
    assert texts("filter d", HOSTS) == ["dev"]
    assert texts("filter local ", HOSTS) == []


PATHS = (Command("x", "x", options=(Opt(("--key",), "PATH", Kind.PATH), Opt(("--dir",), "DIR", Kind.PATH))),)


def paths(line, tmp_path):
    return [c.text for c in complete(line, PATHS, SNAP, local_paths)[1]]


def test_paths_complete_local_files_and_directories(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "id_lab").write_text("")
    (tmp_path / "keys" / "id_lab.pub").write_text("")
    (tmp_path / "known_hosts").write_text("")
    assert paths(f"x --key {tmp_path}/ke", tmp_path) == [f"{tmp_path}/keys/"]  # a directory: Tab again descends
    assert paths(f"x --key {tmp_path}/keys/id", tmp_path) == [f"{tmp_path}/keys/id_lab", f"{tmp_path}/keys/id_lab.pub"]
    assert paths(f"x --dir {tmp_path}/k", tmp_path) == [f"{tmp_path}/keys/", f"{tmp_path}/known_hosts"]
    assert paths(f"x --key {tmp_path}/nothing", tmp_path) == []


def test_paths_keep_the_tilde_and_quote_what_needs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "my keys").mkdir()
    (tmp_path / "my keys" / "id").write_text("")
    assert paths("x --key ~/my", tmp_path) == ["'~/my keys/'"]
    assert shlex.split(paths("x --key ~/my", tmp_path)[0]) == ["~/my keys/"]
    assert paths("x --key '~/my keys/", tmp_path) == ["'~/my keys/id'"]


def test_the_prompt_toolkit_completer_completes_paths(tmp_path):
    (tmp_path / "settings.json").write_text("{}")
    completer = NavishCompleter(PATHS, lambda: SNAP)
    text = f"x --key {tmp_path}/se"
    (c,) = completer.get_completions(Document(text), None)
    assert (c.text, c.start_position, c.display_text) == (f"{tmp_path}/settings.json", -len(f"{tmp_path}/se"), "settings.json")


def test_a_failing_completer_offers_nothing_says_why_and_logs_once(caplog):
    calls = []

    def snapshot():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("registry exploded")
        return SNAP

    completer = NavishCompleter(COMMANDS, snapshot)
    with caplog.at_level(logging.ERROR, logger="navish.completion"):
        assert list(completer.get_completions(Document("attach a"), None)) == []
        assert list(completer.get_completions(Document("attach ap"), None)) == []
    assert completer.problem == "completion failed: registry exploded"
    assert caplog.text.count("completion failed for") == 1 and "RuntimeError: registry exploded" in caplog.text
    assert [c.text for c in completer.get_completions(Document("attach ap"), None)] == ["local:api"]
    assert completer.problem is None  # working again
