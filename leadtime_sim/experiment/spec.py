"""Experiment files: a model, axes to vary, replications and a seed (TOML, validated)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leadtime_sim.charts.catalogue import CHARTS
from leadtime_sim.dates import month_index, normalise_date
from leadtime_sim.distributions import Distribution, number_as_constant
from leadtime_sim.errors import PATH_PATTERN, InputError, problem, pydantic_problems, read_toml
from leadtime_sim.metrics import METRICS
from leadtime_sim.run import DEFAULT_SEED
from leadtime_sim.scenario.paths import split_path
from leadtime_sim.scenario.schema import Date


def _toml_date_as_text(value: Any) -> Any:
    """A TOML date (``2026-01-01``, unquoted) as the text a quoted one gives, so that axis
    values, ties and baselines take dates either way."""
    return normalise_date(value) if isinstance(value, dt.date) else value


Scalar = Annotated[int | float | str | bool, BeforeValidator(_toml_date_as_text)]
PathText = Annotated[str, Field(min_length=1, pattern=PATH_PATTERN)]


class Frozen(BaseModel):
    """Base of the file formats' classes: immutable, no unknown keys, no type coercion."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True)


class Linear(Frozen):
    """A tied value that follows its axis linearly: offset + per_unit x axis value."""

    per_unit: float = Field(allow_inf_nan=False)
    offset: float = Field(default=0.0, allow_inf_nan=False)


class Axis(Frozen):
    """One scenario value to vary: a list of values (grid), a range (sampled uniformly) or
    a distribution (sampled through its quantile function: an uncertain input)."""

    path: PathText
    label: str | None = None
    values: list[Scalar] | None = None
    range: Annotated[list[Scalar], Field(min_length=2, max_length=2)] | None = None
    """[low, high]: numbers, or dates "YYYY-MM" (sampled by month)."""
    distribution: Distribution | None = None
    """A distribution as in scenario files, e.g. ``{dist = "triangular", low = 9, mode = 12,
    high = 20}``: one value per design point, sampled by its quantiles."""
    origin: Date | None = None
    """With a distribution, for a date path: the value is the date this many whole months
    after ``origin`` (e.g. a decision date of ``origin = "2026-01"`` plus a triangular delay)."""
    integer: bool = False
    """Round sampled values to whole numbers (lines, units)."""
    tied: dict[PathText, list[Scalar] | Linear] = {}
    """Values that move with this axis: a list (one per value) or a linear map."""

    @field_validator("distribution", mode="before")
    @classmethod
    def _known_distribution(cls, value: Any) -> Any:
        return number_as_constant(value)

    @model_validator(mode="after")
    def _values_or_range(self) -> Axis:
        if sum(x is not None for x in (self.values, self.range, self.distribution)) != 1:
            raise ValueError("give exactly one of 'values' (a grid), 'range' (sampled) or "
                             "'distribution' (sampled by its quantiles)")
        if self.values is not None and not self.values:
            raise ValueError("'values' must hold at least one value")
        if self.range is not None:
            low, high = self.range
            dates = all(isinstance(v, str) for v in self.range)
            numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.range)
            if not (dates or numbers):
                raise ValueError("'range' needs two numbers or two dates")
            if dates:
                for v in self.range:
                    normalise_date(v)
            if (month_index(str(low)) >= month_index(str(high))) if dates else low >= high:  # type: ignore[operator]
                raise ValueError(f"'range' must rise: {low!r} is not below {high!r}")
            if self.integer and numbers and math.ceil(low) > math.floor(high):  # type: ignore[arg-type]
                raise ValueError(f"'range' {self.range} holds no whole number, which integer = true takes")
        if self.origin is not None and self.distribution is None:
            raise ValueError("'origin' dates the months of a 'distribution'; give one, or a range of dates")
        for path, tied in self.tied.items():
            if isinstance(tied, Linear) and not self._numeric:
                raise ValueError(f"tied {path!r}: per_unit and offset need an axis of numbers (this one "
                                 "takes dates or text); tie a list of values to a grid axis instead")
            if isinstance(tied, list):
                if self.values is None:
                    raise ValueError(f"tied {path!r}: a list of values needs an axis with 'values'")
                if len(tied) != len(self.values):
                    raise ValueError(f"tied {path!r}: {len(tied)} values for {len(self.values)} axis values")
        return self

    @property
    def _numeric(self) -> bool:
        """Every value the axis takes is a number (not a date or text)."""
        if self.distribution is not None:
            return self.origin is None
        return all(isinstance(v, int | float) for v in (self.values or self.range or []))

    @property
    def name(self) -> str:
        return self.label or self.path

    @property
    def sampled(self) -> bool:
        """A range or a distribution: the design samples it (else a grid of values)."""
        return self.values is None

    def describe(self) -> str:
        """The values in words: the list, the range or the distribution."""
        if self.values is not None:
            return ", ".join(map(str, self.values))
        if self.range is not None:
            return f"{self.range[0]} to {self.range[1]}"
        assert self.distribution is not None
        text = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                         for k, v in self.distribution.model_dump(by_alias=True, exclude_none=True).items())
        return text + (f" (months after {self.origin})" if self.origin else "")


