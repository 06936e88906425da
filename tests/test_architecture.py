"""The shape of the code: one declaration per extension point, imports downward only, typed
overrides, one seed default. These tests fail when a name is repeated or a layer is crossed."""

from __future__ import annotations

import ast
import subprocess
import sys
from operator import itemgetter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import leadtime_sim as lts
from leadtime_sim.charts import jobs
from leadtime_sim.charts.catalogue import CHARTS, ChartKind, Job
from leadtime_sim.cli import main
from leadtime_sim.experiment.executors import EXECUTORS
from leadtime_sim.experiment.runner import plan_experiment
from leadtime_sim.experiment.spec import Chart, Experiment
from leadtime_sim.metrics import METRICS, Metric, customer_products, flat_metrics, metric_of
from leadtime_sim.registry import Registry
from leadtime_sim.scenario.loading import apply_values, patch_between, patched, scenario_with
from leadtime_sim.sim import ORDERING_RULES, POLICIES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "leadtime_sim"
NATO = ROOT / "models" / "nato_air_defence.toml"

# -- the catalogue -------------------------------------------------------------------------


def test_a_registry_refuses_a_name_twice_and_plugins_extend_a_copy() -> None:
    registry: Registry[int] = Registry("number")
    registry.add("one", 1)
    with pytest.raises(ValueError, match="declared twice"):
        registry.add("one", 2)
    more = registry.extended({"two": 2})
    assert list(more) == ["one", "two"] and list(registry) == ["one"]
    with pytest.raises(KeyError, match=r"unknown number 'three' \(known: one"):
        registry["three"]


def test_a_plugin_joins_the_catalogue_of_its_run_only() -> None:
    class Newest(lts.AllocationPolicy):
        pass

    plugins = lts.Plugins(policies={"newest": Newest})
    assert plugins.all_policies.names == (*POLICIES.names, "newest")
    assert "newest" not in POLICIES and plugins.all_ordering_rules.names == ORDERING_RULES.names
    assert {"fifo", "priority", "fair-share"} <= set(POLICIES) and "shortfall" in ORDERING_RULES


def test_builtin_policies_report_the_name_they_are_declared_under() -> None:
    assert all(policy.name == name for name, policy in POLICIES.items())


def test_every_chart_kind_has_its_builder_and_reads_only_chart_settings() -> None:
    fields = set(Chart.model_fields) - {"chart"}
    for kind in CHARTS.values():
        assert callable(kind.build()) and kind.build().__module__ == jobs.__name__
        assert kind.settings <= fields, kind.name
        assert kind.default_for <= kind.sources and kind.caption
    unused = {n for n in dir(jobs) if n.endswith("_jobs")} - {k.builder.split(":")[1] for k in CHARTS.values()}
    assert not unused, f"builders no chart declares: {unused}"


def test_the_cli_offers_the_catalogues_names() -> None:
    runner = CliRunner()
    sweep_help = runner.invoke(main, ["sweep", "--help"]).output
    assert f"[{'|'.join(EXECUTORS)}]" in sweep_help
    plot_help = " ".join(runner.invoke(main, ["plot", "--help"]).output.split())
    assert all(name in plot_help for name in CHARTS)


def test_a_runs_metric_columns_are_exactly_the_catalogues() -> None:
    result = lts.simulate(lts.load_scenario(NATO), seed=1)
    row = flat_metrics(result.summary, result.scenario)
    assert {metric_of(column).name for column in row} == set(METRICS)
    for metric in METRICS.values():
        subjects = {"requirement": result.scenario.requirements, "run": [None],
                    "product": [p for p in result.scenario.products if result.summary["products"][p]["ordered_units"]],
                    "customer": customer_products(result.scenario)}
        for subject in subjects[metric.per]:
            assert metric.column(subject) in row


def test_experiment_metrics_and_charts_are_checked_against_the_catalogue() -> None:
    base = {"name": "e", "model": "m.toml"}
    Experiment.model_validate({**base, "metrics": ["gap_closed_months.x", "capex_musd"]})
    with pytest.raises(ValueError, match="unknown metric 'lead_time'"):
        Experiment.model_validate({**base, "metrics": ["lead_time"]})
    with pytest.raises(ValueError, match="unknown chart 'pie'"):
        Experiment.model_validate({**base, "charts": [{"chart": "pie"}]})
    with pytest.raises(ValueError, match="does not apply to chart 'fan'"):
        Experiment.model_validate({**base, "charts": [{"chart": "fan", "x": "capex"}]})


