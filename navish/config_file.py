"""The config file on disk: read, created once, edited under a lock, replaced atomically.

Every navish process that changes the file takes an exclusive `flock` on `.NAME.lock` beside it
(beside the real file when the config is a symlink), re-reads the file under that lock and applies
its change to what it finds, so concurrent `remote add`s all land. A program that writes the file
without the lock (an editor) is detected by reading the file again just before replacing it: the
change is then applied again to the new text, and the edit fails after a few such rounds rather
than overwrite what that program wrote.
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Callable, Iterator

from navish.errors import ConfigError

LOCK_TIMEOUT = 5.0
"""Seconds an edit waits for another process's edit to finish."""
EDIT_ROUNDS = 3
"""How often an edit is applied again when the file changed under it without the lock."""


def shown(path: Path) -> str:
    """`path` as error messages show it, with the home directory as ~."""
    home = Path(os.path.expanduser("~"))
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) and path != home else str(path)


def _target(path: Path) -> Path:
    """The file actually written: a symlink's target, not the link."""
    return path.resolve() if path.is_symlink() else path


def lock_path(path: Path) -> Path:
    target = _target(path)
    return target.parent / f".{target.name}.lock"


@contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive lock of the config file `path`; ConfigError after `timeout` seconds."""
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    lock = lock_path(path)
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ConfigError(f"{shown(path)}: cannot write: lock file {shown(lock)}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ConfigError(
                        f"{shown(path)}: another process has been editing it for over {timeout:g}s "
                        f"(it holds {shown(lock)}); try again"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")  # bytes keep \r\n as written
    except UnicodeDecodeError:
        raise ConfigError(f"{shown(path)}: expected UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{shown(path)}: cannot read: {exc.strerror or exc}") from None


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` by `text` in one step, keeping its mode (0600 if new); through a symlink, not over it."""
    target = _target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o600
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(text.encode("utf-8"))
                file.flush()
                os.fsync(file.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise ConfigError(f"{shown(path)}: cannot write: {exc.strerror or exc}") from None


def create(path: Path, text: str) -> bool:
    """Write `text` to `path` unless the file exists (checked again under the lock); True if written."""
    if path.exists():
        return False
    with locked(path):
        if path.exists():
            return False
        write_atomic(path, text)
        return True


def edit(path: Path, change: Callable[[str], str]) -> None:
    """Replace the text of `path` by `change(text)`, under the lock; `change` may raise to refuse.

    If the file changes between the read and the write (a program that ignores the lock), the
    change is made again on the new text; after EDIT_ROUNDS such rounds the edit fails.
    """
    with locked(path):
        for _ in range(EDIT_ROUNDS):
            before = read(path)
            after = change(before)
            if read(path) == before:
                write_atomic(path, after)
                return
    raise ConfigError(f"{shown(path)}: another program keeps changing it; nothing saved, try again")
