"""``report.html``: one self-contained file a planner can email.

The question, the headline answer (one sentence per requirement), the scenario and the
experiment as run, the charts (PNG embedded as base64), the points table and the
manifest. Every piece of text from the results is escaped; nothing is fetched from
elsewhere, so the file opens anywhere, offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadtime_sim.charts.catalogue import CHARTS
from leadtime_sim.charts.choices import best_point
from leadtime_sim.charts.files import chart_jobs, render
from leadtime_sim.comparisons import bottleneck_text, display_name, lead_time_text, option_line, options
from leadtime_sim.dates import date_at
from leadtime_sim.experiment.design import axes_text
from leadtime_sim.experiment.optimize import Question
from leadtime_sim.io import atomic_write
from leadtime_sim.limits import limit_words
from leadtime_sim.report_discovery import discovery_section
from leadtime_sim.report_sensitivity import sensitivity_answer, sensitivity_question, sensitivity_section
from leadtime_sim.report_study import random_inputs, replications_section, study_record
from leadtime_sim.results import Results, load_results
from leadtime_sim.scenario.schema import Requirement
from leadtime_sim.spread import spreads

QUESTION = {
    "sweep": "When does each delivery gap close, for each investment option, and how sure are we? "
             "Which tier is the bottleneck, and what lead time does a new order get?",
    # (one run or the fluid estimate has no options and no spread: its NOTE says so)
    "run": "When does each delivery gap close in this run, which tier is the bottleneck, and what lead "
           "time does a new order get?",
    "fluid": "When does each delivery gap close at mean rates, which tier is the bottleneck, and what "
             "lead time does a new order get?",
}
REALISED = {
    "sweep": "each run's median over all its orders, an order still open at the end counted as waiting "
             "at least until then (Kaplan-Meier), P10-P90 over the runs",
    "run": "the median over all the run's orders, an order still open at the end counted as waiting at "
           "least until then (Kaplan-Meier)",
    "fluid": "the median over all the estimate's orders, an order still open at the end counted as "
             "waiting at least until then (Kaplan-Meier)",
}
NOTE = {
    "sweep": "Dates are months (YYYY-MM). P10 and P90: one run in ten closes before the P10 date, one in "
             "ten after the P90 date. A gap not closed by the end of the horizon is reported as "
             "\"not by\" the end, never as a date.",
    "run": "One run: one possible future, with no spread. Run a sweep (leadtime-sim sweep) to see how "
           "sure the dates are. A gap not closed by the end of the horizon is reported as \"not by\" "
           "the end, never as a date.",
    "fluid": "The fluid estimate: mean rates, no random draws, no spread (not a simulated run). Run "
             "the scenario (leadtime-sim run) or a sweep to see what the randomness does. A gap not "
             "closed by the end of the horizon is reported as \"not by\" the end, never as a date.",
}
METHOD = [
    "A close date is censored at the horizon: a run whose gap is not closed by the end counts as "
    "later than any date. Quantiles include those runs (a quantile they reach is shown as \"not by\" "
    "the end, never as a date), every date shown beside runs that never close gives their share, "
    "and no mean includes them.",
    "P(closed by a date) is the share of runs closed by then, with a 95% Wilson score interval.",
    "Comparisons with the baseline are paired: replication k of every point shares its random "
    "streams with replication k of the baseline (common random numbers), and every pair is used. "
    "The difference in P(closed by a date) has Newcombe's (1998) interval for paired proportions "
    "(method 10). The difference in close month counts a run not closed by the end at the horizon; "
    "when a pair holds such a run the difference is a bound, shown as \"at least\".",
]
"""How the numbers are made (the report's method section; also in the README)."""
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1150px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.headline{font-size:1.08em;background:#f6f8fb;border-left:4px solid #0072B2;padding:.5em .8em}
figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}.scroll{overflow-x:auto}table.points td{white-space:nowrap}
pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.8em}
details.section>summary{cursor:pointer;list-style:none}details.section>summary h2{display:inline-block}
details.section>summary::before{content:"\\25B8 ";color:#888}
details.section[open]>summary::before{content:"\\25BE "}
nav .toc{columns:2;background:#f6f6f6;padding:.6em 2em;border-radius:4px}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class Headline:
    """The answer for one requirement, and the point it is about."""

    requirement: str
    point_id: int | None
    text: str


def month_text(start: str, months: float, end: str) -> str:
    """``YYYY-MM``, or ``not by END`` for an empty ("not by end") quantile."""
    return date_at(start, months) if isinstance(months, float | int) and math.isfinite(months) \
        else f"not by {end}"


def sweep_headline(results: Results, requirement: str) -> Headline:
    """The best point's close date with P10/P90 and P(closed by the first target); for a
    sampled design, the close date pooled over the sampled points (``spread_headline``)."""
    if results.sampled:
        return spread_headline(results, requirement)
    rows = results.gap_rows(requirement)
    target = results.targets[0] if results.targets else None
    best = best_point(results, requirement, target)
    row = rows[rows["point_id"] == best].iloc[0]
    start, end = results.start, results.end
    p10, p50, p90 = (month_text(start, float(row[q]), end) for q in ("p10", "p50", "p90"))
    name = display_name(results, "requirement", requirement)
    axes = axes_text(results.point(best).axes)
    capex = results.point(best).swept_capex_musd
    axes += f" (swept capex ${capex:,.0f}M)" if capex else ""
    ran = rows[rows["n"] > 0]  # points with no finished run (all failed) answer nothing
    same = ran[["p10", "p50", "p90"]].round(6).drop_duplicates().shape[0] == 1
    idle = len(rows) - len(ran)
    of = f"{len(ran)} design points" + (f", {idle} more with no finished run" if idle else "")
    if len(ran) == 1:  # (nothing to compare: not "every one of the 1 design points")
        where = (f"with {axes or 'the scenario as it is'} ("
                 + (f"the only one of {len(rows)} design points with a finished run)" if idle
                    else "the one design point)"))
    elif same:
        where = f"at every one of the {of} (the swept axes do not change it)"
    else:
        where = f"with {axes} (the best of {of}: earliest median close month, then the cheapest)"
    if math.isfinite(float(row["p50"])):
        text = f"{name}: {where}, the gap closes in {p50} (P10 {p10}, P90 {p90})"
        share = float(row["share_not_by_end"])
        text += f"; not closed by {end} in {share:.0%} of runs" if share > 0 else ""
    else:
        share = float(row["share_not_by_end"])
        text = (f"{name}: {where}, the gap is not closed by {end} in "
                f"{share:.0%} of runs" + (f" (P10 {p10})" if share < 1 else ""))
    for date in results.targets:
        column = f"p_closed_by_{date}"
        text += (f"; P(closed by {date}) = {float(row[column]):.2f} "
                 f"(95% CI {float(row[column + '_low']):.2f}-{float(row[column + '_high']):.2f})")
    text += limits_text(row, requirement, results.targets, end)
    base = rows[rows["point_id"] == results.baseline_id]
    if not same and best != results.baseline_id and not base.empty:
        failed = results.failures.get(results.baseline_id, (0, []))[0]
        close = (_close_and_share(base.iloc[0], start, end) if int(base.iloc[0]["n"])
                 else f"all {failed} runs failed" if failed else "not run")
        text += (f". Baseline ({results.point_label(results.baseline_id).removesuffix(' (baseline)')}): "
                 f"{close}; {paired_text(row, end)}")
    return Headline(requirement, best, text + ".")


def _close_and_share(row: Any, start: str, end: str) -> str:
    """A point's median close and its "not by end" share: ``2026-07, not closed by 2026-09 in
    30% of runs``, or ``not closed by 2026-06 in 80% of runs`` (the median itself not closed)."""
    share = float(row["share_not_by_end"])
    if not math.isfinite(float(row["p50"])):
        return f"not closed by {end} in {share:.0%} of runs"
    close = month_text(start, float(row["p50"]), end)
    return f"{close}, not closed by {end} in {share:.0%} of runs" if share > 0 else close


def spread_headline(results: Results, requirement: str) -> Headline:
    """A sampled design's answer: the close date over every run of the sampled inputs (the
    best group of grid values, if any), and the inputs it moves with (``spread``)."""
    assert results.experiment is not None
    groups = spreads(results, requirement)
    best = min(groups, key=lambda g: (g.p50, g.p90))
    start, end = results.start, results.end
    p10, p50, p90 = (month_text(start, q, end) for q in (best.p10, best.p50, best.p90))
    inputs = [a.name for a in results.experiment.design_axes if a.sampled]
    where = (f"over {best.points} sampled points of {', '.join(inputs)} "
             f"({best.runs} runs, input uncertainty and simulation noise together)")
    study = (results.manifest.get("experiment") or {}).get("sensitivity") or {}
    if study.get("method") == "morris":  # (its points are levels for screening, not draws)
        where = (f"over the {best.points} points of the Morris screening design of {', '.join(inputs)} "
                 f"({best.runs} runs; each input at four levels, a range's ends included: not a sample "
                 "of what is uncertain, so the spread below overstates it and is only indicative)")
    same = len({(round(g.p10, 6), round(g.p50, 6), round(g.p90, 6), tuple(g.p_closed.items()))
                for g in groups}) == 1  # (as for a grid: no option to prefer where all are alike)
    if best.group and same and len(groups) > 1:
        where = (f"with every one of the {len(groups)} options of {', '.join(best.group)} (they do not "
                 f"change it), {where}")
    elif best.group:
        where = f"with {axes_text(best.group)} (the best of {len(groups)} options by pooled median), {where}"
    name = display_name(results, "requirement", requirement)
    share = best.share_not_by_end
    if math.isfinite(best.p50):
        text = f"{name}: {where}, the gap closes in {p50} (P10 {p10}, P90 {p90})"
        text += f"; not closed by {end} in {share:.0%} of runs" if share else ""
    else:
        text = f"{name}: {where}, the gap is not closed by {end} in {share:.0%} of runs"
        text += f" (P10 {p10})" if best.p10 < math.inf else ""
    for date, (p, low, high) in best.p_closed.items():
        text += f"; P(closed by {date}) = {p:.2f} (95% CI {low:.2f}-{high:.2f})"
    if study.get("method") == "morris":  # (a correlation over its levels names inert inputs too)
        text += ("; which inputs move it: the Morris indices (a rank correlation over the design's "
                 "points, trajectories at four levels and not independent draws, can name an input "
                 "none of whose steps moved it)")
    elif best.correlations:
        moves = ", then ".join(f"{input_name} ({rho:+.2f})" for input_name, rho in best.correlations)
        text += f"; it moves most with {moves} (partial rank correlation with the close month)"
    elif share >= 1:  # (no run closes it: there is no close month to correlate, not a finding)
        text += "; no run closes it, so nothing tells which input would move its close"
    else:
        text += ("; no sampled input's partial rank correlation with the close month is significant "
                 f"at 5% ({best.points} points)")
    return Headline(requirement, None, text + ".")


def limits_text(row: Any, requirement: str, targets: list[str], end: str) -> str:
    """``; limited by capacity (lines busy) in 73% of runs at 2035-01, ...`` from points.csv."""
    parts = []
    for date, column in [*((t, f"limited_by.{requirement}@{t}") for t in targets[:1]),
                         (end, f"limited_by.{requirement}")]:
        value = row.get(column)
        if isinstance(value, str) and value and not value.startswith("closed"):
            label, _, share = value.partition(" (")
            parts.append(f"{limit_words(label)} in {share.rstrip(')')} of runs at {date}")
    return "; limited by " + ", ".join(parts) if parts else ""


def paired_text(row: Any, end: str) -> str:
    """``2.5 months earlier than the baseline (paired, 30 runs)``, or "at least" when some pair
    has a run not closed by the end (the difference counted at the horizon is then a bound)."""
    diff, pairs = float(row["diff_vs_baseline_mean"]), int(row["diff_n_pairs"])
    if not math.isfinite(diff):
        return "no paired difference against the baseline"
    censored = int(row.get("diff_censored_pairs", 0) or 0)
    way = "earlier" if diff < 0 else "later"
    bound = "at least " if censored else ""
    runs = f"all {pairs} runs" if pairs != 1 else "1 run"
    text = (f"no earlier than the baseline (paired, {runs}" if abs(diff) < 0.05 else
            f"{bound}{abs(diff):.1f} months {way} than the baseline (paired, {runs}")
    if censored:
        text += f"; {censored} pairs have a run not closed by {end}, counted at {end}"
    return text + ")"


def run_headline(results: Results, requirement: str) -> Headline:
    info = results.manifest["requirements"][requirement]  # the run's summary.json
    closed = info.get("gap_closed")
    when = f"the gap closes in {closed}" if closed else f"the gap is not closed by {results.end}"
    which = ("in the fluid estimate (mean rates, no random draws)" if results.provenance.estimate == "fluid"
             else f"in this one run (seed {results.provenance.seed})")
    return Headline(requirement, None, f"{requirement} ({info['product']}): {which}, {when}; largest gap "
                                       f"{info['max_gap_units']:,.0f} units.")


def incomplete_text(results: Results) -> str:
    """For a sweep store that did not finish (interrupted, or its writer stopped): that the
    answer is from the runs done so far (empty for a complete store or a run)."""
    m = results.provenance
    if results.kind != "sweep" or m.status == "complete":
        return ""
    if "optimize" in results.manifest and m.status == "running":  # its writer holds the lock
        return (f"This optimize is still running: {m.done or 0:,} runs done when this report was written, "
                f"{m.failed or 0:,} failed, and it has no answer yet. Below are its runs so far, as a "
                "sweep's; write the report again when it ends.")
    if "optimize" in results.manifest:  # (no optimize.json yet: its report is this one)
        return (f"This optimize did not finish ({m.status}): {m.done or 0:,} runs done, {m.failed or 0:,} "
                "failed, and it has no answer yet. Below are its runs so far, as a sweep's; finish it "
                f"with {resume_command(results)}.")
    total = len(results.points) * (m.replications or 0)
    what = "sensitivity analysis" if "sensitivity" in (results.manifest.get("experiment") or {}) else "sweep"
    if m.status == "running":  # its writer holds the lock (``load_results``): it is still going
        return (f"This {what} is still running: {m.done or 0:,} of {total:,} runs done when this report "
                f"was written, {m.failed or 0:,} failed. The answer below is from those runs; write the "
                f"report again when the {what} ends.")
    return (f"This {what} did not finish ({m.status}): {m.done or 0:,} of {total:,} runs done, "
            f"{m.failed or 0:,} failed. The answer below is from the runs done so far; finish it "
            f"with {resume_command(results)}.")


def partial_warning(results: Results, shown: str) -> str:
    """For ``plot`` and ``export`` of a store that did not finish (or is still being written):
    one line saying that ``shown`` ("the charts") are of the runs so far, which nothing in a
    chart or a workbook's answer says (empty for a complete store or a run)."""
    m = results.provenance
    if results.kind != "sweep" or m.status == "complete":
        return ""
    total = len(results.points) * (m.replications or 0)
    done = (f"{m.done or 0:,} runs done" if "optimize" in results.manifest
            else f"{m.done or 0:,} of {total:,} runs done")
    if m.status == "running":  # its writer holds the lock
        return f"{results.directory}: still running ({done}): {shown} are of the runs done so far"
    return (f"{results.directory}: did not finish ({m.status.split(':')[0]}; {done}): {shown} are of "
            f"the runs done so far; finish it with {resume_command(results)}")


def resume_command(results: Results) -> str:
    """The command that finishes a store: the one that made it (sweep, optimize, sensitivity)
    with every setting of its identity (``--replications``, ``--seed``, ``--set``, a study's
    own; optimize's question), since any other is refused as another experiment, or (optimize's
    cap, batch, fresh runs and pre-screen) asks another question. Paths are absolute: the
    command works from any directory (stores of earlier versions name the experiment file as
    it was given)."""
    manifest = results.manifest
    experiment_file = shlex.quote(str(manifest.get("experiment_file") or "EXPERIMENT"))
    seed = f" --seed {manifest['seed']}" if isinstance(manifest.get("seed"), int) else ""
    sets = "".join(f" --set {shlex.quote(str(text))}" for text in manifest.get("overrides") or [])
    out = f" --out {shlex.quote(str(Path(results.directory).resolve()))} --resume"
    if "optimize" in manifest:
        q = manifest["optimize"]
        args = f"--requirement {q['requirement']} --by {q['by']} --confidence {q['confidence']}"
        args += f" --budget-musd {q['budget_musd']}" if q.get("budget_musd") is not None else ""
        args += f" --minimize {q['minimize']}" if q.get("minimize", "capex") != "capex" else ""
        for option, key, default in OPTIMIZE_SETTINGS:
            if q.get(key, default) != default:
                args += f" --{option} {q[key]}"
        return f"leadtime-sim optimize {experiment_file} {args}{seed}{sets}{out}"
    replications = f" --replications {results.provenance.replications}" if results.provenance.replications \
        else ""
    study = (manifest.get("experiment") or {}).get("sensitivity")
    if isinstance(study, dict):
        return (f"leadtime-sim sensitivity {experiment_file} --method {study.get('method')} --samples "
                f"{study.get('samples')}{replications}{seed}{sets}{out}")
    return f"leadtime-sim sweep {experiment_file}{replications}{seed}{sets}{out}"


OPTIMIZE_SETTINGS = (("batch", "batch", Question.batch), ("cap", "cap", Question.cap),
                     ("fresh", "fresh", Question.fresh),
                     ("prescreen-months", "prescreen_months", Question.prescreen_months))
"""optimize's options kept in its store's manifest, with the command's defaults (left out
of the resume command when they are the default)."""


def headlines(results: Results) -> list[Headline]:
    make = sweep_headline if results.kind == "sweep" else run_headline
    return [make(results, r) for r in results.closing_requirements]


def options_list(results: Results, headline: Headline) -> str:
    """Under a sweep's headline: the options a planner compares, and the bottleneck."""
    if results.kind != "sweep":
        return ""
    shown = [] if results.sampled else options(results, headline.requirement)  # (draws are not options)
    items = "".join(f"<li>{esc(option_line(results, headline.requirement, p))}</li>" for p in shown)
    point = headline.point_id if headline.point_id is not None else results.baseline_id
    neck = bottleneck_text(results, headline.requirement, point)
    return (f"<ul class='options' data-requirement='{esc(headline.requirement)}'>{items}</ul>"
            + (f"<p class='bottleneck'>{esc(neck)}</p>" if neck else ""))


def _table(header: list[str] | None, rows: list[list[Any]], css: str = "") -> str:
    """A table of escaped cells (numbers right-aligned); no header row if ``header`` is None."""
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(
        f"<td class='num'>{esc(f'{c:,.10g}')}</td>" if isinstance(c, int | float) else f"<td>{esc(c)}</td>"
        for c in row) + "</tr>" for row in rows)
    return f"<div class='scroll'><table class='{esc(css)}'>{head}{body}</table></div>"


def points_table(results: Results) -> str:
    """Per requirement, one row per point: axes, runs, close-date quantiles, P(closed by each target)."""
    if results.kind != "sweep":
        return ""
    header = ["point", *results.axes, "swept capex ($M)", "runs", "not by end", "P10", "median", "P90",
              *(f"P(closed by {t}) (95% CI)" for t in results.targets)]
    parts = []
    for req in results.closing_requirements:
        frame = results.gap_rows(req)
        rows = []
        for _, r in frame.sort_values("point_id").iterrows():
            ran = int(r["n"]) > 0  # a point with no run (not run yet, failed, left out) has no dates
            failed = results.failures.get(int(r["point_id"]), (0, []))[0]
            cells: list[Any] = [int(r["point_id"]), *[r[a] for a in results.axes],
                                f"{results.point(int(r['point_id'])).swept_capex_musd:,.0f}",
                                f"{int(r['n'])} ({failed} failed)" if failed else int(r["n"]),
                                f"{float(r['share_not_by_end']):.0%}" if ran else "",
                                *(month_text(results.start, float(r[q]), results.end) if ran else ""
                                  for q in ("p10", "p50", "p90"))]
            for t in results.targets:
                c = f"p_closed_by_{t}"
                cells.append(f"{float(r[c]):.2f} ({float(r[c + '_low']):.2f}-{float(r[c + '_high']):.2f})"
                             if ran else "")
            rows.append(cells)
        product = results.scenario.requirements[req].product
        parts.append(f"<h3>{esc(req)} ({esc(product)})</h3>" + _table(header, rows, "points"))
    return failures_list(results) + "".join(parts)


ERRORS_SHOWN = 3
"""Distinct errors named per point in the report's list of failed runs."""


def failures_list(results: Results) -> str:
    """The points with failed runs, each with how many failed and why (the errors recorded in
    the runs table): a point whose runs all failed has no statistics, only this."""
    if not results.failures:
        return ""
    items = []
    for point_id, (count, errors) in sorted(results.failures.items()):
        shown = "; ".join(e or "no error recorded" for e in errors[:ERRORS_SHOWN])
        more = f" (and {len(errors) - ERRORS_SHOWN} other errors)" if len(errors) > ERRORS_SHOWN else ""
        total = count + int(results.stats.loc[results.stats["point_id"] == point_id, "n"].max())
        label = results.point_label(point_id) or "the model as it is"
        items.append(f"<li>point {point_id}, {esc(label)}: {count} of {total} runs failed: "
                     f"{esc(shown)}{esc(more)}</li>")
    experiment_file = results.manifest.get("experiment_file") or "EXPERIMENT"
    return (f"<p class='failed'>Failed runs are left out of every statistic; run them again with "
            f"leadtime-sim sweep {esc(experiment_file)} --out {esc(results.directory)} --resume "
            f"--retry-failed.</p><ul class='failed'>{''.join(items)}</ul>")


def _facts(results: Results) -> list[list[Any]]:
    s, e, m = results.scenario, results.experiment, results.provenance
    facts = [["scenario", s.name], ["description", s.description], ["horizon", f"{s.start} to {s.end}"]]
    if e is None and m.estimate == "fluid":
        return [*facts, ["estimate", "fluid (mean rates, no random draws; no seed)"],
                ["model file", m.model_file], ["version", m.version]]
    if e is None:
        return [*facts, ["seed", m.seed], ["replication", m.replication],
                ["model file", m.model_file], ["version", m.version]]
    return [
        *facts, ["experiment", e.name], ["experiment description", e.description],
        ["design points x replications", f"{len(results.points)} x {m.replications}"],
        ["runs done / failed", f"{m.done} / {m.failed} ({m.status})"],
        ["seed", m.seed], ["targets", ", ".join(results.targets) or "none"],
        ["model file", f"{m.model_file} (sha256 {m.model_sha256[:12]})"],
        ["version", m.version], ["finished", m.finished]]


def _axes_rows(results: Results) -> list[list[Any]]:
    rows = []
    for a in results.experiment.design_axes if results.experiment else []:
        values = a.describe()
        tied = "; ".join(f"{p}: {v if isinstance(v, list) else v.model_dump()}" for p, v in a.tied.items())
        rows.append([a.name, a.path, values, tied])
    return rows


def _required(r: Requirement) -> str:
    points = "; ".join(f"{p.units:,.0f} by {p.date}" for p in r.required or [])
    return points or f"{r.multiple}x by {r.by}"


def _slip(slip: Any) -> str:
    """A slip distribution in words: its table and mean (0: none)."""
    spec = slip.model_dump(by_alias=True, exclude_none=True)  # (as written: "mean", not "mean_ None")
    if spec.get("dist") == "constant":
        return f"{spec['value']:g}"
    shown = ", ".join(f"{k} {v:g}" if isinstance(v, float | int) else f"{k} {v}" for k, v in spec.items()
                      if k != "dist")
    return f"{spec.get('dist')} ({shown}; mean {slip.mean:.1f})"


def setup_section(results: Results) -> str:
    """The scenario and experiment as run: facts, axes, investments, requirements."""
    s = results.scenario
    parts = ["<h3>Facts</h3>", _table(None, [[k, str(v)] for k, v in _facts(results)])]
    if results.kind == "sweep":
        axes = _axes_rows(results)
        parts += ["<h3>Axes (what the experiment varies)</h3>",
                  _table(["axis", "path", "values", "tied"], axes) if axes else
                  "<p>None: one design point, the scenario as it is (with the experiment's overrides).</p>"]
    invest = [[n, i.factory, i.lines_added, i.decided, i.construction_months, _slip(i.slip_months),
               i.ramp_months, i.capex_musd, i.capex_musd_per_line] for n, i in s.investments.items()]
    where = " (before the axes are applied)" if results.kind == "sweep" else ""
    parts += [f"<h3>Investments{where}</h3>", _table(
        ["investment", "factory", "lines added", "decided", "construction (months)", "slip (months)",
         "ramp (months)", "capex ($M)", "capex per line ($M)"], invest) if invest else "<p>None.</p>"]
    reqs = [[n, r.product, ", ".join(r.customer_names), r.initial_units, _required(r)]
            for n, r in s.requirements.items()]
    parts += ["<h3>Requirements</h3>", _table(
        ["requirement", "product", "customers", "units at start", "required"], reqs) if reqs else
        "<p>None.</p>"]
    return "".join(parts)


def charts_section(results: Results) -> str:
    """Every chart, grouped by kind with a sentence on how to read it, as embedded PNGs."""
    parts, kind = [], ""
    for job in chart_jobs(results):
        if job.kind != kind:
            kind = job.kind
            caption = CHARTS[kind].caption
            one = "the fluid estimate" if results.provenance.estimate == "fluid" else "this run"
            text = caption.replace("the baseline and the best point", one) \
                if results.kind == "run" else caption
            if results.sampled:  # its sampled points are draws, not options: dots, pooled bands
                assert results.experiment is not None
                grid = any(not a.sampled for a in results.experiment.design_axes)
                text = text.replace("the median run (line)", "each sampled point's median run (dot)") \
                    .replace("for the baseline and the best point", "pooled over the runs of every sampled "
                             "point" + (" of each combination of the grid axes" if grid else ""))
            parts.append(f"<h3>{esc(kind.replace('_', ' ').capitalize())}</h3><p>{esc(text)}</p>")
        drawn = results.directory / "charts" / f"{job.stem}.png"
        png = drawn.read_bytes() if drawn.is_file() else render(job, "png", dpi=110)
        data = base64.b64encode(compressed_png(png)).decode("ascii")
        parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{esc(job.stem)}'>"
                     f"<figcaption>charts/{esc(job.stem)}.png</figcaption></figure>")
    return "".join(parts)


