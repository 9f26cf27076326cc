"""The client side of the subject workflows: how the API, CLI and simulation send commands."""

from __future__ import annotations

import asyncio

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain import errors
from domain.actors import Actor
from domain.commands import Command, RecordCorrection, RegisterSubject, Submission
from domain.protocol import Protocol, load_protocol
from domain.signing import SignatureRefused
from domain.state import SubjectState
from domain.study import SlotDecision, StudyState
from domain.subject import fold
from domain.summary import SubjectSummary
from store.base import EventStore
from system.signing import SubmissionSigner, default_signer
from workflows.study import (
    REVIEW_PURPOSE,
    SLOT_PURPOSE,
    ReviewSubmission,
    SlotRequest,
    StudyWorkflow,
    StudyWorkflowInput,
    study_workflow_id,
)
from workflows.subject import (
    SUBMIT_PURPOSE,
    SubjectWorkflow,
    SubjectWorkflowInput,
    SubmitResult,
    workflow_id_for,
)

__all__ = ["StudyGateway", "SubjectGateway"]

_ERRORS: dict[str, type[errors.DomainError]] = {
    cls.code: cls
    for cls in (
        errors.DomainError,
        errors.WrongPhase,
        errors.MissingPrerequisite,
        errors.RoleNotAllowed,
        errors.ValueOutOfRange,
        errors.NotFound,
        SignatureRefused,
    )
}


def _domain_error(exc: WorkflowUpdateFailedError) -> errors.DomainError:
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        cls = _ERRORS.get(cause.type or "", errors.DomainError)
        field = details.get("field") if isinstance(details, dict) else None
        return cls(cause.message, field=field)
    return errors.DomainError(str(cause or exc))


def _with_summary(result: SubmitResult) -> SubmitResult:
    """Callers read ``summary``; runs started before the lean results return the state."""
    if result.summary is None and result.state is not None:
        return result.model_copy(update={"summary": SubjectSummary.of(result.state)})
    return result


