"""The report's section on a sensitivity analysis (``sensitivity.json`` and
``sensitivity.csv`` in the store, the tornado charts in ``charts/``): empty otherwise."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from leadtime_sim.errors import InputError
from leadtime_sim.experiment.sensitivity import share_text
from leadtime_sim.results import read_table

HOW = ("Indices from SALib over the experiment's range axes and uncertain inputs (sampled "
       "through their distributions' quantiles), each point the mean of its "
       "replications under common random numbers. Sobol: S1 is the share of the metric's "
       "variance an input explains alone, ST the share it has a hand in (with interactions); "
       "Morris: mu* is the mean absolute effect of moving the input over its range (an uncertain "
       "input: from its 1/8 to its 7/8 quantile), sigma its "
       "spread (interactions, non-linearity). Intervals: 95% bootstrap. The noise share is the "
       "part of the variance of the point means that is simulation noise, not input: the noise "
       "that differs between points (the residual variance of the points x replications table, "
       "over the replications; noise common to every point under common random numbers moves "
       "every mean alike); it needs two replications or more.")


QUESTION = "Which uncertain input moves each metric most, so that effort goes to pinning it down?"


SUMMARY_KEYS = ("method", "inputs", "samples", "points", "replications", "metrics")


def _summary(directory: Path) -> dict | None:
    """``sensitivity.json`` (None if there is none); damaged: InputError naming it."""
    path = directory / "sensitivity.json"
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError([f"{path}: cannot read: {exc}; write it again with the sensitivity command "
                          "and --resume (it runs nothing)"]) from None
    missing = [k for k in SUMMARY_KEYS if k not in summary] if isinstance(summary, dict) else ["an object"]
    if missing:
        raise InputError([f"{path}: damaged (no {', '.join(missing)}); write it again with the sensitivity "
                          "command and --resume (it runs nothing)"])
    return summary


def read_indices(directory: Path) -> pd.DataFrame:
    """``sensitivity.csv``; damaged: InputError naming it."""
    path = directory / "sensitivity.csv"
    again = "write it again with the sensitivity command and --resume (it runs nothing)"
    try:
        table = read_table(path)
    except InputError as exc:
        raise InputError([f"{exc.problems[0]}; {again}"]) from None
    if not {"input", "metric"} <= set(table.columns):
        raise InputError([f"{path}: damaged (no input and metric columns); {again}"])
    return table


def sensitivity_question(directory: Path, description: str) -> str:
    """The report's question for a sensitivity store (empty for any other): the analysis as
    run, and the experiment file's description named as such (it describes the file's own
    design, which the analysis replaces with its sample)."""
    summary = _summary(directory)
    if summary is None:
        return ""
    inputs = ", ".join(i["input"] for i in summary["inputs"])
    n = summary["samples"]
    design = (f"N = {n}: N (p + 2) points" if summary["method"] == "sobol"
              else f"{n} trajectories of p + 1 points")
    own = (f"<p>The experiment file's description (of its own design, not what ran here): "
           f"{html.escape(description)}</p>" if description else "")
    return (f"<p>{html.escape(QUESTION)}</p><p>{html.escape(summary['method'].capitalize())} analysis of "
            f"{html.escape(inputs)}: {summary['points']} points x {summary['replications']} replications "
            f"({design}, p = {len(summary['inputs'])} inputs).</p>{own}")


def sensitivity_answer(directory: Path) -> str:
    """One line per metric: the input that moves it most, with its index and interval."""
    summary = _summary(directory)
    table_path = directory / "sensitivity.csv"
    if summary is None or not table_path.is_file():
        return ""
    table = read_indices(directory)
    sobol = summary["method"] == "sobol"
    key = "ST" if sobol else "mu_star"
    lines = []
    for metric, info in summary["metrics"].items():
        rows = table[table["metric"] == metric].dropna(subset=[key]).sort_values(key, ascending=False)
        if rows.empty:
            continue
        if info.get("noise_share") is None and not info.get("noise_share_note"):
            # (every point gives the same mean: naming the first of equal zeros as the input
            # that moves it most would contradict the Sensitivity section and the CLI)
            lines.append(f"<p class='headline'>{html.escape(metric)}: no input moves it (every point "
                         "gives the same mean).</p>")
            continue
        top = rows.iloc[0]
        index = (f"ST = {top['ST']:.2f} [{top['ST_lo']:.2f}, {top['ST_hi']:.2f}], S1 = {top['S1']:.2f}"
                 if sobol else f"mu* = {top['mu_star']:.3g}, sigma = {top['sigma']:.3g}")
        caution = "; caution: indices outside [0, 1], sampling error" if info.get("caution") else ""
        lines.append(f"<p class='headline'>{html.escape(metric)} moves most with "
                     f"{html.escape(str(top['input']))} ({index}{caution}; every input in Sensitivity).</p>")
    return "".join(lines)


def sensitivity_section(directory: Path) -> str:
    """The report's Sensitivity section: per metric, the noise share, the indices table and its
    chart."""
    summary_path, table_path = directory / "sensitivity.json", directory / "sensitivity.csv"
    if not summary_path.is_file() or not table_path.is_file():
        return ""
    summary = _summary(directory)
    assert summary is not None
    table = read_indices(directory)
    key = "ST" if summary["method"] == "sobol" else "mu_star"
    parts = [f"<p>{html.escape(summary['method'].capitalize())}: {summary['points']} points x "
             f"{summary['replications']} replications. {html.escape(HOW)}</p>"]
    parts += [f"<p>Note: {html.escape(note)}.</p>" for note in summary.get("notes", [])]
    for metric, info in summary["metrics"].items():
        rows = table[table["metric"] == metric].sort_values(key, ascending=False).drop(columns="metric")
        censored = f"; not by end: {info['not_by_end']}" if info["not_by_end"] else ""
        noise = (f"Simulation noise: {info['noise_share_note']}" if info.get("noise_share_note")
                 else "No input moves it: every point gives the same mean" if info["noise_share"] is None
                 else f"Simulation noise: {share_text(info['noise_share'])} of the variance")
        parts.append(f"<h3>{html.escape(metric)}</h3><p>{noise}{html.escape(censored)}.</p>")
        if info.get("caution"):
            parts.append(f"<p>Caution: {html.escape(info['caution'])}.</p>")
        parts.append(rows.to_html(index=False, float_format=lambda v: f"{v:.3g}", escape=True,
                                  na_rep="not estimated"))  # (a rounded input no Morris step moved)
        stem = metric.replace("@", "-").replace(":", "-")
        chart = directory / "charts" / f"sensitivity-{stem}.png"
        if chart.is_file():
            data = base64.b64encode(chart.read_bytes()).decode("ascii")
            parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(stem)}'>"
                         f"<figcaption>charts/{html.escape(chart.name)}</figcaption></figure>")
    return "".join(parts)