REPORT_WIDTH_PX = 1000


def compressed_png(png: bytes) -> bytes:
    """A chart made small for the report: at most REPORT_WIDTH_PX wide, 256 colours (the
    charts use a handful, plus their anti-aliasing), optimised; read from the file the sweep
    drew, not drawn again."""
    from PIL import Image  # (Matplotlib's own dependency)

    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGB")
    if image.width > REPORT_WIDTH_PX:
        image = image.resize((REPORT_WIDTH_PX, round(image.height * REPORT_WIDTH_PX / image.width)),
                             Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MAXCOVERAGE).save(out, "PNG", optimize=True)
    return out.getvalue()


def method_section(results: Results) -> str:
    """How the sweep's statistics are made (nothing for one run)."""
    if results.kind != "sweep":
        return ""
    return "".join(f"<p>{esc(text)}</p>" for text in METHOD)


def study_section(results: Results) -> str:
    """The study's answers to the STRESS-DES checklist (``report_study``; nothing for a run)."""
    record = study_record(results)
    if not record:
        return ""
    inputs = random_inputs(results.scenario)
    return ("<p>What a simulation study should state so that others can judge and repeat it (the "
            "STRESS-DES checklist, Monks et al. 2019), as this store records it.</p>"
            + _table(["item", "this study"], [[item, text] for item, text in record])
            + ("<h3>Random inputs (3.3; before the axes are applied)</h3>"
               + _table(["scenario path", "drawn from"], [list(i) for i in inputs]) if inputs else ""))


