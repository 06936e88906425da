"""Calibration of a scenario to public figures, as data: each target names a figure
(``docs/sources.md``), the model output it is compared with, the band that output must fall
in, and why that band. ``measure`` runs the scenario's replications and says, per target,
the median and P10-P90 over them and whether the median is in the band; ``markdown`` is the
table the docs show (``python -m leadtime_sim.calibration TARGETS`` prints it), so the docs and
the test (``tests/test_calibration.py``) read the same file and cannot drift apart.

Outputs a target can name (``kind``):

* ``delivered``: units of ``product`` delivered in calendar ``year``;
* ``capacity``: the product's capacity (units a year, every line at its rate) at the end of
  the month before ``date``;
* ``quote``: the lead time (months) quoted at ``date`` to a new one-unit order of class
  ``priority`` (``date``: the start, or a quote date of the scenario);
* ``first_delivery_year``: the calendar year of ``product``'s first delivery;
* ``last_delivery_year``: the year order ``order`` is delivered in full.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.errors import InputError, problem, pydantic_problems, read_toml
from leadtime_sim.run import RunResult, simulate
from leadtime_sim.scenario import Scenario
from leadtime_sim.scenario.loading import load_scenario
from leadtime_sim.scenario.schema import Date

Kind = Literal["delivered", "capacity", "quote", "first_delivery_year", "last_delivery_year"]


class Target(BaseModel):
    """One public figure and the band the model's median must fall in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)
    """The figure's entry in docs/sources.md (F1, F2, ...)."""
    figure: str = Field(min_length=1)
    """The figure in words, as published."""
    kind: Kind
    product: str | None = None
    year: int | None = None
    date: Date | None = None
    priority: int = 1
    order: str | None = None
    low: float
    high: float
    why: str = Field(min_length=1)
    """Why the band is as wide as it is."""

    @model_validator(mode="after")
    def _fields_of_kind(self) -> Target:
        need = {"delivered": ("product", "year"), "capacity": ("product", "date"),
                "quote": ("product", "date"), "first_delivery_year": ("product",),
                "last_delivery_year": ("order",)}[self.kind]
        missing = [name for name in need if getattr(self, name) is None]
        if missing:
            raise ValueError(f"kind {self.kind!r} needs {', '.join(missing)}")
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class Calibration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    """The scenario file, relative to the targets file."""
    seed: int = 2025
    replications: int = Field(default=30, ge=1, le=10_000)
    targets: list[Target] = Field(min_length=1)


def load_calibration(path: str | Path, overrides: Sequence[str] = ()) -> tuple[Calibration, Scenario]:
    """The targets file and its scenario (with ``overrides``, ``--set`` texts), validated
    (InputError: one line per problem)."""
    from pydantic import ValidationError

    try:
        calibration = Calibration.model_validate(read_toml(path))
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, str(path), Calibration)) from None
    scenario = load_scenario(Path(path).parent / calibration.model, overrides)
    orders = {o.id for o in scenario.orders}
    horizon_months = months_between(scenario.start, scenario.end)
    problems = []
    for i, target in enumerate(calibration.targets):
        if target.product is not None and target.product not in scenario.products:
            problems.append(problem(str(path), f"targets[{i}].product",
                                    f"no product {target.product!r} in the model"))
        if target.order is not None and target.order not in orders:
            problems.append(problem(str(path), f"targets[{i}].order",
                                    f"no order {target.order!r} in the model"))
        if target.kind == "capacity" and target.date is not None \
                and not 0 < months_between(scenario.start, target.date) <= horizon_months:
            problems.append(problem(str(path), f"targets[{i}].date",
                                    f"{target.date}: must be after the model's start {scenario.start} and "
                                    f"not after its end {scenario.end}"))
    if problems:
        raise InputError(problems)
    return calibration, scenario


