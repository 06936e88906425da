"""Calibration as a test: every public figure the default scenario is calibrated to
(``models/calibration.toml``: the figure, its source, the model output, the band and why)
against the median of 30 replications; and ``docs/calibration.md`` is exactly the table
those targets give, so the docs cannot drift from the model or the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import scenario_dict

import leadtime_sim as lts
from leadtime_sim.calibration import Target, load_calibration, markdown, measure, observe

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "models" / "calibration.toml"


@pytest.fixture(scope="module")
def calibrated() -> tuple[object, list[dict[str, object]]]:
    calibration, scenario = load_calibration(TARGETS)
    return calibration, measure(calibration, scenario, workers=2)


@pytest.mark.slow
def test_every_calibrated_figure_is_within_its_band(calibrated) -> None:
    _, rows = calibrated
    outside = [f"{r['source']} {r['figure']}: median {r['median']} outside {r['low']}-{r['high']} "
               f"(P10 {r['p10']}, P90 {r['p90']})" for r in rows if not r["ok"]]
    assert not outside, "\n".join(outside)


@pytest.mark.slow
def test_the_calibration_table_in_the_docs_is_what_the_targets_give(calibrated) -> None:
    calibration, rows = calibrated
    written = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    assert written == markdown(calibration, rows), (
        "docs/calibration.md is stale: python -m leadtime_sim.calibration models/calibration.toml "
        "> docs/calibration.md")


def test_every_figure_names_an_entry_of_the_sources() -> None:
    calibration, _ = load_calibration(TARGETS)
    sources = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    assert all(f"| {t.source} |" in sources for t in calibration.targets)


def test_outputs_read_from_a_hand_checked_run() -> None:
    """One line, takt 2, flow 3, 10 units ordered at start: units delivered at 5, 7, ...,
    23 (months), so 2025 (months 0-11) gets 4 (5, 7, 9, 11) and 2026 the other 6; the
    capacity is 6 a year; the start quote to a new unit is 25 months; the order is complete
    in 2026 (month 23)."""
    scenario = lts.validate_scenario(scenario_dict(), source="test.toml")
    result = lts.simulate(scenario, seed=1)

    def of(kind: str, **fields: object) -> float:
        return observe(Target(source="F0", figure="f", kind=kind, low=0, high=1, why="w", **fields),
                       scenario, result)

    assert of("delivered", product="p", year=2025) == 4
    assert of("delivered", product="p", year=2026) == 6
    assert of("capacity", product="p", date="2026-01") == pytest.approx(6)
    assert of("quote", product="p", date="2025-01") == pytest.approx(25)
    assert of("first_delivery_year", product="p") == 2025
    assert of("last_delivery_year", order="order-0") == 2026


def test_a_target_must_name_what_its_kind_needs() -> None:
    with pytest.raises(ValueError, match="kind 'delivered' needs year"):
        Target(source="F0", figure="f", kind="delivered", product="p", low=0, high=1, why="w")
    with pytest.raises(ValueError, match=r"low 2\.0 is above high 1\.0"):
        Target(source="F0", figure="f", kind="first_delivery_year", product="p", low=2, high=1, why="w")


def test_every_entry_the_model_cites_is_in_the_sources() -> None:
    import re

    model = (ROOT / "models" / "nato_air_defence.toml").read_text(encoding="utf-8")
    sources = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"\bF(\d+)\b", model))
    assert len(cited) >= 20
    assert not [f"F{n}" for n in sorted(cited, key=int) if f"| F{n} |" not in sources]


@pytest.mark.parametrize(("date", "message"), [
    ("soon", "targets[0].date: 'soon' is not a date"),
    ("2025-01", "targets[0].date: 2025-01: must be after the model's start 2025-01"),
    ("2040-01", "targets[0].date: 2040-01: must be after the model's start 2025-01 and not after its end"),
])
def test_a_target_date_the_run_cannot_read_is_refused_on_loading(tmp_path: Path, date: str,
                                                                 message: str) -> None:
    """``validate`` said ok to these; measuring then raised ValueError or StopIteration."""
    import shutil

    shutil.copy(ROOT / "models" / "single_line.toml", tmp_path / "model.toml")
    (tmp_path / "targets.toml").write_text(
        'model = "model.toml"\n[[targets]]\nsource = "F0"\nfigure = "f"\nkind = "capacity"\n'
        f'product = "interceptor"\ndate = "{date}"\nlow = 0\nhigh = 1000\nwhy = "w"\n')
    with pytest.raises(lts.InputError) as error:
        load_calibration(tmp_path / "targets.toml")
    assert len(error.value.problems) == 1
    assert message in error.value.problems[0]


def test_a_bad_targets_file_names_paths_as_scenario_files_do(tmp_path: Path) -> None:
    """It said ``targets.0.figur: Extra inputs are not permitted``, pydantic's own words."""
    (tmp_path / "targets.toml").write_text(
        'model = "model.toml"\n[[targets]]\nsource = "F0"\nfigur = "f"\nkind = "capacity"\n'
        'product = "p"\ndate = "2026-01"\nlow = 0\nhigh = 1\nwhy = "w"\n')
    with pytest.raises(lts.InputError) as error:
        load_calibration(tmp_path / "targets.toml")
    assert sorted(line.split(": ", 2)[1:] for line in error.value.problems) == [
        ["targets[0].figur", "unknown key 'figur' (did you mean 'figure'?)"],
        ["targets[0].figure", "required key is missing"]]
