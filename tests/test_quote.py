"""``leadtime-sim quote`` and ``lts.quote``: the exact what-if of one more order, checked on
cases whose answer follows by hand, and its CLI contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import build, order, scenario_dict

import leadtime_sim as lts
from leadtime_sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
NATO = ROOT / "models" / "nato_air_defence.toml"
CONTRACT = {"product", "quantity", "date", "priority", "customer", "replications", "lead_time_months",
            "last_delivery", "p_delivered_by", "displaced", "in_run_quote_months"}


def test_one_line_ten_units_ahead_gives_the_eleventh_unit_time() -> None:
    """Takt 2, flow 3, ten units ordered at start: a new unit is the 11th, done at 2 x 11 + 3."""
    answer = lts.quote(build(scenario_dict()), product="p", quantity=1, replications=3, workers=1)
    assert answer["lead_time_months"] == {"p10": 25.0, "p50": 25.0, "p90": 25.0, "mean": 25.0}
    assert answer["last_delivery"]["p50"] == "2027-02"  # 25 months after 2025-01
    assert answer["p_delivered_by"]["2027-01"] == 0.0 and answer["p_delivered_by"]["2028-01"] == 1.0
    two = lts.quote(build(scenario_dict()), product="p", quantity=2, replications=1, workers=1)
    assert two["lead_time_months"]["p50"] == 27.0  # units 11 and 12


def test_priority_one_jumps_the_queue_and_delays_class_two_by_one_takt() -> None:
    data = scenario_dict(orders=[order(10, customer="late", priority=2)],
                         policy={"allocation": "priority"})
    scenario = build(data)
    urgent = lts.quote(scenario, product="p", date="2025-01", customer="urgent", priority=1,
                       replications=2, workers=1)
    assert urgent["lead_time_months"]["p50"] == 2 + 3  # one takt and the flow
    (row,) = urgent["displaced"]
    assert row["customer"] == "late" and row["orders"] == 1
    assert row["mean_delay_months"] == pytest.approx(2.0)  # the class-2 order ends one takt later
    behind = lts.quote(scenario, product="p", date="2025-01", priority=2, replications=2, workers=1)
    assert behind["priority"] == 2 and behind["lead_time_months"]["p50"] == 2 * 11 + 3
    assert behind["displaced"] == []


def test_an_order_at_start_does_not_take_the_work_in_progress_of_the_book() -> None:
    """Takt 2, flow 3, 4 units of a's book in progress at start (delivered at 3/8, 9/8, 15/8
    and 21/8), 6 more to make. Under fair shares a new customer's unit at start took one of
    those four (delivered at 9/8 months), as if the book's lots had not
    been started for it; it now waits for the first new lot (2 + 3 = 5), the run's own
    quote at start, and no later: it is served before a's next units."""
    data = scenario_dict(factories={"f": {"product": "p", "lines": 1, "lot_size": 1, "takt_months": 2,
                                          "flow_months": 3, "initial_wip_units": 4}},
                         policy={"allocation": "fair-share"})
    answer = lts.quote(build(data), product="p", customer="new", replications=1, workers=1)
    assert answer["lead_time_months"]["p50"] == pytest.approx(5.0)
    assert answer["in_run_quote_months"]["p50"] == pytest.approx(5.0)


def test_an_order_that_cannot_arrive_by_the_end_is_not_by_end() -> None:
    scenario = build(scenario_dict(end="2026-01"))
    answer = lts.quote(scenario, product="p", replications=2, workers=1)
    assert answer["lead_time_months"]["p50"] is None and answer["share_not_by_end"] == 1.0
    assert answer["last_delivery"] == {"p10": None, "p50": None, "p90": None}


def test_a_scenario_order_named_what_if_is_not_taken_for_the_new_one() -> None:
    """The scenario's own order ``what-if`` (10 units at start) is delivered by month 23; the
    new unit, placed at month 5, is the 11th: 2 x 11 + 3 = 25 months from start."""
    scenario = build(scenario_dict(orders=[order(10, id="what-if")]))
    answer = lts.quote(scenario, product="p", date="2025-06", replications=1, workers=1)
    assert answer["lead_time_months"]["p50"] == 25 - 5
    assert answer["displaced"] == []