def observe(target: Target, scenario: Scenario, result: RunResult) -> float:
    """The output ``target`` names, in one run (NaN: it never happened by the end)."""
    records, start = result.records, scenario.start
    if target.kind == "delivered":
        return float(sum(d.units for d in records.deliveries if d.product == target.product
                         and date_at(start, d.time_months)[:4] == f"{target.year:04d}"))
    if target.kind == "capacity":
        month = int(months_between(start, str(target.date))) - 1
        return next(float(p.capacity_units_per_year) for p in records.products
                    if p.product == target.product and p.month == month)
    if target.kind == "quote":
        at = months_between(start, str(target.date))
        lead = next((q.lead_time_months for q in records.quotes if q.product == target.product
                     and q.priority == target.priority and abs(q.time_months - at) < 1e-9), "none")
        if lead == "none":
            raise InputError([f"calibration: no quote of {target.product} class {target.priority} at "
                              f"{target.date} (the start or one of the scenario's quote_dates)"])
        return float("nan") if lead is None else float(lead)
    if target.kind == "first_delivery_year":
        times = [d.time_months for d in records.deliveries if d.product == target.product]
        return float(date_at(start, min(times))[:4]) if times else float("nan")
    order = next((o for o in records.orders if o.id == target.order), None)
    if order is None:
        raise InputError([f"calibration: no order {target.order!r} in the scenario"])
    last = order.last_delivery_months
    return float("nan") if last is None else float(date_at(start, last)[:4])


def _run(scenario: Scenario, seed: int, replication: int, targets: Sequence[Target]) -> list[float]:
    result = simulate(scenario, seed=seed, replication=replication)
    return [observe(t, scenario, result) for t in targets]


def measure(calibration: Calibration, scenario: Scenario, workers: int = 1) -> list[dict[str, object]]:
    """Per target: its fields, the median, P10 and P90 over the replications (NaN runs count
    as never, so a median of NaN means half the runs never got there) and ``ok``."""
    reps = range(calibration.replications)
    args = [(scenario, calibration.seed, r, calibration.targets) for r in reps]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            values = list(pool.map(_run, *zip(*args, strict=True)))
    else:
        values = [_run(*a) for a in args]
    rows = []
    for k, target in enumerate(calibration.targets):
        observed = np.array([v[k] for v in values])
        never = np.isnan(observed)
        filled = np.where(never, np.inf, observed)
        p10, p50, p90 = (float(np.quantile(filled, q, method="inverted_cdf")) for q in (0.1, 0.5, 0.9))
        rows.append({**target.model_dump(), "p10": p10, "median": p50, "p90": p90,
                     "never": int(never.sum()), "ok": target.low <= p50 <= target.high})
    return rows


def _number(value: float, year: bool = False) -> str:
    if value == float("inf"):
        return "never"
    if year:
        return f"{value:.0f}"
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.1f}"


def _output(row: dict[str, object]) -> str:
    kind, product = row["kind"], row["product"]
    return {
        "delivered": f"{product} delivered in {row['year']}",
        "capacity": f"{product} capacity a year at {row['date']}",
        "quote": f"quote to a class-{row['priority']} {product} order at {row['date']} (months)",
        "first_delivery_year": f"year of the first {product} delivery",
        "last_delivery_year": f"year order {row['order']} is complete",
    }[str(kind)]


def markdown(calibration: Calibration, rows: Sequence[dict[str, object]]) -> str:
    """The calibration table (docs/calibration.md)."""
    lines = [
        "# Calibration of the default scenario",
        "",
        "Generated by `python -m leadtime_sim.calibration models/calibration.toml` from the "
        "targets in `models/calibration.toml`; `tests/test_calibration.py` checks the same targets "
        "and that this file is what they give. Each row: a public figure (its entry in "
        "[sources.md](sources.md)), the model output compared with it, the median and P10-P90 over "
        f"{calibration.replications} replications (seed {calibration.seed}), the band the median must "
        "fall in, and why the band is that wide.",
        "",
        "| source | figure | model output | median | P10-P90 | band | in band | why the band |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        year = str(row["kind"]).endswith("_year")
        low, high, p10, p50, p90 = (_number(float(row[k]), year)  # type: ignore[arg-type]
                                    for k in ("low", "high", "p10", "median", "p90"))
        band = low if low == high else f"{low}-{high}"
        lines.append(f"| {row['source']} | {row['figure']} | {_output(row)} | {p50} | {p10}-{p90} | {band} | "
                     f"{'yes' if row['ok'] else '**no**'} | {row['why']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    loaded, model = load_calibration(sys.argv[1])
    sys.stdout.write(markdown(loaded, measure(loaded, model, workers=2)))
