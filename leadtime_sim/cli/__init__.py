"""The command line: one Click group; the only place that touches argv, stdout and files."""

from __future__ import annotations

import click

from leadtime_sim._version import __version__
from leadtime_sim.cli.commands import run, schema, validate
from leadtime_sim.cli.plot import plot, report
from leadtime_sim.cli.sweep import sweep


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadtime-sim")
def main() -> None:
    """Simulate defence procurement lead times: when do the delivery gaps close?"""


main.add_command(run)
main.add_command(validate)
main.add_command(schema)
main.add_command(sweep)
main.add_command(plot)
main.add_command(report)

__all__ = ["main"]
