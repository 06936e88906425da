"""The files of one run: summary.json, series and orders tables, the scenario as run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from leadtime_sim._version import __version__
from leadtime_sim.io import write_json, write_table
from leadtime_sim.run import RunResult
from leadtime_sim.tables import orders_frame, series_frame


def write_run(result: RunResult, out: Path, model_path: Path | None = None,
              overrides: Sequence[str] = ()) -> None:
    """Write a run's results under ``out`` (each file atomically)."""
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
