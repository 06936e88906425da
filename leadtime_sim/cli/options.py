"""Options shared by several commands, and the one way the CLI reports bad input."""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from leadtime_sim.errors import InputError
from leadtime_sim.plugins import NO_PLUGINS, Plugins, load_plugins
from leadtime_sim.run import DEFAULT_SEED

F = TypeVar("F", bound=Callable[..., Any])

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE",
    help="Override a scenario value, e.g. --set factories.patriot_fire_units.lines=2 (repeatable).")
plugin_option = click.option(
    "--plugin", "plugins", multiple=True, metavar="MODULE",
    help="Import MODULE for its POLICIES / ORDERING_RULES (repeatable).")
class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses NaN and infinity (NaN passes every bound check)."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


max_lots_option = click.option(
    "--max-lots", type=FiniteFloatRange(min=1), default=10_000_000, show_default=True, metavar="LOTS",
    help="Refuse (and stop) a run that would start more lots than this.")
def check_lots(model: Path, lots: float, max_lots: float) -> None:
    """InputError if a run of ``model`` would start more lots than ``--max-lots``."""
    if lots > max_lots:
        about = f"{lots:,.0f}" if lots < 1e15 else f"{lots:.2g}"
        raise InputError([f"{model}: this run would start about {about} lots, more than "
                          f"--max-lots {max_lots:,.0f}; raise --max-lots to run it anyway"])


class SeedRange(click.IntRange):
    """Seeds 0 to 2**63 - 1, described so (not as the 19-digit bound)."""

    name = "seed"

    def _describe_range(self) -> str:
        return "0 to 2**63 - 1"


seed_option = click.option("--seed", type=SeedRange(min=0, max=2**63 - 1), default=DEFAULT_SEED,
                           show_default=True, metavar="SEED", help="Random seed.")
experiment_seed_option = click.option(
    "--seed", type=SeedRange(min=0, max=2**63 - 1), default=None, metavar="SEED",
    help="Random seed [default: the experiment's]: another seed is another set of runs (another store).")


def store_options(out_help: str, resume_help: str, executors: tuple[str, ...]) -> Callable[[F], F]:
    """--out, --workers, --executor, --resume and --force of a command that runs into a store
    (``executors``: the executor names, passed in: importing them here would load the runner
    for every command)."""
    options = [
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help=out_help),
        click.option("--workers", type=click.IntRange(min=1, max=1024), metavar="N", default=None,
                     help="Worker processes [default: one per core]."),
        click.option("--executor", type=click.Choice(executors), default="process", show_default=True,
                     help="Where runs execute (as for sweep)."),
        click.option("--resume", is_flag=True, help=resume_help),
        click.option("--force", is_flag=True, help="Replace the store in OUT."),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def one_line(text: str) -> str:
    """Control characters (a CR from a CRLF script, a newline) shown escaped, not obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def fail(problems: list[str]) -> NoReturn:
    """Print one line per problem to stderr and exit with status 2."""
    for line in problems:
        click.echo(f"error: {one_line(line)}", err=True)
    sys.exit(2)


def input_errors_exit_2(command: F) -> F:
    """Turn an InputError raised by a command into one-line messages and exit status 2."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            fail(exc.problems)
    return wrapper  # type: ignore[return-value]


def plugins_from(modules: tuple[str, ...]) -> Plugins:
    """Load plugin modules, looking in the current directory as ``python -m`` would."""
    if not modules:
        return NO_PLUGINS
    try:
        return load_plugins(modules, search=[Path.cwd()])
    except InputError as exc:
        raise InputError([f"--{p}" for p in exc.problems]) from None
