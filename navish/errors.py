"""The errors a user sees as one line. Anything else that escapes a command is a bug."""

from .model import HostState


class NavishError(Exception):
    """A failure explained to the user in one line; `navish -c` exits with `exit_code`."""

    exit_code = 1


class UsageError(NavishError):
    """The command line itself is wrong (unknown command, bad flag, missing argument)."""

    exit_code = 2


class NotFound(NavishError):
    """A session, host or remote named by the user does not exist."""


class Ambiguous(NavishError):
    """A bare session name matches sessions on several hosts."""


class HostUnreachable(NavishError):
    """The host a command needs is offline; the message says why, `state` how the host is shown."""

    def __init__(self, message: str, state: HostState = HostState.OFFLINE):
        super().__init__(message)
        self.state = state


class ActionFailed(NavishError):
    """A script ran on a host but reported failure (non-zero exit, tmux refused, ...)."""


class ConfigError(NavishError):
    """The config file is invalid; the message names the file, the key or line, and what is expected."""
