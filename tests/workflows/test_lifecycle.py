"""A subject's whole life on the time-skipping server: registration to Month 12."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain.events import verify_chain
from domain.protocol import Protocol
from domain.schedule import visit_schedule
from domain.subject import fold
from domain.values import Phase, VisitStatus
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.workflows.harness import SubjectDriver, new_subject
from workflows.subject import SubjectWorkflow, workflow_id_for

EXPECTED_TYPES = [
    "subject.registered",
    "consent.signed",
    "screening.recorded",
    "eligibility.signed",
    "subject.enrolled",
    "apheresis.recorded",
    "product.released",
    "lymphodepletion.planned",
    "lymphodepletion.approved",
    *["lymphodepletion.dose_given"] * 6,
    "infusion.recorded",
]


async def test_subject_goes_from_registration_to_completion_at_month_12(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    protocol: Protocol,
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    infusion_date = await driver.to_infusion("SLE")

    state = await driver.state()
    assert state.phase is Phase.INFUSED
    assert state.visits == visit_schedule(infusion_date, protocol)
    for visit, definition in zip(state.visits, protocol.visits, strict=True):
        assert visit.code == definition.code
        assert (visit.shifted_from or visit.target) == infusion_date + timedelta(
            days=definition.target_day
        )

    for code in ("D0", "M1", "M2", "M3", "M6", "M12"):
        await driver.complete_visit(code, response="CR" if code == "M12" else "PR")

    handle = time_env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    final = await handle.result()
    assert final.phase is Phase.COMPLETED
    assert all(v.status is VisitStatus.COMPLETED for v in final.visits)

    events = sqlite_store.read_stream(driver.subject_id)
    types = [e.type for e in events]
    assert types[: len(EXPECTED_TYPES)] == EXPECTED_TYPES
    assert types[-1] == "participation.ended"
    assert types.count("visit.completed") == 6
    assert types.count("visit.window_opened") == 6
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert verify_chain(driver.subject_id, sqlite_store.read_raw(driver.subject_id)) is None
    assert fold(events) == final
