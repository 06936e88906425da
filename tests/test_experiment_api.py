"""The Python API of experiments: run_experiment returns the store and its tables."""

from __future__ import annotations

from pathlib import Path

import pytest

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
