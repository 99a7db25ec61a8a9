"""Concurrent edits of the config file: every change lands, nothing is silently overwritten."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

from navish import config_file
from navish.config import RemoteConfig, add_remote, default_text, remove_remote
from navish.errors import ConfigError
from tests.conftest import NAVISH, write_config

COMMENTED = """\
# my navish config
[settings]
poll_interval = 30  # slow: these tests only edit the file
"""


def _remotes(path: Path) -> set[str]:
    return set(tomllib.loads(path.read_text()).get("remotes", {}))


def test_eight_concurrent_remote_adds_all_land(world):
    """8 real `navish -c "remote add ..."` at once: each says saved, and each is in the file."""
    path = write_config(world, COMMENTED)
    path.chmod(0o640)
    names = [f"r{i}" for i in range(8)]
    procs = [
        subprocess.Popen(
            [NAVISH, "-c", f"remote add {name} --host 127.0.0.1 --port 1"],
            env=world, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in names
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    for name, proc, (out, err) in zip(names, procs, outputs):
        assert proc.returncode == 0, (name, err)
        assert f"saved remote {name}" in out, (name, out, err)
    assert _remotes(path) == set(names)
    text = path.read_text()
    assert text.startswith(COMMENTED)  # comments and layout kept
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not [n for n in os.listdir(path.parent) if n.endswith(".tmp")]


def test_threads_creating_and_editing_a_missing_config_lose_nothing(tmp_path):
    path = tmp_path / "navish" / "config.toml"  # not there yet: the first edit creates it
    start = threading.Barrier(12)
    errors: list[BaseException] = []

    def add(name: str) -> None:
        start.wait()
        try:
            add_remote(path, RemoteConfig(name, f"{name}.example"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(f"t{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _remotes(path) == {f"t{i}" for i in range(12)}
    lines = path.read_text().splitlines()
    assert all(line in lines for line in default_text().splitlines() if line.startswith("#"))  # created once


def test_a_held_lock_makes_the_edit_wait_then_fail_in_one_line(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    monkeypatch.setattr(config_file, "LOCK_TIMEOUT", 0.3)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
         str(config_file.lock_path(path))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with pytest.raises(ConfigError) as failure:
            add_remote(path, RemoteConfig("dev", "d"))
        assert 0.3 <= time.monotonic() - started < 2
        message = str(failure.value)
        assert "\n" not in message and "another process" in message and ".config.toml.lock" in message
        assert path.read_text() == COMMENTED
    finally:
        holder.communicate("")  # closing its stdin ends it, which frees the lock
    add_remote(path, RemoteConfig("dev", "d"))  # free again: the edit goes through
    assert _remotes(path) == {"dev"}


def test_the_lock_excludes_another_thread(tmp_path):
    path = tmp_path / "config.toml"
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with config_file.locked(path):
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(10)
    with pytest.raises(ConfigError, match="another process"):
        with config_file.locked(path, timeout=0.1):
            pass
    release.set()
    thread.join()
    with config_file.locked(path, timeout=0.1):
        fd = os.open(config_file.lock_path(path), os.O_RDWR)
        with pytest.raises(BlockingIOError):  # really an flock, seen by any other opener
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)


def test_a_change_written_without_the_lock_is_merged_not_overwritten(tmp_path, monkeypatch):
    """An editor saves the file between navish's read and its write: both changes survive."""
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    real_read = config_file.read
    reads = 0

    def read_then_editor_saves(p: Path) -> str:
        nonlocal reads
        reads += 1
        text = real_read(p)
        if reads == 1:  # just after navish's first read
            p.write_text(text + '\n[remotes.by_hand]\nhost = "hand"\n')
        return text

    monkeypatch.setattr(config_file, "read", read_then_editor_saves)
    add_remote(path, RemoteConfig("dev", "d"))
    assert _remotes(path) == {"by_hand", "dev"}
    remove_remote(path, "by_hand")
    assert _remotes(path) == {"dev"}


def test_a_file_that_keeps_changing_fails_the_edit_clearly(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    real_read = config_file.read
    count = 0

    def read_while_someone_keeps_writing(p: Path) -> str:
        nonlocal count
        count += 1
        text = real_read(p)
        p.write_text(text + f"# edit {count}\n")
        return text

    monkeypatch.setattr(config_file, "read", read_while_someone_keeps_writing)
    with pytest.raises(ConfigError, match="another program keeps changing it; nothing saved"):
        add_remote(path, RemoteConfig("dev", "d"))
    monkeypatch.undo()
    assert _remotes(path) == set()
