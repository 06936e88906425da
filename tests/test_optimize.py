"""``leadtime-sim optimize``: the cheapest design that closes a gap by a date, on a case
whose answer follows by hand, an infeasible one, a budget, and the CLI contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import leadtime_sim as lts
from leadtime_sim.cli import main
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.optimize import Question, answer_text, money, optimize
from leadtime_sim.experiment.runner import plan_experiment

MODEL = """
name = "optimize check"
start = "2025-01"
end = "2029-01"
[products.p]
[factories.f]
product = "p"
lines = 1
lot_size = 1
takt_months = 1
flow_months = 0
[investments.more]
factory = "f"
lines_added = 0
decided = "2025-01"
capex_musd_per_line = 100
[[orders]]
customer = "a"
product = "p"
quantity = 60
placed = "2025-01"
[requirements.a_p]
customer = "a"
product = "p"
required = [{date = "2025-01", units = 0}, {date = "2027-01", units = 60}]
"""
EXPERIMENT = """
name = "lines"
model = "model.toml"
replications = 10
[[axes]]
path = "investments.more.lines_added"
label = "lines added"
values = [0, 1, 2, 3, 4]
"""
CONTRACT = {"requirement", "by", "confidence", "best", "candidates", "feasible"}
ENTRY = {"values", "capex_musd", "p_closed", "p_closed_ci", "replications", "median_close"}


@pytest.fixture()
def experiment(tmp_path: Path) -> Path:
    (tmp_path / "model.toml").write_text(MODEL)
    path = tmp_path / "lines.toml"
    path.write_text(EXPERIMENT)
    return path


def test_the_cheapest_number_of_lines_follows_by_hand(experiment: Path) -> None:
    """60 units required by month 24, linearly from 0 (2.5 a month), one line of takt 1 and
    lines added at start: with n lines in all, month k ends with n k units. Two lines (k = 24:
    48 < 60) fall short; three (3 k >= 2.5 (k + 1) from k = 5 on) close it at month 5. So one
    added line fails and two ($200M) is the cheapest that meets any confidence."""
    answer = optimize(plan_experiment(experiment), Question("a_p", "2027-01", 0.9), "serial")
    assert answer["feasible"] is True
    best = answer["best"]
    assert best["values"] == {"lines added": 2} and best["capex_musd"] == 200
    assert best["p_closed"] == 1.0 and best["replications"] == 100 and best["median_close"] == "2025-06"
    verdicts = {c["values"]["lines added"]: c["verdict"] for c in answer["candidates"]}
    assert verdicts[0].startswith("fails") and verdicts[1].startswith("fails")
    assert "limited by capacity" in verdicts[1]
    assert verdicts[2].startswith("meets")
    # Clear verdicts take one batch each; the runs stay well below the grid at the cap.
    assert answer["runs"] < answer["full_grid_runs"]


def test_the_runs_line_compares_candidate_runs_with_the_full_grid(experiment: Path) -> None:
    """"N runs (the full grid at the cap: G)" set the runs with the fresh re-estimate against
    a grid without it: 3 designs, cap 10, 10 fresh, one left out by the pre-screen printed
    "30 runs (the full grid at the cap: 30)", no saving, beside "saving at least 10 runs"."""
    answer = optimize(plan_experiment(experiment), Question("a_p", "2027-01", 0.9, cap=10, fresh=10), "serial")
    fresh = answer["best"]["replications"]
    assert fresh == 10 and answer["runs"] > fresh
    assert (f"{answer['runs']} runs: {answer['runs'] - fresh} on candidates (the full grid at the cap: "
            f"{answer['full_grid_runs']}) and {fresh} fresh.") in answer_text(answer)


@pytest.mark.parametrize(("cap", "batch"), [(25, 10), (5, 10), (1, 10)])
def test_no_candidate_runs_past_the_cap(experiment: Path, tmp_path: Path, cap: int, batch: int) -> None:
    """Two added lines close the gap in every run, but the Wilson interval of n/n reaches
    0.9 only from n = 35 on, so that candidate runs to the cap. The last batch overshot it:
    --cap 25 --batch 10 ran 30 ("a close call at the cap of 25 runs" on 30), --cap 5 --batch
    10 ran 10; now the last batch is cut at the cap, and the store's replications are the cap."""
    out = tmp_path / "opt"
    result = CliRunner().invoke(main, ["optimize", str(experiment), "--requirement", "a_p", "--by", "2027-01",
                                       "--cap", str(cap), "--batch", str(batch), "--fresh", "5",
                                       "--executor", "serial", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    ran = {c["values"]["lines added"]: c["replications"] for c in answer["candidates"]}
    assert ran[2] == cap and max(ran.values()) == cap
    assert answer["runs"] == sum(ran.values()) + 5
    assert answer["prescreen"]["runs_saved_at_least"] == min(cap, batch) * len(answer["prescreen"]["skipped"])
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs.loc[runs["replication"] < 1_000_000, "replication"].max() == cap - 1
    assert json.loads((out / "manifest.json").read_text())["replications"] == cap


BOOM_PLUGIN = """
from leadtime_sim import AllocationPolicy


class Boom(AllocationPolicy):
    name = "boom"

    def take(self, units):
        raise RuntimeError("boom: this policy refuses to allocate")


POLICIES = {"boom": Boom}
"""


@pytest.mark.slow
def test_a_failed_run_is_recorded_and_resume_continues_past_it(experiment: Path, tmp_path: Path) -> None:
    """Two added lines run a policy that raises. optimize stopped at that run's failure
    (exit 2, the store "interrupted"), and --resume ran it again and stopped the same way,
    for ever. Now, as in a sweep, a failed run is recorded as failed and left out of the
    estimates; a design none of whose runs succeeds is not judged (after one batch) and rules
    out nothing; the answer says how many failed, the exit is 1; --resume reuses every run."""
    (tmp_path / "lts_test_optimize_boom.py").write_text(BOOM_PLUGIN)
    experiment.write_text('plugins = ["lts_test_optimize_boom"]\n' + EXPERIMENT.replace(
        "values = [0, 1, 2, 3, 4]",
        'values = [0, 1, 2, 3, 4]\ntied = { "policy.allocation" = ["fifo", "fifo", "boom", "fifo", "fifo"] }'))
    out = tmp_path / "opt"
    args = ["optimize", str(experiment), "--requirement", "a_p", "--by", "2027-01", "--executor", "serial",
            "--fresh", "5", "--json", "--out", str(out)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 1, first.output
    assert "failed: point 2, replication 0: plugin lts_test_optimize_boom: Boom.take raised RuntimeError: boom" \
        in first.stderr
    answer = json.loads(first.stdout)
    verdicts = {c["values"]["lines added"]: c["verdict"] for c in answer["candidates"]}
    assert verdicts[2] == ("not judged: all 10 runs failed (plugin lts_test_optimize_boom: Boom.take raised "
                           "RuntimeError: boom: this policy refuses to allocate (lts_test_optimize_boom.py:9))")
    assert answer["best"]["values"] == {"lines added": 3} and answer["feasible"] is True
    assert answer["failed_runs"] == 10 and answer["failures"][0].startswith("point 2, replication 0: ")
    assert "10 run(s) failed (recorded as failed" in answer_text(answer)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["failed"] == 10
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == answer["runs"]
    assert set(runs.loc[runs["status"] != "ok", "point_id"]) == {2}
    again = CliRunner().invoke(main, [*args, "--resume"])
    assert again.exit_code == 1, again.output
    resumed = json.loads(again.stdout)
    assert resumed["reused_runs"] == answer["runs"]
    assert {k: v for k, v in resumed.items() if k != "reused_runs"} == {
        k: v for k, v in answer.items() if k != "reused_runs"}
    assert len(pd.read_parquet(out / "runs.parquet")) == answer["runs"]


def test_nothing_within_the_budget_is_infeasible_and_says_why(experiment: Path) -> None:
    answer = optimize(plan_experiment(experiment), Question("a_p", "2027-01", 0.9, budget_musd=150), "serial")
    assert answer["feasible"] is False
    assert answer["best"]["p_closed"] == 0.0
    assert answer["best"]["limited_by"].startswith("capacity")
    assert [c["verdict"].startswith("over the budget") for c in answer["candidates"]] == [
        False, False, True, True, True]


def test_with_nothing_meeting_it_the_best_found_is_the_one_closest_to_closing(experiment: Path) -> None:
    """Every design fails by 2025-02 with P = 0 (--prescreen-months 0: all run); the best found
    was the cheapest (no line added, which never closes it by the end), as if it came closest;
    it is now the earliest median close among those of the highest P."""
    answer = optimize(plan_experiment(experiment), Question("a_p", "2025-02", 0.9, cap=10, fresh=10,
                                                            prescreen_months=0, budget_musd=300), "serial")
    assert answer["feasible"] is False and {c["p_closed"] for c in answer["candidates"] if c["p_closed"] is not None} == {0.0}
    closes = {c["values"]["lines added"]: c["median_close"] for c in answer["candidates"]}
    assert closes[0] is None and answer["best"]["values"] == {"lines added": 3}
    assert answer_text(answer).startswith("No design meets P(a_p closed by 2025-02) >= 0.9. The best found: "
                                          "lines added = 3 ($300M)")
    from leadtime_sim.export import _optimize_replications

    # (the workbook said no fresh runs: the best found is re-estimated on fresh runs too)
    assert _optimize_replications(answer).endswith(f", {answer['best']['replications']} fresh for the best found")
    assert answer["best"]["replications"] == 10


def test_minimize_close_where_nothing_closes_by_the_end_says_so(experiment: Path) -> None:
    """With every median close not by end, --minimize close answered 'Earliest median close
    within $500M: lines added = 0 ...; median close not by end', feasible."""
    plan = plan_experiment(experiment, ['requirements.a_p.required=[{date="2025-01", units=0}, '
                                        '{date="2027-01", units=100000}]'])
    answer = optimize(plan, Question("a_p", "2028-01", 0.9, budget_musd=500, minimize="close", cap=3, fresh=3,
                                     prescreen_months=0), "serial")
    assert answer["feasible"] is False and answer["best"]["median_close"] is None
    assert answer_text(answer).startswith("No design within $500M closes the gap by the end in half its runs")


def test_a_budget_of_no_limit_is_written_short(experiment: Path) -> None:
    """--budget-musd 1e308 (no limit) printed all 309 digits of it: 'within $100,000,...,336M'."""
    answer = optimize(plan_experiment(experiment), Question("a_p", "2027-01", 0.9, budget_musd=1e308,
                                                            minimize="close", cap=2, fresh=2), "serial")
    assert answer_text(answer).startswith("Earliest median close within $1e+308M: lines added = 4 ($400M)")
    assert money(1200) == "$1,200M" and money(2.5e12) == "$2.5e+12M"


def test_minimize_close_within_a_budget_takes_the_most_lines_affordable(experiment: Path) -> None:
    answer = optimize(plan_experiment(experiment),
                      Question("a_p", "2027-01", 0.9, budget_musd=300, minimize="close", cap=5, fresh=5), "serial")
    assert answer["best"]["values"] == {"lines added": 3}  # earliest median close, capex at most $300M
    # (no line added never closes it by the end: its verdict read "median close None")
    every = optimize(plan_experiment(experiment), Question("a_p", "2027-01", 0.9, budget_musd=300, minimize="close",
                                                           cap=5, fresh=5, prescreen_months=0), "serial")
    verdicts = {c["values"]["lines added"]: c["verdict"] for c in every["candidates"]}
    assert verdicts[0] == "median close not by 2029-01" and verdicts[2] == "median close 2025-06"


def test_the_answer_is_the_same_on_every_executor(experiment: Path) -> None:
    question = Question("a_p", "2027-01", 0.9, cap=20, fresh=10)
    serial = optimize(plan_experiment(experiment), question, "serial")
    processes = optimize(plan_experiment(experiment), question, "process", workers=2)
    assert serial == processes


@pytest.mark.slow
def test_cli_json_contract_and_frontier_chart(experiment: Path, tmp_path: Path) -> None:
    out = tmp_path / "opt"
    result = CliRunner().invoke(main, ["optimize", str(experiment), "--requirement", "a_p", "--by", "2027-01",
                                       "--confidence", "0.9", "--workers", "1", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer.keys() >= CONTRACT
    assert answer["best"].keys() >= ENTRY
    assert all(ENTRY | {"verdict"} <= c.keys() for c in answer["candidates"])
    assert json.loads((out / "optimize.json").read_text()) == answer
    assert (out / "charts" / "frontier.png").stat().st_size > 10_000


@pytest.mark.parametrize(("args", "problem"), [
    (["--requirement", "nope", "--by", "2027-01"], "--requirement 'nope': no such requirement"),
    (["--requirement", "a_p", "--by", "2040-01"], "--by 2040-01: outside the horizon"),
    (["--requirement", "a_p", "--by", "2027-01", "--confidence", "1.5"], "--confidence 1.5"),
    (["--requirement", "a_p", "--by", "2027-01", "--minimize", "close"], "--minimize close: needs --budget-musd"),
    (["--requirement", "a_p", "--by", "soon"], "--by 'soon'"),
    (["--requirement", "a_p", "--by", "2030-13"], "error: --by '2030-13': month must be 01-12\n"),  # (quoted once)
    # (click's FloatRange(min=0) lets NaN through: every design was "within" a NaN budget)
    (["--requirement", "a_p", "--by", "2027-01", "--budget-musd", "nan"], "--budget-musd nan: must be a finite"),
    (["--requirement", "a_p", "--by", "2027-01", "--budget-musd", "inf"], "--budget-musd inf: must be a finite"),
    (["--requirement", "a_p", "--by", "2027-01", "--minimize", "close", "--budget-musd", "nan"],
     "--budget-musd nan: must be a finite"),
])
def test_bad_input_is_one_line_and_exit_2(experiment: Path, args: list[str], problem: str) -> None:
    result = CliRunner().invoke(main, ["optimize", str(experiment), *args])
    assert result.exit_code == 2
    assert problem in result.output and "Traceback" not in result.output


def test_a_bad_question_with_out_leaves_no_store(experiment: Path, tmp_path: Path) -> None:
    """It left a manifest-only store ("interrupted"), which then refused the corrected
    question without --resume or --force."""
    out = tmp_path / "opt"
    args = ["optimize", str(experiment), "--by", "2027-01", "--executor", "serial", "--fresh", "5", "--out", str(out)]
    bad = CliRunner().invoke(main, [*args, "--requirement", "nope"])
    assert bad.exit_code == 2 and "no such requirement" in bad.output
    assert not out.exists() or not any(out.iterdir())
    good = CliRunner().invoke(main, [*args, "--requirement", "a_p"])
    assert good.exit_code == 0, good.output


@pytest.mark.parametrize(("field", "value"), [("batch", 0), ("cap", 0), ("fresh", -1), ("batch", 2.5)])
def test_replication_counts_the_cli_refuses_are_refused_by_the_api(experiment: Path, field: str,
                                                                   value: float) -> None:
    """Question(batch=0) looped for ever (each batch added no run)."""
    question = Question("a_p", "2027-01", 0.9, **{field: value})  # type: ignore[arg-type]
    with pytest.raises(InputError, match=rf"--{field} {value}: must be a whole number >= 1"):
        optimize(plan_experiment(experiment), question, "serial")


@pytest.mark.parametrize("budget", [math.nan, math.inf, -1.0])
def test_a_budget_that_is_not_a_finite_number_is_refused_by_the_api(experiment: Path, budget: float) -> None:
    with pytest.raises(InputError, match=r"--budget-musd .*: must be a finite number >= 0"):
        optimize(plan_experiment(experiment), Question("a_p", "2027-01", 0.9, budget_musd=budget), "serial")


def test_resuming_with_a_smaller_cap_or_fresh_keeps_the_runs_it_does_not_use(experiment: Path,
                                                                            tmp_path: Path) -> None:
    """The same question asked with --cap 10 --fresh 5 after --cap 40 --fresh 30 dropped the
    runs beyond them from the store ('N rows of no run of this design; dropped'), so that asking
    the first again ran them all again; they are now kept, and the first question's runs are
    all reused."""
    from leadtime_sim.experiment.optimize_store import optimize_into

    out = tmp_path / "opt"
    wide = Question("a_p", "2025-03", 0.95, batch=20, cap=40, fresh=30, prescreen_months=0)
    first = optimize_into(plan_experiment(experiment), wide, out, executor="serial")
    kept = len(pd.read_parquet(out / "runs.parquet"))
    narrow = Question("a_p", "2025-03", 0.8, batch=5, cap=10, fresh=5, prescreen_months=0)
    optimize_into(plan_experiment(experiment), narrow, out, resume=True, executor="serial")
    assert len(pd.read_parquet(out / "runs.parquet")) >= kept
    again = optimize_into(plan_experiment(experiment), wide, out, resume=True, executor="serial")
    assert again["reused_runs"] == again["runs"] == first["runs"]
    assert {k: v for k, v in again.items() if k != "reused_runs"} == {k: v for k, v in first.items()
                                                                       if k != "reused_runs"}


@pytest.mark.slow
def test_an_interrupted_optimize_resumes_from_its_store(experiment: Path, tmp_path: Path) -> None:
    """--out is a results store (the sweep layout plus optimize.json) written as runs finish;
    --resume reuses its runs (the same answer, no run made twice), also for another
    confidence; without --resume, or for another date, it refuses with exit 2."""
    out = tmp_path / "opt"
    args = ["optimize", str(experiment), "--requirement", "a_p", "--by", "2027-01", "--workers", "1",
            "--json", "--out", str(out)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    answer = json.loads(first.stdout)
    assert {"manifest.json", "runs.parquet", "runs.csv", "points.csv", "series_runs", "optimize.json",
            "charts"} <= {p.name for p in out.iterdir()}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["optimize"]["confidence"] == 0.9
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == answer["runs"] and answer["reused_runs"] == 0
    assert not runs.duplicated(["point_id", "replication"]).any()
    # An interruption: the last 12 runs never reached the table.
    runs.iloc[:-12].to_parquet(out / "runs.parquet")
    again = CliRunner().invoke(main, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.stdout)
    assert resumed["reused_runs"] == answer["runs"] - 12
    assert {k: v for k, v in resumed.items() if k != "reused_runs"} == {
        k: v for k, v in answer.items() if k != "reused_runs"}
    assert len(pd.read_parquet(out / "runs.parquet")) == answer["runs"]
    looser = CliRunner().invoke(main, [*args, "--confidence", "0.5", "--resume"])
    assert looser.exit_code == 0, looser.output
    assert json.loads(looser.stdout)["reused_runs"] > 0
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2 and "--resume" in refused.output
    other = CliRunner().invoke(main, [*args[:5], "2027-06", *args[6:], "--resume"])
    assert other.exit_code == 2 and "another experiment (or other settings)" in other.output


@pytest.mark.slow
def test_the_report_of_an_optimize_output_leads_with_the_answer(experiment: Path, tmp_path: Path) -> None:
    out = tmp_path / "opt"
    done = CliRunner().invoke(main, ["optimize", str(experiment), "--requirement", "a_p", "--by", "2027-01",
                                     "--workers", "1", "--out", str(out)])
    assert done.exit_code == 0, done.output
    report = CliRunner().invoke(main, ["report", str(out)])
    assert report.exit_code == 0, report.output
    text = (out / "report.html").read_text(encoding="utf-8")
    first = text.index("<p class='headline'>")
    assert text[first:].startswith("<p class='headline'>Cheapest design with P(a_p closed by 2027-01) &gt;= 0.9: "
                                   "lines added = 2 ($200M)")
    assert text.count("<tr>") == 1 + 5 and "data:image/png;base64," in text


@pytest.mark.slow
def test_the_workbook_of_an_optimize_output_gives_its_answer_and_verdicts(experiment: Path,
                                                                          tmp_path: Path) -> None:
    """Its summary sheet said the sweep's headline (the earliest median close of the designs
    run), not the answer to the question asked, and had no verdicts."""
    import pandas as pd

    out = tmp_path / "opt"
    done = CliRunner().invoke(main, ["optimize", str(experiment), "--requirement", "a_p", "--by", "2027-01",
                                     "--workers", "1", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert CliRunner().invoke(main, ["export", str(out)]).exit_code == 0
    sheets = pd.read_excel(out / "results.xlsx", sheet_name=None)
    assert list(sheets) == ["summary", "points", "runs", "candidates", "study"]
    refused = CliRunner().invoke(main, ["discover", str(out), "--requirement", "a_p", "--by", "2027-01"])
    assert refused.exit_code == 2 and "is an optimize store" in refused.output
    answers = sheets["summary"].loc[sheets["summary"]["item"] == "answer", "value"].tolist()
    assert answers[0].startswith("Cheapest design with P(a_p closed by 2027-01) >= 0.9: lines added = 2")
    answer = json.loads((out / "optimize.json").read_text())
    # (it said "replications per point: 30", the experiment file's number, which optimize does
    # not use: on the shipped capacity sweep its candidates ran 10-20 runs, the choice 20 fresh)
    ran = sorted(c["replications"] for c in answer["candidates"] if c["replications"])
    [replications] = sheets["summary"].loc[sheets["summary"]["item"] == "replications per point", "value"]
    assert replications.startswith(f"adaptive: {ran[0]}") and f"{answer['best']['replications']} fresh" \
        in replications, replications
    candidates = sheets["candidates"]
    assert len(candidates) == len(answer["candidates"])
    assert candidates["verdict"].tolist() == [c["verdict"] for c in answer["candidates"]]


@pytest.mark.slow
def test_a_ctrl_c_leaves_every_finished_run_in_the_store(experiment: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A KeyboardInterrupt after 24 runs: the store says "interrupted" and holds those 24;
    --resume makes only the rest and gives the answer of an uninterrupted optimize."""
    from conftest import ctrl_c_after_runs

    from leadtime_sim.experiment import optimize_store

    question = Question("a_p", "2027-01", 0.9)
    whole = optimize(plan_experiment(experiment), question, "serial")
    out = tmp_path / "opt"
    undo = ctrl_c_after_runs(monkeypatch, 24)
    with pytest.raises(KeyboardInterrupt):
        optimize_store.optimize_into(plan_experiment(experiment), question, out, executor="serial")
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert len(pd.read_parquet(out / "runs.parquet")) == 24 and not (out / "optimize.json").exists()
    undo()
    resumed = optimize_store.optimize_into(plan_experiment(experiment), question, out, resume=True,
                                           executor="serial")
    assert resumed["reused_runs"] == 24
    assert {k: v for k, v in resumed.items() if k != "reused_runs"} == {
        k: v for k, v in whole.items() if k != "reused_runs"}
    assert json.loads((out / "optimize.json").read_text()) == resumed


@pytest.mark.slow
def test_sigterm_leaves_a_valid_store_that_resumes(experiment: Path, tmp_path: Path) -> None:
    """As a subprocess: SIGTERM mid-way exits 143 with a line naming the store, which is
    "interrupted" and keeps its flushed runs; --resume finishes with every run once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "opt"
    command = [sys.executable, "-m", "leadtime_sim", "optimize", str(experiment), "--requirement", "a_p",
               "--by", "2027-01", "--fresh", "3000", "--workers", "1", "--executor", "serial",
               "--json", "--out", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / "runs.parquet").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "terminated: finished runs are in" in stderr and "Traceback" not in stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    kept = len(pd.read_parquet(out / "runs.parquet"))
    assert kept > 0 and not (out / "optimize.json").exists()
    done = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["reused_runs"] >= kept
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == answer["runs"] and not runs.duplicated(["point_id", "replication"]).any()


def test_the_fluid_prescreen_leaves_out_clear_cases_and_keeps_the_answer(experiment: Path) -> None:
    """The case above at mean rates: with n lines in all the fluid inventory is n t against
    the required 2.5 t, so one line never closes the gap by the end (month 48), two close it
    at month 30 (60 units) and three or more at once (2025-01/02; the DES, whose units come
    whole, at month 5). By 2027-01 (month 24) with the default 12-month margin no added line
    is clearly infeasible, and two added (the cheapest that meets it) are clearly feasible,
    so the dearer designs are overbuilt: not run although the design is evaluated whole.
    With a 3-month margin one added line (month 30 > 27) is left out as well. The answer is
    the one found with every design run, on fewer runs."""
    plan = plan_experiment(experiment)
    every = optimize(plan, Question("a_p", "2027-01", 0.9, prescreen_months=0), "serial")
    wide = optimize(plan, Question("a_p", "2027-01", 0.9), "serial")
    narrow = optimize(plan, Question("a_p", "2027-01", 0.9, prescreen_months=3), "serial")
    assert every["prescreen"]["off"] == "turned off (--prescreen-months 0)" and every["prescreen"]["skipped"] == []
    for answer in (wide, narrow):
        assert answer["best"] == every["best"]
    assert wide["prescreen"]["fluid_close"] == {"0": None, "1": "2027-07", "2": "2025-02", "3": "2025-01",
                                                "4": "2025-01"}
    assert wide["prescreen"]["skipped"] == [0, 3, 4]
    assert narrow["prescreen"]["skipped"] == [0, 1, 3, 4]
    verdicts = {c["values"]["lines added"]: c["verdict"] for c in narrow["candidates"]}
    assert verdicts[1].startswith("fails (fluid pre-screen, not run): at mean rates the gap closes in 2027-07")
    assert verdicts[3] == "not needed: point 2 meets it for less (fluid pre-screen, not run: overbuilt)"
    assert every["runs"] > wide["runs"] > narrow["runs"]
    assert narrow["prescreen"]["runs_saved_at_least"] == 4 * 10


def test_the_prescreen_is_off_where_the_fluid_model_does_not_model_the_scenario(experiment: Path) -> None:
    (experiment.parent / "model.toml").write_text(MODEL.replace("takt_months = 1", "takt_months = 1\n"
                                                                "learning = { progress_ratio = 0.9 }"))
    answer = optimize(plan_experiment(experiment), Question("a_p", "2027-01", 0.9, cap=10, fresh=5), "serial")
    assert answer["prescreen"]["off"] == ("factory f has a learning curve, which the fluid model does not "
                                          "model (the takt at start)")
    assert answer["prescreen"]["skipped"] == [] and answer["prescreen"]["fluid_close"] == {}


def test_the_prescreen_is_off_for_a_minimum_lot_size(experiment: Path) -> None:
    """Lots of up to 4, at least 4: the run's lines leave the last 2 of the 62 units ordered
    waiting for good, where the fluid makes every unit (it delivered all 62, the DES 60)."""
    model = MODEL.replace("lot_size = 1", "lot_size = 4\nmin_lot_size = 4").replace("quantity = 60", "quantity = 62")
    (experiment.parent / "model.toml").write_text(model)
    plan = plan_experiment(experiment)
    assert lts.simulate(plan.scenario).summary["products"]["p"]["delivered_units"] == 60
    assert lts.fluid(plan.scenario).summary["products"]["p"]["delivered_units"] == 62
    answer = optimize(plan, Question("a_p", "2027-01", 0.9, cap=10, fresh=5), "serial")
    assert answer["prescreen"]["off"].startswith("factory f has a minimum lot size, which the fluid model does not model")
    assert answer["prescreen"]["skipped"] == [] and answer["prescreen"]["fluid_close"] == {}


def test_optimize_keeps_one_worker_pool_for_all_its_batches(experiment: Path) -> None:
    """Inside ``kept_pools`` the process executor reuses its pool from call to call (the
    same runs as in this process), and shuts it down at the block's end; outside, each call
    has a pool of its own."""
    from leadtime_sim.experiment import executors
    from leadtime_sim.experiment.task import RunTask

    plan = plan_experiment(experiment)
    tasks = [RunTask(p.point_id, 0, plan.patches[p.point_id]) for p in plan.points]
    serial = sorted(executors.run_tasks(plan.context, tasks, "serial"), key=lambda o: o.point_id)
    with executors.kept_pools():
        first = sorted(executors.run_tasks(plan.context, tasks, "process", 2), key=lambda o: o.point_id)
        [pool] = executors._KEPT.values()
        second = sorted(executors.run_tasks(plan.context, tasks, "process", 2), key=lambda o: o.point_id)
        assert list(executors._KEPT.values()) == [pool]
    assert executors._KEPT == {} and pool._shutdown_thread
    metrics = [json.dumps([o.metrics for o in runs], sort_keys=True) for runs in (first, second, serial)]
    assert metrics[0] == metrics[1] == metrics[2]  # (as JSON: NaN, "not by end", equals itself)
    list(executors.run_tasks(plan.context, tasks, "process", 2))
    assert executors._KEPT == {}


def test_a_design_with_uncertain_inputs_is_judged_over_their_draws(experiment: Path) -> None:
    """Uncertain takt T ~ uniform(0.6, 1.2): with one line added (two in all) the gap
    closes by month 24 only when 2 / T >= 2.5, i.e. T <= 0.8 (else at month 30 T > 24):
    P = 1/3 over the draws, so it fails 0.9 whatever the draw of one run says; two lines
    added close it for every draw. Candidates are the grid's designs, not the draws."""
    experiment.write_text(EXPERIMENT.replace("values = [0, 1, 2, 3, 4]", "values = [1, 2]").replace(
        "replications = 10", "replications = 10\nsamples = 6") + """
[[uncertain]]
path = "factories.f.takt_months"
label = "takt"
distribution = {dist = "uniform", low = 0.6, high = 1.2}
""")
    plan = plan_experiment(experiment)
    answer = optimize(plan, Question("a_p", "2027-01", 0.9, cap=60, batch=30, prescreen_months=0), "serial")
    assert [c["values"] for c in answer["candidates"]] == [{"lines added": 1}, {"lines added": 2}]
    assert all(c["sampled_points"] == 6 for c in answer["candidates"])
    one, two = answer["candidates"]
    lo, hi = one["p_closed_ci"]
    assert one["verdict"].startswith("fails") and lo <= 1 / 3 <= hi
    assert two["verdict"].startswith("meets") and answer["best"]["values"] == {"lines added": 2}
    assert answer["full_grid_runs"] == 2 * 60
    assert "over 6 sampled points" in answer_text(answer)
    runs = answer_text(answer).splitlines()[1]  # (the fresh runs counted apart)
    assert runs == (f"{answer['runs']} runs: {answer['runs'] - 100} on candidates (the full grid at the cap: "
                    "120) and 100 fresh.")


def test_frontier_draws_designs_left_out_at_one_capex_as_one_mark_with_their_number() -> None:
    """Three designs at $0 and one at $500M left out by the pre-screen: two triangles, the
    first labelled 3 (drawn on top of each other they would read as one design)."""
    import matplotlib.pyplot as plt

    from leadtime_sim.plotting.frontier import frontier_chart

    skipped = "fails (fluid pre-screen, not run): at mean rates the gap closes in 2044-06"
    candidates = [{"capex_musd": capex, "p_closed": None, "verdict": skipped} for capex in (0, 0, 0, 500)]
    candidates.append({"capex_musd": 1000.0, "p_closed": 0.9, "p_closed_ci": [0.8, 0.95], "verdict": "meets 0.8"})
    answer = {"candidates": candidates, "confidence": 0.8, "best": None, "feasible": False,
              "requirement": "r", "by": "2036-01"}
    fig, ax = plt.subplots()
    try:
        frontier_chart(answer, ax=ax)
        triangles = [line for line in ax.get_lines() if line.get_marker() == "v"]
        assert len(triangles) == 1 and list(triangles[0].get_xdata()) == [0, 500]
        assert [t.get_text() for t in ax.texts] == ["3"]
    finally:
        plt.close(fig)


def _frontier_of(answer: dict) -> tuple[list, list[str], str]:
    """The frontier's star x, the tick labels and the x label."""
    import matplotlib.pyplot as plt

    from leadtime_sim.plotting.frontier import frontier_chart

    fig, ax = plt.subplots()
    try:
        frontier_chart(answer, ax=ax)
        star = [line for line in ax.get_lines() if line.get_marker() == "*"]
        return (list(star[0].get_xdata()), [t.get_text() for t in ax.get_xticklabels()], ax.get_xlabel())
    finally:
        plt.close(fig)


def test_frontier_marks_the_chosen_design_on_its_own_candidate() -> None:
    """Designs of equal capex stand side by side; the star was drawn at the capex itself, on
    the first of them, when the choice was another (budget.toml: the fourth of five)."""
    ran = [{"point_id": k, "values": {"decided": d}, "capex_musd": 1000.0, "p_closed": p,
            "p_closed_ci": [p - 0.1, p + 0.05], "verdict": v}
           for k, (d, p, v) in enumerate([("2026", 0.5, "fails: P = 0.5"), ("2028", 0.9, "meets 0.8")])]
    best = {"point_id": 1, "capex_musd": 1000.0, "p_closed": 0.85, "p_closed_ci": [0.8, 0.9],
            "replications": 100}
    answer = {"candidates": ran, "confidence": 0.8, "best": best, "feasible": True, "requirement": "r",
              "by": "2036-01"}
    x, _, label = _frontier_of(answer)
    assert x == [1000.0 + 0.012 * 1000.0] and label == "capex of the design (million USD)"
    for c in ran:
        c["capex_musd"] = 0.0
    best["capex_musd"] = 0.0
    x, ticks, label = _frontier_of(answer)  # (no design buys anything: an axis of $0.012M read as capex)
    assert x == [1.0] and ticks == ["2026", "2028"] and label.startswith("design: decided")


def test_frontier_of_one_capex_ticks_it_alone() -> None:
    """One design (an axis of one value): the axis was ticked 190, 192.5, ... 210 around it."""
    one = [{"point_id": 0, "values": {"lines added": 2}, "capex_musd": 200.0, "p_closed": 1.0,
            "p_closed_ci": [0.9, 1.0], "verdict": "meets 0.9"}]
    best = {"point_id": 0, "capex_musd": 200.0, "p_closed": 1.0, "p_closed_ci": [0.96, 1.0], "replications": 100}
    answer = {"candidates": one, "confidence": 0.9, "best": best, "feasible": True, "requirement": "r",
              "by": "2026-06"}
    x, ticks, _ = _frontier_of(answer)
    assert x == [200.0] and ticks == ["200"]


def test_designs_left_out_unrun_are_never_not_by_end(experiment: Path, tmp_path: Path) -> None:
    """A design the pre-screen leaves out has no run: points.csv gave it "not by 2029-01" dates
    and, with the baseline also unrun, a paired difference of exactly 0; the report's candidates
    said "not by end", and ``plot`` raised KeyError drawing the unrun baseline's utilisation."""
    out = tmp_path / "opt"
    done = CliRunner().invoke(main, ["optimize", str(experiment), "--requirement", "a_p", "--by", "2027-01",
                                     "--workers", "1", "--out", str(out)])
    assert done.exit_code == 0, done.output
    points = pd.read_csv(out / "points.csv", keep_default_na=False)
    rows = points[points.metric == "gap_closed_months.a_p"]
    unrun = rows[rows.n == 0]
    assert len(unrun) >= 2 and 0 in set(unrun.point_id)  # the baseline and another design
    assert set(unrun.p50_date) == {""} and set(unrun["diff_p_closed_by_2027-01"]) == {""}
    report = CliRunner().invoke(main, ["report", str(out)])
    assert report.exit_code == 0, report.output
    assert "not by end" not in (out / "report.html").read_text(encoding="utf-8")
    plot = CliRunner().invoke(main, ["plot", str(out)])
    assert plot.exit_code == 0, plot.output


def _unjudged(verdicts: list[str], budget: float | None) -> dict:
    """An answer with no design run: the k-th candidate costs 500 k."""
    return {"requirement": "r", "by": "2030-01", "confidence": 0.8, "minimize": "capex",
            "budget_musd": budget,
            "feasible": False, "best": None, "runs": 0, "reused_runs": 0, "full_grid_runs": 30,
            "prescreen": {"margin_months": 12.0, "off": None, "skipped": [], "runs_saved_at_least": 0},
            "candidates": [{"values": {"lines": k}, "capex_musd": 500.0 * (k + 1), "p_closed": None,
                            "replications": 0, "verdict": v} for k, v in enumerate(verdicts)]}


def test_an_answer_with_nothing_run_says_why() -> None:
    """It read "No design to judge" when the pre-screen had judged every affordable design
    (they fail: their verdicts say so) and when every design was over the budget."""
    screened = "fails (fluid pre-screen, not run): at mean rates the gap closes in 2044-06, ..."
    text = answer_text(_unjudged([screened, "over the budget ($500M > $100M)"], 100.0)).splitlines()[0]
    assert text.startswith("No design meets P(r closed by 2030-01) >= 0.8: the fluid pre-screen left out "
                           "every design within the budget (1, none run)")
    assert "--prescreen-months 0" in text
    text = answer_text(_unjudged(["over the budget ($500M > $100M)", "over the budget ($1,000M > $100M)"],
                                 100.0)).splitlines()[0]
    assert text.startswith("No design is within the budget ($100M; the cheapest costs $500M)")


def test_designs_that_buy_nothing_show_no_capex() -> None:
    """Options of a budget or takt axis read "($0M)", as if free; designs that buy lines keep it."""
    free = _unjudged(["fails: P = 0.00", "fails: P = 0.10"], None)
    for c in free["candidates"]:
        c["capex_musd"] = 0.0
    assert "lines = 1: fails" in answer_text(free) and "$0M" not in answer_text(free)
    bought = _unjudged(["fails: P = 0.00", "fails: P = 0.10"], None)
    assert "lines = 1 ($1,000M): fails" in answer_text(bought)


def test_an_optimize_store_of_an_experiment_charting_other_targets_plots_and_exports(experiment: Path,
                                                                                   tmp_path: Path) -> None:
    """The store's experiment takes the question's date as its only target; a [[charts]] entry
    at another target (budget.toml's probability chart at 2040-01) made ``plot`` and
    ``export`` refuse the store ("target = '2028-01' ... is not one of the experiment's
    targets ['2027-01']"). Charts of other dates are left out; the others are drawn."""
    experiment.write_text('targets = ["2028-01"]\n' + EXPERIMENT + """
[[charts]]
chart = "probability"
target = "2028-01"
[[charts]]
chart = "gap_close"
""")
    out = tmp_path / "opt"
    done = CliRunner().invoke(main, ["optimize", str(experiment), "--requirement", "a_p", "--by", "2027-01",
                                     "--confidence", "0.5", "--executor", "serial", "--out", str(out)])
    assert done.exit_code == 0, done.output
    plotted = CliRunner().invoke(main, ["plot", str(out)])
    assert plotted.exit_code == 0, plotted.output
    assert (out / "charts" / "gap_close-a_p.png").is_file()
    assert not list((out / "charts").glob("probability*"))
    exported = CliRunner().invoke(main, ["export", str(out), "--out", str(tmp_path / "o.xlsx")])
    assert exported.exit_code == 0, exported.output


def test_the_reports_method_names_every_kind_of_scenario_the_pre_screen_is_off_for() -> None:
    """The optimize report's method said the pre-screen is off for "budgets, learning curves,
    other allocation policies": minimum lot sizes, which turn it off as well (fluid_model.
    not_modelled), were missing. Each reason ``not_modelled`` can give is named."""
    from leadtime_sim.fluid_model import not_modelled
    from leadtime_sim.report_optimize import METHOD

    base = lts.load_scenario(Path(__file__).parent.parent / "models" / "single_line.toml")
    assert not not_modelled(base)
    factory = next(iter(base.factories))
    kinds = {"budgets": {"budgets": [{"name": "b", "per_year_musd": 10.0}]},
             "learning curves": {f"factories.{factory}.learning": {"progress_ratio": 0.9}},
             "minimum lot sizes": {f"factories.{factory}.lot_size": 4, f"factories.{factory}.min_lot_size": 2},
             "allocation other than first come first served or by priority": {"policy.allocation": "fair-share"}}
    text = " ".join(METHOD)
    for words, values in kinds.items():
        overrides = [f"{path}={json.dumps(value) if not isinstance(value, dict | list) else toml_of(value)}"
                     for path, value in values.items()]
        scenario = lts.load_scenario(Path(__file__).parent.parent / "models" / "single_line.toml",
                                     overrides=overrides)
        assert not_modelled(scenario), words
        assert words in text, words


def toml_of(value: dict | list) -> str:
    """An inline TOML table or array of tables, for --set."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_of(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + "}"