def test_a_plugin_with_a_lambda_rule_quotes_in_worker_processes(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's plugin (``ORDERING_RULES = {"double": lambda review: ...}``) could not be
    sent to quote's workers (PicklingError): plugins go there as their module names."""
    (tmp_path / "lambda_plugin.py").write_text(
        "from leadtime_sim import AllocationPolicy\n"
        "class Newest(AllocationPolicy):\n"
        "    def take(self, units):\n"
        "        taken = []\n"
        "        while units and self.queue:\n"
        "            n = min(units, self.queue[-1].uncommitted)\n"
        "            taken.append((self.queue[-1], n)); units -= n\n"
        "            if n == self.queue[-1].uncommitted:\n"
        "                self.queue.pop()\n"
        "        return taken\n"
        "POLICIES = {'newest': Newest}\n"
        "ORDERING_RULES = {'double': lambda review: 0}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = lts.load_plugins(["lambda_plugin"])
    scenario = build(scenario_dict(policy={"allocation": "newest"}), plugins)
    two = lts.quote(scenario, product="p", replications=2, workers=2, plugins=plugins)
    assert two == lts.quote(scenario, product="p", replications=2, workers=1, plugins=plugins)
    assert two["lead_time_months"]["p50"] == 2 + 3  # the newest order is served first


def test_a_review_that_no_longer_orders_does_not_make_later_reviews_look_delayed() -> None:
    """Reviews each January order the next year's unit (delivered 5 months later). The
    customer's own unit at 2025-07 makes the 2026 review order nothing, so the 2027 review's
    order is the requirement's second (``r-1``), as the 2026 one was without it: compared by
    id, two orders were 'delayed' 12 months; no delivery moves."""
    requirement = {"customer": "a", "product": "p", "initial_units": 0,
                   "required": [{"date": f"{y}-01", "units": y - 2025} for y in range(2026, 2030)],
                   "ordering": {"first_review": "2025-01", "review_every_months": 12,
                                "lookahead_months": 12}}
    scenario = build(scenario_dict(orders=[], requirements={"r": requirement}))
    answer = lts.quote(scenario, product="p", date="2025-07", customer="a", replications=1, workers=1)
    assert answer["lead_time_months"]["p50"] == 2 + 3
    assert answer["displaced"] == [] and answer["requirements_moved"] == []


def test_a_file_path_is_quoted_as_simulate_runs_it() -> None:
    """``lts.quote("models/...toml", ...)`` raised AttributeError ('str' has no 'start')."""
    model = ROOT / "models" / "single_line.toml"
    answer = lts.quote(str(model), product="interceptor", replications=1, workers=1)
    assert answer == lts.quote(lts.load_scenario(model), product="interceptor", replications=1, workers=1)
    with pytest.raises(lts.InputError, match="no such file"):
        lts.quote(ROOT / "nosuch.toml", product="interceptor", replications=1, workers=1)


def test_no_replications_is_an_input_error() -> None:
    """``lts.quote(..., replications=0)`` raised IndexError from the quantiles of no runs."""
    with pytest.raises(lts.InputError, match="--replications 0: must be at least 1"):
        lts.quote(build(scenario_dict()), product="p", replications=0, workers=1)


@pytest.mark.slow
def test_the_what_if_is_the_same_with_one_worker_or_two() -> None:
    scenario = lts.load_scenario(NATO)
    one = lts.quote(scenario, product="gem_t", quantity=20, date="2026-01", replications=4, workers=1)
    two = lts.quote(scenario, product="gem_t", quantity=20, date="2026-01", replications=4, workers=2)
    assert one == two
    assert one["lead_time_months"]["p50"] is not None


def test_cli_json_contract_and_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["quote", str(NATO), "--product", "pac3_mse", "--quantity", "50",
                                       "--date", "2026-01", "--replications", "3", "--json",
                                       "--out", str(tmp_path / "q"), "--target", "2031-01"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert set(answer) >= CONTRACT
    assert set(answer["lead_time_months"]) == {"p10", "p50", "p90", "mean"}
    assert set(answer["last_delivery"]) == {"p10", "p50", "p90"} == set(answer["in_run_quote_months"])
    assert all({"customer", "orders", "mean_delay_months", "p90_delay_months"} <= set(d)
               for d in answer["displaced"])
    assert json.loads((tmp_path / "q" / "quote.json").read_text()) == answer
    assert sorted(p.name for p in (tmp_path / "q" / "charts").iterdir()) == ["quote-delivery.png",
                                                                              "quote-displaced.png"]


@pytest.mark.parametrize(("args", "problem"), [
    (["--product", "nosuch"], "--product 'nosuch': no such product"),
    (["--product", "pac3_seeker"], "a component"),
    (["--product", "pac3_mse", "--date", "2050-01"], "--date 2050-01: outside the horizon"),
    (["--product", "pac3_mse", "--date", "soon"], "--date 'soon'"),
    (["--product", "pac3_mse", "--quantity", "0"], "--quantity"),
    (["--product", "pac3_mse", "--customer", "a b"], "error: --customer 'a b': a name may hold only the letters "
     "A-Z and a-z, digits, '_', '.' and '-' (no spaces or accents)"),  # (was "the order: customer: String should
    (["--product", "pac3_mse", "--customer", "x" * 101], "--customer 'xxx"),  # match pattern '^[A-Za-z0-9_.\\-]+$'")
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], problem: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["quote", str(NATO), *args, "--replications", "1",
                                       "--out", str(tmp_path / "q")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(problem in line for line in lines), lines
    assert "Traceback" not in result.output and not (tmp_path / "q").exists()


def test_a_target_outside_the_horizon_is_warned_about(tmp_path: Path) -> None:
    """Accepted as an experiment's targets are, but told (it was silent)."""
    model = Path(__file__).resolve().parents[1] / "models" / "single_line.toml"
    result = CliRunner().invoke(main, ["quote", str(model), "--product", "interceptor", "--quantity", "2",
                                       "--target", "2010-01", "--target", "2030-01", "--replications", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("warning:") == 1
    assert "warning: --target 2010-01 is outside the horizon (2025-01 to 2035-01)" in result.output


def test_an_input_error_from_a_worker_process_keeps_its_lines() -> None:
    """An InputError pickled from a worker came back as one problem per character: a
    negative seed with two workers printed "s", "i", "m", ... one line each. Seeds,
    replications and a plugin not passed are now checked before any run, naming quote."""
    import pickle

    error = pickle.loads(pickle.dumps(lts.InputError(["a.toml: x: bad", "b.toml: y: bad"])))
    assert type(error) is lts.InputError and error.problems == ["a.toml: x: bad", "b.toml: y: bad"]
    scenario = build(scenario_dict())
    with pytest.raises(lts.InputError) as caught:
        lts.quote(scenario, product="p", replications=2, workers=2, seed=-1)
    assert caught.value.problems == ["quote: seed = -1: must be a whole number from 0 to 2**63 - 1 "
                                     "(as the CLI's --seed and --replication)"]
    for bad in (2.5, "3", True):
        with pytest.raises(lts.InputError, match=r"--replications .*: must be at least 1"):
            lts.quote(scenario, product="p", replications=bad, workers=1)  # type: ignore[arg-type]

    class Newest(lts.AllocationPolicy):
        """A plugin policy (its orders are never placed: the check comes first)."""

    plugged = build(scenario_dict(policy={"allocation": "newest"}), plugins=lts.Plugins({"newest": Newest}))
    with pytest.raises(lts.InputError, match=r"^quote: the scenario names allocation policy 'newest'"):
        lts.quote(plugged, product="p", replications=2, workers=2)


def test_a_delay_under_a_tenth_of_a_month_is_not_printed_as_none() -> None:
    """One PAC-3 MSE at start, ordered for the US, delays one US order by about 0.06 months: the
    summary read "delays us: 1 orders, 1.0 a run, mean 0.0 months (P90 0.0)" - a delay of none."""
    from leadtime_sim.cli.quote import summary

    answer = {"quantity": 1, "product": "p", "date": "2025-01", "customer": "us", "priority": 2,
              "replications": 2, "end": "2045-01", "last_delivery": {"p10": "2029-06", "p50": "2029-06",
                                                                     "p90": "2029-09"},
              "lead_time_months": {"p50": 53.7, "mean": 55.3}, "share_not_by_end": 0.0,
              "in_run_quote_months": {"p50": 52.8}, "p_delivered_by": {},
              "displaced": [{"customer": "us", "orders": 1, "delays_per_run": 1.0, "mean_delay_months": 0.057,
                             "p90_delay_months": 0.22},
                            {"customer": "eu", "orders": 3, "delays_per_run": 1.5, "mean_delay_months": 2.04,
                             "p90_delay_months": 3.0}],
              "requirements_moved": []}
    text = summary(answer)
    assert "delays us: 1 order, 1.0 a run, mean 0.057 months (P90 0.2)" in text, text
    assert "delays eu: 3 orders, 1.5 a run, mean 2.0 months (P90 3.0)" in text, text


def test_an_empty_customer_is_refused_not_taken_for_the_default() -> None:
    """--customer "" quoted for the default customer "what-if" without a word."""
    result = CliRunner().invoke(main, ["quote", str(NATO), "--product", "pac3_mse", "--customer", "",
                                       "--replications", "1", "--workers", "1"])
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.startswith("error: --customer '': ") and result.stderr.count("\n") == 1, result.stderr
