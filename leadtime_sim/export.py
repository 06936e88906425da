"""One Excel workbook of a results folder, for planners who live in spreadsheets.

A sweep store gives the sheets ``summary`` (the experiment, its status and each
requirement's answer in words), ``points`` (``points.csv``) and ``runs`` (the runs table);
an optimize store's summary gives its answer instead, and a ``candidates`` sheet its
verdict on each design; a sensitivity store adds ``sensitivity`` (``sensitivity.csv``), a
replications store ``replications`` (``replications.csv``), and every store ``study`` (the
report's study record, STRESS-DES);
a run's output gives ``summary`` (``summary.json``, flattened), ``series`` and ``orders``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from leadtime_sim.errors import InputError
from leadtime_sim.experiment.optimize import answer_text
from leadtime_sim.experiment.optimize_store import read_answer
from leadtime_sim.io import atomic_write
from leadtime_sim.report import headlines, partial_warning
from leadtime_sim.report_sensitivity import read_indices
from leadtime_sim.report_study import random_inputs, study_record
from leadtime_sim.results import load_results, read_table

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
        answer = _optimize_answer(folder)
        unanswered = answer is None and "optimize" in results.manifest  # (stopped before its answer)
        note = partial_warning(results, "the points and runs sheets" if unanswered else "the answers")
        facts = [("experiment", results.experiment.name if results.experiment else ""),
                 ("scenario", results.name), ("horizon", f"{results.start} to {results.end}"),
                 ("status", results.provenance.status), *((("note", note),) if note else ()),
                 ("seed", results.provenance.seed),
                 ("replications per point", "adaptive (runs sheet)" if unanswered
                  else results.provenance.replications if answer is None else _optimize_replications(answer)),
                 ("design points", len(results.points))]
        if unanswered:  # (a sweep's headline, the earliest median close, answers another question)
            facts += [("answer", "none yet: the optimize did not finish")]
        elif answer is None:
            facts += [(f"answer: {h.requirement}", h.text) for h in headlines(results)]
        else:  # (the sweep's headline, the earliest median close, is not the question asked)
            facts += [("answer", line) for line in answer_text(answer).splitlines()
                      if not line.startswith("  ")]
        sheets = {"summary": pd.DataFrame(facts, columns=["item", "value"]), "points": results.stats,
                  "runs": results.runs}
        if answer is not None:
            sheets["candidates"] = _candidates(answer)
        if (folder / "sensitivity.csv").is_file():
            sheets["sensitivity"] = read_indices(folder)
        if (folder / "replications.csv").is_file():
            sheets["replications"] = _read_csv(folder / "replications.csv")
        inputs = [(f"3.3 random input: {path}", text) for path, text in random_inputs(results.scenario)]
        sheets["study"] = pd.DataFrame(study_record(results) + inputs, columns=["item", "this study"])
    else:  # (results.manifest: the run's summary.json, read)
        sheets = {"summary": pd.DataFrame(_flat(results.manifest), columns=["item", "value"]),
                  "series": read_table(folder / "series.parquet"), "orders": results.orders}
    for name, frame in sheets.items():
        if len(frame) >= EXCEL_ROWS:
            raise InputError([f"{folder}: the {name} table has {len(frame):,} rows, more than a worksheet "
                              f"holds ({EXCEL_ROWS - 1:,}); use its CSV or Parquet file instead"])
    return sheets


def _read_csv(path: Path) -> pd.DataFrame:
    """A table the store holds beside its own (``replications.csv``); damaged: InputError."""
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputError([f"{path}: damaged ({exc}); write it again with the command that made it and "
                          "--resume (it reuses every run)"]) from None


def _optimize_answer(folder: Path) -> dict[str, Any] | None:
    """``optimize.json`` of an optimize store (None for other stores)."""
    path = folder / "optimize.json"
    return read_answer(path) if path.is_file() else None


def _optimize_replications(answer: dict[str, Any]) -> str:
    """What an optimize store ran per design: its own numbers, not the experiment file's
    ``replications``, which optimize does not use (its batches and cap decide)."""
    ran = sorted(c["replications"] for c in answer["candidates"] if c["replications"])
    each = (f"{ran[0]}" if ran[0] == ran[-1] else f"{ran[0]}-{ran[-1]}") if ran else "none"
    best = answer.get("best")  # (chosen, or the best found when none meets the question: both re-run fresh)
    fresh = best["replications"] if best else 0
    chosen = "the chosen design" if answer.get("feasible") else "the best found"
    return (f"adaptive: {each} per design run ({len(ran)} of {len(answer['candidates'])} run; candidates "
            "sheet)" + (f", {fresh} fresh for {chosen}" if fresh else ""))


def _candidates(answer: dict[str, Any]) -> pd.DataFrame:
    """One row per design ``optimize`` judged: its values, capex, estimate and verdict."""
    rows = []
    for c in answer["candidates"]:
        low, high = c["p_closed_ci"] or (None, None)
        rows.append({"point_id": c["point_id"], **c["values"], "capex_musd": c["capex_musd"],
                     "p_closed": c["p_closed"], "p_closed_low": low, "p_closed_high": high,
                     "replications": c["replications"], "median_close": c["median_close"],
                     "verdict": c["verdict"]})
    return pd.DataFrame(rows)


CELL_CHARACTERS = 32_767
"""The most characters an Excel cell holds."""


def _cell(value: Any) -> Any:
    """A text as a worksheet can hold it: control characters (a bell or a terminal colour in a
    name, a plugin's error) shown as ``\\x07``, where openpyxl refused the whole workbook,
    and cut to CELL_CHARACTERS; other values as they are."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return text if len(text) <= CELL_CHARACTERS else text[:CELL_CHARACTERS - 1] + "\u2026"


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell and column name made writable (``_cell``)."""
    texts = [c for c in frame.columns if frame[c].dtype == object]
    if not texts and not any(isinstance(c, str) and _cell(c) != c for c in frame.columns):
        return frame
    frame = frame.copy()
    for column in texts:
        frame[column] = frame[column].map(_cell)
    return frame.rename(columns=_cell)


def export_excel(directory: str | Path, path: str | Path | None = None) -> Path:
    """Write ``directory``'s workbook (default: ``DIR/results.xlsx``) atomically; its path."""
    sheets = workbook_sheets(directory)
    target = Path(path) if path is not None else Path(directory).resolve() / "results.xlsx"
    if target.suffix.lower() != ".xlsx":
        raise InputError([f"{target}: the workbook's name must end in .xlsx"])

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                _cells(frame).to_excel(writer, sheet_name=name, index=False)
                writer.sheets[name].freeze_panes = "A2"

    atomic_write(target, write)
    return target
