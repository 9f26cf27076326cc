"""StudyWorkflow: one per trial; cohorts, sentinel staggering and 3+3 dose escalation.

Thin like SubjectWorkflow: the rules live in ``domain.study``; this persists the study stream
through the same append_events activity and tells subjects when they hold a slot.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.seals import SealedSignal
    from domain.actors import SYSTEM_ACTOR, Actor, Role
    from domain.commands import GrantStudySlot, SignatureAttestation
    from domain.database_lock import LockDatabase, UnlockDatabase
    from domain.errors import DomainError, RoleNotAllowed
    from domain.events import Event, NewEvent
    from domain.protocol import Protocol
    from domain.signing import Seal
    from domain.study import (
        RecordDltOutcome,
        RecordSubjectInfused,
        RequestSlot,
        SignSafetyReview,
        SlotDecision,
        StudyCommand,
        StudyState,
        apply_study,
        decide_study,
        slot_decision,
        study_id_for,
    )
    from workflows.persist import persist
    from workflows.signal_seals import (
        GRANT_PURPOSE,
        REPORT_PURPOSE,
        SEALED_SIGNALS_PATCH,
        seal_holds,
        send_sealed,
    )
    from workflows.subject import workflow_id_for
    from workflows.trust import check_seal

__all__ = [
    "DATABASE_LOCK_PURPOSE",
    "REVIEW_PURPOSE",
    "SLOT_PURPOSE",
    "DatabaseLockSubmission",
    "ReviewSubmission",
    "SlotRequest",
    "StudyWorkflow",
    "StudyWorkflowInput",
    "study_workflow_id",
]


def study_workflow_id(protocol: Protocol) -> str:
    return study_id_for(protocol)


class StudyWorkflowInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    protocol: Protocol
    state: StudyState | None = None


class SlotRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_id: str
    dose_level: str
    actor: Actor
    # The gateway's signature (domain.signing); optional so older histories replay.
    seal: Seal | None = None


class ReviewSubmission(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dose_level: str
    decision: str
    summary: str
    actor: Actor
    signature: SignatureAttestation | None = None
    seal: Seal | None = None


SLOT_PURPOSE = "study.request_slot"
REVIEW_PURPOSE = "study.sign_safety_review"
DATABASE_LOCK_PURPOSE = "study.database_lock"


class DatabaseLockSubmission(BaseModel):
    """Lock (with the PI's signature) or unlock the study database, with a reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lock: bool
    reason: str
    actor: Actor
    signature: SignatureAttestation | None = None
    seal: Seal | None = None


_STAFF = frozenset({Role.COORDINATOR, Role.INVESTIGATOR, Role.PI})


def _rejection(exc: DomainError) -> ApplicationError:
    return ApplicationError(exc.message, exc.to_dict(), type=exc.code, non_retryable=True)


@workflow.defn
class StudyWorkflow:
    @workflow.init
    def __init__(self, input: StudyWorkflowInput) -> None:
        self._protocol = input.protocol
        self._stream = study_id_for(input.protocol)
        self._state = input.state or StudyState.initial(input.protocol)
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: StudyWorkflowInput) -> StudyState:
        # The study lives as long as the trial; only history size makes it start afresh.
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(
            lambda: not self._lock.locked() and workflow.all_handlers_finished()
        )
        workflow.continue_as_new(StudyWorkflowInput(protocol=self._protocol, state=self._state))

    async def _decide_and_record(self, command: StudyCommand, actor: Actor) -> tuple[Event, ...]:
        events = decide_study(self._state, command, actor, workflow.now(), self._protocol)
        return await self._record(actor, events)

    async def _record(self, actor: Actor, events: list[NewEvent]) -> tuple[Event, ...]:
        if not events:
            return ()
        sealed = await persist(
            events,
            stream=self._stream,
            last_seq=self._state.last_seq,
            last_hash=self._state.last_hash,
            actor=actor,
            protocol_version=self._protocol.version,
        )
        state = self._state
        for event in sealed:
            state = apply_study(state, event)
        self._state = state
        return sealed

    @workflow.update
    async def request_slot(self, request: SlotRequest) -> SlotDecision:
        """Granted, wait (until a date when known) or refused; a grant is sent to the subject."""
        async with self._lock:
            command = RequestSlot(
                occurred_at=workflow.now(),
                subject_id=request.subject_id,
                dose_level=request.dose_level,
            )
            try:
                answer = slot_decision(self._state, command, workflow.now(), self._protocol)
                recorded = await self._decide_and_record(command, request.actor)
            except DomainError as exc:
                raise _rejection(exc) from exc
            if recorded:
                target = workflow_id_for(request.subject_id)
                subject = workflow.get_external_workflow_handle(target)
                grant = GrantStudySlot(
                    occurred_at=workflow.now(),
                    study_id=self._stream,
                    dose_level=request.dose_level,
                    sentinel=answer.sentinel,
                    reason=answer.reason,
                )
                if workflow.patched(SEALED_SIGNALS_PATCH):
                    await send_sealed(
                        subject, "grant_slot_sealed", grant, purpose=GRANT_PURPOSE, target=target
                    )
                else:
                    await subject.signal("grant_slot", grant)
            return answer

    @request_slot.validator
    def validate_request_slot(self, request: SlotRequest) -> None:
        try:
            check_seal(request, request.seal, request.actor, purpose=SLOT_PURPOSE)
        except DomainError as exc:
            raise _rejection(exc) from exc
        if request.actor.role not in _STAFF:
            raise _rejection(
                RoleNotAllowed(f"role {request.actor.role.value!r} may not request a slot")
            )
        try:
            RequestSlot(
                occurred_at=workflow.now(),
                subject_id=request.subject_id,
                dose_level=request.dose_level,
            )
        except ValueError as exc:
            raise ApplicationError(str(exc), type="value_out_of_range", non_retryable=True) from exc

    @workflow.update
    async def sign_safety_review(self, review: ReviewSubmission) -> StudyState:
        """The PI's signed decision on a level the 3+3 rule made eligible for escalation."""
        async with self._lock:
            try:
                command = SignSafetyReview.model_validate(
                    {
                        "occurred_at": workflow.now(),
                        "dose_level": review.dose_level,
                        "decision": review.decision,
                        "summary": review.summary,
                        "signature": review.signature,
                    }
                )
                await self._decide_and_record(command, review.actor)
            except DomainError as exc:
                raise _rejection(exc) from exc
            return self._state

    @sign_safety_review.validator
    def validate_sign_safety_review(self, review: ReviewSubmission) -> None:
        try:
            check_seal(review, review.seal, review.actor, purpose=REVIEW_PURPOSE)
            command = SignSafetyReview.model_validate(
                {
                    "occurred_at": workflow.now(),
                    "dose_level": review.dose_level,
                    "decision": review.decision,
                    "summary": review.summary,
                    "signature": review.signature,
                }
            )
            decide_study(self._state, command, review.actor, workflow.now(), self._protocol)
        except DomainError as exc:
            raise _rejection(exc) from exc
        except ValueError as exc:
            raise ApplicationError(str(exc), type="value_out_of_range", non_retryable=True) from exc

    @staticmethod
    def _lock_command(submission: DatabaseLockSubmission) -> LockDatabase | UnlockDatabase:
        if submission.lock:
            return LockDatabase(
                occurred_at=workflow.now(),
                reason=submission.reason,
                signature=submission.signature,
            )
        return UnlockDatabase(occurred_at=workflow.now(), reason=submission.reason)

    @workflow.update
    async def database_lock(self, submission: DatabaseLockSubmission) -> StudyState:
        """The study-wide database lock (signed) or its recorded unlock."""
        async with self._lock:
            try:
                await self._decide_and_record(self._lock_command(submission), submission.actor)
            except DomainError as exc:
                raise _rejection(exc) from exc
            return self._state

    @database_lock.validator
    def validate_database_lock(self, submission: DatabaseLockSubmission) -> None:
        try:
            check_seal(submission, submission.seal, submission.actor, purpose=DATABASE_LOCK_PURPOSE)
            command = self._lock_command(submission)
            decide_study(self._state, command, submission.actor, workflow.now(), self._protocol)
        except DomainError as exc:
            raise _rejection(exc) from exc
        except ValueError as exc:
            raise ApplicationError(str(exc), type="value_out_of_range", non_retryable=True) from exc

    @workflow.signal
    async def subject_report(self, report: RecordSubjectInfused | RecordDltOutcome) -> None:
        """The unsealed report of runs from before sealed signals; anyone could send it."""
        if workflow.patched(SEALED_SIGNALS_PATCH):
            workflow.logger.warning("an unsealed subject_report signal was ignored")
            return
        await self._report(report)

    @workflow.signal
    async def subject_report_sealed(self, signal: SealedSignal) -> None:
        """Infusions and DLT-window outcomes, sent by the subjects' workflows."""
        report = signal.message
        if not isinstance(report, RecordSubjectInfused | RecordDltOutcome):
            workflow.logger.warning("subject_report_sealed without a report was ignored")
            return
        if await seal_holds(signal, purpose=REPORT_PURPOSE):
            await self._report(report)

    async def _report(self, report: RecordSubjectInfused | RecordDltOutcome) -> None:
        async with self._lock:
            try:
                await self._decide_and_record(report, SYSTEM_ACTOR)
            except DomainError as exc:
                workflow.logger.warning("subject report refused: %s", exc.message)

    @workflow.query
    def state(self) -> StudyState:
        return self._state
