"""Every subject's plan merged into one timeline, so the shared test-server clock moves forward.

The time-skipping server has one clock for all workflows: a subject that sleeps skips time for
everybody. So nobody sleeps on their own; the agenda says when the clock moves next and what
is sent then. Within one moment a subject's actions keep their order (one lane per subject);
different subjects' lanes run concurrently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from simulation.plan import Action, SubjectPlan

__all__ = ["Slot", "build_agenda", "peak_open"]


@dataclass(frozen=True, slots=True)
class Slot:
    at: datetime
    lanes: tuple[tuple[Action, ...], ...]

    @property
    def size(self) -> int:
        return sum(len(lane) for lane in self.lanes)


def build_agenda(plans: Iterable[SubjectPlan]) -> list[Slot]:
    """Time-ordered slots; each lane is one subject's actions due at that moment, in order."""
    due: dict[datetime, dict[str, list[Action]]] = defaultdict(lambda: defaultdict(list))
    for plan in plans:
        for action in plan.actions:
            due[action.at][action.subject_id].append(action)
    return [
        Slot(at=at, lanes=tuple(tuple(lane) for lane in due[at].values())) for at in sorted(due)
    ]


def peak_open(plans: Iterable[SubjectPlan]) -> int:
    """The most subjects whose workflows are open at one moment (first action to settling)."""
    changes = sorted(
        change
        for plan in plans
        if plan.actions
        for change in ((plan.actions[0].at, 1), (plan.settles_by, -1))
    )
    open_now = peak = 0
    for _, change in changes:
        open_now += change
        peak = max(peak, open_now)
    return peak
