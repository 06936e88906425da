"""report.html: valid, self-contained, its headline numbers equal points.csv, and it renders."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import leadtime_sim as lts
from leadtime_sim.charts.jobs import _scenario
from leadtime_sim.cli import main
from leadtime_sim.comparisons import display_name
from leadtime_sim.dates import date_at
from leadtime_sim.experiment.spec import Chart
from leadtime_sim.report import headlines, report_html
from leadtime_sim.results import Results

DATA = Path(__file__).parent / "data"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CHROMIUM = "/usr/bin/chromium"


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "store"
    code, output = invoke("sweep", DATA / "charts_sweep.toml", "--out", out, "--executor", "serial",
                          "--no-charts")
    assert code == 0, output
    code, output = invoke("report", out)
    assert code == 0, output
    return out


class Page(HTMLParser):
    """Checks nesting and collects every tag, attribute, headline and image."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headlines: list[tuple[dict[str, str | None], str]] = []
        self._headline: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "p" and ("class", "headline") in attrs:
            self._headline, self._text = dict(attrs), []

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "p" and self._headline is not None:
            self.headlines.append((self._headline, "".join(self._text)))
            self._headline = None

    def handle_data(self, data: str) -> None:
        if self._headline is not None:
            self._text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.mark.slow
def test_report_is_valid_self_contained_html(store: Path) -> None:
    text = (store / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    page = parse(store / "report.html")
    assert not page.problems and not page.stack, (page.problems, page.stack)
    names = {tag for tag, _ in page.tags}
    assert {"html", "head", "title", "body", "table", "img"} <= names
    assert not names & {"script", "link", "iframe", "object"}
    images = 0
    for tag, attrs in page.tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("data:", "#")), f"<{tag} {key}={value[:60]}> is not embedded"
        if tag == "img":
            images += 1
            data = base64.b64decode(str(attrs["src"]).split(",", 1)[1])
            assert data.startswith(b"\x89PNG") and len(data) > 5_000
    assert images == 7  # gap_close, probability, heatmap, fan, backlog, utilisation x 2
    assert "url(" not in text and "@import" not in text


def test_headline_numbers_equal_points_csv(store: Path) -> None:
    points = pd.read_csv(store / "points.csv")
    manifest = json.loads((store / "manifest.json").read_text())
    start, end = manifest["scenario"]["start"], manifest["scenario"]["end"]
    page = parse(store / "report.html")
    assert [a["data-requirement"] for a, _ in page.headlines] == list(manifest["scenario"]["requirements"])
    for attrs, text in page.headlines:
        rows = points[points["metric"] == f"gap_closed_months.{attrs['data-requirement']}"]
        row = rows[rows["point_id"] == int(str(attrs["data-point"]))].iloc[0]
        assert np.floor(float(row["p50"])) == np.floor(rows["p50"].min())  # the best: earliest median month
        for q in ("p10", "p50", "p90"):
            value = float(row[q])
            assert (date_at(start, value) if np.isfinite(value) else f"not by {end}") in text
        target = manifest["experiment"]["targets"][0]
        assert f"P(closed by {target}) = {row[f'p_closed_by_{target}']:.2f}" in text
        low, high = row[f"p_closed_by_{target}_low"], row[f"p_closed_by_{target}_high"]
        assert f"95% CI {low:.2f}-{high:.2f}" in text
        axes = manifest["points"][int(str(attrs["data-point"]))]["axes"]
        assert all(f"{k} = {v}" in text for k, v in axes.items())
    assert re.search(r"the gap closes in \d{4}-\d{2} \(P10 \d{4}-\d{2}, P90 not by 2030-01\)",
                     page.headlines[0][1])


def test_points_table_shows_not_by_end_not_a_date(store: Path) -> None:
    text = (store / "report.html").read_text(encoding="utf-8")
    points = pd.read_csv(store / "points.csv")
    gap = points[points["metric"] == "gap_closed_months.army_stock"]
    assert text.count("<td>not by 2030-01</td>") >= int(gap[["p10", "p50", "p90"]].isna().sum().sum())


def test_the_full_points_table_leaves_empty_cells_empty(store: Path) -> None:
    """Every empty cell of points.csv (a std of one run, P(closed by) of a metric that is not
    a close date, a point with no finished run) read "not by end" in the report's full table,
    which said of capex or deliveries that they were not closed by the end."""
    text = (store / "report.html").read_text(encoding="utf-8")
    full = text[text.index("Every metric of every point"):]
    points = pd.read_csv(store / "points.csv")
    assert points.drop(columns=["p10_date", "p50_date", "p90_date"]).isna().any().any()
    assert "<td>not by end</td>" not in full
    dates = points["p50_date"].dropna()
    assert (dates.str.startswith("not by")).any() and f"<td>{dates[dates.str.startswith('not by')].iloc[0]}</td>" in full