class Chart(Frozen):
    """One chart to draw after a sweep (or with ``leadtime-sim plot``); unset = chosen for you."""

    chart: str
    """A chart of ``charts.catalogue.CHARTS``."""
    requirements: list[str] = []
    """Requirements to draw (one file each); empty: every requirement."""
    products: list[str] = []
    """Products to draw (one file each); empty: the products of the requirements."""
    x: str | None = None
    """Axis label on the x axis, or 'capex' ($M of the swept investments); default: the first axis."""
    group: str | None = None
    """Axis label with one line per value; default: the second axis, if any."""
    y: str | None = None
    """Heatmap rows: an axis label; default: the second axis."""
    value: Literal["p50", "probability"] = "p50"
    """Heatmap cells: the median close date or P(closed by target)."""
    target: Date | None = None
    """One of the experiment's targets; default: the first."""
    points: list[Annotated[int, Field(ge=0)]] = []
    """Design points (point_id) to draw; default: the baseline and the best point."""
    by: Literal["customer", "priority"] = "customer"
    period_months: Annotated[int, Field(ge=1, le=120)] | None = None
    """Months per utilisation cell; default: 3, or 6 beyond a 10-year horizon."""

    @field_validator("chart")
    @classmethod
    def _known_chart(cls, chart: str) -> str:
        if chart not in CHARTS:
            raise ValueError(f"unknown chart {chart!r} (charts: {', '.join(CHARTS)})")
        return chart

    @model_validator(mode="after")
    def _only_settings_it_reads(self) -> Chart:
        allowed = CHARTS[self.chart].settings | {"chart"}
        extra = sorted(name for name in self.model_fields_set if name not in allowed
                       and getattr(self, name) != type(self).model_fields[name].default)
        if extra:
            raise ValueError(f"{', '.join(map(repr, extra))} does not apply to chart {self.chart!r} "
                             f"(it reads: {', '.join(sorted(allowed - {'chart'}))})")
        return self


def _known_metric(name: str) -> str:
    if name.split(".", 1)[0] not in METRICS:
        raise ValueError(f"unknown metric {name!r} (metrics: {', '.join(METRICS)}, each "
                         "optionally followed by .<requirement or product>)")
    return name


