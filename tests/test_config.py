import logging
import os
import re
import stat
from pathlib import Path

import pytest

from navish.config import (
    Config,
    RemoteConfig,
    Settings,
    add_remote,
    config_path,
    default_text,
    load_config,
    remove_remote,
    save_document,
    state_dir,
)
from navish.errors import ConfigError, NotFound

ENV = {"HOME": "/home/u"}

COMMENTED = """\
# my navish config
[settings]
poll_interval = 3  # faster

[remotes.web]
# the web box
host = "web.example.com"
port = 2222

# --- a note about gpu, kept with it ---
[remotes.gpu]
host = "gpu"  # via ~/.ssh/config
"""


@pytest.mark.parametrize(
    ("explicit", "environ", "expected"),
    [
        ("/x/c.toml", {**ENV, "NAVISH_CONFIG": "/y/c.toml", "XDG_CONFIG_HOME": "/z"}, "/x/c.toml"),
        ("~/c.toml", ENV, "/home/u/c.toml"),
        (None, {**ENV, "NAVISH_CONFIG": "/y/c.toml", "XDG_CONFIG_HOME": "/z"}, "/y/c.toml"),
        (None, {**ENV, "XDG_CONFIG_HOME": "/z"}, "/z/navish/config.toml"),
        (None, {**ENV, "XDG_CONFIG_HOME": ""}, "/home/u/.config/navish/config.toml"),
        (None, ENV, "/home/u/.config/navish/config.toml"),
    ],
)
def test_config_path_precedence(explicit, environ, expected):
    assert config_path(explicit, environ) == Path(expected)


def test_state_dir():
    assert state_dir({**ENV, "XDG_STATE_HOME": "/s"}) == Path("/s/navish")
    assert state_dir(ENV) == Path("/home/u/.local/state/navish")


def defaults(path: Path, environ=ENV) -> Config:
    settings = Settings(2.0, "~/.claude-sessions", state_dir(environ) / "history", 5.0, 10.0, True, "")
    return Config(settings, {}, path)


def test_first_run_creates_the_commented_default(tmp_path):
    path = tmp_path / "new" / "dir" / "config.toml"
    assert load_config(path, ENV) == defaults(path)
    shipped = (Path(__file__).parent.parent / "config" / "default.toml").read_text()
    assert path.read_text() == shipped == default_text()
    assert "# [remotes.dev]" in shipped
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unwritable_location_falls_back_to_defaults(tmp_path, caplog):
    (tmp_path / "a_file").write_text("")
    path = tmp_path / "a_file" / "config.toml"  # its "directory" is a file: not even root can create it
    with caplog.at_level(logging.WARNING, logger="navish.config"):
        assert load_config(path, ENV) == defaults(path)
    assert "cannot write" in caplog.text


def test_default_file_documents_every_default(tmp_path):
    """Uncommenting every example line of the shipped file gives the built-in defaults and a valid remote."""
    text = re.sub(r"(?m)^# (\[remotes\.\w+\]|\w+ = .*)$", r"\1", default_text())
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = load_config(path, ENV)
    assert config.settings == defaults(path).settings
    assert config.remotes["dev"] == RemoteConfig(
        "dev", "dev.example.com", 22, "alice", "/home/u/.ssh/id_ed25519", "/home/u/.ssh/known_hosts",
        "~/.claude-sessions", 10.0, "alice@bastion.example.com:22",
    )


def test_defaults_are_merged_under_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[settings]\npoll_interval = 0.5\nhistory_file = "hist"\n[remotes.b]\nhost = "b"\n')
    config = load_config(path, ENV)
    assert config.settings == Settings(0.5, "~/.claude-sessions", tmp_path / "hist", 5.0, 10.0, True, "")
    assert config.remotes == {"b": RemoteConfig("b", "b")}


def test_local_paths_expand_but_remote_session_dir_does_not(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[settings]\nhistory_file = "~/h"\n'
        '[remotes.a]\nhost = "a"\nkey = "~/.ssh/k"\nknown_hosts = "/etc/kh"\nsession_dir = "~/s"\n'
    )
    config = load_config(path, ENV)
    assert config.settings.history_file == Path("/home/u/h")
    remote = config.remotes["a"]
    assert (remote.key, remote.known_hosts, remote.session_dir) == ("/home/u/.ssh/k", "/etc/kh", "~/s")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[settings\n", "line 1: invalid TOML"),
        ('[settings]\npoll_interval = 2\npoll_interval = 3\n', "line 3: invalid TOML"),
        ("[settings]\npoll_interval = 0\n", "settings.poll_interval: expected a number of seconds greater than 0, got 0"),
        ('[settings]\npoll_interval = "2"\n', 'settings.poll_interval: expected a number of seconds greater than 0, got "2"'),
        ("[settings]\ncolour = true\n", "settings.colour: unknown key; expected one of poll_interval,"),
        ("[setings]\n", "setings: unknown section"),
        ("poll_interval = 2\n", "poll_interval: unknown section"),
        ("settings = 3\n", "settings: expected a table, got 3"),
        ("remotes = [1]\n", "remotes: expected [remotes.NAME] tables, got an array"),
        ('[remotes.dev]\nhost = "d"\nport = "abc"\n', 'remotes.dev.port: expected an integer from 1 to 65535, got "abc"'),
        ('[remotes.dev]\nhost = "d"\nport = 70000\n', "remotes.dev.port: expected an integer from 1 to 65535, got 70000"),
        ('[remotes.dev]\nhost = "d"\nport = true\n', "remotes.dev.port: expected an integer from 1 to 65535, got true"),
        ('[remotes.dev]\nhost = ""\n', 'remotes.dev.host: expected a non-empty string, got ""'),
        ('[remotes.dev]\nhost = "d"\ncache_ttl = -1\n', "remotes.dev.cache_ttl: expected a number of seconds, 0 or more"),
        ('[remotes.dev]\nhost = "d"\njump_host = "a b"\n', 'remotes.dev.jump_host: expected [USER@]HOST[:PORT], got "a b"'),
        ('[remotes.dev]\nhost = "d"\nhostname = "d"\n', "remotes.dev.hostname: unknown key"),
        ('[remotes.dev]\nport = 22\n', "remotes.dev.host: missing"),
        ("[remotes]\ndev = 3\n", "remotes.dev: expected a table, got 3"),
        ('[remotes."my box"]\nhost = "d"\n', 'remotes: expected names of letters, digits, "_" and "-", got "my box"'),
        ('[remotes.local]\nhost = "d"\n', 'remotes.local: "local" is this machine'),
    ],
)
def test_invalid_config_names_file_and_key(tmp_path, text, expected):
    path = tmp_path / "navish.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_remove_after_add_gives_back_the_original_bytes(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    add_remote(path, RemoteConfig("dev", "dev.example.com", port=2200, user="me", jump_host="bastion"))
    text = path.read_text()
    assert text.startswith(COMMENTED)
    assert text[len(COMMENTED):] == (
        '\n[remotes.dev]\nhost = "dev.example.com"\nport = 2200\nuser = "me"\njump_host = "bastion"\n'
    )
    assert load_config(path, ENV).remotes["dev"] == RemoteConfig(
        "dev", "dev.example.com", port=2200, user="me", jump_host="bastion"
    )
    remove_remote(path, "dev")
    assert path.read_text() == COMMENTED


