"""``optimize``: the cheapest design that closes a gap by a date with a given confidence.

Over an experiment's design points (its axes), in order of capex (ties: earliest median
close), each candidate gets replications in batches under common random numbers (the same
replication numbers for every candidate) until the Wilson interval of P(closed by the date)
lies wholly above or below the confidence asked for, or a cap is reached (then the point
estimate decides, and the verdict says it was a close call). Where more of an integer axis
cannot close a gap later (lines added, lines), a design that fails rules out every design
with fewer of them and the same other values, unrun. A small design (at most
``WHOLE_SPACE`` points) is evaluated whole, for the frontier chart. The chosen design is then
re-estimated on fresh, independent replications (numbers no candidate used), which is what
is reported: picking the best of noisy estimates would flatter it.

A failed run is recorded as failed (as in a sweep) and left out of its design's estimate; a
design none of whose runs succeeds is not judged (after one batch) and rules out nothing.

``minimize="close"``: the earliest median close among the designs within the budget
(each evaluated on the cap's replications), re-estimated the same way.

Before any run, the fluid pre-screen (``prescreen``) leaves out designs that are clearly
infeasible (or, for ``close``, clearly later than another) or clearly overbuilt, unrun; the
answer says which and how many runs that saved at least.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Literal

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.aggregate import wilson_interval
from leadtime_sim.experiment.design import DesignPoint
from leadtime_sim.experiment.executors import check_executor, kept_pools, run_tasks
from leadtime_sim.experiment.prescreen import DEFAULT_MARGIN_MONTHS, Screen, screen
from leadtime_sim.experiment.runner import Plan
from leadtime_sim.experiment.task import LIMITED_BY, RunOutcome, RunTask, SweepContext

WHOLE_SPACE = 16
"""Designs with at most this many points are evaluated whole."""
FRESH_REPLICATION = 1_000_000
"""Re-estimates use replications from this number on (no candidate's)."""
MONOTONE_SUFFIXES = ("lines_added", ".lines")
"""Axes along which more never closes a gap later (integer lines)."""
MAX_FAILURES_LISTED = 20
"""The answer lists at most this many failed runs (``failed_runs`` counts them all)."""


@dataclass
class Candidate:
    """One design (a design point, or a combination of the grid axes pooled over the
    sampled points that share it) and what its runs say about the requirement."""

    point: DesignPoint
    """The design: its grid values (all its values when nothing is sampled)."""
    capex_musd: float
    members: tuple[DesignPoint, ...] = ()
    """The design points its runs use: replication r runs member r mod their number (the
    same sampled draw for every candidate: common random numbers); empty: ``point``."""
    closed: list[bool] = field(default_factory=list)
    close_months: list[float] = field(default_factory=list)
    """Close month per run, censored at the horizon (math.inf: not by end)."""
    labels: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """Its failed runs ("point P, replication R: error"): recorded, left out of P and the close."""
    verdict: str = "not run"

    @property
    def runs(self) -> int:
        """Runs that succeeded (what P and the median close are over)."""
        return len(self.closed)

    @property
    def tried(self) -> int:
        """Replications run, failed ones included (what the cap counts)."""
        return len(self.closed) + len(self.failures)

    def member(self, replication: int) -> int:
        """The point id replication ``replication`` runs."""
        return self.members[replication % len(self.members)].point_id if self.members else self.point.point_id

    @property
    def point_ids(self) -> list[int]:
        return [m.point_id for m in self.members] or [self.point.point_id]

    @property
    def p(self) -> float:
        return sum(self.closed) / self.runs if self.runs else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(sum(self.closed), self.runs) if self.runs else (0.0, 1.0)

    @property
    def median_close(self) -> float:
        return statistics.median(self.close_months) if self.close_months else math.inf


@dataclass(frozen=True)
class Question:
    requirement: str
    by: str
    confidence: float
    budget_musd: float | None = None
    minimize: Literal["capex", "close"] = "capex"
    batch: int = 10
    cap: int = 80
    fresh: int = 100
    prescreen_months: float = DEFAULT_MARGIN_MONTHS
    """The fluid pre-screen's margin (0: off)."""


def check_question(plan: Plan, question: Question) -> None:
    """One line per problem (InputError) before any run."""
    scenario = plan.scenario
    problems = []
    if question.requirement not in scenario.requirements:
        problems.append(f"--requirement {question.requirement!r}: no such requirement "
                        f"(requirements: {', '.join(scenario.requirements) or 'none'})")
    at = months_between(scenario.start, question.by)
    if not 0 < at <= months_between(scenario.start, scenario.end):
        problems.append(f"--by {question.by}: outside the horizon {scenario.start} to {scenario.end}")
    if not 0 < question.confidence < 1:
        problems.append(f"--confidence {question.confidence}: must be between 0 and 1")
    if not (math.isfinite(question.prescreen_months) and question.prescreen_months >= 0):
        problems.append(f"--prescreen-months {question.prescreen_months}: must be a number >= 0")
    budget = question.budget_musd
    if budget is not None and not (isinstance(budget, int | float) and math.isfinite(budget) and budget >= 0):
        problems.append(f"--budget-musd {budget}: must be a finite number >= 0 (million USD)")
    for name in ("batch", "cap", "fresh"):  # (batch = 0 looped for ever)
        value = getattr(question, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"--{name} {value!r}: must be a whole number >= 1")
    if question.minimize == "close" and question.budget_musd is None:
        problems.append("--minimize close: needs --budget-musd")
    if problems:
        raise InputError(problems)


def designs(plan: Plan) -> list[Candidate]:
    """The candidates: every design point; or, when the experiment samples range axes or
    uncertain inputs (draws of what nobody knows, not options), every combination of its
    grid axes, its runs spread over the sampled points that share it, so that P(closed by)
    takes in the inputs' uncertainty."""
    experiment = plan.experiment
    if not any(a.sampled for a in experiment.design_axes):
        return [Candidate(p, capex_of(plan, p)) for p in plan.points]
    grid = [a for a in experiment.axes if not a.sampled]
    groups: dict[tuple[Any, ...], list[DesignPoint]] = {}
    for point in plan.points:
        groups.setdefault(tuple(point.axes[a.name] for a in grid), []).append(point)
    sampled_paths = {a.path for a in experiment.design_axes if a.sampled}
    sampled_paths |= {t for a in experiment.design_axes if a.sampled for t in a.tied}
    out = []
    for members in groups.values():
        first = members[0]
        design = DesignPoint(first.point_id, {a.name: first.axes[a.name] for a in grid},
                             {k: v for k, v in first.values.items() if k not in sampled_paths})
        capex = statistics.mean(capex_of(plan, m) for m in members)
        out.append(Candidate(design, capex, tuple(members)))
    return out


def capex_of(plan: Plan, point: DesignPoint) -> float:
    """Capex of the investments the point's values change (as ``StoredPoint``)."""
    scenario = plan.point_scenario(point.point_id)
    names = {path.split(".")[1] for path in point.values if path.startswith("investments.")}
    return sum(scenario.investments[n].total_capex_musd for n in scenario.investments if n in names)


Known = dict[tuple[int, int], tuple[float, str, str]]
"""(point id, replication) -> (close month or NaN, what limits the gap at the date, the error
of a failed run or ""): all a run tells ``optimize`` (``experiment/optimize_store.py`` keeps
them in a results store)."""


def optimize(plan: Plan, question: Question, executor: str = "process", workers: int | None = None,
             progress: Callable[[int], None] | None = None, known: Known | None = None,
             keep: Callable[[RunOutcome], None] | None = None) -> dict[str, Any]:
    """Answer ``question`` over the plan's design (module docstring): JSON-ready data.

    ``known``: runs already made for this question (a resumed store), taken instead of run;
    ``keep``: called with each new run's outcome as it finishes (to store it). Local worker
    processes are kept from one batch to the next (``kept_pools``)."""
    check_executor(executor, workers)
    with kept_pools():
        return _optimize(plan, question, executor, workers, progress, known, keep)


def _optimize(plan: Plan, question: Question, executor: str, workers: int | None,
              progress: Callable[[int], None] | None, known: Known | None,
              keep: Callable[[RunOutcome], None] | None) -> dict[str, Any]:
    check_question(plan, question)
    known = {} if known is None else known
    scenario = plan.scenario
    by_months = months_between(scenario.start, question.by)
    horizon = months_between(scenario.start, scenario.end)
    context = SweepContext(scenario, plan.context.seed, plan.context.plugins, plan.context.source,
                           plan.context.limits, (), ((question.by, by_months),), plan.context.plugin_folders)
    ran, reused = [0], [0]

    def evaluate(candidates: Sequence[Candidate], replications: range) -> None:
        """Run ``replications`` of each candidate (or take them from ``known``) and add what
        they say; hand the new ones to ``keep``."""
        wanted = [(c.member(r), r) for c in candidates for r in replications]
        tasks = [RunTask(p, r, plan.patches[p]) for p, r in wanted if (p, r) not in known]
        outcomes: list[RunOutcome] = []
        if tasks:
            with closing(run_tasks(context, tasks, executor, workers)) as running:
                for outcome in running:
                    outcomes.append(outcome)
                    if keep is not None:
                        keep(outcome)
        for outcome in outcomes:  # (a failed run is recorded as failed, as a sweep's: not fatal)
            known[(outcome.point_id, outcome.replication)] = run_record(outcome, question)
        by_point = {p: c for c in candidates for p in c.point_ids}
        for point, replication in sorted(wanted, key=lambda w: (by_point[w[0]].point.point_id, w[1])):
            closed, label, error = known[(point, replication)]
            candidate = by_point[point]
            if error:
                candidate.failures.append(f"point {point}, replication {replication}: {error}")
                continue
            candidate.closed.append(not math.isnan(closed) and closed <= by_months)
            candidate.close_months.append(horizon if math.isnan(closed) else closed)
            candidate.labels.append(label)
        ran[0] += len(wanted)
        reused[0] += len(wanted) - len(tasks)
        if progress:
            progress(ran[0])

    candidates = sorted(designs(plan), key=lambda c: (c.capex_musd, c.point.point_id))
    budget = question.budget_musd
    for c in candidates:
        if budget is not None and c.capex_musd > budget + 1e-9:
            c.verdict = f"over the budget ({money(c.capex_musd)} > {money(budget)})"
    affordable = [c for c in candidates if c.verdict == "not run"]
    fluid = screen(plan, question.requirement, question.by, question.prescreen_months)
    affordable = _prescreened(affordable, fluid, question.minimize)
    if question.minimize == "close":
        evaluate(affordable, range(question.cap))
        for c in affordable:
            close = _month(scenario.start, c.median_close, horizon) or f"not by {scenario.end}"
            c.verdict = _all_failed(c) if not c.runs else f"median close {close}{_failed_note(c)}"
        chosen = min((c for c in affordable if c.runs), key=lambda c: (c.median_close, c.capex_musd),
                     default=None)
        feasible = chosen is not None and chosen.median_close < horizon  # (not by end: no close to pick)
    else:
        chosen = _cheapest(affordable, question, evaluate, whole=len(candidates) <= WHOLE_SPACE,
                           enough=lambda c: fluid.clearly_feasible(c.point_ids))
        feasible = chosen is not None and chosen.verdict.startswith("meets")
        if chosen is None:  # nothing meets it: the highest P found, then the earliest close
            run = [c for c in affordable if c.runs]  # (all at P = 0: the cheapest told nothing)
            chosen = max(run, key=lambda c: (c.p, -c.median_close, -c.capex_musd), default=None)
    best = None
    if chosen is not None:
        fresh = Candidate(chosen.point, chosen.capex_musd, chosen.members)
        evaluate([fresh], range(FRESH_REPLICATION, FRESH_REPLICATION + question.fresh))
        best = _entry(fresh, scenario.start, horizon) | {
            "limited_by": _limit(fresh),
            "confirmed": bool(fresh.runs) and fresh.interval[0] >= question.confidence}
        """``confirmed``: the fresh runs' interval lies wholly above the confidence."""
    skipped = [c.point.point_id for c in candidates if "fluid pre-screen" in c.verdict]
    failures = [f for c in candidates for f in c.failures] + (fresh.failures if chosen is not None else [])
    per_design = question.cap if question.minimize == "close" else min(question.batch, question.cap)
    return {
        "requirement": question.requirement, "by": question.by, "confidence": question.confidence,
        "minimize": question.minimize, "budget_musd": budget, "feasible": feasible, "best": best,
        "candidates": [_entry(c, scenario.start, horizon) | {"verdict": c.verdict} for c in candidates],
        "runs": ran[0], "reused_runs": reused[0], "full_grid_runs": len(candidates) * question.cap,
        "failed_runs": len(failures), "failures": failures[:MAX_FAILURES_LISTED],
        "prescreen": fluid.record() | {"skipped": skipped, "runs_saved_at_least": per_design * len(skipped)},
    }


def _prescreened(candidates: list[Candidate], fluid: Screen, minimize: str) -> list[Candidate]:
    """The candidates left to run after the fluid pre-screen; the others get their verdict."""
    if fluid.off is not None:
        return candidates
    if minimize == "close":
        earliest = min((fluid.close_of(c.point_ids) for c in candidates), default=math.inf)
        for c in candidates:
            close = fluid.close_of(c.point_ids)
            if math.isfinite(earliest) and close > earliest + fluid.margin_months:
                when = "is not closed by the end" if math.isinf(close) else f"closes in {fluid.month(close)}"
                c.verdict = (f"later (fluid pre-screen, not run): at mean rates the gap {when}, more than "
                             f"{fluid.margin_months:g} months after the earliest ({fluid.month(earliest)})")
    else:
        for c in candidates:
            c.verdict = fluid.infeasible(c.point_ids) or c.verdict
    return [c for c in candidates if c.verdict == "not run"]


def run_record(outcome: RunOutcome, question: Question) -> tuple[float, str, str]:
    """What a run tells ``optimize``: the close month (NaN: not by end), the label and, for a
    failed run, its error (NaN and "" with it)."""
    if outcome.status != "ok":
        return math.nan, "", outcome.error or "failed"
    return (outcome.metrics[f"gap_closed_months.{question.requirement}"],
            outcome.labels.get(limit_column(question), ""), "")


def _all_failed(candidate: Candidate) -> str:
    """The verdict of a candidate none of whose runs succeeded (not judged, rules out nothing)."""
    return (f"not judged: all {candidate.tried} runs failed "
            f"({candidate.failures[0].split(': ', 1)[-1]})")


def _failed_note(candidate: Candidate) -> str:
    """"; K of N runs failed (left out)" for a candidate with failed runs, else ""."""
    return (f"; {len(candidate.failures)} of {candidate.tried} runs failed (left out)"
            if candidate.failures else "")


def limit_column(question: Question) -> str:
    """The run label (and runs-table column) saying what limits the gap at the date."""
    return f"{LIMITED_BY}{question.requirement}@{question.by}"


def _cheapest(candidates: list[Candidate], question: Question,
              evaluate: Callable[[Sequence[Candidate], range], None], whole: bool,
              enough: Callable[[Candidate], bool] = lambda candidate: False) -> Candidate | None:
    """The cheapest candidate whose P(closed by) reaches the confidence (module docstring).
    ``enough(candidate)``: the fluid pre-screen finds that design clearly feasible, so that
    once it meets the confidence, dearer ones are not run even in a design evaluated whole."""
    confidence = question.confidence
    failed: list[Candidate] = []
    found: Candidate | None = None
    overbuilt = False
    for candidate in candidates:
        if found is not None and candidate.capex_musd > found.capex_musd + 1e-9:
            overbuilt = whole and enough(found)
            if not whole or overbuilt:
                break  # every cheaper one was judged
        if (dominator := next((f for f in failed if _dominates(f.point, candidate.point)), None)) is not None:
            candidate.verdict = f"fails: fewer lines than point {dominator.point.point_id}, which fails"
            continue
        while True:
            done = candidate.tried  # the last batch is cut at the cap (never more than it)
            evaluate([candidate], range(done, min(done + question.batch, question.cap)))
            lo, hi = candidate.interval
            if lo >= confidence or hi < confidence or candidate.tried >= question.cap or not candidate.runs:
                break  # (no run of a whole batch succeeded: more would fail the same way)
        lo, hi = candidate.interval
        if not candidate.runs:  # every run failed: nothing to judge it by
            candidate.verdict = _all_failed(candidate)
        elif lo >= confidence or (hi >= confidence and candidate.p >= confidence):
            close_call = "" if lo >= confidence else f" (a close call at the cap of {question.cap} runs)"
            candidate.verdict = f"meets {confidence:g}{close_call}{_failed_note(candidate)}"
            if found is None or (candidate.capex_musd, candidate.median_close) < (found.capex_musd,
                                                                                  found.median_close):
                found = candidate
        else:
            limit = _limit(candidate)
            candidate.verdict = f"fails: P = {candidate.p:.2f} [{lo:.2f}, {hi:.2f}] < {confidence:g}" + (
                f"; limited by {limit}" if limit else "") + _failed_note(candidate)
            failed.append(candidate)
    if found is not None:
        for c in candidates:  # dearer ones, judged or not, lose to the cheapest that meets it
            if c.verdict.startswith("meets") and c is not found:
                c.verdict += f"; dearer or later than point {found.point.point_id}"
            elif c.verdict == "not run":
                why = " (fluid pre-screen, not run: overbuilt)" if overbuilt else ""
                c.verdict = f"not needed: point {found.point.point_id} meets it for less{why}"
    return found


def _dominates(failing: DesignPoint, other: DesignPoint) -> bool:
    """``other`` has no more of each monotone axis than ``failing`` and the same rest."""
    monotone = [path for path in failing.values if path.endswith(MONOTONE_SUFFIXES)]
    if not monotone or failing.values.keys() != other.values.keys():
        return False
    return all(other.values[p] <= failing.values[p] if p in monotone else other.values[p] == failing.values[p]
               for p in failing.values)


def _limit(candidate: Candidate) -> str:
    """The most frequent ``limited_by`` label among the runs that did not close (with share)."""
    labels = Counter(label for label, closed in zip(candidate.labels, candidate.closed, strict=True)
                     if label and not closed)
    if not labels:
        return ""
    label, count = labels.most_common(1)[0]
    return f"{label} ({count / candidate.runs:.0%} of runs)"


def _month(start: str, months: float, horizon: float) -> str | None:
    return None if months >= horizon else date_at(start, months)


def _entry(candidate: Candidate, start: str, horizon: float) -> dict[str, Any]:
    lo, hi = candidate.interval
    return {
        "point_id": candidate.point.point_id, "values": dict(candidate.point.axes),
        "sampled_points": len(candidate.members) or None,
        "capex_musd": candidate.capex_musd,
        "p_closed": None if not candidate.runs else candidate.p,
        "p_closed_ci": None if not candidate.runs else [lo, hi],
        "replications": candidate.runs,
        "failed_runs": len(candidate.failures),
        "median_close": None if not candidate.runs else _month(start, candidate.median_close, horizon),
    }


MONEY_DIGITS_MUSD = 1e9
"""Amounts from this ($1,000 trillion) on are written in three significant figures: a budget
of 1e308 "no limit" printed 309 digits."""


def money(musd: float) -> str:
    """``$1,200M``; ``$1e+308M`` for an amount no budget holds."""
    return f"${musd:,.0f}M" if abs(musd) < MONEY_DIGITS_MUSD else f"${musd:.3g}M"


def _design(entry: dict[str, Any], swept: bool = True) -> str:
    """A design in words; its capex if some design buys lines (``swept``), else none: options
    that buy nothing (a takt, a budget) read "($0M)", as if free."""
    values = ", ".join(f"{k} = {v}" for k, v in entry["values"].items())
    notes = [money(entry["capex_musd"])] if swept else []
    if entry.get("sampled_points"):
        notes.append(f"over {entry['sampled_points']} sampled points")
    return f"{values or 'the baseline'}" + (f" ({', '.join(notes)})" if notes else "")


def _nothing_judged(answer: dict[str, Any], goal: str) -> str:
    """Why no design was run: each over the budget, or the rest left out by the pre-screen."""
    candidates = answer["candidates"]
    over = [c for c in candidates if c["verdict"].startswith("over the budget")]
    screened = [c for c in candidates if "fluid pre-screen" in c["verdict"]]
    if candidates and len(over) == len(candidates):
        cheapest = min(c["capex_musd"] for c in candidates)
        return (f"No design is within the budget ({money(answer['budget_musd'])}; the cheapest costs "
                f"{money(cheapest)}): nothing to judge for {goal}.")
    if screened and len(over) + len(screened) == len(candidates):
        within = " within the budget" if over else ""
        return (f"No design meets {goal}: the fluid pre-screen left out every design{within} "
                f"({len(screened)}, none run) as closing more than {answer['prescreen']['margin_months']:g} "
                "months after the date at mean rates; --prescreen-months 0 runs them.")
    return f"No design to judge for {goal}."


def answer_text(answer: dict[str, Any]) -> str:
    """The answer in a sentence, then the candidates and their verdicts."""
    best = answer["best"]
    goal = f"P({answer['requirement']} closed by {answer['by']}) >= {answer['confidence']:g}"
    swept = any(c["capex_musd"] for c in answer["candidates"])
    if best is None:
        lines = [_nothing_judged(answer, goal)]
    else:
        if best["p_closed_ci"] is None:  # every fresh run failed
            estimate = f"no estimate: all {best['failed_runs']} fresh runs failed"
        else:
            lo, hi = best["p_closed_ci"]
            failed = f" ({best['failed_runs']} more failed)" if best.get("failed_runs") else ""
            estimate = (f"P = {best['p_closed']:.2f} [{lo:.2f}, {hi:.2f}] on {best['replications']} fresh "
                        f"runs{failed}, median close {best['median_close'] or 'not by end'}")
        if answer["minimize"] == "close" and not answer["feasible"]:
            lines = [f"No design within {money(answer['budget_musd'])} closes the gap by the end in half its "
                     f"runs or more (every median close is not by end). The cheapest: "
                     f"{_design(best, swept)}; {estimate}."]
        elif answer["minimize"] == "close":
            budget = answer["budget_musd"]
            lines = [f"Earliest median close within {money(budget)}: {_design(best, swept)}; {estimate}."]
        elif answer["feasible"]:
            caveat = "" if best["confirmed"] else (
                f" (the fresh runs' interval reaches below {answer['confidence']:g}: a close call)")
            lines = [f"Cheapest design with {goal}: {_design(best, swept)}; {estimate}{caveat}."]
        else:
            limit = f"; limited by {best['limited_by']}" if best.get("limited_by") else ""
            lines = [f"No design meets {goal}. The best found: {_design(best, swept)}; {estimate}{limit}."]
    fresh = best["replications"] + best.get("failed_runs", 0) if best else 0
    lines.append(f"{answer['runs']} runs: {answer['runs'] - fresh} on candidates (the full grid at the cap: "
                 f"{answer['full_grid_runs']}) and {fresh} fresh.")
    if answer.get("failed_runs"):
        lines.append(f"{answer['failed_runs']} run(s) failed (recorded as failed, left out of the "
                     f"estimates); the first: {answer['failures'][0]}.")
    pre = answer.get("prescreen") or {}
    if pre.get("off"):
        lines.append(f"Fluid pre-screen off: {pre['off']}.")
    elif pre:
        lines.append(f"Fluid pre-screen (margin {pre['margin_months']:g} months): {len(pre['skipped'])} "
                     f"design(s) not run, saving at least {pre['runs_saved_at_least']} runs.")
    for c in answer["candidates"]:
        p = "" if c["p_closed"] is None else f"P = {c['p_closed']:.2f} on {c['replications']} runs: "
        lines.append(f"  {_design(c, swept)}: {p}{c['verdict']}")
    return "\n".join(lines)