def test_a_new_metric_is_one_declaration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Declared in the catalogue alone, a metric is validated, recorded and aggregated."""
    from leadtime_sim.experiment import run_experiment

    lots = Metric("lots_started", "lots", "run", itemgetter("lots_started"), "lots started in the run")
    monkeypatch.setitem(METRICS._entries, "lots_started", lots)
    experiment = tmp_path / "e.toml"
    experiment.write_text((ROOT / "tests" / "data" / "tiny_lines.toml").read_text().replace(
        'model = "mmc_requirements.toml"',
        f'model = "{ROOT / "tests" / "data" / "mmc_requirements.toml"}"\nmetrics = ["lots_started"]'))
    store = run_experiment(experiment, tmp_path / "s", executor="serial")
    runs = store.runs_frame()
    assert (runs["lots_started"] == runs["lots"]).all() and "capex_musd" not in runs
    assert set(store.points_frame()["metric"]) == {"lots_started"}


def _pie_jobs(results: Any, spec: Chart) -> list[Job]:
    """A test chart: the number of design points, as one bar."""
    def draw(axes: list[Any]) -> None:
        axes[0].bar([0], [len(results.points)])
    return [Job(f"pie-{len(results.points)}", 1, draw)]


def test_a_new_chart_is_one_declaration_plus_its_builder(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """Declared in the catalogue, a chart is validated, drawn by plot --chart and captioned."""
    from leadtime_sim.charts.files import write_charts
    from leadtime_sim.report import report_html
    from leadtime_sim.results import load_results

    pie = ChartKind("pie", frozenset({"points"}), frozenset({"sweep"}), frozenset({"sweep"}), "",
                    f"{__name__}:_pie_jobs", "How many points the sweep has.")
    monkeypatch.setitem(CHARTS._entries, "pie", pie)
    experiment = tmp_path / "e.toml"
    experiment.write_text((ROOT / "tests" / "data" / "tiny_lines.toml").read_text().replace(
        'model = "mmc_requirements.toml"', f'model = "{ROOT / "tests" / "data" / "mmc_requirements.toml"}"')
        + '\n[[charts]]\nchart = "pie"\n')
    code = CliRunner().invoke(main, ["sweep", str(experiment), "--out", str(tmp_path / "s"),
                                     "--executor", "serial"])
    assert code.exit_code == 0, code.output
    assert [p.name for p in (tmp_path / "s" / "charts").iterdir()] == ["pie-3.png"]
    assert write_charts(tmp_path / "s", ["pie"]) == [tmp_path / "s" / "charts" / "pie-3.png"]
    assert "How many points the sweep has." in report_html(load_results(tmp_path / "s"))


# -- overrides as data ---------------------------------------------------------------------


def test_typed_values_set_tables_and_options_that_were_unset() -> None:
    scenario = lts.load_scenario(ROOT / "models" / "single_line.toml")
    factory = next(iter(scenario.factories))
    changed = scenario_with(scenario, {
        f"factories.{factory}.takt_months": {"dist": "gamma", "mean": 2.0, "sd": 0.5},
        f"factories.{factory}.disruptions.between_months": 24,
        f"factories.{factory}.disruptions.repair_months": 2})
    spec = changed.factories[factory]
    assert type(spec.takt_months).__name__ == "Gamma" and spec.takt_months.mean == 2.0
    assert spec.disruptions is not None and spec.disruptions.repair_months.mean == 2
    assert scenario.factories[factory].disruptions is None  # the input is not changed


def test_a_bad_typed_value_names_its_path() -> None:
    scenario = lts.load_scenario(ROOT / "models" / "single_line.toml")
    with pytest.raises(lts.InputError) as caught:
        scenario_with(scenario, {"factories.nowhere.lines": 2}, source="exp.toml: axes")
    assert "factories.nowhere" in caught.value.problems[0]
    with pytest.raises(lts.InputError):
        apply_values({"products": {}}, {"products.x": 1, "orders[3].quantity": 2})


def test_each_point_is_validated_once_and_runs_its_validated_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadtime_sim.experiment import runner

    calls: list[str] = []
    real = runner.validate_scenario

    def counting(data: Any, source: str, plugins: lts.Plugins) -> lts.Scenario:
        calls.append(source)
        return real(data, source, plugins)

    monkeypatch.setattr(runner, "validate_scenario", counting)
    plan = plan_experiment(ROOT / "experiments" / "capacity_sweep.toml")
    with_values = [p for p in plan.points if p.values]
    assert len(calls) == 1 + len(with_values)  # the base once, each point once
    for point in plan.points:
        expected = scenario_with(plan.scenario, point.values)
        assert plan.point_scenario(point.point_id) == expected
        task_patch = plan.tasks()[point.point_id].patch
        assert patched(plan.scenario, task_patch) == expected
        assert dict(task_patch).keys() <= {"investments"}  # only what the axes touch travels


def test_a_patch_holds_only_the_fields_that_changed() -> None:
    scenario = lts.load_scenario(NATO)
    same = scenario_with(scenario, {"policy.allocation": scenario.policy.allocation})
    assert patch_between(scenario, same, ["policy.allocation"]) == ()
    end = scenario_with(scenario, {"end": "2050-01"})
    assert patch_between(scenario, end, ["end"]) == (("end", "2050-01"),)


# -- seeds and names -----------------------------------------------------------------------


def test_one_seed_default_everywhere(tmp_path: Path) -> None:
    model = ROOT / "models" / "single_line.toml"
    assert lts.simulate(lts.load_scenario(model)).summary["seed"] == lts.DEFAULT_SEED
    assert Experiment.model_validate({"name": "e", "model": "m.toml"}).seed == lts.DEFAULT_SEED
    out = CliRunner().invoke(main, ["run", str(model), "--json", "--out", str(tmp_path / "r")]).output
    assert f'"seed": {lts.DEFAULT_SEED},' in out


# -- layers: imports go downward only ------------------------------------------------------

LAYERS = [
    {"", "_version", "registry", "errors", "dates", "distributions", "io", "survival", "charts.catalogue",
     "environment"},
    {"scenario.schema", "scenario.checks", "scenario.paths"},
    {"sim"},
    {"plugins", "scenario.loading", "scenario"},
    {"metrics", "limits", "run", "tables", "outputs", "fitting", "calibration", "fluid_model"},
    {"experiment"},
    {"results", "charts", "comparisons", "spread", "report", "report_optimize", "report_sensitivity", "report_study",
     "discovery", "report_discovery",
     "export"},
    {"cli", "__main__"},
]
"""Each module may import (at module level) only modules of its own layer or below. The
package itself ("") imports its public names lazily; the chart catalogue is declarations
only; the kernel (``sim``) sits below scenario loading, which checks its policies' names."""


