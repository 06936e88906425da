"""The command line's handling of unusual and bad input: one line naming the file (or
option), the field path and what is wrong, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from leadtime_sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SINGLE = str(ROOT / "models" / "single_line.toml")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", [["run"], ["run", "--fluid"], ["quote", "--product", "interceptor"],
                                     ["validate"]])
def test_a_negative_list_index_is_refused_in_the_users_own_spelling(tmp_path: Path,
                                                                    command: list[str]) -> None:
    out = tmp_path / "out"
    args = [command[0], SINGLE, *command[1:], "--set", "orders[-1].quantity=3"]
    code, stdout, err = invoke(*args, *(["--out", str(out)] if command[0] != "validate" else []))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line == ("error: --set orders[-1].quantity=3: orders[-1]: list items are numbered from 0 "
                    "(a negative index is not taken): the list has 2; the last is orders[1]")
    assert "orders.-1" not in stdout + err
    assert not out.exists()


def test_a_list_item_that_is_not_there_names_the_items_that_are() -> None:
    code, _, err = invoke("validate", SINGLE, "--set", "orders[2].quantity=3")
    assert code == 2
    assert err.strip() == ("error: --set orders[2].quantity=3: orders[2]: no such list item "
                           "(the list has 2: orders[0] to orders[1])")
    code, _, err = invoke("validate", SINGLE, "--set", "orders.last.quantity=3")
    assert code == 2
    assert err.strip() == ("error: --set orders.last.quantity=3: orders: is a list, so 'last' names no "
                           "item: give a number (the list has 2: orders[0] to orders[1])")


def test_an_experiment_axis_at_a_negative_index_is_refused(tmp_path: Path) -> None:
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'name = "e"\nmodel = "{SINGLE}"\nreplications = 1\n'
                          '[[axes]]\npath = "orders[-1].quantity"\nvalues = [1, 2]\n')
    out = tmp_path / "out"
    code, _, err = invoke("sweep", str(experiment), "--out", str(out))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {experiment}: axes[0].path: orders[-1].quantity: orders[-1]: ")
    assert "the last is orders[1]" in line
    assert not out.exists()


def test_quote_echoes_a_date_on_the_first_as_its_month(tmp_path: Path) -> None:
    code, out, err = invoke("quote", SINGLE, "--product", "interceptor", "--date", "2025-01-01",
                            "--replications", "2", "--workers", "1")
    assert code == 0, err
    assert out.splitlines()[0].startswith("What-if: 1 x interceptor ordered 2025-01 by what-if")
    code, out, err = invoke("quote", SINGLE, "--product", "interceptor", "--date", "2026-03-01",
                            "--replications", "2", "--workers", "1", "--json")
    assert code == 0, err
    assert '"date": "2026-03"' in out
    code, out, err = invoke("quote", SINGLE, "--product", "interceptor", "--date", "2026-03-15",
                            "--replications", "1", "--workers", "1")
    assert code == 0, err
    assert "ordered 2026-03-15 by" in out  # (a day within the month is a later instant: shown)


def test_a_horizon_written_with_days_is_shown_in_months(tmp_path: Path) -> None:
    model = tmp_path / "days.toml"
    model.write_text(Path(SINGLE).read_text().replace('start = "2025-01"', 'start = "2025-01-01"')
                     .replace('end = "2035-01"', "end = 2035-01-01"))
    code, out, err = invoke("run", str(model), "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert out.splitlines()[0] == "Single line  (2025-01 to 2035-01, seed 1)"
    code, out, err = invoke("quote", str(model), "--product", "interceptor", "--date", "2024-12-15")
    assert code == 2
    assert err.strip() == "error: --date 2024-12-15: outside the horizon 2025-01 to 2035-01"
    code, out, err = invoke("quote", str(model), "--product", "interceptor", "--replications", "1",
                            "--workers", "1", "--target", "2025-01")
    assert code == 0, err
    assert "outside the horizon" not in err  # (2025-01 is the start, 2025-01-01)
