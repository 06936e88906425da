"""The report's study record: a sweep's answers to the STRESS-DES reporting checklist.

STRESS-DES (Monks et al. 2019, "Strengthening the reporting of empirical simulation studies")
lists what a discrete-event simulation study should state so that others can judge and
repeat it. The items a tool can answer from its own records - outputs and their intervals,
the design, the random inputs, the run length, the replications and the precision they
reach, versions, random numbers, event mechanism, hardware and run time - are written here
from the store (its manifest, ``sessions`` included, and points.csv), not from prose kept by
hand, so they stay true of the study shown.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from leadtime_sim.distributions import Constant, _Dist
from leadtime_sim.experiment.replications import METHOD, replications_text
from leadtime_sim.experiment.spec import Experiment
from leadtime_sim.results import Results
from leadtime_sim.scenario import Scenario

SAMPLING_NAMES = {"lhs": "Latin hypercube", "sobol": "Sobol' sequence"}
WANTED_HALF_WIDTH = 0.05
"""The precision the record works out replications for: P(closed by a target) to +/- 0.05."""


def random_inputs(scenario: Scenario) -> list[tuple[str, str]]:
    """(scenario path, what is drawn) of each random source of a run, in the scenario's order:
    every distribution that is not a constant, yields below 1 and order streams' arrivals."""
    found = [(path, _dist_text(d)) for path, d in _distributions(scenario, ()) if not isinstance(d, Constant)]
    for name, f in scenario.factories.items():
        if f.yield_fraction < 1:
            _beside(found, f"factories.{name}.", (f"factories.{name}.yield_fraction", "each lot passes with "
                    f"probability {f.yield_fraction:g}, else is reworked"))
    for i, stream in enumerate(scenario.order_streams):
        if stream.rate_per_year > 0:
            rate = f"{stream.rate_per_year:g} order{'' if stream.rate_per_year == 1 else 's'} a year"
            _beside(found, f"order_streams[{i}].", (f"order_streams[{i}]", f"Poisson arrivals, {rate} "
                    f"({scenario.stream_name(i)})"), before=True)
    return found


def _beside(found: list[tuple[str, str]], prefix: str, entry: tuple[str, str], before: bool = False) -> None:
    """Put ``entry`` beside the entries under ``prefix`` (after them; first with ``before``),
    or last if there are none."""
    at = [i for i, (path, _) in enumerate(found) if path.startswith(prefix)]
    found.insert((at[0] if before else at[-1] + 1) if at else len(found), entry)


def _distributions(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, _Dist]]:
    if isinstance(value, _Dist):
        yield _path_text(path), value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _distributions(getattr(value, name), (*path, name.removesuffix("_")))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _distributions(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _distributions(item, (*path, f"[{i}]"))


def _path_text(path: tuple[str, ...]) -> str:
    return ".".join(path).replace(".[", "[")


def _dist_text(d: _Dist) -> str:
    spec = d.model_dump(by_alias=True, exclude_none=True)
    family = spec.pop("dist", type(d).__name__.lower())
    shown = ", ".join(f"{k} {v:g}" if isinstance(v, float | int) else f"{k} {v}" for k, v in spec.items())
    return f"{family} ({shown})" if "mean" in spec else f"{family} ({shown}; mean {d.mean:.4g})"


def precision(results: Results) -> tuple[float, str, int] | None:
    """The widest 95% interval half-width of P(closed by the first target) over points and
    requirements, where, and the replications that would bring it to ``WANTED_HALF_WIDTH``
    (the half-width shrinks as one over the square root of the replications); None: no
    target or no such row."""
    stats, targets = results.stats, results.targets
    if stats.empty or not targets or results.provenance.replications is None:
        return None
    low, high = f"p_closed_by_{targets[0]}_low", f"p_closed_by_{targets[0]}_high"
    rows = stats[stats["metric"].astype(str).str.startswith("gap_closed_months.")] \
        if {"metric", low, high} <= set(stats.columns) else pd.DataFrame()
    rows = rows.dropna(subset=[low, high]) if not rows.empty else rows
    if rows.empty:
        return None
    widths = (rows[high] - rows[low]) / 2
    at = widths.idxmax()
    width = float(widths[at])
    replications = results.provenance.replications
    needed = math.ceil(replications * (width / WANTED_HALF_WIDTH) ** 2 / 10) * 10
    requirement = str(rows.at[at, "metric"]).removeprefix("gap_closed_months.")
    where = f"{requirement} at point {int(rows.at[at, 'point_id'])}"
    return width, where, needed


def _sessions(results: Results) -> list[dict[str, Any]]:
    sessions = results.manifest.get("sessions")
    return [s for s in sessions if isinstance(s, dict)] if isinstance(sessions, list) else []


def _software(sessions: list[dict[str, Any]], version: str) -> str:
    seen = []
    for s in sessions:
        env = s.get("environment") or {}
        packages = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items())
        text = f"leadtime-sim {env.get('leadtime_sim', version)}, {env.get('python', '?')}; {packages}"
        if text not in seen:
            seen.append(text)
    if not seen:
        return f"leadtime-sim {version}; the other versions were not recorded (a store written before " \
               "sessions were)"
    return seen[0] if len(seen) == 1 else "changed between sessions: " + " | ".join(seen)