class Experiment(Frozen):
    """An experiment as written in its file (paths relative to the file)."""

    name: str = Field(min_length=1)
    description: str = ""
    model: str = Field(min_length=1)
    replications: Annotated[int, Field(ge=1, le=1_000_000)] = 30
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = DEFAULT_SEED
    overrides: dict[PathText, Any] = {}
    axes: list[Axis] = []
    uncertain: list[Axis] = []
    """Uncertain inputs, each a path with a distribution (or a range): sampled with the
    range axes by sweeps, and the inputs of ``sensitivity``."""
    sampling: Literal["lhs", "sobol"] = "lhs"
    samples: Annotated[int, Field(ge=1, le=100_000)] = 16
    """Points sampled over the range axes (times the grid of the value axes)."""
    baseline: dict[str, Scalar] = {}
    """Axis values of the point others are compared with (default: the first point)."""
    targets: list[Date] = []
    """Dates for the probability that each gap is closed by then."""
    metrics: list[Annotated[str, AfterValidator(_known_metric)]] = []
    """Metrics to keep (prefixes such as 'gap_closed_months'); empty keeps all."""
    plugins: list[str] = []
    """Plugin modules the runs need (imported in every worker)."""
    charts: list[Chart] = []
    """Charts drawn into the store's charts/ folder; empty: a default set."""

    @property
    def design_axes(self) -> list[Axis]:
        """Every axis a design point sets: the axes, then the uncertain inputs."""
        return [*self.axes, *self.uncertain]

    @field_validator("overrides", mode="before")
    @classmethod
    def _overrides_table(cls, value: Any) -> Any:
        if isinstance(value, list):  # (--set's form, which the Python API's overrides= takes)
            raise ValueError("should be a table of scenario paths and values, e.g. [overrides] "
                             '"factories.NAME.lines" = 2 (not a list of \'path=value\' texts)')
        return value

    @field_validator("charts")
    @classmethod
    def _charts_name_axes(cls, charts: list[Chart], info: ValidationInfo) -> list[Chart]:
        names = [a.name for a in [*info.data.get("axes", []), *info.data.get("uncertain", [])]]
        targets = info.data.get("targets", [])
        for i, chart in enumerate(charts):
            for key in ("x", "group", "y"):
                value = getattr(chart, key)
                if value is not None and value not in names and not (key == "x" and value == "capex"):
                    raise ValueError(f"{key} = {value!r} in chart {i} ({chart.chart}) is not an axis "
                                     f"label (axes: {', '.join(map(repr, names)) or 'none'}"
                                     f"{', or capex' if key == 'x' else ''})")
            if chart.target is not None and chart.target not in targets:
                raise ValueError(f"target = {chart.target!r} in chart {i} ({chart.chart}) is not one "
                                 f"of the experiment's targets {targets}")
        return charts


POINTS_COLUMNS = ("point_id", "metric", "n", "n_failed", "share_not_by_end", "mean", "std", "ci95_low",
                  "ci95_high", "p10", "p50", "p90", "p10_date", "p50_date", "p90_date", "capex")
"""The columns of ``points.csv`` (and the charts' ``capex``) beside the axes, which take their
labels as names: an axis of one of these names would overwrite it, or be overwritten."""
POINTS_PREFIXES = ("diff_", "p_closed_by_", "limited_by.")
HORIZON_PATHS = (("start",), ("end",))
"""Scenario paths no axis may set (``axis_problems``)."""