class SubjectGateway:
    """Sends commands to SubjectWorkflows and reads their state, in domain terms."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        protocol: Protocol,
        study_id: str | None = None,
        store: EventStore | None = None,
        search_attributes: bool = False,
        signer: SubmissionSigner | None = None,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.protocol = protocol
        # Set when the StudyWorkflow gates lymphodepletion with dose-level slots.
        self.study_id = study_id
        # Read to re-open an ended subject for a correction; without it ended subjects are final.
        self.store = store
        # Whether the namespace has the trial's search attributes registered for workflows to set.
        self.search_attributes = search_attributes
        # Seals every submission; the workers refuse what it did not seal. Loaded on first
        # use, so a gateway that only reads state needs no key.
        self._signer = signer

    async def _sealed(self, subject_id: str, command: Command, actor: Actor) -> Submission:
        return await (self._signer or default_signer()).seal(
            Submission(command=command, actor=actor),
            purpose=SUBMIT_PURPOSE,
            target=workflow_id_for(subject_id),
        )

    async def register(self, command: RegisterSubject, actor: Actor) -> SubmitResult:
        """Start the subject's workflow and register it in one call (update-with-start)."""
        workflow_input = SubjectWorkflowInput(
            subject_id=command.subject_id, protocol=self.protocol, study_id=self.study_id
        )
        return await self._update_with_start(workflow_input, command, actor)

    async def submit(self, subject_id: str, command: Command, actor: Actor) -> SubmitResult:
        if isinstance(command, RegisterSubject):
            return await self.register(command, actor)
        handle = self.client.get_workflow_handle_for(
            SubjectWorkflow.run, workflow_id_for(subject_id)
        )
        try:
            return _with_summary(
                await handle.execute_update(
                    SubjectWorkflow.submit, await self._sealed(subject_id, command, actor)
                )
            )
        except WorkflowUpdateFailedError as exc:
            raise _domain_error(exc) from exc
        except RPCError as exc:
            if not await self._has_ended(subject_id):
                raise self._rpc_error(subject_id, exc) from exc
            if isinstance(command, RecordCorrection) and self.store is not None:
                return await self._reopen_for_correction(subject_id, command, actor)
            raise errors.WrongPhase(f"subject {subject_id} has ended participation") from exc

    async def _has_ended(self, subject_id: str) -> bool:
        """Whether the subject's workflow exists and is closed (servers word this differently)."""
        handle = self.client.get_workflow_handle(workflow_id_for(subject_id))
        try:
            described = await handle.describe()
        except RPCError:
            return False
        return described.status is not WorkflowExecutionStatus.RUNNING

    async def _reopen_for_correction(
        self, subject_id: str, command: RecordCorrection, actor: Actor
    ) -> SubmitResult:
        """Corrections outlive participation (data cleaning, audits): a closed subject workflow
        is started again from the folded stored events, takes the one decision and ends."""
        assert self.store is not None
        events = await asyncio.to_thread(self.store.read_stream, subject_id)
        state = fold(events)
        protocol = (
            self.protocol
            if state.protocol_version == self.protocol.version
            else load_protocol(state.protocol_version)
        )
        workflow_input = SubjectWorkflowInput(subject_id=subject_id, protocol=protocol, state=state)
        # The closed run's id is taken again (ALLOW_DUPLICATE): the new run continues its stream.
        return await self._update_with_start(workflow_input, command, actor)

    async def _update_with_start(
        self,
        workflow_input: SubjectWorkflowInput,
        command: Command,
        actor: Actor,
    ) -> SubmitResult:
        if self.search_attributes:
            workflow_input = workflow_input.model_copy(update={"search_attributes": True})
        operation = WithStartWorkflowOperation(
            SubjectWorkflow.run,
            workflow_input,
            id=workflow_id_for(workflow_input.subject_id),
            task_queue=self.task_queue,
            # Shown in the Temporal UI; the pseudonymous subject id is the only identifier in it.
            static_summary=f"JY231 subject {workflow_input.subject_id}",
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
        try:
            return _with_summary(
                await self.client.execute_update_with_start_workflow(
                    SubjectWorkflow.submit,
                    await self._sealed(workflow_input.subject_id, command, actor),
                    start_workflow_operation=operation,
                )
            )
        except WorkflowUpdateFailedError as exc:
            raise _domain_error(exc) from exc

    async def state(self, subject_id: str) -> SubjectState:
        handle = self.client.get_workflow_handle_for(
            SubjectWorkflow.run, workflow_id_for(subject_id)
        )
        try:
            return await handle.query(SubjectWorkflow.state)
        except RPCError as exc:
            raise self._rpc_error(subject_id, exc) from exc

    @staticmethod
    def _rpc_error(subject_id: str, exc: RPCError) -> errors.DomainError:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return errors.NotFound(f"no subject {subject_id!r}", field="subject_id")
        if "already completed" in exc.message or "workflow execution already" in exc.message:
            return errors.WrongPhase(f"subject {subject_id} has ended participation")
        raise exc


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
            raise _domain_error(exc) from exc
        if answer.decision == "granted":
            await self._await_grant(subject_id)
        return answer

    async def _await_grant(self, subject_id: str) -> None:
        subject = self.client.get_workflow_handle_for(
            SubjectWorkflow.run, workflow_id_for(subject_id)
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.GRANT_VISIBLE_TIMEOUT
        while (await subject.query(SubjectWorkflow.state)).slot_dose_level is None:
            if loop.time() > deadline:
                raise errors.DomainError(f"the slot grant did not reach subject {subject_id}")
            await asyncio.sleep(0.05)

    async def sign_safety_review(
        self, dose_level: str, decision: str, summary: str, actor: Actor
    ) -> StudyState:
        try:
            review = await (self._signer or default_signer()).seal(
                ReviewSubmission(
                    dose_level=dose_level, decision=decision, summary=summary, actor=actor
                ),
                purpose=REVIEW_PURPOSE,
                target=self.workflow_id,
            )
            return await self._handle().execute_update(StudyWorkflow.sign_safety_review, review)
        except WorkflowUpdateFailedError as exc:
            raise _domain_error(exc) from exc

    async def state(self) -> StudyState:
        return await self._handle().query(StudyWorkflow.state)
