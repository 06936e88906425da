"""The command line: one Click group; the only place that touches argv, stdout and files.

Subcommands are imported when used (Click's lazy-loading pattern): importing this module
stays light, which matters beyond ``--version``: Dask's worker processes re-import the
program that started them, and pandas, Arrow and the store are no use to them.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

import click

from leadtime_sim._version import __version__

SUBCOMMANDS = {
    "run": "leadtime_sim.cli.commands:run",
    "validate": "leadtime_sim.cli.commands:validate",
    "schema": "leadtime_sim.cli.commands:schema",
    "sweep": "leadtime_sim.cli.sweep:sweep",
    "plot": "leadtime_sim.cli.plot:plot",
    "report": "leadtime_sim.cli.plot:report",
    "quote": "leadtime_sim.cli.quote:quote",
    "optimize": "leadtime_sim.cli.optimize:optimize",
    "sensitivity": "leadtime_sim.cli.sensitivity:sensitivity",
    "fit": "leadtime_sim.cli.fit:fit",
}
"""Command name -> ``module:attribute`` of its Click command."""


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


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadtime-sim")
def main() -> None:
    """Simulate defence procurement lead times: when do the delivery gaps close?"""
    logger = logging.getLogger("leadtime_sim")
    logger.handlers = [EchoHandler()]
    logger.setLevel(logging.INFO)


class EchoHandler(logging.Handler):
    """The library's warnings as ``warning: ...`` lines on stderr (wherever stderr is now)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            click.echo(f"{record.levelname.lower()}: {record.getMessage()}", err=True)


__all__ = ["main"]