def test_add_to_the_shipped_default_and_back(tmp_path):
    path = tmp_path / "config.toml"
    add_remote(path, RemoteConfig("dev", "d"))  # first run creates the file, then edits it
    assert path.read_text() == default_text() + '\n[remotes.dev]\nhost = "d"\n'
    remove_remote(path, "dev")
    assert path.read_text() == default_text()


def test_add_before_another_table_keeps_a_blank_line(tmp_path):
    path = tmp_path / "config.toml"
    original = '[remotes.a]\nhost = "a"\n\n[settings]\npoll_interval = 3\n'
    path.write_text(original)
    add_remote(path, RemoteConfig("b", "b"))
    assert path.read_text() == '[remotes.a]\nhost = "a"\n\n[remotes.b]\nhost = "b"\n\n[settings]\npoll_interval = 3\n'
    remove_remote(path, "b")
    assert path.read_text() == original


def test_remove_keeps_the_comments_of_the_next_table(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    remove_remote(path, "web")
    assert path.read_text() == COMMENTED.replace(
        '[remotes.web]\n# the web box\nhost = "web.example.com"\nport = 2222\n\n', ""
    )
    remove_remote(path, "gpu")
    assert path.read_text() == "# my navish config\n[settings]\npoll_interval = 3  # faster\n\n" \
        "# --- a note about gpu, kept with it ---\n"
    assert load_config(path, ENV).remotes == {}


def test_add_refuses_an_existing_name_unless_replace(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    with pytest.raises(ConfigError, match=r"remotes\.web: already exists"):
        add_remote(path, RemoteConfig("web", "other"))
    assert path.read_text() == COMMENTED
    add_remote(path, RemoteConfig("web", "web2.example.com", user="ops"), replace=True)
    assert path.read_text() == COMMENTED.replace(
        'host = "web.example.com"\nport = 2222\n', 'host = "web2.example.com"\nuser = "ops"\n'
    )


def test_add_rejects_an_invalid_remote_without_writing(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    for remote, key in [(RemoteConfig("local", "h"), "remotes.local"), (RemoteConfig("x", "h", port=0), "remotes.x.port")]:
        with pytest.raises(ConfigError, match=re.escape(key)):
            add_remote(path, remote)
    assert path.read_text() == COMMENTED


def test_remove_unknown_remote_is_not_found(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    with pytest.raises(NotFound, match="no remote named 'nope'.*remotes: web, gpu"):
        remove_remote(path, "nope")
    assert path.read_text() == COMMENTED


def test_invalid_file_is_left_untouched(tmp_path):
    path = tmp_path / "config.toml"
    bad = b"# mine\n[settings]\npoll_interval = -1\n"
    path.write_bytes(bad)
    before = path.stat()
    for edit in (lambda: add_remote(path, RemoteConfig("dev", "d")), lambda: remove_remote(path, "dev")):
        with pytest.raises(ConfigError, match="settings.poll_interval"):
            edit()
    assert path.read_bytes() == bad
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(os.listdir(tmp_path)) == [".config.toml.lock", "config.toml"]  # no temporary file left


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_atomic_write_keeps_the_mode(tmp_path, mode):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    path.chmod(mode)
    inode = path.stat().st_ino
    add_remote(path, RemoteConfig("dev", "d"))
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.stat().st_ino != inode  # replaced, not rewritten in place
    assert sorted(os.listdir(tmp_path)) == [".config.toml.lock", "config.toml"]


def test_save_document_writes_through_a_symlink(tmp_path):
    import tomlkit

    real = tmp_path / "dotfiles" / "navish.toml"
    real.parent.mkdir()
    real.write_text("[settings]\n")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    save_document(link, tomlkit.parse("[settings]\npoll_interval = 4\n"))
    assert link.is_symlink()
    assert real.read_text() == "[settings]\npoll_interval = 4\n"
