"""Experiment files: a model, axes to vary, replications and a seed (TOML, validated)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from leadtime_sim.errors import InputError, problem, pydantic_problems, read_toml
from leadtime_sim.dates import month_index, normalise_date
from leadtime_sim.scenario.schema import Date

Scalar = int | float | str | bool
PathText = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-\[\]]+$")]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True)


class Linear(Model):
    """A tied value that follows its axis linearly: offset + per_unit x axis value."""

    per_unit: float = Field(allow_inf_nan=False)
    offset: float = Field(default=0.0, allow_inf_nan=False)


class Axis(Model):
    """One scenario value to vary: a list of values (grid) or a range (sampled)."""

    path: PathText
    label: str | None = None
    values: list[Scalar] | None = None
    range: Annotated[list[Scalar], Field(min_length=2, max_length=2)] | None = None
    """[low, high]: numbers, or dates "YYYY-MM" (sampled by month)."""
    integer: bool = False
    """Round sampled values to whole numbers (lines, units)."""
    tied: dict[PathText, list[Scalar] | Linear] = {}
    """Values that move with this axis: a list (one per value) or a linear map."""

    @model_validator(mode="after")
    def _values_or_range(self) -> Axis:
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of 'values' (a grid) or 'range' (sampled)")
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
        for path, tied in self.tied.items():
            if isinstance(tied, list):
                if self.values is None:
                    raise ValueError(f"tied {path!r}: a list of values needs an axis with 'values'")
                if len(tied) != len(self.values):
                    raise ValueError(f"tied {path!r}: {len(tied)} values for {len(self.values)} axis values")
        return self

    @property
    def name(self) -> str:
        return self.label or self.path


class Experiment(Model):
    """An experiment as written in its file (paths relative to the file)."""

    name: str = Field(min_length=1)
    description: str = ""
    model: str = Field(min_length=1)
    replications: Annotated[int, Field(ge=1, le=1_000_000)] = 30
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 1
    overrides: dict[PathText, Any] = {}
    axes: list[Axis] = []
    sampling: Literal["lhs", "sobol"] = "lhs"
    samples: Annotated[int, Field(ge=1, le=100_000)] = 16
    """Points sampled over the range axes (times the grid of the value axes)."""
    baseline: dict[PathText, Scalar] = {}
    """Axis values of the point others are compared with (default: the first point)."""
    targets: list[Date] = []
    """Dates for the probability that each gap is closed by then."""
    metrics: list[str] = []
    """Metrics to keep (prefixes such as 'gap_closed_months'); empty keeps all."""
    plugins: list[str] = []
    """Plugin modules the runs need (imported in every worker)."""
    charts: list[dict[str, Any]] = []


def load_experiment(path: str | Path) -> tuple[Experiment, Path]:
    """Read and validate an experiment file; return it and the resolved model path."""
    source = str(path)
    data = read_toml(path)
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, source, Experiment)) from None
    model_path = (Path(path).parent / experiment.model).resolve()
    if not model_path.is_file():
        raise InputError([problem(source, "model", f"{experiment.model!r} is not a file "
                                  f"(resolved relative to the experiment file: {model_path})")])
    return experiment, model_path
