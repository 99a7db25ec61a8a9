"""navish's watcher: runs on a host for as long as navish keeps its channel open, and tells it
about every change as soon as it happens. Self-contained and stdlib-only: it is sent to the host
as `python3 -c SOURCE`, nothing is installed there.

    python3 -c SOURCE POLL_SCRIPT TMUX DIR...

It prints the poll script's output (see `navish.poll_script`) as one frame at start, and again
whenever it changed: after a file in one of DIRs was written, created or removed (inotify on
Linux, kqueue on BSD and macOS, and a `stat` of each dir and file there once a second: never a
fork), and, for tmux sessions coming and going without Claude Code, after a check every
`TMUX_EVERY` seconds: the tmux server's pane processes from /proc (no fork), and a `tmux
list-panes` with TMUX (the shell words that run tmux there) every `FULL_EVERY` seconds if the
server did anything meanwhile. Between changes it prints a heartbeat every `BEAT` seconds. Frames:

    @snapshot <bytes>\\n<that many bytes>
    @beat <epoch seconds>\\n

When Claude Code waits, the snapshot carries its pane's last lines, and the poll runs again
`RECHECK` seconds later (its dialog is drawn a moment after the state changes). It exits when
navish goes away (a write fails).
"""

import hashlib
import os
import select
import shlex
import subprocess
import sys
import time

BEAT = 10.0
TMUX_EVERY = 5.0
FULL_EVERY = 60.0
DEBOUNCE = 0.005
RECHECK = 0.4
LIMIT = 32 << 20
IN_FLAGS = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200  # MODIFY ATTRIB CLOSE_WRITE MOVED_FROM/TO CREATE DELETE


def main(argv):
    poll, tmux, dirs = argv[0], argv[1], argv[2:]
    watch = _watcher(dirs)
    tmux_state = _Tmux(tmux)
    out = sys.stdout.buffer
    last = None
    next_beat = next_tmux = 0.0
    recheck = float("inf")
    changed = True
    while True:
        now = time.monotonic()
        if now >= recheck:  # a dialog is drawn a moment after Claude Code says it waits
            changed, recheck = True, float("inf")
        if now >= next_tmux:
            changed = tmux_state.changed() or changed
            next_tmux = now + TMUX_EVERY
        if changed:
            snapshot = _snapshot(poll)
            tmux_state.seen()  # the poll asked tmux: what its server did so far is in the snapshot
            digest = hashlib.sha1(snapshot).digest()
            if digest != last:
                out.write(b"@snapshot %d\n" % len(snapshot) + snapshot)
                last = digest
                next_beat = now + BEAT
                if b"\nW %" in snapshot:
                    recheck = now + RECHECK
            changed = False
        if now >= next_beat:
            out.write(b"@beat %.3f\n" % time.time())
            next_beat = now + BEAT
        out.flush()
        changed = watch(min(next_beat, next_tmux, recheck) - time.monotonic())


