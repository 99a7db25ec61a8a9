"""SSH hosts: scripts run by `/bin/sh -s` over one pooled asyncssh connection per remote.

`SshPool` (pool.py) owns the connections: opened lazily, shared by every caller as separate
channels (link.py: at most `max_channels` at once, fewer when the server's MaxSessions says so),
replaced when they die, retried with capped exponential backoff while a host is down. A jump host
is one more pooled connection, reused as the tunnel for every remote behind it. `SshHost`
(host.py) is the `Host` a remote is seen as; endpoint.py says where and how to connect, trust.py
checks and adds host keys, attach.py builds the `ssh -t` command line for `attach`.
"""

from .endpoint import quiet_asyncssh
from .host import SshHost
from .pool import SshPool
from .trust import HostKey, append_known_host

__all__ = ["HostKey", "SshHost", "SshPool", "append_known_host", "quiet_asyncssh"]
