"""An ``optimize`` kept in a results store: the sweep's layout (manifest, runs table, points,
series) plus ``optimize.json``, written as runs finish and resumable like a sweep.

The store's identity is the experiment's with the question's requirement and date (the
runs' labels depend on the date): ``--resume`` reuses its runs for any confidence, budget or
batch size, and refuses a store of another experiment or question. Replication numbers run
from 0 (candidates) and from ``FRESH_REPLICATION`` (the chosen design's fresh runs).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from leadtime_sim.dates import months_between
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.executors import check_executor
from leadtime_sim.experiment.integrity import manifest_hashes
from leadtime_sim.experiment.optimize import (
    FRESH_REPLICATION,
    Known,
    Question,
    check_question,
    limit_column,
    optimize,
)
from leadtime_sim.experiment.runner import Plan, flush_due, flush_if_due, manifest_for
from leadtime_sim.experiment.store import ResultsStore
from leadtime_sim.experiment.task import RunOutcome
from leadtime_sim.io import write_json


def optimize_manifest(plan: Plan, question: Question, overrides: Sequence[str]) -> dict[str, Any]:
    """The sweep manifest, its experiment narrowed to the question (target: the date)."""
    manifest = manifest_for(plan, overrides)
    experiment = manifest["experiment"] | {"targets": [question.by],
                                           "optimize": {"requirement": question.requirement,
                                                        "by": question.by}}
    identity, _ = manifest_hashes(experiment, manifest["scenario"], list(overrides))
    cap = question.cap  # a candidate never runs past it (the last batch is cut at it)
    return manifest | {
        "experiment": experiment, "identity": identity, "replications": cap,
        "replication_ranges": [[0, cap], [FRESH_REPLICATION, FRESH_REPLICATION + question.fresh]],
        "optimize": {"requirement": question.requirement, "by": question.by,
                     "confidence": question.confidence, "budget_musd": question.budget_musd,
                     "minimize": question.minimize, "batch": question.batch, "cap": question.cap,
                     "fresh": question.fresh, "prescreen_months": question.prescreen_months},
    }


def known_runs(store: ResultsStore, question: Question) -> Known:
    """What the store's runs tell ``optimize`` (NaN: not closed by the end); a failed run
    (kept on resume, as a sweep keeps it) with its error, so that it is not run again."""
    runs = store.runs_frame()
    if runs.empty:
        return {}
    metric, label = f"gap_closed_months.{question.requirement}", limit_column(question)
    closes = runs[metric] if metric in runs.columns else [math.nan] * len(runs)
    labels = runs[label] if label in runs.columns else [""] * len(runs)
    errors = runs["error"] if "error" in runs.columns else [""] * len(runs)
    known: Known = {}
    for p, r, status, error, c, text in zip(runs["point_id"], runs["replication"], runs["status"], errors,
                                            closes, labels, strict=True):
        if status != "ok":
            known[(int(p), int(r))] = (math.nan, "", error if isinstance(error, str) and error else "failed")
        else:
            known[(int(p), int(r))] = (float(c), text if isinstance(text, str) else "", "")
    return known


def optimize_into(plan: Plan, question: Question, out: Path, overrides: Sequence[str] = (),
                  resume: bool = False, force: bool = False, executor: str = "process",
                  workers: int | None = None,
                  progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Answer ``question`` into the store at ``out`` (created, resumed or, with ``force``,
    replaced); ``optimize.json`` is written last. An interruption leaves the store valid and
    "interrupted", every finished run kept."""
    check_executor(executor, workers)
    check_question(plan, question)  # before the store: a bad question leaves no store behind
    by_months = months_between(plan.scenario.start, question.by)
    store = ResultsStore.open(out.resolve(), optimize_manifest(plan, question, overrides), plan.points,
                              {question.by: by_months}, plan.baseline.point_id, plan.scenario.start,
                              resume, force)
    store.describe_session(executor, workers)
    try:
        due = [flush_due(store)]

        def keep(outcome: RunOutcome) -> None:
            store.add(outcome)
            due[0] = flush_if_due(store, due[0])

        try:
            answer = optimize(plan, question, executor, workers, progress, known_runs(store, question), keep)
        except BaseException:
            store.finish("interrupted")
            raise
        store.finish("complete")
        write_json(store.directory / "optimize.json", answer)
    finally:
        store.close()
    return answer


ANSWER_KEYS = ("requirement", "by", "confidence", "feasible", "best", "candidates", "runs")
"""What the report, the workbook and ``answer_text`` read of ``optimize.json``."""


def read_answer(path: Path) -> dict[str, Any]:
    """An optimize store's ``optimize.json``, checked for the keys its readers use; unreadable
    or damaged: InputError naming it."""
    def damaged(why: str) -> InputError:
        return InputError([f"{path}: damaged ({why}); write it again with the optimize command and "
                           "--resume (it reuses every run)"])

    try:
        answer = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise damaged(f"not readable JSON: {exc}") from None
    if not isinstance(answer, dict):
        raise damaged(f"a JSON {type(answer).__name__}, not an object")
    missing = [k for k in ANSWER_KEYS if k not in answer]
    if missing:
        raise damaged(f"no {', '.join(missing)}")
    candidates = answer["candidates"]
    if not isinstance(candidates, list) or not all(isinstance(c, dict) for c in candidates) \
            or not isinstance(answer["best"], dict | None):
        raise damaged("its candidates or best are not of the shape optimize writes")
    return answer
