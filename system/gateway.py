"""The client side of the subject workflows: how the API, CLI and simulation send commands."""

from __future__ import annotations

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain import errors
from domain.actors import Actor
from domain.commands import Command, RegisterSubject, Submission
from domain.protocol import Protocol
from domain.state import SubjectState
from workflows.subject import SubjectWorkflow, SubjectWorkflowInput, SubmitResult, workflow_id_for

__all__ = ["SubjectGateway"]

_ERRORS: dict[str, type[errors.DomainError]] = {
    cls.code: cls
    for cls in (
        errors.DomainError,
        errors.WrongPhase,
        errors.MissingPrerequisite,
        errors.RoleNotAllowed,
        errors.ValueOutOfRange,
        errors.NotFound,
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


class SubjectGateway:
    """Sends commands to SubjectWorkflows and reads their state, in domain terms."""

    def __init__(self, client: Client, task_queue: str, protocol: Protocol) -> None:
        self.client = client
        self.task_queue = task_queue
        self.protocol = protocol

    async def register(self, command: RegisterSubject, actor: Actor) -> SubmitResult:
        """Start the subject's workflow and register it in one call (update-with-start)."""
        operation = WithStartWorkflowOperation(
            SubjectWorkflow.run,
            SubjectWorkflowInput(subject_id=command.subject_id, protocol=self.protocol),
            id=workflow_id_for(command.subject_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        try:
            return await self.client.execute_update_with_start_workflow(
                SubjectWorkflow.submit,
                Submission(command=command, actor=actor),
                start_workflow_operation=operation,
            )
        except WorkflowUpdateFailedError as exc:
            raise _domain_error(exc) from exc

    async def submit(self, subject_id: str, command: Command, actor: Actor) -> SubmitResult:
        if isinstance(command, RegisterSubject):
            return await self.register(command, actor)
        handle = self.client.get_workflow_handle_for(
            SubjectWorkflow.run, workflow_id_for(subject_id)
        )
        try:
            return await handle.execute_update(
                SubjectWorkflow.submit, Submission(command=command, actor=actor)
            )
        except WorkflowUpdateFailedError as exc:
            raise _domain_error(exc) from exc
        except RPCError as exc:
            raise self._rpc_error(subject_id, exc) from exc

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
