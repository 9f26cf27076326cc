"""The StudyWorkflow on the time-skipping server: sentinel staggering and 3+3 escalation."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.errors import DomainError, MissingPrerequisite, RoleNotAllowed, ValueOutOfRange
from domain.grading import CrsComponents, Hypotension
from domain.study import SlotDecision
from store.sql import SqlEventStore
from system.gateway import StudyGateway, SubjectGateway
from tests.workflows.harness import COORDINATOR, INVESTIGATOR, PI, SubjectDriver, new_subject

StudyFixture = tuple[StudyGateway, SubjectGateway]


async def ready_for_slot(
    env: WorkflowEnvironment, gateway: SubjectGateway, level: str = "DL1"
) -> SubjectDriver:
    driver = SubjectDriver(env, gateway, new_subject())
    await driver.register()
    await driver.consent()
    await driver.screening()
    await driver.eligible_and_enrolled(level)
    await driver.product()
    return driver


async def slot(study: StudyGateway, driver: SubjectDriver, level: str = "DL1") -> SlotDecision:
    return await study.request_slot(driver.subject_id, level, COORDINATOR)


async def infuse(driver: SubjectDriver, study: StudyGateway) -> date:
    # Six days, not five: from 16:00 UTC the site (UTC+8) is a day ahead of the test clock's UTC
    # date, and the first lymphodepletion day (-5) must not be in the site's past.
    infusion_date = await driver.lymphodepletion(6)
    await driver.give_ld_doses()
    await driver.infuse(infusion_date)
    # The subject reports its infusion to the study by a signal: wait until it has landed.
    for _ in range(200):
        cohort = (await study.state()).cohort_of(driver.subject_id)
        member = cohort.member(driver.subject_id) if cohort is not None else None
        if member is not None and member.infused_on == infusion_date:
            return infusion_date
        await asyncio.sleep(0.025)
    raise AssertionError(f"the study never heard of {driver.subject_id}'s infusion")


async def test_second_subject_waits_until_the_sentinel_stagger_has_passed(
    time_env: WorkflowEnvironment, study: StudyFixture, sqlite_store: SqlEventStore
) -> None:
    studies, gateway = study
    stagger = gateway.protocol.safety.sentinel_stagger_days
    sentinel = await ready_for_slot(time_env, gateway)
    # Without a slot the subject cannot start lymphodepletion.
    with pytest.raises(MissingPrerequisite, match="slot"):
        await sentinel.lymphodepletion(6)
    assert (await slot(studies, sentinel)).sentinel
    sentinel_infused = await infuse(sentinel, studies)

    second = await ready_for_slot(time_env, gateway)
    answer = await slot(studies, second)
    assert answer.decision == "wait"
    assert answer.wait_until == sentinel_infused + timedelta(days=stagger)

    await second.sleep_until(sentinel_infused + timedelta(days=stagger - 1))
    assert (await slot(studies, second)).decision == "wait"
    await second.sleep_until(sentinel_infused + timedelta(days=stagger))
    granted = await slot(studies, second)
    assert (granted.decision, granted.sentinel) == ("granted", False)
    assert (await second.state()).slot_dose_level == "DL1"
    second_infused = await infuse(second, studies)
    assert second_infused - sentinel_infused >= timedelta(days=stagger)

    study_types = [e.type for e in sqlite_store.read_stream(studies.workflow_id)]
    assert study_types == [
        "study.slot_granted",
        "study.subject_infused",
        "study.slot_granted",
        "study.subject_infused",
    ]


async def test_one_dlt_in_three_expands_to_six_and_escalation_waits_for_the_signed_review(
    time_env: WorkflowEnvironment, study: StudyFixture, sqlite_store: SqlEventStore
) -> None:
    studies, gateway = study
    window = gateway.protocol.safety.dlt_window_days
    stagger = gateway.protocol.safety.sentinel_stagger_days

    first = await ready_for_slot(time_env, gateway)
    await slot(studies, first)
    first_infused = await infuse(first, studies)
    # Grade 3 CRS on day 0: a protocol DLT while the window is open.
    crs = CrsComponents(max_temperature_c=39.4, hypotension=Hypotension.ONE_VASOPRESSOR)
    await first.send(
        INVESTIGATOR,
        c.RecordAdverseEvent(
            occurred_at=await first.now(),
            kind="CRS",
            crs=crs,
            onset_on=await first.today(),
            related_to_jy231="probable",
            related_to_lymphodepletion="unlikely",
        ),
    )
    assert (await first.state()).adverse_events[0].dlt_rule is not None

    cohort = [first]
    for _ in range(2):
        driver = await ready_for_slot(time_env, gateway)
        await driver.sleep_until(first_infused + timedelta(days=stagger))
        assert (await slot(studies, driver)).decision == "granted"
        await infuse(driver, studies)
        cohort.append(driver)
    # A fourth subject must wait: three places, outcomes pending.
    waiting = await ready_for_slot(time_env, gateway)
    assert (await slot(studies, waiting)).decision == "wait"

    last_infused = (await cohort[-1].state()).infusion_date
    assert last_infused is not None
    await waiting.sleep_until(last_infused + timedelta(days=window + 2))
    dl1 = (await studies.state()).cohort("DL1")
    assert dl1 is not None
    assert (dl1.status, dl1.size, dl1.dlts, dl1.evaluable) == ("expanded", 6, 1, 3)
    assert [(await d.state()).dlt_outcome for d in cohort] == ["dlt", "no_dlt", "no_dlt"]

    expansion = [waiting]
    assert (await slot(studies, waiting)).decision == "granted"
    await infuse(waiting, studies)
    for _ in range(2):
        driver = await ready_for_slot(time_env, gateway)
        assert (await slot(studies, driver)).decision == "granted"
        await infuse(driver, studies)
        expansion.append(driver)
    last_infused = (await expansion[-1].state()).infusion_date
    assert last_infused is not None
    await waiting.sleep_until(last_infused + timedelta(days=window + 2))

    state = await studies.state()
    dl1 = state.cohort("DL1")
    assert dl1 is not None
    assert (dl1.status, dl1.dlts, dl1.evaluable) == ("escalation_eligible", 1, 6)
    # Eligible is not escalated: DL2 stays closed until the PI signs the review.
    dl2_sentinel = await ready_for_slot(time_env, gateway, "DL2")
    refused = await slot(studies, dl2_sentinel, "DL2")
    assert refused.decision == "refused" and "closed" in refused.reason
    with pytest.raises(RoleNotAllowed):
        await studies.sign_safety_review("DL1", "escalate", "1/6 DLT", INVESTIGATOR)
    with pytest.raises(DomainError):
        await studies.sign_safety_review("DL2", "escalate", "not eligible", PI)

    state = await studies.sign_safety_review(
        "DL1", "escalate", "1 DLT (grade 3 CRS, resolved) in 6 evaluable; escalate to DL2", PI
    )
    dl2 = state.cohort("DL2")
    assert dl2 is not None and dl2.status == "open"
    granted = await slot(studies, dl2_sentinel, "DL2")
    assert (granted.decision, granted.sentinel) == ("granted", True)

    with pytest.raises(ValueOutOfRange, match="enrolled at DL1"):
        await slot(studies, await ready_for_slot(time_env, gateway), "DL2")

    study_types = [e.type for e in sqlite_store.read_stream(studies.workflow_id)]
    assert study_types.count("study.dlt_outcome") == 6
    assert study_types.index("study.cohort_expanded") < study_types.index(
        "study.escalation_eligible"
    )
    assert study_types[-3:] == [
        "study.safety_review_signed",
        "study.escalated",
        "study.slot_granted",
    ]
