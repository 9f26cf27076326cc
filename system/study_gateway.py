"""The client side of the study workflow: starting it, asking it for slots, signed safety reviews
and the database lock."""

from __future__ import annotations

import asyncio

from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy

from domain import errors
from domain.actors import Actor
from domain.commands import (
    SignatureAttestation,
)
from domain.protocol import Protocol
from domain.state import SubjectState
from domain.study import SlotDecision, StudyState
from system.signing import SubmissionSigner, default_signer
from system.subject_gateway import SubjectGateway
from system.update_errors import domain_error
from workflows.study import (
    DATABASE_LOCK_PURPOSE,
    REVIEW_PURPOSE,
    SLOT_PURPOSE,
    DatabaseLockSubmission,
    ReviewSubmission,
    SlotRequest,
    StudyWorkflow,
    StudyWorkflowInput,
    study_workflow_id,
)
from workflows.subject import (
    SubjectWorkflow,
    workflow_id_for,
)

__all__ = ["StudyGateway"]


class StudyGateway:
    """Starts the trial's StudyWorkflow, asks it for slots and sends it signed safety reviews."""

    # A granted slot reaches the subject by a signal; this is how long we wait to see it land.
    GRANT_VISIBLE_TIMEOUT = 10.0

    def __init__(
        self,
        client: Client,
        task_queue: str,
        protocol: Protocol,
        signer: SubmissionSigner | None = None,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.protocol = protocol
        self.workflow_id = study_workflow_id(protocol)
        self._signer = signer

    async def start(self) -> None:
        await self.client.start_workflow(
            StudyWorkflow.run,
            StudyWorkflowInput(protocol=self.protocol),
            id=self.workflow_id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    def _handle(self) -> WorkflowHandle[StudyWorkflow, StudyState]:
        return self.client.get_workflow_handle_for(StudyWorkflow.run, self.workflow_id)

    async def request_slot(self, subject_id: str, dose_level: str, actor: Actor) -> SlotDecision:
        """Granted / wait / refused; returns once a grant is visible on the subject."""
        # The study cannot read a subject's state, so the enrolled level is checked here.
        enrolled = (
            await SubjectGateway(self.client, self.task_queue, self.protocol).state(subject_id)
        ).dose_level
        if enrolled != dose_level:
            raise errors.ValueOutOfRange(
                f"subject {subject_id} is enrolled at {enrolled or 'no dose level yet'}, "
                f"not {dose_level}",
                field="dose_level",
            )
        try:
            request = await (self._signer or default_signer()).seal(
                SlotRequest(subject_id=subject_id, dose_level=dose_level, actor=actor),
                purpose=SLOT_PURPOSE,
                target=self.workflow_id,
            )
            answer = await self._handle().execute_update(StudyWorkflow.request_slot, request)
        except WorkflowUpdateFailedError as exc:
            raise domain_error(exc) from exc
        if answer.decision == "granted":
            await self._await_grant(subject_id)
        return answer

    async def _await_grant(self, subject_id: str) -> None:
        subject = self.client.get_workflow_handle(
            workflow_id_for(subject_id), result_type=SubjectState
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.GRANT_VISIBLE_TIMEOUT
        while (await subject.query(SubjectWorkflow.state)).slot_dose_level is None:
            if loop.time() > deadline:
                raise errors.DomainError(f"the slot grant did not reach subject {subject_id}")
            await asyncio.sleep(0.05)

    async def sign_safety_review(
        self,
        dose_level: str,
        decision: str,
        summary: str,
        actor: Actor,
        signature: SignatureAttestation | None = None,
    ) -> StudyState:
        try:
            review = await (self._signer or default_signer()).seal(
                ReviewSubmission(
                    dose_level=dose_level,
                    decision=decision,
                    summary=summary,
                    actor=actor,
                    signature=signature,
                ),
                purpose=REVIEW_PURPOSE,
                target=self.workflow_id,
            )
            return await self._handle().execute_update(StudyWorkflow.sign_safety_review, review)
        except WorkflowUpdateFailedError as exc:
            raise domain_error(exc) from exc

    async def state(self) -> StudyState:
        return await self._handle().query(StudyWorkflow.state)

    async def database_lock(self, submission: DatabaseLockSubmission) -> StudyState:
        try:
            sealed = await (self._signer or default_signer()).seal(
                submission, purpose=DATABASE_LOCK_PURPOSE, target=self.workflow_id
            )
            return await self._handle().execute_update(StudyWorkflow.database_lock, sealed)
        except WorkflowUpdateFailedError as exc:
            raise domain_error(exc) from exc