def _runs_and_hardware(sessions: list[dict[str, Any]]) -> str:
    if not sessions:
        return "not recorded (a store written before sessions were)"
    parts = []
    for s in sessions:
        env = s.get("environment") or {}
        workers = s.get("workers") or "one per core"
        seconds = s.get("wall_seconds")
        took = f"{s.get('runs', '?')} runs in {seconds:,.1f} s" if isinstance(seconds, int | float) \
            else f"{s.get('runs', '?')} runs"
        machine = f"{env.get('processor', '?')}, {env.get('cores', '?')} cores, {env.get('platform', '?')}"
        parts.append(f"{_when(s.get('started'))}: {took} ({s.get('status', '?')}), "
                     f"{s.get('executor') or '?'} executor, {workers} worker(s); {machine}")
    return "; ".join(parts)


def _design_text(e: Experiment, study: Any) -> str:
    """The design in words: a grid of the value axes, samples of the range and uncertain ones;
    for a sensitivity analysis (``study``: the manifest's record of it), SALib's design of its
    inputs, the grid axes held at the baseline."""
    grid = [a.name for a in e.design_axes if not a.sampled]
    sampled = [a.name for a in e.design_axes if a.sampled]
    if isinstance(study, dict) and study.get("method") in ("sobol", "morris"):
        held = f", the other axes at the baseline ({', '.join(grid)})" if grid else ""
        if study["method"] == "sobol":
            return (f"Saltelli's Sobol' design (SALib) of {len(sampled)} inputs, N = {study.get('samples')} "
                    f"(N (p + 2) points){held}: {', '.join(sampled)}")
        return (f"Morris's elementary-effects design (SALib) of {len(sampled)} inputs, "
                f"{study.get('samples')} trajectories of p + 1 points{held}: {', '.join(sampled)}")
    samples = f"{e.samples} {SAMPLING_NAMES[e.sampling]} samples of {', '.join(sampled)}"
    if grid and sampled:
        return f"a full grid of {', '.join(grid)}, crossed with {samples}"
    return f"a full grid of {', '.join(grid)}" if grid else samples if sampled else "the scenario as it is"


