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
