"""Drive one subject through the protocol against a running worker, in protocol time."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.actors import Actor, Role
from domain.screening import ScreeningRecord
from domain.state import SubjectState
from system.gateway import SubjectGateway
from tests.domain.assessments import visit_fields
from tests.domain.factories import eligible_record_json
from tests.domain.prechecks import precheck_commands, weight_command
from workflows.subject import SubmitResult

COORDINATOR = Actor(user_id="cora", role=Role.COORDINATOR)
INVESTIGATOR = Actor(user_id="ivan", role=Role.INVESTIGATOR)
PI = Actor(user_id="petra", role=Role.PI)
MONITOR = Actor(user_id="mona", role=Role.MONITOR)


def new_subject() -> str:
    return f"S-{uuid.uuid4().hex[:8].upper()}"


class SubjectDriver:
    """Sends the commands a site would send, dated by the test server's clock."""

    def __init__(self, env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str) -> None:
        self.env = env
        self.gateway = gateway
        self.subject_id = subject_id
        self.results: list[SubmitResult] = []

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def today(self) -> date:
        return (await self.now()).date()

    async def sleep_until(self, day: date) -> None:
        now = await self.now()
        # Early in the day, so the day's commands are not dated in the future.
        target = datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo) + timedelta(
            minutes=1
        )
        if target > now:
            await self.env.sleep(target - now)

    async def send(self, actor: Actor, command: Any) -> SubmitResult:
        if isinstance(command, c.RegisterSubject):
            result = await self.gateway.register(command, actor)
        else:
            result = await self.gateway.submit(self.subject_id, command, actor)
        self.results.append(result)
        return result

    async def state(self) -> SubjectState:
        return await self.gateway.state(self.subject_id)

    async def register(self, disease: str = "SLE") -> SubmitResult:
        return await self.send(
            COORDINATOR,
            c.RegisterSubject(
                occurred_at=await self.now(),
                subject_id=self.subject_id,
                disease=disease,  # type: ignore[arg-type]
                sex="female",
                birth_date=date(1980, 6, 15),
            ),
        )

    async def consent(self) -> SubmitResult:
        return await self.send(
            COORDINATOR,
            c.SignConsent(
                occurred_at=await self.now(),
                consent_version=self.gateway.protocol.version,
                signed_on=await self.today(),
                childbearing_potential=True,
            ),
        )

    async def screening(self, disease: str = "SLE", **overrides: Any) -> SubmitResult:
        record = ScreeningRecord.model_validate(
            eligible_record_json(disease, screening_date=await self.today(), **overrides)  # type: ignore[arg-type]
        )
        return await self.send(
            COORDINATOR, c.RecordScreening(occurred_at=await self.now(), record=record)
        )

    async def eligible_and_enrolled(self, dose_level: str = "DL1") -> None:
        await self.send(PI, c.SignEligibility(occurred_at=await self.now(), decision="eligible"))
        await self.send(
            INVESTIGATOR,
            c.EnrollSubject(
                occurred_at=await self.now(), dose_level=dose_level, route="intravenous"
            ),
        )

    async def product(self) -> None:
        today = await self.today()
        await self.send(
            COORDINATOR,
            c.RecordApheresis(occurred_at=await self.now(), collected_on=today, volume_ml=180),
        )
        await self.send(
            COORDINATOR,
            c.RecordProductRelease(
                occurred_at=await self.now(), lot="LOT-1", released_on=today, total_tu=5e9
            ),
        )

    @property
    def dated_results(self) -> bool:
        """Whether the protocol takes weight and kidney function from dated results."""
        return self.gateway.protocol.pre_lymphodepletion is not None

    async def prechecks(self) -> None:
        for command in precheck_commands(await self.now(), await self.today()):
            await self.send(COORDINATOR, command)

    async def lymphodepletion(self, infusion_in_days: int = 7) -> date:
        infusion_date = await self.today() + timedelta(days=infusion_in_days)
        if self.dated_results:
            await self.prechecks()
        legacy = {} if self.dated_results else {"weight_kg": 60, "egfr": 90}
        await self.send(
            INVESTIGATOR,
            c.PlanLymphodepletion(
                occurred_at=await self.now(),
                infusion_date=infusion_date,
                height_cm=165,
                **legacy,
            ),
        )
        await self.send(PI, c.ApproveLymphodepletion(occurred_at=await self.now()))
        return infusion_date

    async def give_ld_doses(self) -> None:
        plan = (await self.state()).ld_plan
        assert plan is not None
        for dose in sorted(plan.doses, key=lambda d: (d.on, d.drug)):
            await self.sleep_until(dose.on)
            await self.send(
                COORDINATOR,
                c.RecordLymphodepletionDose(
                    occurred_at=await self.now(),
                    drug=dose.drug,
                    day=dose.day,
                    mg=dose.mg,
                    given_on=dose.on,
                ),
            )

    async def infuse(self, infusion_date: date, tu_per_kg: float = 5e6) -> SubmitResult:
        await self.sleep_until(infusion_date)
        if self.dated_results:
            await self.send(COORDINATOR, weight_command(await self.now(), infusion_date))
        return await self.send(
            INVESTIGATOR,
            c.RecordInfusion(
                occurred_at=await self.now(),
                infused_on=infusion_date,
                weight_kg=None if self.dated_results else 60,
                tu_per_kg=tu_per_kg,
            ),
        )

    async def complete_visit(self, code: str, response: str = "PR") -> SubmitResult:
        """The visit on its target day; the baseline visit (Day 0) without a response."""
        state = await self.state()
        visit = state.visit(code)
        assert visit is not None and state.disease is not None
        await self.sleep_until(visit.target)
        fields = visit_fields(self.gateway.protocol, state.disease, code, response)
        return await self.send(
            COORDINATOR,
            c.CompleteVisit.model_validate(
                {
                    "occurred_at": await self.now(),
                    "code": code,
                    "completed_on": visit.target,
                    **fields,
                }
            ),
        )

    async def to_infusion(self, disease: str = "SLE", infusion_in_days: int = 7) -> date:
        await self.register(disease)
        await self.consent()
        await self.screening(disease)
        await self.eligible_and_enrolled()
        await self.product()
        infusion_date = await self.lymphodepletion(infusion_in_days)
        await self.give_ld_doses()
        await self.infuse(infusion_date)
        return infusion_date