def _snapshot(poll):
    run = subprocess.run(["/bin/sh", "-c", poll], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return run.stdout[:LIMIT]


class _Tmux:
    """Whether tmux sessions came, went or were renamed. On Linux, the tmux server's children
    (one per pane) are read from /proc each time, which costs no fork. A rename changes no
    process, so `tmux list-panes` runs every `FULL_EVERY` seconds, but only once the server has
    done something since it was last asked (its context switches in /proc: an idle server never
    wakes), and wherever /proc cannot say."""

    def __init__(self, words):
        self.words = shlex.split(words)
        self.server = None
        self.children = None
        self.panes = None
        self.listed_at = -float("inf")
        self.activity = None

    def changed(self):
        before = (self.children, self.panes)
        self.children = self._children()
        if self.children is None or (time.monotonic() - self.listed_at >= FULL_EVERY and self._woke()):
            self.panes = self._list()
            self.children = self._children()
            self.seen()
        return (self.children, self.panes) != before

    def seen(self):
        """Everything the tmux server did so far is known (it was just asked)."""
        self.activity = self._activity()

    def _woke(self):
        now = self._activity()
        return now is None or now != self.activity

    def _activity(self):
        if self.server is None:
            return None
        try:
            with open("/proc/%s/status" % self.server, "rb") as f:
                return [line for line in f.read().splitlines() if b"ctxt_switches:" in line]
        except OSError:
            return None

    def _children(self):
        if self.server is None:
            return None
        try:
            with open("/proc/%s/task/%s/children" % (self.server, self.server), "rb") as f:
                return f.read()
        except OSError:
            self.server = None
            return None

    def _list(self):
        self.listed_at = time.monotonic()
        try:
            run = subprocess.run(
                [*self.words, "list-panes", "-a", "-F", "#{pid} #{pane_id} #{session_id} #{session_name}"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )
        except OSError:  # no tmux there
            return b""
        first = run.stdout.split(b" ", 1)[0]
        self.server = first.decode() if first.isdigit() else None
        return run.stdout


def _watcher(dirs):
    """A function `wait(timeout) -> changed` over the best mechanism this host has."""
    try:
        return _inotify(dirs)
    except (OSError, AttributeError, ImportError):
        pass
    if hasattr(select, "kqueue"):
        return _kqueue(dirs)
    return _stat_loop(dirs)


def _inotify(dirs):
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    watched = set()

    def add_missing():
        for d in dirs:
            if d not in watched and os.path.isdir(d) and libc.inotify_add_watch(fd, d.encode(), IN_FLAGS) >= 0:
                watched.add(d)

    add_missing()

    def wait(timeout):
        ready, _, _ = select.select([fd], [], [], max(timeout, 0))
        if not ready:
            before = len(watched)
            add_missing()  # a dir created since (the first hook run, the first claude)
            return len(watched) != before
        time.sleep(DEBOUNCE)  # a burst of writes is one change
        while True:
            try:
                if not os.read(fd, 65536):
                    break
            except BlockingIOError:
                break
        return True

    return wait


def _kqueue(dirs):
    """Directory events from kqueue; files rewritten in place are caught by the stat check."""
    queue = select.kqueue()  # type: ignore[attr-defined,unused-ignore]
    opened = {}
    check = _stat_loop(dirs)

    def add_missing():
        for d in dirs:
            if d not in opened and os.path.isdir(d):
                opened[d] = os.open(d, os.O_RDONLY)
                event = select.kevent(  # type: ignore[attr-defined,unused-ignore]
                    opened[d],
                    filter=select.KQ_FILTER_VNODE,  # type: ignore[attr-defined,unused-ignore]
                    flags=select.KQ_EV_ADD | select.KQ_EV_CLEAR,  # type: ignore[attr-defined,unused-ignore]
                    fflags=select.KQ_NOTE_WRITE | select.KQ_NOTE_ATTRIB,  # type: ignore[attr-defined,unused-ignore]
                )
                queue.control([event], 0, 0)

    add_missing()

    def wait(timeout):
        if queue.control(None, 16, min(max(timeout, 0), 1.0)):
            time.sleep(DEBOUNCE)
            add_missing()
            check(0)  # take in the new signature
            return True
        add_missing()
        return check(0)

    return wait


def _stat_loop(dirs):
    """Once a second, a `stat` of each dir and of each `*.json` in it (syscalls, no fork)."""

    def signature():
        result = []
        for d in dirs:
            try:
                with os.scandir(d) as entries:
                    for entry in entries:
                        if entry.name.endswith(".json"):
                            st = entry.stat()
                            result.append((d, entry.name, st.st_mtime_ns, st.st_size))
            except OSError:
                result.append((d, None, 0, 0))
        return sorted(result)

    last = [signature()]

    def wait(timeout):
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            now = signature()
            if now != last[0]:
                last[0] = now
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0)))

    return wait


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (BrokenPipeError, KeyboardInterrupt):
        pass
