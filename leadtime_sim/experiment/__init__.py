"""Experiments: files, design expansion, executors and the resumable results store."""

from leadtime_sim.experiment.design import DesignPoint, expand
from leadtime_sim.experiment.runner import Plan, plan_experiment, run_experiment
from leadtime_sim.experiment.spec import Experiment, load_experiment
from leadtime_sim.experiment.store import ResultsStore

__all__ = ["DesignPoint", "Experiment", "Plan", "ResultsStore", "expand", "load_experiment",
           "plan_experiment", "run_experiment"]
