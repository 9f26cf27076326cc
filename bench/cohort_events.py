"""Real event batches without Temporal: a seeded cohort driven through the pure domain.

Each planned command is decided, sealed and folded exactly as the workflow would, and the timer
commands the workflow would fire (reminders, missed visits, expiry, monitoring, SAE clocks) are
fired in between from ``next_deadline``. One decision is one batch, as in the workflow path.
"""

from __future__ import annotations

from datetime import date, datetime

from domain.actors import SYSTEM_ACTOR, Actor
from domain.commands import Command
from domain.deadlines import next_deadline
from domain.errors import DomainError
from domain.events import Event, seal
from domain.protocol import Protocol, load_protocol
from domain.state import SubjectState
from domain.subject import apply, decide
from simulation.cohort import plan_cohort
from simulation.plan import SubjectPlan

__all__ = ["cohort_batches"]


class _Subject:
    def __init__(self, plan: SubjectPlan, protocol: Protocol) -> None:
        self.plan = plan
        self.protocol = protocol
        self.state = SubjectState()
        self.batches: list[list[Event]] = []
        # The workflow's clock never goes back: a timer due in the past fires now.
        self.clock = plan.actions[0].at

    def send(self, command: Command, actor: Actor, at: datetime) -> bool:
        at = max(at, self.clock)
        self.clock = at
        if actor is SYSTEM_ACTOR:
            command = command.model_copy(update={"occurred_at": at})
        try:
            new = decide(self.state, command, actor, at, self.protocol)
        except DomainError:
            return False
        sealed = seal(
            new,
            stream=self.plan.subject_id,
            last_seq=self.state.last_seq,
            last_hash=self.state.last_hash,
            actor=actor,
            recorded_at=at,
            protocol_version=self.protocol.version,
        )
        for event in sealed:
            self.state = apply(self.state, event)
        self.batches.append(sealed)
        return True

    def fire_until(self, moment: datetime) -> None:
        while True:
            deadline = next_deadline(self.state, self.protocol)
            if deadline is None or deadline.due_at > moment:
                return
            if not self.send(deadline.command, SYSTEM_ACTOR, deadline.due_at):
                return

    def run(self) -> list[list[Event]]:
        for action in self.plan.actions:
            self.fire_until(action.at)
            self.send(action.command, action.actor, action.at)
        self.fire_until(self.plan.settles_by)
        return self.batches


def cohort_batches(subjects: int, seed: int = 1, prefix: str = "BENCH") -> list[list[Event]]:
    """Every batch of a cohort, interleaved across subjects in the order they were recorded."""
    protocol = load_protocol()
    plans = plan_cohort(
        subjects, seed=seed, first_day=date(2026, 3, 2), protocol=protocol, prefix=prefix
    )
    batches = [batch for plan in plans for batch in _Subject(plan, protocol).run()]
    batches.sort(key=lambda batch: (batch[0].recorded_at, batch[0].stream, batch[0].seq))
    return batches
