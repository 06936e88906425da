"""One Excel workbook of a results folder, for planners who live in spreadsheets.

A sweep store gives the sheets ``summary`` (the experiment, its status and each
requirement's answer in words), ``points`` (``points.csv``) and ``runs`` (the runs table);
a run's output gives ``summary`` (``summary.json``, flattened), ``series`` and ``orders``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from leadtime_sim.errors import InputError
from leadtime_sim.io import atomic_write
from leadtime_sim.report import headlines
from leadtime_sim.results import load_results

EXCEL_ROWS = 1_048_576
"""Rows a worksheet holds (header included)."""


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested JSON as (dotted key, value) rows."""
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flat(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [(prefix.rstrip("."), json.dumps(value))]
    return [(prefix.rstrip("."), value)]


def workbook_sheets(directory: str | Path) -> dict[str, pd.DataFrame]:
    """The sheets of ``directory``'s workbook, in order."""
    results = load_results(directory)
    folder = results.directory
    if results.kind == "sweep":
        facts = [("experiment", results.experiment.name if results.experiment else ""),
                 ("scenario", results.name), ("horizon", f"{results.start} to {results.end}"),
                 ("status", results.provenance.status), ("seed", results.provenance.seed),
                 ("replications per point", results.provenance.replications),
                 ("design points", len(results.points))]
        facts += [(f"answer: {h.requirement}", h.text) for h in headlines(results)]
        runs = pd.read_parquet(folder / "runs.parquet")
        sheets = {"summary": pd.DataFrame(facts, columns=["item", "value"]), "points": results.stats,
                  "runs": runs}
    else:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        sheets = {"summary": pd.DataFrame(_flat(summary), columns=["item", "value"]),
                  "series": pd.read_parquet(folder / "series.parquet"),
                  "orders": pd.read_parquet(folder / "orders.parquet")}
    for name, frame in sheets.items():
        if len(frame) >= EXCEL_ROWS:
            raise InputError([f"{folder}: the {name} table has {len(frame):,} rows, more than a worksheet "
                              f"holds ({EXCEL_ROWS - 1:,}); use its CSV or Parquet file instead"])
    return sheets


def export_excel(directory: str | Path, path: str | Path | None = None) -> Path:
    """Write ``directory``'s workbook (default: ``DIR/results.xlsx``) atomically; its path."""
    sheets = workbook_sheets(directory)
    target = Path(path) if path is not None else Path(directory).resolve() / "results.xlsx"
    if target.suffix.lower() != ".xlsx":
        raise InputError([f"{target}: the workbook's name must end in .xlsx"])

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                frame.to_excel(writer, sheet_name=name, index=False)
                writer.sheets[name].freeze_panes = "A2"

    atomic_write(target, write)
    return target
