"""The `ssh -t` command line that attaches the user's terminal to a remote tmux session."""

from __future__ import annotations

import os
import re
import shlex
from typing import Any

from ...config import RemoteConfig, parse_jump_host

SESSION_ID = re.compile(r"\$[0-9]+")


def attach_argv(spec: RemoteConfig, config: Any, tmux: str, session_id: str) -> list[str]:
    """`ssh` with the remote's port, key and known_hosts (the jump hop too, through an explicit
    ProxyCommand: `ssh -J` would not pass them on), running `TMUX attach-session -t $N`.

    The remote command line is parsed by the login shell, whatever it is (fish, tcsh...): it is
    plain words with the session id single-quoted, which every shell reads the same way."""
    if not SESSION_ID.fullmatch(session_id):
        raise ValueError(f"not a tmux session id: {session_id!r}")
    argv = ["ssh", *_config_args(config), "-t"]
    if spec.port:
        argv += ["-p", str(spec.port)]
    argv += _identity_args(spec)
    if spec.jump_host:
        juser, jhost, jport = parse_jump_host(spec.jump_host)
        words = ["ssh", *_config_args(config), *_identity_args(spec)]
        if jport:
            words += ["-p", str(jport)]
        words += [f"{juser}@{jhost}" if juser else jhost, "-W", "%h:%p"]
        argv += ["-o", "ProxyCommand=" + " ".join(w if w == "%h:%p" else shlex.quote(w) for w in words)]
    argv += [f"{spec.user}@{spec.host}" if spec.user else spec.host, "--"]
    argv.append(f"{tmux} attach-session -t {shlex.quote(session_id)}")
    return argv


def _config_args(config: Any) -> list[str]:
    if config is None:
        return ["-F", "/dev/null"]
    if isinstance(config, (str, os.PathLike)):
        return ["-F", os.fspath(config)]
    return []


def _identity_args(spec: RemoteConfig) -> list[str]:
    args = []
    if spec.key:
        args += ["-i", _ssh_path(spec.key)]
    if spec.known_hosts:
        args += ["-o", _ssh_option("UserKnownHostsFile", _ssh_path(spec.known_hosts))]
        args += ["-o", "StrictHostKeyChecking=yes"]
    return args


def _ssh_path(path: str) -> str:
    """A path for the OpenSSH client: `~` expanded, `%` escaped from token expansion."""
    return os.path.expanduser(path).replace("%", "%%")


def _ssh_option(name: str, value: str) -> str:
    return f'{name}="{value}"' if any(c.isspace() for c in value) else f"{name}={value}"
