"""Command line entry point: `navish`, `navish -c CMD`, `navish --demo`, `navish hook STATUS`.

This is the only place that calls `asyncio.run`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.handlers
import os
import shutil
import signal
import stat
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from .app import App
    from .config import Config
    from .hosts.base import Host
    from .hosts.ssh import SshPool

TMUX_MISSING = (
    "navish needs tmux, which is not installed here: install it with "
    "`sudo apt-get install tmux` (Debian/Ubuntu), `sudo dnf install tmux` (Fedora) or `brew install tmux` (macOS)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="navish", description="An interactive shell over your Claude Code sessions in tmux, local and remote."
    )
    parser.add_argument("-c", dest="command", metavar="CMD", help="run one command and exit (e.g. -c 'ls --json')")
    parser.add_argument("--config", metavar="PATH", help="config file (default: $NAVISH_CONFIG or ~/.config/navish/config.toml)")
    parser.add_argument("--demo", action="store_true", help="start on a self-contained demo (private tmux server)")
    parser.add_argument("--host", metavar="H", help="with -c: only this host (local or a remote's name)")
    parser.add_argument(
        "--timeout", metavar="S", type=_seconds, help="with -c: wait at most S seconds for hosts, then answer with what arrived"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--version", action="version", version=f"navish {__version__}")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds greater than 0, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["hook"]:  # the Claude Code hook: keep it free of heavy imports
        from . import hook

        return hook.main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.host or args.timeout) and args.command is None:
        parser.error("--host and --timeout go with -c")
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except asyncio.CancelledError:  # SIGTERM or SIGHUP: everything was closed on the way out
        return 143


async def _run(args: argparse.Namespace) -> int:
    from .config import config_path, load_config, state_dir
    from .errors import ConfigError, NavishError

    environ = os.environ
    if shutil.which("tmux") is None:
        print(f"navish: {TMUX_MISSING}", file=sys.stderr)
        if args.demo:
            return 1
    _cancel_on_signals(asyncio.current_task())
    async with AsyncExitStack() as stack:
        if args.demo:  # the demo touches nothing outside its own temporary directory
            from .demo import demo_world

            world = stack.enter_context(demo_world())
            log_file = _setup_logging(world.root, args.debug)
            config = load_config(world.root / "config.toml", environ)
            local: Host = world.host
            history = None
        else:
            from .hosts.local import LocalHost

            log_file = _setup_logging(state_dir(environ), args.debug)
            path = config_path(args.config, environ)
            if (args.config or environ.get("NAVISH_CONFIG")) and not path.exists():
                print(f"navish: no config file at {path} (given by {'--config' if args.config else '$NAVISH_CONFIG'})", file=sys.stderr)
                return 2
            existed = path.exists()
            try:
                config = load_config(path, environ)
            except ConfigError as exc:
                print(f"navish: {exc}", file=sys.stderr)
                return 2
            if not existed and path.exists():
                print(f"navish: created {path} with the commented default settings", file=sys.stderr)
            local = LocalHost(config.settings.session_dir)
            history = config.settings.history_file
        if args.command is not None:
            try:
                app = await _build_app(config, local, stack, demo=args.demo, debug=args.debug, only=args.host)
            except NavishError as exc:
                print(f"navish: {exc}", file=sys.stderr)
                return exc.exit_code
            app.listing_wait = args.timeout
            return await _run_once(app, args.command, args.debug, log_file)
        from .shell import Shell

        app = await _build_app(config, local, stack, demo=args.demo, debug=args.debug)
        if args.demo:
            print("navish demo: a private tmux server with sample sessions; all of it is removed when you exit.")
            print(world.note)
        print("navish: type help for commands, Tab to complete, Ctrl-D to leave.")
        return await Shell(app, history_file=history, debug=args.debug, log_file=log_file, notify=config.notify).run()
    return 0


async def _build_app(
    config: Config, local: Host, stack: AsyncExitStack, *, demo: bool, debug: bool, only: str | None = None
) -> App:
    """The app with this machine and every configured remote (or just `only`); closed (pool last)
    on exit. The SSH library is imported only once a remote needs it."""
    from .app import App
    from .config import RemoteConfig
    from .errors import UsageError

    settings = config.settings
    pools: list[SshPool] = []

    async def close_pools() -> None:
        for pool in pools:
            await pool.close_all()

    def remote_host(remote: RemoteConfig) -> Host:
        if not pools:
            from .hosts.ssh import SshPool

            pools.append(SshPool(connect_timeout=settings.connect_timeout, max_handshakes=settings.max_handshakes))
            if debug:  # the pool keeps asyncssh quiet; --debug wants its story in the log file
                logging.getLogger("asyncssh").setLevel(logging.DEBUG)
        return pools[0].host(remote, on_state_change=lambda host: app.on_host_state(host.name, host.state, host.last_error))

    stack.push_async_callback(close_pools)
    app = App(
        poll_interval=settings.poll_interval,
        command_timeout=settings.command_timeout,
        watch=settings.watch,
        pager=settings.pager,
        config_path=None if demo else config.path,
        demo=demo,
        remote_factory=remote_host,
    )
    stack.push_async_callback(app.close)
    remotes = {} if demo else config.remotes
    if only is not None:
        if only != local.name and only not in remotes:
            raise UsageError(f"--host: no host named {only!r} (hosts: {', '.join([local.name, *remotes])})")
        remotes = {only: remotes[only]} if only in remotes else {}
    if only in (None, local.name):
        app.add_host(local, cache_ttl=2 * settings.poll_interval)  # the loop refreshes it; a late poll is not stale
    await app.sync_remotes(remotes)
    return app


async def _run_once(app: App, line: str, debug: bool, log_file: Path | None) -> int:
    from .commands import Context, execute
    from .hosts.base import run_attach
    from .sanitize import pane_text

    task = asyncio.ensure_future(execute(Context.for_terminal(app, run_attached=run_attach), line, debug=debug, log_file=log_file))
    loop = asyncio.get_running_loop()
    why: list[str] = []

    def stop(reason: str) -> None:
        why.append(reason)
        task.cancel()

    loop.add_signal_handler(signal.SIGINT, stop, "interrupted")
    if stat.S_ISFIFO(os.fstat(sys.stdout.fileno()).st_mode):  # the reader of a pipe may go away
        loop.add_reader(sys.stdout.fileno(), stop, "reader gone")  # a pipe's write end turns readable (error) then
    try:
        result = await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
        if why[:1] == ["reader gone"]:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        return 0 if line.split()[:1] == ["events"] else 130  # Ctrl-C is how a stream ends
    finally:
        loop.remove_reader(sys.stdout.fileno())
    if result.error:
        print(pane_text(f"navish: {result.error}", keep_color=False), file=sys.stderr)
    try:
        if result.text:
            print(pane_text(result.text), flush=True)
    except BrokenPipeError:  # the reader stopped reading (`| head`): that is not a failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return result.exit_code
    for warning in result.warnings:
        print(pane_text(f"navish: warning: {warning}", keep_color=False), file=sys.stderr)
    return result.exit_code


def _cancel_on_signals(task: asyncio.Task | None) -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so the demo world and connections are cleaned up."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, task.cancel) if task else None


def _setup_logging(directory: Path, debug: bool) -> Path | None:
    """Log to a small rotating file in the state dir; never to the terminal."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "navish.log"
        handler: logging.Handler = logging.handlers.RotatingFileHandler(path, maxBytes=1 << 20, backupCount=2)
    except OSError:
        root.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return path


if __name__ == "__main__":
    sys.exit(main())
