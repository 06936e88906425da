"""Run an experiment: expand the design, validate every point, execute, store as we go."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadtime_sim._version import __version__
from leadtime_sim.dates import months_between
from leadtime_sim.errors import InputError, OutputError, format_path, problem, read_toml
from leadtime_sim.experiment.design import DesignPoint, axes_text, baseline_point, design_size, expand
from leadtime_sim.experiment.executors import check_executor, run_tasks
from leadtime_sim.experiment.integrity import manifest_hashes
from leadtime_sim.experiment.spec import Experiment, axis_fields, experiment_from, load_experiment
from leadtime_sim.experiment.store import ResultsStore
from leadtime_sim.experiment.task import RunOutcome, RunTask, SweepContext
from leadtime_sim.io import system_memory_pool
from leadtime_sim.metrics import METRICS, customer_products
from leadtime_sim.plugins import NO_PLUGINS, Plugins, load_plugins
from leadtime_sim.scenario import Scenario
from leadtime_sim.scenario.loading import (
    Patch,
    apply_overrides,
    apply_values,
    override_texts,
    patch_between,
    patched,
    validate_scenario,
    warn_about,
)
from leadtime_sim.scenario.paths import parse_assignment, split_path
from leadtime_sim.sim import Limits, estimate_lots
from leadtime_sim.sim.state import NO_LIMITS

log = logging.getLogger(__name__)
FLUSH_SECONDS = 2.0
FLUSH_SHARE = 0.05
"""Flushes rewrite the tables, so they cost more as runs accumulate: the next flush comes
FLUSH_SECONDS after the last one, or later, so that flushing takes at most this share of the
wall time (on a small machine the parent's work takes CPU from the workers). A flush's cost
is the CPU time it takes (at most its wall time): under load its wall time is mostly waiting
for a core, and counting that made the flushes ever rarer (a flush of 0.11 s of CPU took
0.4 s on a busy 2-core machine: the next came 8 s later, not 2.2 s)."""


@dataclass(frozen=True)
class Clock:
    """Where the flush rule reads the time (a test injects its own)."""

    wall: Callable[[], float] = time.monotonic
    cpu: Callable[[], float] = time.process_time
    """This process's CPU time, every thread's (Arrow writes with several)."""


CLOCK = Clock()


@dataclass(frozen=True)
class Plan:
    """An experiment made ready to run: validated points and the shared context."""

    experiment: Experiment
    experiment_path: Path
    model_path: Path
    context: SweepContext
    points: list[DesignPoint]
    baseline: DesignPoint
    patches: dict[int, Patch]
    """Per point, its validated scenario fields that differ from the base."""

    @property
    def scenario(self) -> Scenario:
        """The base scenario as run (overrides applied; axes not)."""
        return self.context.base

    def point_scenario(self, point_id: int) -> Scenario:
        """The validated scenario of a design point."""
        return patched(self.context.base, self.patches[point_id])

    @property
    def runs(self) -> int:
        return len(self.points) * self.experiment.replications

    def tasks(self, skip: set[tuple[int, int]] = frozenset()) -> list[RunTask]:  # type: ignore[assignment]
        """Runs in replication-major order, so early results cover every point."""
        return [RunTask(p.point_id, rep, self.patches[p.point_id])
                for rep in range(self.experiment.replications) for p in self.points
                if (p.point_id, rep) not in skip]


MAX_RUNS = 100_000
"""Sweeps with more runs than this need an explicit yes (``--yes``)."""


def plan_experiment(path: str | Path | Experiment | Mapping[str, Any], overrides: Sequence[str] = (),
                    limits: Limits = NO_LIMITS, yes: bool = False, replications: int | None = None,
                    folder: str | Path = ".", seed: int | None = None) -> Plan:
    """Load the experiment and its model, expand the design and validate every point once.

    ``path``: an experiment file, or an experiment as data (an ``Experiment``, or a dict as
    its TOML would give), whose model is found relative to ``folder``; ``replications`` and
    ``seed``, if given, replace the experiment's (and so make another store). Refuses (InputError)
    a point whose run would start more than ``limits.max_lots`` lots, and a sweep of more
    than MAX_RUNS runs unless ``yes``.
    """
    overrides = override_texts(overrides)
    if isinstance(path, (str, Path)):
        experiment, model_path = load_experiment(path)
    else:
        experiment, model_path = experiment_from(path, folder)
        path = Path(folder).resolve() / "<in memory>"
    if replications is not None:
        if isinstance(replications, bool) or not isinstance(replications, int) \
                or not 1 <= replications <= 1_000_000:
            raise InputError([f"--replications {replications!r}: must be a whole number from 1 to 1,000,000"])
        experiment = experiment.model_copy(update={"replications": replications})
    if seed is not None:
        if not 0 <= seed <= 2**63 - 1:
            raise InputError([f"{path}: seed: {seed} is not a seed (0 to 2**63 - 1)"])
        experiment = experiment.model_copy(update={"seed": seed})
    source = str(path)
    try:
        plugins = load_plugins(experiment.plugins, plugin_folders(path)) if experiment.plugins else NO_PLUGINS
    except InputError as exc:
        raise InputError([f"{source}: plugins: {p.removeprefix('plugin ')}" for p in exc.problems]) \
            from None
    size = design_size(experiment)
    runs = size * experiment.replications
    if runs > MAX_RUNS and not yes:  # counted first: a design too big to run may not fit in memory
        raise InputError([f"{source}: {size:,} points x {experiment.replications} replications "
                          f"= {runs:,} runs (more than {MAX_RUNS:,}); pass --yes to run them anyway"])
    _check_overrides(source, experiment, overrides)
    scenario = _base_scenario(source, model_path, experiment, overrides, plugins)
    _check_metrics(source, experiment, scenario)
    _warn_targets(source, experiment, scenario)
    _warn_samples(source, experiment)
    _warn_capex_twice(source, experiment, scenario)
    points = expand(experiment)
    patches, problems = point_patches(source, experiment, scenario, points, plugins, limits)
    if problems:
        raise InputError(sorted(set(problems), key=problems.index)[:50])
    try:
        baseline = baseline_point(experiment, points)
    except ValueError as exc:
        raise InputError([f"{source}: baseline: {exc}"]) from None
    targets = tuple((d, months_between(scenario.start, d)) for d in experiment.targets)
    context = SweepContext(scenario, experiment.seed, tuple(experiment.plugins), str(model_path), limits,
                           tuple(experiment.metrics), targets, plugin_folders(path))
    log.info(f"{source}: {len(points)} design point(s) x {experiment.replications} replication(s) = "
             f"{len(points) * experiment.replications:,} runs of {model_path} (seed {experiment.seed}, "
             f"baseline point {baseline.point_id}); every point validated")
    return Plan(experiment, Path(path), model_path, context, points, baseline, patches)


def plugin_folders(experiment_path: str | Path) -> tuple[str, ...]:
    """Where an experiment's plugins are imported from: its own folder, then the working
    directory (the same in the sweep's process and in every worker)."""
    return (str(Path(experiment_path).resolve().parent), str(Path.cwd()))


def _check_metrics(source: str, experiment: Experiment, scenario: Scenario) -> None:
    """Each ``metrics`` entry names a subject the scenario has (checked before any run)."""
    subjects: dict[str, list[str]] = {"requirement": list(scenario.requirements),
                                      "product": list(scenario.products),
                                      "customer": customer_products(scenario), "run": []}
    problems = []
    for i, entry in enumerate(experiment.metrics):
        name, _, subject = entry.partition(".")
        per = METRICS[name].per
        if subject and subject not in subjects[per]:
            known = ", ".join(subjects[per]) or "none"
            problems.append(problem(source, f"metrics[{i}]", f"{entry!r}: " + (
                f"{name} is one number per run (no subject)" if per == "run" else
                f"no {per} {subject!r} in the scenario (known: {known})")))
    if problems:
        raise InputError(problems)


def _check_overrides(source: str, experiment: Experiment, overrides: Sequence[str]) -> None:
    """An override (the experiment's or ``--set``) of a path the design sets at every point, or
    of a value inside one, would never be run: refused, naming the axis field that sets it."""
    fields: dict[tuple[str | int, ...], str] = {}
    for written, name in axis_fields(experiment).items():
        try:
            fields[tuple(split_path(written))] = name
        except ValueError:
            continue  # a malformed axis path: told with the points

    def setter(path: Sequence[str | int]) -> str | None:
        return next((fields[tuple(path[:n])] for n in range(len(path), 0, -1) if tuple(path[:n]) in fields),
                    None)

    problems = []
    for key in experiment.overrides:
        try:
            field = setter(split_path(key))
        except ValueError:
            continue  # told when the overrides are applied
        if field:
            problems.append(problem(source, f"overrides: {key}", f"set by {field} at every design point, "
                                    "so this value would never be run"))
    for text in overrides:
        try:
            path, _ = parse_assignment(text)
        except ValueError:
            continue
        field = setter(path)
        if field:
            problems.append(f"--set {text}: {format_path(path)} is set by {source}: {field} at every "
                            "design point, so this value would never be run")
    if problems:
        raise InputError(problems)


def _warn_samples(source: str, experiment: Experiment) -> None:
    """A Sobol design of a count not a power of 2 is allowed, but loses its balance."""
    count = experiment.samples
    if experiment.sampling == "sobol" and any(a.sampled for a in experiment.design_axes) \
            and count & (count - 1):
        log.warning(f"{source}: samples: {count} is not a power of 2, which a Sobol design needs for "
                    f"its balance (take {1 << (count - 1).bit_length()}, or sampling = \"lhs\")")


def _warn_capex_twice(source: str, experiment: Experiment, scenario: Scenario) -> None:
    """An axis of an investment's lines with its ``capex_musd`` tied, where the investment
    also has a ``capex_musd_per_line``: allowed (a fixed cost that grows with the lines), but
    most likely each line counted twice, as the README's own example did on the default model
    (swept capex $1,000M a line for $500M)."""
    for i, axis in enumerate(experiment.axes):
        try:
            path = split_path(axis.path)
        except ValueError:
            continue  # told with the points
        if len(path) != 3 or path[0] != "investments" or path[2] != "lines_added":
            continue
        investment = scenario.investments.get(str(path[1]))
        tied = f"investments.{path[1]}.capex_musd"
        per_line = investment.capex_musd_per_line if investment is not None else 0.0
        if per_line > 0 and tied in axis.tied:
            log.warning(f"{source}: axes[{i}].tied: {tied} follows the lines added, and the investment "
                        f"also costs capex_musd_per_line = {per_line:g} a line, so each line is counted "
                        "twice (tie the one or keep the other)")


def _warn_targets(source: str, experiment: Experiment, scenario: Scenario) -> None:
    """Targets outside the horizon are allowed, but say little: tell the user."""
    horizon = months_between(scenario.start, scenario.end)
    for i, target in enumerate(experiment.targets):
        at = months_between(scenario.start, target)
        if at > horizon:
            log.warning(f"{source}: targets[{i}]: {target} is after the horizon's end ({scenario.end}): "
                        "P(closed by it) is P(closed by the end)")
        elif at < 0:
            log.warning(f"{source}: targets[{i}]: {target} is before the horizon's start ({scenario.start})")


def _base_scenario(source: str, model_path: Path, experiment: Experiment, overrides: Sequence[str],
                   plugins: Plugins) -> Scenario:
    """The model with the experiment's overrides and then ``--set``, validated once; when that
    fails, the problems are told against the first of the three that has them."""
    raw = read_toml(model_path)
    stages = [(raw, str(model_path))]
    stages.append((apply_values(raw, experiment.overrides, source=f"{source}: overrides"),
                   f"{source}: overrides (of {model_path.name})"))
    stages.append((apply_overrides(stages[-1][0], overrides), f"--set (on {model_path.name})"))
    try:
        return warn_about(validate_scenario(stages[-1][0], stages[-1][1], plugins), stages[-1][1])
    except InputError as final:
        for data, where in stages[:-1]:
            validate_scenario(data, where, plugins)  # raises the problems of the first bad stage
        raise final from None


def point_patches(source: str, experiment: Experiment, base: Scenario, points: list[DesignPoint],
                  plugins: Plugins, limits: Limits) -> tuple[dict[int, Patch], list[str]]:
    """Each point validated (once) and its patch on the base, or the problems found (a path
    the scenario lacks named by the axis field that sets it)."""
    fields = axis_fields(experiment)
    data = base.model_dump(by_alias=True)
    patches: dict[int, Patch] = {}
    problems: list[str] = []
    found: dict[str, list[str]] = {}  # a problem (without its point) -> the points that have it
    for point in points:
        where = f"{source}: point {point.point_id} {{{axes_text(point.axes)}}}"
        try:
            scenario = validate_scenario(apply_values(data, point.values, source=f"{source}:", names=fields),
                                         where, plugins) if point.values else base
        except InputError as exc:
            for text in exc.problems:
                rest = text.removeprefix(f"{where}: ")
                if rest == text:  # (not about the point: as it is)
                    problems.append(text)
                else:
                    found.setdefault(rest, []).append(where)
            continue
        lots = estimate_lots(scenario)
        if lots > limits.max_lots:
            problems.append(f"{where}: a run would start about {lots:,.0f} lots, more than "
                            f"--max-lots {limits.max_lots:,.0f}; raise --max-lots to run it anyway")
        patches[point.point_id] = patch_between(base, scenario, point.values)
    return patches, problems + [_once(source, rest, at, len(points)) for rest, at in found.items()]


def _once(source: str, problem: str, where: list[str], points: int) -> str:
    """A point's problem, once for every point that has it (a path no point can take was one
    line per point: 40 alike for a sampled design of 40)."""
    if len(where) == 1:
        return f"{where[0]}: {problem}"
    every = "every one" if len(where) == points else f"{len(where)}"
    return f"{where[0]}: {problem}; the same at {every} of the {points} points"


def _sha256(path: Path, experiment: Experiment | None = None) -> str:
    """The file's SHA-256; for an experiment given in memory, its JSON's."""
    if experiment is not None and not path.is_file():
        return hashlib.sha256(experiment.model_dump_json(by_alias=True).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_for(plan: Plan, overrides: Sequence[str], study: dict[str, Any] | None = None) -> dict[str, Any]:
    """The store's manifest. ``study``: what else the runs are for (a sensitivity analysis,
    say), kept in the experiment's record so that it is part of the store's identity."""
    experiment_json = plan.experiment.model_dump(mode="json", by_alias=True) | (study or {})
    scenario_json = plan.scenario.model_dump(mode="json", by_alias=True)
    identity, scenario_sha256 = manifest_hashes(experiment_json, scenario_json, list(overrides))
    return {
        "experiment_name": plan.experiment.name,
        "identity": identity,
        "experiment_file": str(plan.experiment_path.resolve()),
        "experiment_sha256": _sha256(plan.experiment_path, plan.experiment),
        "model_file": str(plan.model_path),
        "model_sha256": _sha256(plan.model_path),
        "experiment": experiment_json,
        "scenario": scenario_json,
        "scenario_sha256": scenario_sha256,
        "overrides": list(overrides),
        "version": __version__,
        "seed": plan.experiment.seed,
        "replications": plan.experiment.replications,
        "points": [{"point_id": p.point_id, "axes": p.axes, "values": p.values} for p in plan.points],
        "baseline_point": plan.baseline.point_id,
        "command_line": sys.argv,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "finished": None,
        "status": "running",
        "counts": {"done": 0, "failed": 0},
    }


def flush_due(store: ResultsStore) -> float:
    """Flush the store; return when the next flush is due (on ``CLOCK.wall``)."""
    clock = CLOCK
    began, cpu = clock.wall(), clock.cpu()
    store.flush("running")
    now = clock.wall()
    cost = max(0.0, min(now - began, clock.cpu() - cpu))
    return now + max(FLUSH_SECONDS, cost / FLUSH_SHARE)


def flush_if_due(store: ResultsStore, due: float) -> float:
    """Flush the store if ``due`` has come; return when the next flush is due."""
    return flush_due(store) if CLOCK.wall() >= due else due


Progress = Callable[[int, int, int], None]
"""Called with (runs finished, failed, total) as runs finish."""


def run_experiment(path: str | Path | Experiment | Mapping[str, Any], out: str | Path,
                   executor: str = "process", workers: int | None = None, scheduler: str | None = None,
                   resume: bool = False, force: bool = False, overrides: Sequence[str] = (),
                   progress: Progress | None = None, limits: Limits = NO_LIMITS,
                   yes: bool = False, replications: int | None = None,
                   retry_failed: bool = False, folder: str | Path = ".",
                   seed: int | None = None) -> ResultsStore:
    """Run (or resume) an experiment (a file, or data: see ``plan_experiment``) into the
    store at ``out``; return the store.

    KeyboardInterrupt leaves a valid store marked "interrupted" and is re-raised.
    """
    overrides = override_texts(overrides)
    plan = plan_experiment(path, overrides, limits, yes, replications, folder, seed)
    return run_plan(plan, out, executor, workers, scheduler, resume, force, overrides, progress,
                    retry_failed)


def run_plan(plan: Plan, out: str | Path, executor: str = "process", workers: int | None = None,
             scheduler: str | None = None, resume: bool = False, force: bool = False,
             overrides: Sequence[str] = (), progress: Progress | None = None,
             retry_failed: bool = False, study: dict[str, Any] | None = None) -> ResultsStore:
    """Execute a plan's runs not yet in the store at ``out``, flushing as they finish
    (``overrides``: the ``--set`` texts the plan was made with, for the manifest;
    ``retry_failed``: when resuming, run the failed runs again too; ``study``: as for
    ``manifest_for``)."""
    check_executor(executor, workers, scheduler)
    with system_memory_pool():
        return _run(plan, out, executor, workers, scheduler, resume, force, overrides, progress,
                    retry_failed, study)


def _run(plan: Plan, out: str | Path, executor: str, workers: int | None, scheduler: str | None,
         resume: bool, force: bool, overrides: Sequence[str], progress: Progress | None,
         retry_failed: bool, study: dict[str, Any] | None = None) -> ResultsStore:
    targets = {d: months_between(plan.scenario.start, d) for d in plan.experiment.targets}
    store = ResultsStore.open(Path(out).resolve(), manifest_for(plan, overrides, study), plan.points, targets,
                              plan.baseline.point_id, plan.scenario.start, resume, force, retry_failed)
    try:
        _execute(plan, store, executor, workers, scheduler, progress)
    finally:
        store.close()
    return store


def _execute(plan: Plan, store: ResultsStore, executor: str, workers: int | None, scheduler: str | None,
             progress: Progress | None) -> None:
    """Run what the store lacks, flushing as runs finish; on any interruption, stop the
    workers first (closing the executor), then leave the store valid and "interrupted"."""
    tasks = plan.tasks(store.done())
    store.describe_session(executor, workers)
    log.info(f"{store.directory}: {plan.runs - len(tasks):,} of {plan.runs:,} runs already in the store, "
             f"{len(tasks):,} to run on the {executor} executor"
             + ("" if executor == "serial" else f" ({workers or 'one per core'} worker(s))"))
    began = time.monotonic()
    outcome: RunOutcome
    try:
        next_flush = flush_due(store)
        with closing(run_tasks(plan.context, tasks, executor, workers, scheduler)) as outcomes:
            for outcome in outcomes:
                store.add(outcome)
                if progress:
                    progress(store.finished, store.failed, plan.runs)
                next_flush = flush_if_due(store, next_flush)
    except BaseException as exc:
        if isinstance(exc, InputError) and not isinstance(exc, OutputError) and store.finished == 0:
            store.discard()  # the sweep could not start (a Dask cluster that cannot be reached)
            raise
        store.manifest["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        if not isinstance(exc, OutputError):  # if we cannot write, do not try again
            store.finish("interrupted")
        raise
    store.manifest["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    store.finish("complete")
    log.info(f"{store.directory}: {len(tasks):,} runs in {time.monotonic() - began:.1f} s "
             f"({store.failed:,} failed in the store)")
