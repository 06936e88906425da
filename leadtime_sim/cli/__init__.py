"""The command line: one Click group; the only place that touches argv, stdout and files.

Subcommands are imported when used (Click's lazy-loading pattern): importing this module
stays light, which matters beyond ``--version``: Dask's worker processes re-import the
program that started them, and pandas, Arrow and the store are no use to them.
"""

from __future__ import annotations

import difflib
import logging
import signal
import threading
from importlib import import_module
from typing import Any, NoReturn

import click

from leadtime_sim._version import __version__
from leadtime_sim.cli.settings import SETTINGS

SUBCOMMANDS = {
    "run": "leadtime_sim.cli.commands:run",
    "validate": "leadtime_sim.cli.commands:validate",
    "schema": "leadtime_sim.cli.commands:schema",
    "sweep": "leadtime_sim.cli.sweep:sweep",
    "plot": "leadtime_sim.cli.plot:plot",
    "report": "leadtime_sim.cli.plot:report",
    "export": "leadtime_sim.cli.plot:export",
    "quote": "leadtime_sim.cli.quote:quote",
    "optimize": "leadtime_sim.cli.optimize:optimize",
    "sensitivity": "leadtime_sim.cli.sensitivity:sensitivity",
    "replications": "leadtime_sim.cli.replications:replications",
    "discover": "leadtime_sim.cli.discover:discover_command",
    "fit": "leadtime_sim.cli.fit:fit",
}
"""Command name -> ``module:attribute`` of its Click command."""


def _signal_handlers() -> dict[int, Any]:
    """The handlers of the signals commands take over (Ctrl-C, SIGTERM, SIGHUP), to restore:
    a stopping sweep ignores them, which must not outlast the command. Empty outside the
    main thread, where no handler can be set."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    return {signum: handler for signum, handler in handlers.items() if handler is not None}


class LazyGroup(click.Group):
    """A group whose commands are imported the first time they are looked up."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attribute = self.lazy[cmd_name].split(":")
            self.add_command(getattr(import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """As Click's, with "did you mean" for a mistyped command."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=2, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """As Click's, but a bad option or argument is one ``error:`` line (not Click's usage
        block), and a Ctrl-C that no command handles itself (one after a sweep's runs,
        while its charts are drawn, say) exits 130 with one line, as the commands' own do,
        not Click's "Aborted!" and exit 1. Every file written is whole (written atomically)."""
        saved = _signal_handlers()
        stopped = False
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a bad option or argument of a command: one line, exit 2
            _usage_error_line(ctx, exc)
        except KeyboardInterrupt:
            stopped = True
            click.echo("interrupted (Ctrl-C): what was written is whole; run the command again to "
                       "finish (a store: --resume)", err=True)
            ctx.exit(130)
        except SystemExit as exc:  # a command stopped by a signal keeps ignoring more while it exits
            stopped = exc.code in (130, 128 + signal.SIGTERM, 128 + signal.SIGHUP)
            raise
        finally:  # (a command run in-process - a notebook, a test - leaves the handlers as it found them)
            if not stopped:
                for signum, handler in saved.items():
                    signal.signal(signum, handler)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """As Click's, a bad option of the program itself (before the command) one line."""
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _usage_error_line(ctx, exc)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with the whole first sentence of its help (Click cuts it at ~45 characters)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                text = " ".join((command.help or "").split())
                first = text.split(". ")[0].rstrip(".") + "." if text else ""
                rows.append((name, command.short_help or first))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())
"""Click's (8.2+) usage error that shows the help, raised for a group called with nothing."""


def _usage_error_line(ctx: click.Context, exc: click.UsageError) -> NoReturn:
    """Print Click's usage error as one ``error:`` line naming the help to read; exit 2 (the
    help itself, for a group called with nothing, is shown as Click shows it)."""
    if isinstance(exc, _NO_ARGS_IS_HELP):
        raise exc
    where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in exc.format_message()).rstrip(".")
    click.echo(f"error: {text} (see {where} --help)", err=True)
    ctx.exit(exc.exit_code)


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Shell completion: eval \"$(_LEADTIME_SIM_COMPLETE=bash_source leadtime-sim)\" "
                    "(zsh_source, fish_source for those shells).")
@click.version_option(__version__, prog_name="leadtime-sim")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines; only results, warnings and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Also log what the library does (info and debug lines).")
def main(quiet: bool, verbose: bool) -> None:
    """Simulate defence procurement lead times: when do the delivery gaps close?"""
    if quiet and verbose:
        raise click.UsageError("-q and -v contradict each other")
    logger = logging.getLogger("leadtime_sim")
    logger.handlers = [EchoHandler()]
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    SETTINGS.quiet = quiet


class EchoHandler(logging.Handler):
    """The library's warnings as ``warning: ...`` lines on stderr (wherever stderr is now);
    its info and debug lines too with ``-v`` (the logger at DEBUG)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING or logging.getLogger("leadtime_sim").level < logging.INFO:
            click.echo(f"{record.levelname.lower()}: {record.getMessage()}", err=True)


__all__ = ["main"]
