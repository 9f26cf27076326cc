"""A synthetic cohort driven through the real workflows on the time-skipping test server."""

from simulation.cohort import CohortMix, plan_cohort
from simulation.plan import Action, SubjectPlan
from simulation.report import SimulationReport
from simulation.runner import SimulationConfig, run_simulation

__all__ = [
    "Action",
    "CohortMix",
    "SimulationConfig",
    "SimulationReport",
    "SubjectPlan",
    "plan_cohort",
    "run_simulation",
]