@pytest.mark.slow
def test_text_from_the_results_is_escaped(store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["scenario"]["name"] = "<script>alert('x')</script> & co"
    manifest["experiment"]["description"] = "<img src='http://example.com/x.png'>"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    code, output = invoke("report", copy)
    assert code == 0, output
    text = (copy / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in text
    assert "<img src='http" not in text
    page = parse(copy / "report.html")
    assert not page.problems


@pytest.mark.slow
def test_report_of_a_single_run(tmp_path: Path) -> None:
    code, output = invoke("run", DATA / "charts_model.toml", "--out", tmp_path / "r")
    assert code == 0, output
    code, output = invoke("report", tmp_path / "r")
    assert code == 0, output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    page = parse(tmp_path / "r" / "report.html")
    closed = summary["requirements"]["army_stock"]["gap_closed"]
    assert (closed or "not closed by 2030-01") in page.headlines[0][1]


def test_report_of_a_fluid_estimate_says_fluid_not_one_run(tmp_path: Path) -> None:
    """``run --fluid`` output: the report said "in this one run (seed 0)", "One run: one possible
    future", seed 0 and replication 0 in its facts, and the charts' subtitles "one run: seed 0"."""
    code, output = invoke("run", DATA / "charts_model.toml", "--fluid", "--charts", "--out", tmp_path / "f")
    assert code == 0, output
    assert "mean rates)" in output and "seed 0" not in output  # (the console's summary too)
    code, output = invoke("report", tmp_path / "f")
    assert code == 0, output
    text = (tmp_path / "f" / "report.html").read_text()
    page = parse(tmp_path / "f" / "report.html")
    assert not page.problems
    assert "in the fluid estimate (mean rates, no random draws)" in page.headlines[0][1]
    assert "one run" not in text.lower() and "seed 0" not in text.split("<pre>")[0]
    results = lts.load_results(tmp_path / "f")
    assert _scenario(results) == f"{results.name} (fluid estimate: mean rates, no random draws)"


def test_captions_of_a_sampled_design_describe_its_charts(tmp_path: Path) -> None:
    """A sampled design's gap-close chart has a dot per sampled point (no line) and its fan one
    band pooled over them: the captions said "the median run (line)" and "for the baseline and
    the best point"."""
    experiment = tmp_path / "sampled.toml"
    experiment.write_text(f"""name = "sampled"
model = {json.dumps(str(DATA / "charts_model.toml"))}
replications = 2
seed = 2
targets = ["2028-01"]
sampling = "lhs"
samples = 3

[[axes]]
path = "investments.new_line.construction_months"
range = [3, 12]

[[charts]]
chart = "gap_close"

[[charts]]
chart = "fan"
""")
    code, output = invoke("sweep", experiment, "--out", tmp_path / "s", "--executor", "serial",
                          "--no-charts")
    assert code == 0, output
    code, output = invoke("report", tmp_path / "s")
    assert code == 0, output
    text = html.unescape((tmp_path / "s" / "report.html").read_text())
    assert "each sampled point's median run (dot)" in text and "the median run (line)" not in text
    assert "pooled over the runs of every sampled point;" in text
    assert "for the baseline and the best point" not in text


def test_caption_of_a_probability_heatmap_says_probability(store: Path) -> None:
    """A heatmap of ``value = "probability"`` shows P(closed by the target): its caption said
    "The median close date over two axes at once" (supplier_bottleneck.toml's heatmap)."""
    results = lts.load_results(store)
    assert results.experiment is not None
    charts = [{"chart": "heatmap", "value": "probability", "target": "2028-01"}]
    experiment = results.experiment.model_copy(update={"charts": [Chart.model_validate(c) for c in charts]})
    page = report_html(replace(results, experiment=experiment))
    assert "heatmap-army_stock-probability" in page
    caption = html.unescape(page).split("<h3>Heatmap</h3><p>")[1].split("</p>")[0]
    assert "the chance the gap is closed by the target date" in caption, caption


def test_report_of_an_interrupted_sweep_says_its_answer_is_partial(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep stopped after 20 of its 54 runs: the answer read as final (only the facts table
    said "interrupted")."""
    from conftest import ctrl_c_after_runs

    undo = ctrl_c_after_runs(monkeypatch, 20)
    out = tmp_path / "store"
    code, output = invoke("sweep", DATA / "charts_sweep.toml", "--out", out, "--executor", "serial",
                          "--no-charts")
    assert code == 130, output
    undo()
    code, output = invoke("report", out)
    assert code == 0, output
    text = html.unescape((out / "report.html").read_text())
    answer = text.split("id='answer'")[1].split("class='headline'")[0]
    assert "This sweep did not finish (interrupted): 20 of 54 runs done, 0 failed" in answer
    assert "--resume" in answer
    for command, shown in (("plot", "the charts"), ("export", "the workbook's answers")):
        # (they said nothing: charts and workbook of 20 runs looked final)
        done = CliRunner().invoke(main, [command, str(out)])
        assert done.exit_code == 0, done.output
        assert (f"warning: {out}: did not finish (interrupted; 20 of 54 runs done): {shown} are of the runs "
                f"done so far; finish it with leadtime-sim sweep") in done.stderr, done.stderr


def test_report_of_a_sweep_still_running_does_not_say_to_resume_it(store: Path, tmp_path: Path) -> None:
    """A report written while the sweep runs said "This sweep did not finish (running) ...;
    finish it with leadtime-sim sweep ... --resume", which the running sweep's lock refuses."""
    copy = Path(shutil.copytree(store, tmp_path / "store"))
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(manifest | {"status": "running"}))
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from filelock import FileLock; "
                               f"lock = FileLock({str(copy / '.lock')!r}); lock.acquire(); print('held', "
                               "flush=True); sys.stdin.read()"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, output = invoke("report", copy)
    finally:
        holder.communicate("")
    assert code == 0, output
    answer = html.unescape((copy / "report.html").read_text()).split("id='answer'")[1].split("class='headline'")[0]
    assert "This sweep is still running: 54 of 54 runs done when this report was written" in answer, answer
    assert "--resume" not in answer and "did not finish" not in answer


def test_report_of_an_interrupted_optimize_says_it_has_no_answer(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An optimize stopped before its answer (no optimize.json) is reported as a sweep: the
    report said nothing of it, or (as an interrupted sweep) to finish it with ``sweep``."""
    from conftest import ctrl_c_after_runs

    undo = ctrl_c_after_runs(monkeypatch, 12)
    out = tmp_path / "opt"
    code, output = invoke("optimize", DATA / "charts_sweep.toml", "--requirement", "army_stock", "--by",
                          "2028-01", "--confidence", "0.8", "--out", out, "--executor", "serial")
    assert code == 130, output
    undo()
    code, output = invoke("report", out)
    assert code == 0, output
    answer = html.unescape((out / "report.html").read_text()).split("id='answer'")[1].split("class='headline'")[0]
    assert "This optimize did not finish (interrupted): 12 runs done, 0 failed, and it has no answer yet" in answer
    assert "leadtime-sim optimize" in answer and "--requirement army_stock --by 2028-01" in answer
    assert "leadtime-sim sweep" not in answer


@pytest.mark.parametrize("command", [
    ["sweep", "experiment.toml", "--seed", "3", "--replications", "4", "--no-charts"],
    ["optimize", "experiment.toml", "--requirement", "army_stock", "--by", "2028-01", "--seed", "4",
     "--cap", "20", "--batch", "5", "--fresh", "7", "--prescreen-months", "0"],
], ids=["sweep", "optimize"])
def test_the_resume_command_of_an_interrupted_store_resumes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """The report's 'finish it with ...' of a store stopped mid-way left out --seed (refused:
    'seed: 3 in the store, 2 now'), optimize's --cap, --batch, --fresh and --prescreen-months
    (another question), and named the experiment file as given, relative to the directory the
    sweep ran in (from any other: no such file). The command now works as printed."""
    from conftest import ctrl_c_after_runs

    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir(), elsewhere.mkdir()
    for name in ("charts_sweep.toml", "charts_model.toml"):
        shutil.copy(DATA / name, work / ("experiment.toml" if name == "charts_sweep.toml" else name))
    monkeypatch.chdir(work)
    undo = ctrl_c_after_runs(monkeypatch, 6)
    code, output = invoke(*command, "--out", "store", "--executor", "serial")
    assert code == 130, output
    undo()
    monkeypatch.chdir(elsewhere)
    code, output = invoke("report", work / "store")
    assert code == 0, output
    page = html.unescape((work / "store" / "report.html").read_text())
    found = re.search(r"finish it with (leadtime-sim [^<]*?--resume)", page)
    assert found, page.split("did not finish")[1][:400]
    printed = found.group(1)
    for option in command[2:]:
        if option.startswith("--") and option != "--no-charts":
            assert option in printed, printed
    assert f"{work / 'experiment.toml'} " in printed and f"--out {work / 'store'} " in printed
    done = CliRunner().invoke(main, [*printed.split()[1:], "--executor", "serial"])
    assert done.exit_code == 0, done.output
    assert json.loads((work / "store" / "manifest.json").read_text())["status"] == "complete"


def test_report_of_a_missing_directory_is_exit_2(tmp_path: Path) -> None:
    code, output = invoke("report", tmp_path / "nothing")
    assert code == 2 and output == f"error: {tmp_path / 'nothing'}: no such directory\n"


def test_report_renders_in_headless_chromium(store: Path, tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium package)")
        pytest.skip("chromium is not installed")
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1280,2000", (store / "report.html").resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (2000, 1280)
    assert pixels.std() > 10  # text, tables and charts, not a blank page
    assert (pixels < 100).mean() > 0.005  # some dark ink (text)


def test_each_headline_lists_the_options_and_names_the_bottleneck(store: Path) -> None:
    """Under each headline: the baseline, then per capex level ($0, $50M, $90M) the design with
    the earliest median close, each with its dates, P(closed by) and the paired difference; and
    a sentence on the busiest factory of the product's supply chain."""
    text = (store / "report.html").read_text(encoding="utf-8")
    (options,) = re.findall(r"<ul class='options' data-requirement='army_stock'>(.*?)</ul>", text)
    items = [html.unescape(i) for i in re.findall(r"<li>(.*?)</li>", options)]
    assert len(items) == 3 and "(baseline)" in items[0] and "against the baseline" not in items[0]
    assert "lines added = 1" in items[1] and "($50M)" in items[1] and "against the baseline" in items[1]
    assert "lines added = 2" in items[2] and "($90M)" in items[2]
    assert all("P(closed by 2028-01) = " in i for i in items)
    (neck,) = re.findall(r"<p class='bottleneck'>(.*?)</p>", text)
    assert re.search(r"\((assembly|new_assembly|motors)\): busy \d+% of the time", html.unescape(neck))


@pytest.mark.parametrize(("slip", "shown"), [
    ({"dist": "lognormal", "median": 4, "sigma": 0.8}, "lognormal (median 4, sigma 0.8; mean 5.5)"),
    ({"dist": "lognormal", "mean": 5, "sigma": 0.5}, "lognormal (mean 5, sigma 0.5; mean 5.0)"),
    ({"dist": "exponential", "mean": 2}, "exponential (mean 2; mean 2.0)"),
    ({"dist": "gamma", "mean": 3, "sd": 1}, "gamma (mean 3, sd 1; mean 3.0)"),
    (1.5, "1.5"),
])
def test_a_slip_is_shown_as_its_table_is_written(slip: object, shown: str) -> None:
    """The default model's Patriot slip showed as "lognormal (median 4, mean_ None, sigma 0.8;
    mean 5.5)" in every report's investments table: the field's Python name and its unset
    value."""
    from pydantic import TypeAdapter

    from leadtime_sim.report import _slip
    from leadtime_sim.scenario.schema import Dist

    assert _slip(TypeAdapter(Dist).validate_python(slip)) == shown


def test_an_uncertain_input_is_shown_as_its_table_is_written() -> None:
    """The axes table said "dist = lognormal, median = 4, mean = None, sigma = 0.8"."""
    from leadtime_sim.experiment.spec import Axis

    axis = Axis(path="investments.x.construction_months", label="construction",
                distribution={"dist": "lognormal", "median": 4, "sigma": 0.8})
    assert axis.describe() == "dist = lognormal, median = 4, sigma = 0.8"


def test_names_come_from_descriptions() -> None:
    scenario = lts.load_scenario(DATA.parent.parent / "models" / "nato_air_defence.toml")
    results = SimpleNamespace(scenario=scenario)  # what display_name reads of the results
    assert display_name(results, "requirement", "germany_patriot").startswith("Germany's Patriot")  # type: ignore[arg-type]
    assert display_name(results, "factory", "boeing_seeker").startswith("Boeing PAC-3 seeker")  # type: ignore[arg-type]
    assert display_name(results, "requirement", "no_such") == "no_such"  # type: ignore[arg-type]


def test_the_report_has_contents_collapsible_sections_and_small_embedded_charts(store: Path) -> None:
    """Every section is listed in the contents and folds; the charts are made small (at most
    1,000 px wide, 256 colours); investments show their slip."""
    text = (store / "report.html").read_text(encoding="utf-8")
    toc = text[text.index("<nav>"):text.index("</nav>")]
    for key in ("question", "answer", "setup", "charts", "points", "manifest"):
        assert f"href='#{key}'" in toc and f"<details class='section' id='{key}'" in text
    assert "<th>slip (months)</th>" in text
    import base64
    import re

    from PIL import Image

    images = [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([^']+)'", text)]
    assert images and all(Image.open(io.BytesIO(png)).width <= 1000 for png in images)


def test_a_sweep_keeping_no_close_dates_sweeps_reports_and_exports(tmp_path: Path) -> None:
    """``metrics = ["capex_musd"]`` keeps no close dates: the sweep's summary, the report and the
    export raised IndexError (no row of the best point); now there is no answer to give."""
    experiment = tmp_path / "e.toml"
    experiment.write_text((DATA / "tiny_lines.toml").read_text().replace(
        'model = "mmc_requirements.toml"', f'model = "{DATA / "mmc_requirements.toml"}"\n'
        'metrics = ["capex_musd"]'))
    out = tmp_path / "store"
    code, output = invoke("sweep", experiment, "--out", out, "--executor", "serial")
    assert code == 0, output
    assert "Traceback" not in output
    for command in ("report", "export", "plot"):
        code, output = invoke(command, out)
        assert code == 0, (command, output)
    assert not parse(out / "report.html").headlines
    assert not list((out / "charts").glob("gap_close-*")) and list((out / "charts").glob("fan-*"))


def test_a_store_whose_every_run_failed_is_one_line_not_damaged(tmp_path: Path) -> None:
    """Every run failed: the store's points.csv is empty, which report, export and plot called
    unreadable ("cannot read: No columns to parse from file"), as if the store were damaged."""
    (tmp_path / "lts_test_fail_all.py").write_text(
        "from leadtime_sim import AllocationPolicy\n\n\nclass Fail(AllocationPolicy):\n"
        "    def take(self, units):\n        raise RuntimeError('no allocation')\n\n\n"
        "POLICIES = {'fail-all': Fail}\n")
    experiment = tmp_path / "e.toml"
    experiment.write_text((DATA / "tiny_lines.toml").read_text().replace(
        'model = "mmc_requirements.toml"', f'model = "{DATA / "mmc_requirements.toml"}"\n'
        'plugins = ["lts_test_fail_all"]').replace('end = "2030-01"', 'end = "2030-01"\npolicy = { allocation = "fail-all" }'))
    out = tmp_path / "store"
    code, output = invoke("sweep", experiment, "--out", out, "--executor", "serial", "--no-charts")
    assert code == 1 and "0 runs done, 9 failed" in output, output
    for command in ("report", "export", "plot"):
        code, output = invoke(command, out)
        assert (code, output) == (2, f"error: {out}: the results store holds no successful run "
                                     "(9 failed; their errors are in runs.csv)\n"), command


def sweep_failing_at(tmp_path: Path, policies: list[str]) -> Path:
    """The tiny sweep (lines 2, 3, 4; baseline 3) with policy "fail-one" at some points: each
    of their runs raises."""
    (tmp_path / "lts_test_fail_one.py").write_text(
        "from leadtime_sim import AllocationPolicy\n\n\nclass Fail(AllocationPolicy):\n"
        "    def take(self, units):\n        raise RuntimeError('no allocation here')\n\n\n"
        "POLICIES = {'fail-one': Fail}\n")
    experiment = tmp_path / "e.toml"
    experiment.write_text((DATA / "tiny_lines.toml").read_text().replace(
        'model = "mmc_requirements.toml"', f'model = "{DATA / "mmc_requirements.toml"}"\n'
        'plugins = ["lts_test_fail_one"]').replace(
        'values = [2, 3, 4]', f'values = [2, 3, 4]\ntied = {{ "policy.allocation" = {json.dumps(policies)} }}'))
    out = tmp_path / "store"
    code, output = invoke("sweep", experiment, "--out", out, "--executor", "serial", "--no-charts")
    failed = 3 * policies.count("fail-one")
    assert code == 1 and f"{9 - failed} runs done, {failed} failed" in output, output
    return out


def test_a_point_whose_runs_all_failed_is_shown_with_their_error(tmp_path: Path) -> None:
    """A point whose every run failed showed "runs 0" and blank cells, with no reason."""
    out = sweep_failing_at(tmp_path, ["fifo", "fail-one", "fifo"])
    code, output = invoke("report", out)
    assert code == 0, output
    text = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    error = "plugin lts_test_fail_one: Fail.take raised RuntimeError: no allocation here"
    assert f"point 1, lines 3 (baseline): 3 of 3 runs failed: {error}" in text
    assert f"with lines = 3 (baseline): all 3 runs failed ({error}" in text
    assert "Baseline (lines 3): all 3 runs failed;" in text
    assert "nan%" not in text and "= nan" not in text
    assert "--resume --retry-failed" in text
    assert "<td>0 (3 failed)</td>" in text


def test_a_point_whose_runs_all_failed_is_neither_best_nor_counted_alike(tmp_path: Path) -> None:
    """Point 0 failed; "never" is not closed at the others: the headline took point 0 as the
    best (all medians "not by end", then the lowest id) and read "at every one of the 3 design
    points (...), the gap is not closed by 2030-01 in nan% of runs; P(closed by 2026-01) = nan"."""
    out = sweep_failing_at(tmp_path, ["fail-one", "fifo", "fifo"])
    texts = {h.requirement: h.text for h in headlines(lts.load_results(out))}
    assert texts["never"].startswith("never: at every one of the 2 design points, 1 more with no "
                                     "finished run (the swept axes do not change it), the gap is not "
                                     "closed by 2030-01 in 100% of runs; P(closed by 2026-01) = 0.00"), texts
    assert "the best of 2 design points, 1 more with no finished run" in texts["r"], texts
    assert all("nan" not in text for text in texts.values()), texts


def test_a_paired_difference_of_nothing_is_no_earlier_not_zero_months_later() -> None:
    """Headlines said "0.0 months later than the baseline" (the option lines "no earlier")."""
    from leadtime_sim.report import paired_text

    row = {"diff_vs_baseline_mean": 0.01, "diff_n_pairs": 30, "diff_censored_pairs": 0}
    assert paired_text(row, "2045-01") == "no earlier than the baseline (paired, all 30 runs)"
    row = {"diff_vs_baseline_mean": -2.5, "diff_n_pairs": 30, "diff_censored_pairs": 4}
    assert paired_text(row, "2045-01") == ("at least 2.5 months earlier than the baseline (paired, all 30 runs; "
                                           "4 pairs have a run not closed by 2045-01, counted at 2045-01)")


def _single_line_sweep(tmp_path: Path, change: tuple[str, str], replications: int, target: str) -> Results:
    """A one-point sweep (no line added) of models/single_line.toml with one text ``change``."""
    model = tmp_path / "changed.toml"
    model.write_text((DATA.parent.parent / "models" / "single_line.toml").read_text().replace(*change))
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'name = "changed"\nmodel = {json.dumps(str(model))}\nreplications = {replications}\n'
                          f'seed = 1\ntargets = ["{target}"]\n[[axes]]\n'
                          'path = "investments.second_line.lines_added"\nvalues = [0]\n')
    code, output = invoke("sweep", experiment, "--out", tmp_path / "s", "--executor", "serial", "--no-charts")
    assert code == 0, output
    return lts.load_results(tmp_path / "s")


def test_a_line_below_90_percent_busy_with_work_waiting_is_the_bottleneck(tmp_path: Path) -> None:
    """Stoppages keep a saturated line near 70% busy: the limits class those months as
    capacity ("limited by capacity (lines busy)"), and the report said under it "No factory is
    saturated ...: the gap waits for orders or money rather than lines"."""
    from leadtime_sim.comparisons import bottleneck_text

    results = _single_line_sweep(tmp_path, ("initial_wip_units = 60", "initial_wip_units = 60\ndisruptions = "
                                            "{between_months = 2, repair_months = 1}"), 3, "2030-01")
    row = results.gap_rows("army_stock").iloc[0]
    assert str(row["limited_by.army_stock@2030-01"]).startswith("capacity")
    text = bottleneck_text(results, "army_stock", int(row["point_id"]))
    assert text.startswith("The bottleneck: ") and "with work waiting" in text, text
    assert "no factory is saturated" not in text.lower()


def test_a_line_busy_whenever_work_waited_is_not_said_to_lose_time_to_stoppages(tmp_path: Path) -> None:
    """A 30-month integration and test after the line: the line is busy until the last unit
    starts, then the gap waits 30 months for the flow with nothing left to start. The report
    said "busy 73% of the time while the gap was open, with work waiting: stoppages, rework
    and lot sizes take the rest" (the shipped capacity sweep's three-line option, busy 99% in
    the 80 months work waited and idle in the other 33), of a line that never stops."""
    from leadtime_sim.comparisons import bottleneck_text

    results = _single_line_sweep(tmp_path, ("flow_months = 6", "flow_months = 30"), 1, "2034-06")
    row = results.gap_rows("army_stock").iloc[0]
    text = bottleneck_text(results, "army_stock", int(row["point_id"]))
    assert "stoppages" not in text, text
    busy, waited, other = (int(n) for n in re.match(
        r"The bottleneck: line \(line\): busy (\d+)% of the time while the gap was open, and 100% in the "
        r"(\d+) months work waited to start; in the other (\d+) nothing waited \(units on order in "
        r"integration and test, or not yet ordered\)\.$", text).groups())
    assert busy < 90 and other >= 25 and waited > other, text


def test_options_of_an_axis_that_buys_nothing_are_all_listed(tmp_path: Path) -> None:
    """A budget or a policy axis changes no capex: every point was one capex level, and the
    answer listed only the baseline and the earliest point (the shipped budget sweep: $4,000M
    and $2,000M a year, alike, and nothing of $250M-$1,000M, which close 16-88 months later,
    limited by budget); now every point, in design order."""
    from leadtime_sim.comparisons import options

    model = DATA.parent.parent / "models" / "single_line.toml"
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'name = "x"\nmodel = {json.dumps(str(model))}\nreplications = 1\nseed = 1\n'
                          '[[axes]]\npath = "factories.line.takt_months"\nlabel = "takt"\n'
                          'values = [1.0, 0.8, 1.2, 0.9]\n[baseline]\ntakt = 1.2\n')
    code, output = invoke("sweep", experiment, "--out", tmp_path / "s", "--executor", "serial", "--no-charts")
    assert code == 0, output
    assert options(lts.load_results(tmp_path / "s"), "army_stock") == [2, 0, 1, 3]
    assert invoke("report", tmp_path / "s")[0] == 0
    text = (tmp_path / "s" / "report.html").read_text(encoding="utf-8")
    (listed,) = re.findall(r"<ul class='options' data-requirement='army_stock'>(.*?)</ul>", text)
    assert [re.search(r"takt = ([\d.]+)", i).group(1) for i in re.findall(r"<li>(.*?)</li>", listed)] == \
        ["1.2", "1", "0.8", "0.9"]


def test_options_of_axes_that_buy_nothing_show_no_capex(tmp_path: Path) -> None:
    """An axis that changes no investment (a takt, a budget) gave every option "($0M)", as if
    it cost nothing; options of an axis that buys lines keep their capex."""
    from leadtime_sim.comparisons import option_line

    model = DATA.parent.parent / "models" / "single_line.toml"
    for path, values, shown in (("factories.line.takt_months", "[1.0, 0.8]", False),
                                ("investments.second_line.lines_added", "[0, 1]", True)):
        experiment = tmp_path / "e.toml"
        experiment.write_text(f'name = "x"\nmodel = {json.dumps(str(model))}\nreplications = 1\nseed = 1\n'
                              f'[[axes]]\npath = "{path}"\nvalues = {values}\n')
        out = tmp_path / path
        code, output = invoke("sweep", experiment, "--out", out, "--executor", "serial", "--no-charts")
        assert code == 0, output
        results = lts.load_results(out)
        line = option_line(results, "army_stock", 1)
        assert ("$" in line.split(":")[0]) is shown, line
        assert "(baseline)" in option_line(results, "army_stock", 0)


def _lead_time_items(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    block = re.search(r"<ul class='lead-times'>(.*?)</ul>", text)
    assert block, "the answer gives no lead times"
    return [html.unescape(re.sub("<[^>]+>", "", item)) for item in re.findall(r"<li>(.*?)</li>", block[1])]


def _years_or_months(months: float) -> str:
    return f"{months / 12:.1f} y" if months >= 12 else f"{months:.1f} mo"


def test_the_answer_gives_the_lead_time_a_new_order_gets(store: Path) -> None:
    """The question asks what lead time a new order gets: the answer gives, per product
    ordered, the quote at start and the runs' median lead time at the baseline, as in
    points.csv."""
    points = pd.read_csv(store / "points.csv")
    baseline = points[points["point_id"] == lts.load_results(store).baseline_id]
    items = _lead_time_items(store / "report.html")
    quoted = baseline[baseline["metric"].str.startswith("quoted_lead_time_months.")]
    assert len(items) == len(quoted) > 0
    for item, (_, row) in zip(items, quoted.iterrows(), strict=True):
        assert f"is quoted {_years_or_months(float(row['p50']))}" in item, item
        waited = baseline[baseline["metric"] == row["metric"].replace("quoted", "median")].iloc[0]
        assert f"wait a median of {_years_or_months(float(waited['p50']))}" in item, item


def test_the_answer_of_one_run_gives_its_lead_times(tmp_path: Path) -> None:
    code, output = invoke("run", DATA / "charts_model.toml", "--out", tmp_path / "r")
    assert code == 0, output
    code, output = invoke("report", tmp_path / "r")
    assert code == 0, output
    products = json.loads((tmp_path / "r" / "summary.json").read_text())["products"]
    items = _lead_time_items(tmp_path / "r" / "report.html")
    ordered = [p for p in products.values() if p["ordered_units"]]
    assert len(items) == len(ordered) > 0
    for item, p in zip(items, ordered, strict=True):
        assert f"is quoted {_years_or_months(p['quoted_lead_time_months'])}" in item


@pytest.mark.parametrize(("end", "baseline"), [
    ("2026-06", "Baseline (lines 1): not closed by 2026-06 in 80% of runs;"),
    ("2026-09", "Baseline (lines 1): 2026-07, not closed by 2026-09 in 30% of runs;")])
def test_the_headline_gives_the_baselines_not_by_end_share_with_its_close(tmp_path: Path, end: str,
                                                                          baseline: str) -> None:
    """One line (the baseline) against demand of 2.4 a month closes r in some runs only. The
    headline gave its median close alone: "Baseline (lines 1): not by 2026-06" (80% of runs
    not closed) and "2026-07" (30% not closed by 2026-09), beside the best point's share."""
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'''name = "baseline share"
model = "{DATA / "mmc_requirements.toml"}"
replications = 10
seed = 7
targets = ["2026-01"]
baseline = {{ lines = 1 }}
[overrides]
end = "{end}"
[[axes]]
path = "factories.server.lines"
label = "lines"
values = [1, 2, 3]
''')
    out = tmp_path / "store"
    code, output = invoke("sweep", experiment, "--out", out, "--executor", "serial", "--no-charts")
    assert code == 0, output
    assert baseline in output
    assert invoke("report", out)[0] == 0
    assert baseline in html.unescape((out / "report.html").read_text(encoding="utf-8"))


def test_a_design_of_one_point_is_not_called_every_one_of_one(tmp_path: Path) -> None:
    """An experiment with no axes (or one value) said "at every one of the 1 design points (the
    swept axes do not change it)", "1 runs done", and showed an empty axes table and an
    empty investments table; and with one point of three left by failures, that the axes do
    not change the answer. Now: "with the scenario as it is (the one design point)", "1 run
    done", "None" under the axes and investments."""
    experiment = tmp_path / "no axes.toml"
    experiment.write_text(f'name = "no axes"\nmodel = {json.dumps(str(DATA / "mmc_requirements.toml"))}\n'
                          'replications = 1\ntargets = ["2026-01"]\n[overrides]\nend = "2027-01"\n')
    out = tmp_path / "store"
    code, output = invoke("sweep", experiment, "--out", out, "--executor", "serial", "--no-charts")
    assert code == 0 and "1 run done, 0 failed" in output, output
    assert "r: with the scenario as it is (the one design point), the gap closes in" in output, output
    assert "every one of the 1" not in output
    assert invoke("report", out)[0] == 0
    page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "<p>None: one design point, the scenario as it is" in page
    assert "<h3>Investments (before the axes are applied)</h3><p>None.</p>" in page
    assert invoke("sweep", DATA / "range_axes.toml", "--out", tmp_path / "none", "--executor", "serial",
                  "--no-charts", "--replications", "1")[0] == 0
    assert invoke("report", tmp_path / "none")[0] == 0  # (a model of no requirements: no empty table)
    assert "<h3>Requirements</h3><p>None.</p>" in (tmp_path / "none" / "report.html").read_text(encoding="utf-8")
    assert lts.load_results(out).point_label(0) == "the scenario as it is (baseline)"  # (the fan's legend
    # said " (baseline), median", the utilisation chart's subtitle " (baseline)")
    (tmp_path / "failing").mkdir()
    failing = sweep_failing_at(tmp_path / "failing", ["fail-one", "fail-one", "fifo"])
    texts = {h.requirement: h.text for h in headlines(lts.load_results(failing))}
    assert texts["r"].startswith("r: with lines = 4 (the only one of 3 design points with a finished run), "), texts


@pytest.mark.parametrize("fluid", [False, True])
def test_the_report_of_one_run_asks_and_answers_for_one_run(tmp_path: Path, fluid: bool) -> None:
    """The report of a run asked the sweep's question, "When does each delivery gap close, for
    each investment option, and how sure are we?", and introduced its lead times with "each
    run's median ..., P10-P90 over the runs", beside its own note "One run: one possible future,
    with no spread"."""
    code, output = invoke("run", DATA / "charts_model.toml", *(["--fluid"] if fluid else []), "--out", tmp_path / "r")
    assert code == 0, output
    code, output = invoke("report", tmp_path / "r")
    assert code == 0, output
    text = (tmp_path / "r" / "report.html").read_text()
    question = text[text.index("<h2>The question</h2>"):text.index("<h2>The answer</h2>")]
    answer = text[text.index("<h2>The answer</h2>"):text.index("<h2>Scenario and experiment")]
    assert "how sure are we" not in question and "investment option" not in question
    assert ("at mean rates" if fluid else "in this run") in question
    assert "over the runs" not in answer and "each run&#x27;s median" not in answer
    assert ("the estimate&#x27;s orders" if fluid else "the run&#x27;s orders") in answer


def test_a_lead_time_the_same_at_the_named_point_as_at_the_baseline_is_given_once(store: Path) -> None:
    """The budget study: "the orders of a run wait a median of 5.1 y (P10 4.7 y, P90 6.0 y) at
    the baseline, 5.1 y (P10 4.7 y, P90 6.0 y) with industrial budget ($M a year) = 2000" -
    the same figure twice; the quote beside it was already given once when the same."""
    from leadtime_sim.comparisons import lead_time_text

    results = lts.load_results(store)
    base = results.baseline_id
    other = next(p.point_id for p in results.points if p.point_id != base)
    stats = results.stats.copy()
    median = stats["metric"].str.startswith("median_lead_time_months.")
    columns = ["n", "p10", "p50", "p90"]
    for metric in stats.loc[median, "metric"].unique():
        rows = stats["metric"] == metric
        stats.loc[rows & (stats["point_id"] == other), columns] = \
            stats.loc[rows & (stats["point_id"] == base), columns].to_numpy()
    same = replace(results, stats=stats)
    products = {r.product for r in results.scenario.requirements.values()}
    lines = lead_time_text(same, {p: other for p in products})
    assert lines and all(line.count("wait a median of") == 1 for line in lines)
    waited = [line.split("wait a median of", 1)[1] for line in lines]
    assert all(" with " not in text for text in waited), waited