def lead_time_section(results: Results, shown: list[Headline]) -> str:
    """The answer's paragraph on lead times (``comparisons.lead_time_text``), at the points the
    headlines name (a product's first requirement with a named point)."""
    best: dict[str, int] = {}
    for h in shown:
        if h.point_id is not None:
            best.setdefault(results.scenario.requirements[h.requirement].product, h.point_id)
    lines = lead_time_text(results, best)
    if not lines:
        return ""
    how = ("quoted to a new one-unit order of the least urgent class from the state at that date; "
           f"realised: {REALISED[results.provenance.estimate or results.kind]}")
    items = "".join(f"<li>{esc(line)}.</li>" for line in lines)
    return (f"<p class='lead-times'>Lead time a new order gets ({esc(how)}):</p>"
            f"<ul class='lead-times'>{items}</ul>")


def report_html(results: Results) -> str:
    """The whole report as one HTML string (charts drawn now, from the stored tables)."""
    title = results.experiment.name if results.experiment else results.name
    description = (results.experiment.description if results.experiment else "") \
        or results.scenario.description
    answers = headlines(results)
    lines = "".join(f"<p class='headline' data-requirement='{esc(h.requirement)}' "
                    f"data-point='{esc('' if h.point_id is None else h.point_id)}'>{esc(h.text)}</p>"
                    + options_list(results, h)
                    for h in answers)
    full = results.stats.to_html(index=False, na_rep="", escape=True) \
        if results.kind == "sweep" else ""
    manifest = json.dumps(results.manifest, indent=2, default=str)
    incomplete = incomplete_text(results)
    studied = sensitivity_question(results.directory, description) if results.kind == "sweep" else ""
    names = {k: display_name(results, "requirement", k) for k in results.scenario.requirements}
    kind = results.provenance.estimate or results.kind
    sections = [
        ("question", "The question", studied or f"<p>{esc(QUESTION[kind])}</p><p>{esc(description)}</p>"),
        ("answer", "The answer", (f"<p class='incomplete'>{esc(incomplete)}</p>" if incomplete else "")
                                 + (sensitivity_answer(results.directory) if studied else "")
                                 + (lines or "<p>The scenario has no requirements.</p>")
                                 + lead_time_section(results, answers)
                                 + f"<p>{esc(NOTE[kind])}</p>"),
        ("setup", "Scenario and experiment as run", setup_section(results)),
        ("method", "Method", method_section(results)),
        ("study", "Study record (STRESS-DES)", study_section(results)),
        ("replications", "Replications needed",
         replications_section(results.directory) if results.kind == "sweep" else ""),
        ("charts", "Charts", charts_section(results)),
        ("sensitivity", "Sensitivity",
         sensitivity_section(results.directory) if results.kind == "sweep" else ""),
        ("discovery", "Scenario discovery", discovery_section(results.directory, names)
         if results.kind == "sweep" else ""),
        ("points", "Points", points_table(results) + (
            f"<details><summary>Every metric of every point (points.csv)</summary><div class='scroll'>{full}"
            "</div></details>" if full else "") if results.kind == "sweep" else ""),
        ("manifest", "Manifest", f"<details><summary>manifest</summary><pre>{esc(manifest)}</pre></details>"),
    ]
    shown = [(key, name, body) for key, name, body in sections if body]
    toc = "".join(f"<li><a href='#{key}'>{esc(name)}</a></li>" for key, name, _ in shown)
    return "".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}: report</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1><p>{esc(results.name)}, {esc(results.start)} to {esc(results.end)}</p>",
        f"<nav><ol class='toc'>{toc}</ol></nav>",
        *(f"<details class='section' id='{key}' {'' if key == 'manifest' else 'open'}>"
          f"<summary><h2>{esc(name)}</h2></summary>{body}</details>" for key, name, body in shown),
        "</body></html>\n"])


def write_report(directory: str | Path) -> Path:
    """Write ``DIR/report.html`` for a sweep store, a run's or an optimize output; return its path."""
    if (Path(directory) / "optimize.json").is_file():
        from leadtime_sim.report_optimize import write_optimize_report  # (it builds on this module)
        return write_optimize_report(Path(directory))
    results = load_results(directory)
    text = report_html(results)
    path = results.directory / "report.html"
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)
    return path


__all__ = ["Headline", "headlines", "partial_warning", "report_html", "write_report"]
