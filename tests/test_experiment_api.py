"""The Python API of experiments: run_experiment returns the store and its tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import leadtime_sim as lts
from leadtime_sim.errors import InputError
from leadtime_sim.experiment import run_experiment

DATA = Path(__file__).resolve().parent / "data"


def _experiment(tmp_path: Path, metrics: str) -> Path:
    text = (DATA / "tiny_lines.toml").read_text()
    model = (DATA / "mmc_requirements.toml").resolve()
    lines = [f'model = "{model}"' if line.startswith("model") else line for line in text.splitlines()]
    path = tmp_path / "exp.toml"
    path.write_text("\n".join([f"metrics = {metrics}", *lines]) + "\n")
    return path


def test_run_experiment_returns_the_store_with_its_tables(tmp_path: Path) -> None:
    store = run_experiment(_experiment(tmp_path, '["gap_closed_months", "capex_musd"]'),
                           tmp_path / "out", executor="serial")
    runs = store.runs_frame()
    metrics = [c for c in runs.columns if c.startswith(("gap_", "max_", "quoted_", "mean_", "delivered_",
                                                        "backlog_", "capex"))]
    assert metrics and all(m.startswith(("gap_closed_months.", "capex_musd")) for m in metrics)
    points = store.points_frame()
    assert set(points["metric"]) == set(metrics)
    assert len(points) == len(store.points) * len(metrics)
    quantiles = store.series_quantiles()
    assert {"p10", "p50", "p90"} <= set(quantiles.columns) and len(quantiles)


def test_an_unknown_metric_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        run_experiment(_experiment(tmp_path, '["gap_closed_month"]'), tmp_path / "out", executor="serial")
    assert "metrics[0]" in caught.value.problems[0]
    assert not (tmp_path / "out").exists()


def test_an_experiment_built_in_memory_runs_like_its_file(tmp_path: Path) -> None:
    """The same experiment as a dict (model relative to ``folder``) and as a TOML file give
    the same runs, bit for bit; the public names are at the top level."""
    import leadtime_sim as lts

    root = Path(__file__).resolve().parents[1]
    data = {"name": "in memory", "model": "models/single_line.toml", "replications": 2, "seed": 4,
            "axes": [{"path": "factories.line.lines", "values": [1, 2]}]}
    memory = lts.run_experiment(data, tmp_path / "memory", executor="serial", folder=root)
    (root_copy := tmp_path / "e.toml").write_text(
        f'name = "in memory"\nmodel = "{(root / "models" / "single_line.toml").as_posix()}"\n'
        'replications = 2\nseed = 4\n[[axes]]\npath = "factories.line.lines"\nvalues = [1, 2]\n')
    from_file = lts.run_experiment(root_copy, tmp_path / "file", executor="serial")
    metrics = [c for c in memory.runs_frame().columns if c.startswith("gap_closed")]
    assert metrics
    assert memory.runs_frame()[metrics].equals(from_file.runs_frame()[metrics])
    assert lts.load_results(tmp_path / "memory").name == "Single line"
    assert lts.Experiment.model_validate(data).name == "in memory"
    result = lts.simulate(root / "models" / "single_line.toml")
    assert len(lts.orders_frame(result)) == len(result.records.orders) and not lts.series_frame(result).empty


@pytest.mark.parametrize("bad", [{"seed": -1}, {"seed": 1.5}, {"seed": True}, {"seed": 2**63},
                                 {"replication": -1}])
def test_simulate_refuses_a_seed_the_cli_would_refuse(bad: dict) -> None:
    """A negative seed was accepted by the API and refused by the CLI: a run no command
    could reproduce."""
    with pytest.raises(lts.InputError, match=f"simulate: {next(iter(bad))} = "):
        lts.simulate(Path(__file__).resolve().parents[1] / "models" / "single_line.toml", **bad)


SINGLE_LINE = Path(__file__).resolve().parents[1] / "models" / "single_line.toml"


@pytest.mark.parametrize("call", [
    lambda o: lts.load_scenario(SINGLE_LINE, overrides=o),
    lambda o: lts.plan_experiment({"name": "e", "model": str(SINGLE_LINE)}, overrides=o),
])
@pytest.mark.parametrize("overrides", ["factories.line.lines=2", {"factories.line.lines": 2}])
def test_overrides_given_as_one_text_or_a_table_are_refused_in_one_line(
        call: Callable[[Any], object], overrides: Any) -> None:
    """``overrides="factories.line.lines=2"`` was read letter by letter: 22 problems
    ("--set f: 'f': expected PATH=VALUE", ...), and a table gave its key as a bad text."""
    with pytest.raises(lts.InputError) as caught:
        call(overrides)
    (line,) = caught.value.problems
    assert line.startswith("overrides: ") and "expected a list of 'path=value' texts" in line


def test_apply_overrides_on_a_scenario_object_says_it_takes_data() -> None:
    """``apply_overrides`` takes a scenario's data: given a ``Scenario`` it said
    "factories.line: is a value, not a table" of a path that is one."""
    with pytest.raises(lts.InputError, match=r"must be a scenario.s table .* not Scenario"):
        lts.apply_overrides(lts.load_scenario(SINGLE_LINE), ["factories.line.lines=3"])
    data = lts.apply_overrides({"factories": {"line": {"lines": 1}}}, ["factories.line.lines=3"])
    assert data["factories"]["line"]["lines"] == 3


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"replications": 0}, "--replications 0: must be a whole number"),
    ({"replications": 2.5}, "--replications 2.5: must be a whole number"),
    ({"workers": -1}, "--workers -1: must be a whole number, at least 1"),
    ({"workers": 1.5}, "--workers 1.5: must be a whole number, at least 1"),
    ({"executor": "serial", "scheduler": "tcp://host:8786"}, "--scheduler tcp://host:8786: needs --executor dask"),
])
def test_run_experiment_refuses_what_the_cli_refuses_before_opening_a_store(
        tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    """``replications=0`` wrote a "complete" store of no runs (2.5: a plan of 2.5
    replications), ``workers=-1`` a ValueError from the process pool and ``1.5`` a TypeError,
    each leaving an "interrupted" store behind; a scheduler was ignored off Dask."""
    data = {"name": "e", "model": str(SINGLE_LINE), "replications": 2}
    with pytest.raises(lts.InputError, match=re.escape(message)):
        lts.run_experiment(data, tmp_path / "out", **{"executor": "process", **kwargs})
    assert not (tmp_path / "out").exists()