def _chosen(results: Results) -> str:
    """How the replications were chosen: by ``leadtime-sim replications`` (its answer in the
    store), or in the experiment file."""
    try:
        answer = json.loads((results.directory / "replications.json").read_text(encoding="utf-8"))
        asked = (f"+/- {answer['half_width']:g} in each metric's unit" if answer.get("half_width")
                 else f"{answer['precision']:.0%} of the mean")
        needed = answer["recommended"]
        return (f"chosen by leadtime-sim replications ({answer['method'].split(':')[0]}): "
                + (f"{needed} a point reach a 95% half-width of {asked}" if needed is not None else
                   f"{asked} not reached at every point by {answer['replications_run']}"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "set in the experiment file (leadtime-sim replications works out how many each point needs)"


def _when(stamp: Any) -> str:
    """``2026-12-04T21:01:50+00:00`` as ``2026-12-04 21:01 UTC`` (anything else as it is)."""
    text = str(stamp)
    return f"{text[:10]} {text[11:16]} UTC" if text.endswith("+00:00") and len(text) >= 16 else text


def study_record(results: Results) -> list[tuple[str, str]]:
    """(STRESS-DES item, this study's answer) for a sweep store (empty for a run)."""
    e, s, m = results.experiment, results.scenario, results.provenance
    if results.kind != "sweep" or e is None:
        return []
    sessions = _sessions(results)
    study = (results.manifest.get("experiment") or {}).get("sensitivity")
    design = f"{len(results.points)} design points: {_design_text(e, study)}"
    design += f"; baseline point {results.baseline_id}"
    inputs = random_inputs(s)
    horizon = results.horizon_months
    reached = precision(results)
    why = (f"{_chosen(results)}; at {m.replications} the widest 95% interval of P(closed by "
           f"{results.targets[0]}) is +/- {reached[0]:.2f} ({reached[1]}); about {reached[2]:,} replications "
           f"would bring it to +/- {WANTED_HALF_WIDTH:.2f}" if reached else _chosen(results))
    executors = list(dict.fromkeys(str(x["executor"]) for x in sessions if x.get("executor")))
    simpy = next((x["environment"]["packages"].get("simpy") for x in sessions
                  if isinstance(x.get("environment"), dict) and x["environment"].get("packages")), None)
    return [
        ("1.2 Outputs and their uncertainty",
         "per requirement the gap-close month (censored at the horizon: a run not closed by the end is "
         "later than any date), P(closed by each target) with 95% Wilson intervals, differences with the "
         "baseline paired under common random numbers (Newcombe's interval); per point and metric the "
         "mean with its 95% t interval and P10/P50/P90 (points.csv); monthly series as P10-P90 bands"),
        ("1.3 Experimental design", design),
        ("3.3 Random inputs", f"{len(inputs)} random source{'' if len(inputs) == 1 else 's'} (listed "
         "below), as the model file gives them (its comments cite the source of each figure or call it an "
         "assumption; leadtime-sim fit fits them to delivery records)" if inputs else
         "none: the scenario is deterministic (every run gives the same result)"),
        ("4.1 Terminating or steady state", f"terminating: each run starts at {s.start} from the stated "
         "order book, work in progress and stocks of that date and ends at the horizon; no warm-up is "
         "needed or cut (the state at start is the one observed, not an empty system)"),
        ("4.2 Run length", f"{horizon:g} months ({s.start} to {s.end}); the time unit is the month"),
        ("4.3 Replications",
         f"{m.replications} per design point, {m.done} runs done, {m.failed} failed; {why}"),
        ("5.1 Software", _software(sessions, m.version)),
        ("5.2 Random numbers", f"NumPy PCG64 generators, one per named random source (a line's takt, a "
         f"factory's flow, an order stream, a disruption process, ...), each seeded by SeedSequence(seed "
         f"{m.seed}, replication, a hash of the source's name): replication k of every point draws the "
         "same numbers for the same sources (common random numbers), and adding a source shifts no "
         "other's draws"),
        ("5.3 Event mechanism and parallel runs",
         f"discrete-event simulation on SimPy{f' {simpy}' if simpy else ''} (process interaction; one "
         "event list per run); runs spread over "
         f"{', '.join(executors) or 'the'} executor(s); each run's result depends only on its seed, "
         "replication and point, not on the executor or the number of workers"),
        ("5.4 Hardware and run time", _runs_and_hardware(sessions)),
        ("6.1 Code and citation", f"leadtime-sim {m.version} (MIT licence); its repository's CITATION.cff "
         "says how to cite it; no DOI has been minted. The store (manifest.json) holds the experiment "
         "and scenario as run, with their SHA-256 hashes"),
    ]


def replications_section(directory: Path) -> str:
    """A replications store's answer (``leadtime-sim replications``) and its charts; nothing
    for another store; a damaged answer: a line saying so."""
    path = directory / "replications.json"
    if not path.is_file():
        return ""
    try:
        text = replications_text(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ("<p>replications.json is damaged: run leadtime-sim replications again with --resume (it "
                "reuses every run).</p>")
    parts = [f"<p>{html.escape(METHOD)}.</p><pre>{html.escape(text)}</pre>"]
    for chart in sorted((directory / "charts").glob("replications-*.png")):
        data = base64.b64encode(chart.read_bytes()).decode("ascii")
        parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(chart.stem)}'>"
                     f"<figcaption>charts/{html.escape(chart.name)}</figcaption></figure>")
    return "".join(parts)


__all__ = ["WANTED_HALF_WIDTH", "precision", "random_inputs", "replications_section", "study_record"]
