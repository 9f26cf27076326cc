"""What a simulation run produced, checked against what each subject's plan predicted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from domain.state import SubjectState
from domain.values import VisitStatus
from simulation.custody import CustodyFigures, custody_figures
from simulation.plan import SubjectPlan
from simulation.safety_figures import SafetyFigures, safety_figures

__all__ = ["CohortFigures", "SimulationReport", "SubjectOutcome", "cohort_figures"]


class SubjectOutcome(BaseModel):
    """One subject after the run: what the store replays to, and whether it is what was planned."""

    model_config = ConfigDict(frozen=True)

    subject_id: str
    expected_phase: str
    phase: str
    events: int
    chain_verified: bool
    # The workflow's own final state equals the fold of the stored events.
    replay_matches: bool
    # The workflow's timers marked exactly the monitoring days and SAE reports the plan left out.
    safety_as_planned: bool = True
    problem: str | None = None

    @property
    def as_planned(self) -> bool:
        return self.phase == self.expected_phase and self.safety_as_planned


class CohortFigures(BaseModel):
    model_config = ConfigDict(frozen=True)

    diseases: dict[str, int]
    phases: dict[str, int]
    screen_fail_causes: dict[str, int]
    withdrawal_phases: dict[str, int]
    dose_levels: dict[str, int]
    routes: dict[str, int]
    responses: dict[str, dict[str, int]]
    visits_completed: int
    visits_missed: int
    missed_visit_deviations: int
    manufacturing_failures: int
    safety: SafetyFigures
    # The chain of custody: units, incidents and vein-to-vein time (issue 14).
    custody: CustodyFigures | None = None


class SimulationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    subjects: int
    seed: int
    store_url: str
    first_day: str
    last_day: str
    commands_sent: int
    rejections: tuple[str, ...]
    figures: CohortFigures
    events_written: int
    store_events: int
    streams_verified: int
    chain_breaks: tuple[str, ...]
    not_as_planned: tuple[str, ...]
    replay_mismatches: tuple[str, ...]
    wall_seconds: float
    drive_seconds: float
    # Years of follow-up simulated (1: the main study; up to 15 with long-term follow-up).
    years: int = 1
    protocol_version: str = ""
    # CPU seconds of the driver and worker process, and of the test server (None: not
    # measurable here); unlike the wall time, they do not grow with other processes' load.
    cpu_seconds: float | None = None
    server_cpu_seconds: float | None = None

    @property
    def seconds_per_subject(self) -> float:
        return self.drive_seconds / self.subjects if self.subjects else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events_written / self.drive_seconds if self.drive_seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return (
            not (
                self.rejections
                or self.chain_breaks
                or self.not_as_planned
                or self.replay_mismatches
            )
            and self.streams_verified == self.subjects
        )

    def to_json(self) -> dict[str, object]:
        data = self.model_dump(mode="json")
        data["events_per_second"] = round(self.events_per_second, 1)
        data["seconds_per_subject"] = round(self.seconds_per_subject, 2)
        data["ok"] = self.ok
        return data


def _counts(values: Sequence[str | None]) -> dict[str, int]:
    return dict(sorted(Counter(v for v in values if v is not None).items()))


def cohort_figures(
    plans: Sequence[SubjectPlan], states: Sequence[SubjectState], *, sae_report_hours: int
) -> CohortFigures:
    """Tallies from the replayed states (what happened), plus the plans' withdrawal phases."""
    responses: dict[str, Counter[str]] = {}
    completed = missed = 0
    for state in states:
        for visit in state.visits:
            if visit.status is VisitStatus.COMPLETED and visit.response is not None:
                completed += 1
                responses.setdefault(visit.code, Counter())[visit.response] += 1
            elif visit.status is VisitStatus.MISSED:
                missed += 1
    return CohortFigures(
        diseases=_counts([s.disease for s in states]),
        phases=_counts([s.phase.value for s in states]),
        screen_fail_causes=_counts([s.screen_fail_cause for s in states]),
        withdrawal_phases=_counts([p.withdrawal_phase for p in plans]),
        dose_levels=_counts([s.dose_level for s in states]),
        routes=_counts([s.route for s in states]),
        # In protocol order, whichever subject happened to complete a visit first.
        responses={
            code: dict(sorted(responses[code].items()))
            for code in dict.fromkeys(v.code for s in states for v in s.visits)
            if code in responses
        },
        visits_completed=completed,
        visits_missed=missed,
        missed_visit_deviations=sum(
            1 for s in states for d in s.deviations if d.kind == "missed_visit"
        ),
        manufacturing_failures=sum(s.manufacturing_failures for s in states),
        safety=safety_figures(states, sae_report_hours),
        custody=custody_figures(states),
    )
