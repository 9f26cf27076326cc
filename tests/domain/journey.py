"""A pure, in-memory subject: decide, seal and apply without Temporal, on a manual clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain import commands as c
from domain.actors import Actor, Role
from domain.events import Event, seal
from domain.protocol import Protocol
from domain.state import SubjectState
from domain.subject import apply, decide
from tests.domain.assessments import visit_fields
from tests.domain.factories import eligible_record
from tests.domain.prechecks import precheck_commands, weight_command

COORDINATOR = Actor(user_id="cora", role=Role.COORDINATOR)
INVESTIGATOR = Actor(user_id="ivan", role=Role.INVESTIGATOR)
PI = Actor(user_id="petra", role=Role.PI)
MONITOR = Actor(user_id="mona", role=Role.MONITOR)
SYSTEM = Actor(user_id="system", role=Role.SYSTEM)


class Journey:
    def __init__(
        self,
        protocol: Protocol,
        subject_id: str = "S-0001",
        start: date = date(2026, 3, 2),
        disease: str = "SLE",
    ):
        self.protocol = protocol
        # What register() and screening() use unless told otherwise.
        self.disease = disease
        self.subject_id = subject_id
        self.now = datetime.combine(start, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
        self.state = SubjectState()
        self.events: list[Event] = []

    @property
    def today(self) -> date:
        return self.now.date()

    def advance(self, days: int) -> None:
        self.now += timedelta(days=days)

    def go_to(self, day: date) -> None:
        self.now = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)

    def send(self, actor: Actor, command: Any) -> list[Event]:
        new = decide(self.state, command, actor, self.now, self.protocol)
        sealed = seal(
            new,
            stream=self.subject_id,
            last_seq=self.state.last_seq,
            last_hash=self.state.last_hash,
            actor=actor,
            recorded_at=self.now,
            protocol_version=self.protocol.version,
        )
        for event in sealed:
            self.state = apply(self.state, event)
        self.events.extend(sealed)
        return sealed

    # Commands a site sends, dated "now".
    def register(self, disease: str | None = None) -> c.RegisterSubject:
        return c.RegisterSubject(
            occurred_at=self.now,
            subject_id=self.subject_id,
            disease=disease or self.disease,  # type: ignore[arg-type]
            sex="female",
            birth_date=date(1980, 6, 15),
        )

    def consent(self) -> c.SignConsent:
        return c.SignConsent(
            occurred_at=self.now,
            consent_version=self.protocol.version,
            signed_on=self.today,
            childbearing_potential=True,
        )

    def screening(self, disease: str | None = None, **overrides: Any) -> c.RecordScreening:
        record = eligible_record(
            disease or self.disease,  # type: ignore[arg-type]
            screening_date=self.today,
            **overrides,
        )
        return c.RecordScreening(occurred_at=self.now, record=record)

    def sign(self, decision: str = "eligible") -> c.SignEligibility:
        return c.SignEligibility(occurred_at=self.now, decision=decision)  # type: ignore[arg-type]

    def enroll(self, dose_level: str = "DL1") -> c.EnrollSubject:
        return c.EnrollSubject(occurred_at=self.now, dose_level=dose_level, route="intravenous")

    def apheresis(self) -> c.RecordApheresis:
        return c.RecordApheresis(occurred_at=self.now, collected_on=self.today, volume_ml=180)

    def release(self) -> c.RecordProductRelease:
        return c.RecordProductRelease(
            occurred_at=self.now, lot="LOT-1", released_on=self.today, total_tu=5e9
        )

    def failure(self) -> c.RecordManufacturingFailure:
        return c.RecordManufacturingFailure(
            occurred_at=self.now, failed_on=self.today, detail="low transduction efficiency"
        )

    @property
    def dated_results(self) -> bool:
        """Whether the protocol takes weight and kidney function from dated results."""
        return self.protocol.pre_lymphodepletion is not None

    def prechecks(self, **kwargs: Any) -> None:
        """Record today's re-checks before lymphodepletion (when the protocol has them)."""
        if self.dated_results:
            # A correction may have made the subject male or not of childbearing potential: the
            # domain then refuses a pregnancy test, as it should.
            wocbp = self.state.sex == "female" and bool(self.state.childbearing_potential)
            kwargs.setdefault("childbearing_potential", wocbp)
            for command in precheck_commands(self.now, self.today, **kwargs):
                self.send(COORDINATOR, command)

    def plan(self, infusion_in_days: int = 7) -> c.PlanLymphodepletion:
        legacy = {} if self.dated_results else {"weight_kg": 60, "egfr": 90}
        return c.PlanLymphodepletion(
            occurred_at=self.now,
            infusion_date=self.today + timedelta(days=infusion_in_days),
            height_cm=165,
            **legacy,
        )

    def approve(self) -> c.ApproveLymphodepletion:
        return c.ApproveLymphodepletion(occurred_at=self.now)

    def withdraw(self) -> c.WithdrawConsent:
        return c.WithdrawConsent(occurred_at=self.now, withdrawn_on=self.today, reason="moved away")

    def give_doses(self) -> None:
        assert self.state.ld_plan is not None
        for dose in sorted(self.state.ld_plan.doses, key=lambda d: (d.on, d.drug)):
            if self.today < dose.on:
                self.go_to(dose.on)
            self.send(
                COORDINATOR,
                c.RecordLymphodepletionDose(
                    occurred_at=self.now,
                    drug=dose.drug,
                    day=dose.day,
                    mg=dose.mg,
                    given_on=dose.on,
                ),
            )

    def infuse(self, tu_per_kg: float = 5e6) -> c.RecordInfusion:
        """The infusion command; with dated results, today's weight is recorded first."""
        assert self.state.ld_plan is not None
        self.go_to(self.state.ld_plan.infusion_date)
        if not self.dated_results:
            return c.RecordInfusion(
                occurred_at=self.now, infused_on=self.today, weight_kg=60, tu_per_kg=tu_per_kg
            )
        if self.state.phase.value == "lymphodepletion":
            self.send(COORDINATOR, weight_command(self.now, self.today))
        return c.RecordInfusion(occurred_at=self.now, infused_on=self.today, tu_per_kg=tu_per_kg)

    def complete(self, code: str, response: str = "PR") -> c.CompleteVisit:
        """The visit done on its target day; the baseline visit without a response."""
        visit = self.state.visit(code)
        assert visit is not None and self.state.disease is not None
        if self.today < visit.target:
            self.go_to(visit.target)
        return c.CompleteVisit.model_validate(
            {
                "occurred_at": self.now,
                "code": code,
                "completed_on": visit.target,
                **visit_fields(self.protocol, self.state.disease, code, response),
            }
        )

    def to_phase(self, phase: str) -> None:
        """Walk the happy path until the subject is in ``phase``."""
        steps: list[tuple[str, Any]] = [
            ("registered", lambda: self.send(COORDINATOR, self.register())),
            ("consented", lambda: self.send(COORDINATOR, self.consent())),
            ("screening", lambda: self.send(COORDINATOR, self.screening())),
            ("eligible", lambda: self.send(PI, self.sign())),
            ("enrolled", lambda: self.send(INVESTIGATOR, self.enroll())),
            ("apheresis", lambda: self.send(COORDINATOR, self.apheresis())),
            ("awaiting_product", lambda: self.send(COORDINATOR, self.release())),
            (
                "lymphodepletion",
                lambda: (
                    self.prechecks(),
                    self.send(INVESTIGATOR, self.plan()),
                    self.send(PI, self.approve()),
                ),
            ),
            ("infused", lambda: (self.give_doses(), self.send(INVESTIGATOR, self.infuse()))),
            ("follow_up", lambda: self.send(COORDINATOR, self.complete("D0"))),
        ]
        if phase == "new":
            return
        for name, step in steps:
            step()
            if name == phase:
                return
        if phase in ("completed", "completed_visits"):
            for visit in self.state.visits:
                if visit.status == "planned":
                    self.send(COORDINATOR, self.complete(visit.code))
            if phase == "completed_visits":
                return
            self.send(
                SYSTEM,
                c.EndParticipation(occurred_at=self.now, outcome="completed", ended_on=self.today),
            )
        elif phase == "screen_failed":
            raise AssertionError("use a not_eligible signature")
