"""Experiments: files, design expansion, executors and the resumable results store.

The names below are imported on first use, so that a sweep worker, which needs only
``leadtime_sim.experiment.task``, does not import pandas and the store (Dask workers
start as new interpreters: every import there delays the sweep).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadtime_sim.experiment.design import DesignPoint, expand
    from leadtime_sim.experiment.runner import Plan, plan_experiment, run_experiment
    from leadtime_sim.experiment.spec import Experiment, load_experiment
    from leadtime_sim.experiment.store import ResultsStore

__all__ = ["DesignPoint", "Experiment", "Plan", "ResultsStore", "expand", "load_experiment",
           "plan_experiment", "run_experiment"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from leadtime_sim.experiment import design, runner, spec, store

    return next(getattr(m, name) for m in (design, spec, store, runner) if hasattr(m, name))
