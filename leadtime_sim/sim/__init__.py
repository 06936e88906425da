"""The SimPy kernel: a validated scenario and a seed in, plain records out."""

from leadtime_sim.sim.engine import run_kernel
from leadtime_sim.sim.estimate import estimate_lots
from leadtime_sim.sim.ordering import ORDERING_RULES, Review
from leadtime_sim.sim.policies import POLICIES, AllocationPolicy, FairSharePolicy, FifoPolicy, PriorityPolicy
from leadtime_sim.sim.records import KernelRecords
from leadtime_sim.sim.state import Limits, RunLimitExceeded, SimulationError

__all__ = ["ORDERING_RULES", "POLICIES", "AllocationPolicy", "FairSharePolicy", "FifoPolicy",
           "KernelRecords", "Limits", "PriorityPolicy", "Review", "RunLimitExceeded",
           "SimulationError", "estimate_lots", "run_kernel"]
