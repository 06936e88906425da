"""The files of one run: summary.json, series and orders tables, the scenario as run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from leadtime_sim._version import __version__
from leadtime_sim.errors import OutputError
from leadtime_sim.io import check_creatable, foreign_files, write_json, write_table
from leadtime_sim.run import RunResult
from leadtime_sim.tables import orders_frame, series_frame

RUN_NAMES = ("summary.json", "series.csv", "series.parquet", "orders.csv", "orders.parquet",
             "scenario_as_run.json", "charts", "report.html", "results.xlsx")
"""What a run's output directory may hold: a run replaces these, and never touches anything else."""


def check_run_folder(out: Path) -> None:
    """Refuse (OutputError) an output directory that holds anything but a run's files: a sweep
    store, or files of the user's. A run's output already there may hold other files too (a
    workbook ``export --out`` wrote there): they are left as they are."""
    if (out / "manifest.json").exists():
        raise OutputError([f"{out}: is a results store (manifest.json), not a run's output; "
                           "use a new --out"])
    foreign = foreign_files(out, RUN_NAMES)
    if foreign and not all((out / name).is_file() for name in ("summary.json", "scenario_as_run.json")):
        raise OutputError([f"{out}: is not a results directory of a run: it holds "
                           f"{', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}; use a new --out"])
    if out.exists() and not out.is_dir():
        raise OutputError([f"{out}: is a file, not a directory; use a new --out"])
    check_creatable(out)


def write_run(result: RunResult, out: Path, model_path: Path | None = None,
              overrides: Sequence[str] = ()) -> None:
    """Write a run's results under ``out`` (each file atomically; ``check_run_folder`` first)."""
    check_run_folder(out)
    summary = {
        **result.summary,
        "model_file": str(model_path) if model_path else None,
        "overrides": list(overrides),
        "version": __version__,
    }
    write_table(series_frame(result), out / "series")
    write_table(orders_frame(result), out / "orders")
    write_json(out / "scenario_as_run.json", result.scenario.model_dump(mode="json", by_alias=True))
    write_json(out / "summary.json", summary)