def axis_problems(experiment: Experiment) -> list[tuple[str, str]]:
    """Axes that contradict each other: two setting one path (an axis's own or a tied one),
    or two with one label, or a label that is a column of points.csv; an uncertain input with
    a grid of values. A point would otherwise run other values than its label says, or its
    row of points.csv show other values."""
    problems = []
    owner: dict[tuple[str | int, ...], str] = {}
    labels: dict[str, str] = {}
    named = [(f"axes[{i}]", f"axis {i}", a) for i, a in enumerate(experiment.axes)]
    named += [(f"uncertain[{i}]", f"uncertain input {i}", a) for i, a in enumerate(experiment.uncertain)]
    for at, who, axis in named:
        if who.startswith("uncertain") and not axis.sampled:
            problems.append((f"{at}.values", "an uncertain input is sampled: give 'distribution' "
                             "(or 'range'), or make it an axis"))
        if axis.name in labels:
            problems.append((f"{at}.label", f"{axis.name!r} is already the label of {labels[axis.name]}"))
        labels.setdefault(axis.name, who)
        if axis.name in POINTS_COLUMNS or axis.name.startswith(POINTS_PREFIXES):
            problems.append((f"{at}.label" if axis.label else f"{at}.path",
                             f"{axis.name!r} is a column of points.csv: give the axis another label"))
        for where, path in [("path", axis.path), *(("tied", tied) for tied in axis.tied)]:
            key = _path_key(path)  # orders[1].x and orders.1.x are one path
            if key[:1] in HORIZON_PATHS:
                problems.append((f"{at}.{where}", f"{path!r} cannot be varied: the points of an experiment "
                                 "share one calendar (their close dates, targets, charts and P(closed by) "
                                 "are read against it); set it in [overrides] or with --set, and run one "
                                 "experiment per horizon"))
            elif where == "tied" and key == _path_key(axis.path):
                problems.append((f"{at}.tied", f"{path!r} is the axis's own path"))
            elif key in owner:
                problems.append((f"{at}.{where}", f"{path!r} is already varied by {owner[key]}"))
            owner.setdefault(key, who)
    return problems


def _path_key(path: str) -> tuple[str | int, ...]:
    """A path as its parts, however it is spelt (a malformed one as written: told later)."""
    try:
        return tuple(split_path(path))
    except ValueError:
        return (path,)


def axis_fields(experiment: Experiment) -> dict[str, str]:
    """Each scenario path a design sets -> the experiment field that sets it (``axes[1].tied``,
    ``uncertain[0].path``), which messages name before the path."""
    fields: dict[str, str] = {}
    for kind, axes in (("axes", experiment.axes), ("uncertain", experiment.uncertain)):
        for i, axis in enumerate(axes):
            fields.setdefault(axis.path, f"{kind}[{i}].path")
            for tied in axis.tied:
                fields.setdefault(tied, f"{kind}[{i}].tied")
    return fields


def load_experiment(path: str | Path) -> tuple[Experiment, Path]:
    """Read and validate an experiment file; return it and the resolved model path."""
    return experiment_from(read_toml(path), Path(path).parent, str(path))


def experiment_from(data: Experiment | Mapping[str, Any], folder: str | Path = ".",
                    source: str = "<experiment>") -> tuple[Experiment, Path]:
    """Validate an experiment given as data (a dict as a TOML file would give, or an
    ``Experiment``), its model relative to ``folder``; return it and the model's path."""
    path = Path(folder) / "experiment.toml"
    if isinstance(data, Mapping) and not data:  # (one line, not one per required key)
        raise InputError([f"{source}: (top level): the file holds no settings: an experiment needs name and "
                          "model, the scenario file it varies (leadtime-sim schema --experiment prints the "
                          "format)"])
    try:
        experiment = data if isinstance(data, Experiment) else Experiment.model_validate(dict(data))
    except ValidationError as exc:
        scenario_keys = not isinstance(data, Experiment) and ("factories" in data or "products" in data)
        if scenario_keys and "model" not in data:
            raise InputError([f"{source}: this is a scenario file, not an experiment: simulate it with "
                              "leadtime-sim run, or name it as the model of an experiment"]) from None
        raise InputError(pydantic_problems(exc, source, Experiment)) from None
    problems = axis_problems(experiment)
    if problems:
        raise InputError([problem(source, where, message) for where, message in problems])
    try:
        model_path = (Path(path).parent / experiment.model).resolve()
        found = model_path.is_file()
    except (ValueError, OSError) as exc:  # a NUL character, a name too long for the system
        raise InputError([problem(source, "model", f"{experiment.model!r} is not a usable path: "
                                  f"{exc}")]) from None
    if not found:
        raise InputError([problem(source, "model", f"{experiment.model!r} is not a file "
                                  f"(resolved relative to the experiment file: {model_path})")])
    return experiment, model_path