def _layer(module: str) -> int:
    name = module.removeprefix("leadtime_sim.").removeprefix("leadtime_sim")
    for depth in range(name.count(".") + 1, 0, -1):
        prefix = ".".join(name.split(".")[:depth])
        for k, layer in enumerate(LAYERS):
            if prefix in layer:
                return k
    return -1


def _module_level_imports(path: Path) -> list[str]:
    """Imported leadtime_sim modules, outside functions and ``if TYPE_CHECKING`` blocks."""
    found = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("leadtime_sim"):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("leadtime_sim")]
    return found


def test_imports_go_downward_only() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if module.startswith("leadtime_sim.plotting"):
            allowed = {"leadtime_sim.dates", "leadtime_sim.survival"}
            wrong += [(module, m) for m in _module_level_imports(path)
                      if m not in allowed and not m.startswith("leadtime_sim.plotting")]
            continue
        mine = _layer(module)
        assert mine >= 0, f"{module} is in no layer: add it to LAYERS"
        wrong += [(module, m) for m in _module_level_imports(path) if _layer(m) > mine]
    assert not wrong, f"imports that go up a layer: {wrong}"


def test_plotting_loads_neither_the_kernel_nor_the_chart_layer() -> None:
    code = ("import sys, leadtime_sim.plotting; bad = [m for m in ('simpy', 'leadtime_sim.sim', "
            "'leadtime_sim.charts.files', 'leadtime_sim.results') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
