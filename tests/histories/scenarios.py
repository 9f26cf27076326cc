"""Subject lives driven through the real workflow, shared by the history recorder and tests."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain import commands as c
from domain.protocol import load_protocol
from system.signing import default_signer
from tests.domain.custody_steps import temperature_log
from tests.workflows.custody_driver import thaw_and_check, to_site
from tests.workflows.harness import COORDINATOR, PI, SubjectDriver
from workflows.amendment import AMEND_PURPOSE, AmendmentNotice
from workflows.subject import SubjectWorkflow, workflow_id_for

__all__ = [
    "APHERESIS_CORRECTION_REASON",
    "amendment_mid_follow_up",
    "correct_apheresis",
    "custody_life",
    "full_life",
    "ltfu_entry",
    "screen_failure",
    "susar_overdue",
    "withdrawal",
]

APHERESIS_CORRECTION_REASON = "transcription error: the collection bag label reads 185 mL"


async def correct_apheresis(driver: SubjectDriver) -> None:
    state = await driver.state()
    target = next(seq for seq, ref in state.correctable.items() if ref == "apheresis.recorded")
    await driver.send(
        COORDINATOR,
        c.RecordCorrection(
            occurred_at=await driver.now(),
            target_seq=target,
            field="volume_ml",
            new_value=185,
            reason=APHERESIS_CORRECTION_REASON,
        ),
    )


async def full_life(driver: SubjectDriver) -> None:
    """Registration to completion at Month 12, with one correction on the way."""
    await driver.register("SLE")
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    await driver.product()
    await correct_apheresis(driver)
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.infuse(infusion_date)
    for code in ("D0", "M1", "M2", "M3", "M6", "M12"):
        await driver.complete_visit(code)


async def screen_failure(driver: SubjectDriver) -> None:
    await driver.register("SSc")
    await driver.consent()
    await driver.screening("SSc", hemoglobin={"value": 59, "unit": "g/L"})
    await driver.send(
        PI, c.SignEligibility(occurred_at=await driver.now(), decision="not_eligible")
    )


async def withdrawal(driver: SubjectDriver) -> None:
    """Withdrawal during lymphodepletion, after the first doses were given."""
    await driver.register("SLE")
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    await driver.product()
    await driver.lymphodepletion()
    await driver.send(
        COORDINATOR,
        c.WithdrawConsent(
            occurred_at=await driver.now(),
            withdrawn_on=await driver.today(),
            reason="subject withdrew consent for personal reasons",
        ),
    )


async def susar_overdue(driver: SubjectDriver) -> None:
    """A SUSAR (issue 12) reported to the sponsor only: the other two clocks run out."""
    await driver.register("SLE")
    await driver.consent()
    aware = await driver.now()
    await driver.send(
        COORDINATOR,
        c.RecordAdverseEvent(
            occurred_at=aware,
            term="Guillain-Barre syndrome",
            grade=3,
            onset_on=aware.date(),
            seriousness=("hospitalisation",),
            related_to_jy231="possible",
            related_to_lymphodepletion="unlikely",
        ),
    )
    ae_id = f"{driver.subject_id}-AE-1"
    await driver.send(
        COORDINATOR,
        c.ReportSusar(
            occurred_at=await driver.now(),
            ae_id=ae_id,
            recipient="sponsor",
            kind="initial",
            reported_at=await driver.now(),
            reference="SUSAR-1",
        ),
    )
    await driver.env.sleep(timedelta(days=16))
    await driver.send(
        COORDINATOR,
        c.WithdrawConsent(
            occurred_at=await driver.now(),
            withdrawn_on=await driver.today(),
            reason="subject withdrew after the SUSAR",
        ),
    )


# -- issue 9: command ids and registrations that leave nothing behind ---------------------------

ISSUE9_COMMAND_ID = "00000000-0000-4000-8000-000000000009"


async def repeated_command(driver: SubjectDriver) -> None:
    """A consent sent twice under one command id (the second time past Temporal's own record of
    the update, as after continue-as-new), then the id reused for another body (refused)."""
    from domain.errors import DuplicateCommand
    from workflows.subject import SubjectWorkflow, workflow_id_for

    await driver.register("SLE")
    consent = c.SignConsent(
        occurred_at=await driver.now(),
        consent_version=driver.gateway.protocol.version,
        signed_on=await driver.today(),
        childbearing_potential=True,
    )
    await driver.gateway.submit(driver.subject_id, consent, COORDINATOR, ISSUE9_COMMAND_ID)
    handle = driver.env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    # Sealed by the gateway's own signer (the recorder's key), as every submission is.
    submission = await driver.gateway._sealed(
        driver.subject_id, consent, COORDINATOR, ISSUE9_COMMAND_ID
    )
    await handle.execute_update(SubjectWorkflow.submit, submission, id="repeat-after-restart")
    other = consent.model_copy(update={"reason": "a different body"})
    try:
        await driver.gateway.submit(driver.subject_id, other, COORDINATOR, ISSUE9_COMMAND_ID)
    except DuplicateCommand:
        pass
    else:  # pragma: no cover - the recorder must capture the refusal
        raise AssertionError("a reused command id with another body was accepted")
    await driver.send(
        COORDINATOR,
        c.WithdrawConsent(
            occurred_at=await driver.now(),
            withdrawn_on=await driver.today(),
            reason="subject withdrew consent for personal reasons",
        ),
    )


async def refused_registration(driver: SubjectDriver) -> None:
    """A registration the domain refuses: the run ends at once, nothing stays running."""
    from datetime import date

    from domain.errors import ValueOutOfRange

    try:
        await driver.send(
            COORDINATOR,
            c.RegisterSubject(
                occurred_at=await driver.now(),
                subject_id=driver.subject_id,
                disease="SLE",
                sex="female",
                birth_date=date(2999, 1, 1),
            ),
        )
    except ValueOutOfRange:
        return
    raise AssertionError("a birth date in 2999 was accepted")  # pragma: no cover


async def ltfu_entry(driver: SubjectDriver) -> None:
    """Issue 15: under the amended protocol, Month 12 and then LTFU consent, its first year."""


async def custody_life(driver: SubjectDriver) -> None:
    """Enrollment through every custody handoff, a shipper log, the two-person bedside check
    and the infusion, then the follow-up to completion (issue 14)."""
    await driver.register("SLE")
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    await driver.product()
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.infuse(infusion_date)
    for code in ("D0", "M1", "M2", "M3", "M6", "M9", "M12"):
        await driver.complete_visit(code)
    await driver.send(
        COORDINATOR,
        c.RecordLtfuConsent(
            occurred_at=await driver.now(),
            decision="signed",
            decided_on=await driver.today(),
            consent_version="LTFU-1.0",
        ),
    )
    y2 = (await driver.state()).visit("LTFU-Y2")
    assert y2 is not None
    await driver.sleep_until(y2.target)
    await driver.send(
        COORDINATOR,
        c.CompleteLtfuVisit(
            occurred_at=await driver.now(),
            code="LTFU-Y2",
            completed_on=y2.target,
            mode="visit",
            samples=("VCN", "RCL"),
        ),
    )


async def amendment_mid_follow_up(driver: SubjectDriver) -> None:
    """Issue 15: v1.0 to Month 3, the v2.0 amendment arrives, re-consent, then Month 6."""
    await driver.to_infusion("SLE")
    for code in ("D0", "M1", "M2", "M3"):
        await driver.complete_visit(code)
    handle = driver.env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    notice = AmendmentNotice(
        protocol=load_protocol("2.0"), effective_on=await driver.today(), actor=PI
    )
    # Sealed like every update from a gateway (the recorder's own key, or the test keys).
    signer = driver.gateway._signer or default_signer()
    sealed = await signer.seal(
        notice, purpose=AMEND_PURPOSE, target=workflow_id_for(driver.subject_id)
    )
    await handle.execute_update(SubjectWorkflow.amend_protocol, sealed)
    while (await driver.state()).protocol_version != "2.0":
        await asyncio.sleep(0.05)
    await driver.send(
        COORDINATOR,
        c.RecordReconsent(
            occurred_at=await driver.now(),
            decision="signed",
            consent_version="2.0",
            decided_on=await driver.today(),
        ),
    )
    await driver.complete_visit("M6")
    product = await to_site(driver)
    await driver.send(
        COORDINATOR, temperature_log(await driver.now(), product, [-182.0, -179.5, -181.0])
    )
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.sleep_until(infusion_date)
    await thaw_and_check(driver, product)
    await driver.infuse(infusion_date)
    for code in ("D0", "M1", "M2", "M3", "M6", "M12"):
        await driver.complete_visit(code)
