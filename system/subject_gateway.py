"""The client side of the subject workflows: how the API, CLI and simulation send commands."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from domain import errors
from domain.actors import Actor
from domain.commands import (
    Command,
    RecordCorrection,
    RegisterSubject,
    Submission,
)
from domain.idempotency import fingerprint, outcomes_from_events
from domain.protocol import Protocol, load_protocol
from domain.state import SubjectState
from domain.subject import fold
from domain.summary import SubjectSummary
from domain.values import Phase
from store.base import EventStore
from system.commands import (
    CommandLedger,
    CommandPending,
    CommandStatus,
    DependencyUnavailable,
    keep_refusal,
    refused_status,
)
from system.signing import SubmissionSigner, default_signer
from system.update_errors import domain_error
from workflows.study import (
    StudyWorkflow,
)
from workflows.subject import (
    SUBMIT_PURPOSE,
    SubjectWorkflow,
    SubjectWorkflowInput,
    SubmitResult,
    workflow_id_for,
)

__all__ = ["SubjectGateway"]


def _with_summary(result: SubmitResult) -> SubmitResult:
    """Callers read ``summary``; runs started before the lean results return the state."""
    if result.summary is None and result.state is not None:
        return result.model_copy(update={"summary": SubjectSummary.of(result.state)})
    return result


class SubjectGateway:
    """Sends commands to SubjectWorkflows and reads their state, in domain terms.

    Every command carries a command id (the client's, or one chosen here): the workflow answers
    a repeat with the first outcome, and the update id is derived from it, so Temporal itself
    attaches a retry to the update still in flight. ``wait_s`` bounds how long a caller waits
    for the answer (the web app sets it, JY231_COMMAND_WAIT_S, 20 s by default: long enough for
    an append retrying through a short database hiccup, short enough to answer before an HTTP
    client gives up); past it the command stays pending and ``CommandPending`` says so. None
    waits as long as it takes (the simulation, tests, batch jobs).
    """

    def __init__(
        self,
        client: Client,
        task_queue: str,
        protocol: Protocol,
        study_id: str | None = None,
        store: EventStore | None = None,
        search_attributes: bool = False,
        signer: SubmissionSigner | None = None,
        wait_s: float | None = None,
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
        self.wait_s = wait_s
        self.ledger = CommandLedger()
        self._writes: set[asyncio.Future[None]] = set()

    async def _sealed(
        self, subject_id: str, command: Command, actor: Actor, command_id: str | None = None
    ) -> Submission:
        return await (self._signer or default_signer()).seal(
            Submission(command=command, actor=actor, command_id=command_id),
            purpose=SUBMIT_PURPOSE,
            target=workflow_id_for(subject_id),
        )

    async def register(
        self, command: RegisterSubject, actor: Actor, command_id: str | None = None
    ) -> SubmitResult:
        """Start the subject's workflow and register it in one call (update-with-start).

        A subject whose participation ended is not started again: that is a clear refusal,
        not a new run beside the closed one.
        """
        await self._refuse_when_database_locked()
        command_id = command_id or str(uuid.uuid4())
        ended = await self._ended_state(command.subject_id)
        if ended is not None:
            error = errors.WrongPhase(_ended_message(command.subject_id, ended), field="subject_id")
            await self._note_refused(command_id, command.subject_id, command, error)
            raise error
        workflow_input = SubjectWorkflowInput(
            subject_id=command.subject_id, protocol=self.protocol, study_id=self.study_id
        )
        return await self._update_with_start(workflow_input, command, actor, command_id)

    async def _refuse_when_database_locked(self) -> None:
        """After the study-wide database lock nothing but audit reads is possible."""
        if self.study_id is None:
            return
        handle = self.client.get_workflow_handle(self.study_id)
        try:
            locked = (await handle.query(StudyWorkflow.state)).database_locked
        except RPCError:
            return  # no study workflow yet: nothing can have locked it
        if locked:
            raise errors.WrongPhase(
                "the study database is locked: nothing can be recorded until the PI unlocks it"
            )

    async def submit(
        self, subject_id: str, command: Command, actor: Actor, command_id: str | None = None
    ) -> SubmitResult:
        await self._refuse_when_database_locked()
        if isinstance(command, RegisterSubject):
            return await self.register(command, actor, command_id)
        command_id = command_id or str(uuid.uuid4())
        handle = self.client.get_workflow_handle(
            workflow_id_for(subject_id), result_type=SubjectState
        )
        submission = await self._sealed(subject_id, command, actor, command_id)
        try:
            return await self._answer(
                subject_id,
                submission,
                handle.execute_update(
                    SubjectWorkflow.submit, submission, id=_update_id(submission)
                ),
            )
        except RPCError as exc:
            if _unreachable(exc):
                raise _temporal_down(exc) from exc
            ended = await self._ended_state(subject_id)
            if ended is None:
                raise self._rpc_error(subject_id, exc) from exc
            if isinstance(command, RecordCorrection) and self.store is not None:
                return await self._reopen_for_correction(subject_id, command, actor, command_id)
            error = errors.WrongPhase(_ended_message(subject_id, ended))
            await self._note_refused(command_id, subject_id, command, error)
            raise error from exc

    async def _answer(
        self, subject_id: str, submission: Submission, call: Awaitable[SubmitResult]
    ) -> SubmitResult:
        """Wait a bounded time for the workflow's answer and note the outcome in the ledger."""
        assert submission.command_id is not None
        pending = CommandStatus(
            command_id=submission.command_id,
            status="pending",
            subject_id=subject_id,
            command_type=submission.command.type,
        )
        self.ledger.note(pending)
        task = asyncio.ensure_future(call)
        try:
            # shield: a caller that gives up must not cancel the update already sent.
            result = _with_summary(await asyncio.wait_for(asyncio.shield(task), self.wait_s))
        except TimeoutError as exc:
            task.add_done_callback(self._late_answer(pending))
            if not await self._temporal_answers():
                # Not "accepted": the command may never have reached Temporal. Retrying with
                # the same command id is safe either way.
                raise _temporal_down(None) from exc
            raise CommandPending(pending, self.wait_s) from exc
        except WorkflowUpdateFailedError as exc:
            error = domain_error(exc)
            await self._note_refused(submission.command_id, subject_id, submission.command, error)
            raise error from exc
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            # Temporal's own long-poll gave up (a busy server): the update may still apply.
            raise CommandPending(pending, self.wait_s) from exc
        self.ledger.note(
            pending.model_copy(
                update={"status": "applied", "seqs": tuple(e.seq for e in result.events)}
            )
        )
        return result

    def _late_answer(self, pending: CommandStatus) -> Callable[[asyncio.Future[Any]], None]:
        """Record the outcome of an update whose caller was answered 202 before it came."""

        def done(task: asyncio.Future[Any]) -> None:
            if task.cancelled():
                return
            exc = task.exception()
            if exc is None:
                result: SubmitResult = task.result()
                seqs = tuple(e.seq for e in result.events)
                self.ledger.note(pending.model_copy(update={"status": "applied", "seqs": seqs}))
            elif isinstance(exc, WorkflowUpdateFailedError):
                refused = _refused(pending, domain_error(exc))
                self.ledger.note(refused)
                write = asyncio.ensure_future(keep_refusal(self.store, refused))
                # Held until done: the loop keeps only weak references to tasks.
                self._writes.add(write)
                write.add_done_callback(self._writes.discard)

        return done

    async def _note_refused(
        self, command_id: str, subject_id: str, command: Command, error: errors.DomainError
    ) -> None:
        sent = CommandStatus(
            command_id=command_id,
            status="pending",
            subject_id=subject_id,
            command_type=command.type,
        )
        status = _refused(sent, error)
        self.ledger.note(status)
        # Stored before the refusal is answered, so a look-up after a restart finds it.
        await keep_refusal(self.store, status)

    async def command_status(self, command_id: str) -> CommandStatus | None:
        """Applied (the store holds its events), refused (why) or pending; None if unknown."""
        noted = self.ledger.get(command_id)
        if noted is not None and noted.status != "pending":
            return noted
        if self.store is not None:
            events = await asyncio.to_thread(self.store.command_events, command_id)
            if events:
                return CommandStatus(
                    command_id=command_id,
                    status="applied",
                    subject_id=events[0].stream,
                    command_type=noted.command_type if noted else None,
                    seqs=tuple(e.seq for e in events),
                )
            refusal = await asyncio.to_thread(self.store.refusal, command_id)
            if refusal is not None:
                return refused_status(refusal)
        return noted

    async def _ended_state(self, subject_id: str) -> SubjectState | None:
        """The state of a subject whose workflow has closed after registering; else None.

        A closed run that never registered anyone (a refused first command) is no subject.
        """
        handle = self.client.get_workflow_handle(workflow_id_for(subject_id))
        try:
            described = await handle.describe()
        except RPCError as exc:
            if _unreachable(exc):
                raise _temporal_down(exc) from exc
            return None
        if described.status is WorkflowExecutionStatus.RUNNING:
            return None
        if self.store is not None:
            state = fold(await asyncio.to_thread(self.store.read_stream, subject_id))
        else:
            try:
                state = await handle.query(SubjectWorkflow.state)
            except (RPCError, WorkflowQueryFailedError):
                return SubjectState(subject_id=subject_id, phase=Phase.COMPLETED)
        return state if state.phase is not Phase.NEW else None

    async def _reopen_for_correction(
        self, subject_id: str, command: RecordCorrection, actor: Actor, command_id: str
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
        workflow_input = SubjectWorkflowInput(
            subject_id=subject_id,
            protocol=protocol,
            state=state,
            recent_commands=tuple(outcomes_from_events(events).values()),
        )
        # The closed run's id is taken again (ALLOW_DUPLICATE): the new run continues its stream.
        return await self._update_with_start(workflow_input, command, actor, command_id)

    async def _update_with_start(
        self,
        workflow_input: SubjectWorkflowInput,
        command: Command,
        actor: Actor,
        command_id: str,
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
        submission = await self._sealed(workflow_input.subject_id, command, actor, command_id)
        try:
            return await self._answer(
                workflow_input.subject_id,
                submission,
                self.client.execute_update_with_start_workflow(
                    SubjectWorkflow.submit,
                    submission,
                    start_workflow_operation=operation,
                    id=_update_id(submission),
                ),
            )
        except RPCError as exc:
            if _unreachable(exc):
                raise _temporal_down(exc) from exc
            raise

    async def state(self, subject_id: str) -> SubjectState:
        handle = self.client.get_workflow_handle(
            workflow_id_for(subject_id), result_type=SubjectState
        )
        try:
            state = await asyncio.wait_for(handle.query(SubjectWorkflow.state), self.wait_s)
        except RPCError as exc:
            if _unreachable(exc):
                raise _temporal_down(exc) from exc
            raise self._rpc_error(subject_id, exc) from exc
        except TimeoutError as exc:
            if not await self._temporal_answers():
                raise _temporal_down(None) from exc
            raise DependencyUnavailable(
                "the worker", f"no worker answered for subject {subject_id} in {self.wait_s} s"
            ) from exc
        if state.phase is Phase.NEW:
            # A run whose registration was refused holds no subject.
            raise errors.NotFound(f"no subject {subject_id!r}", field="subject_id")
        return state

    async def _temporal_answers(self) -> bool:
        """Whether the Temporal frontend answers a health check within two seconds."""
        try:
            return await self.client.service_client.check_health(timeout=timedelta(seconds=2))
        except Exception:  # any failure to answer is the answer
            return False

    @staticmethod
    def _rpc_error(subject_id: str, exc: RPCError) -> errors.DomainError:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return errors.NotFound(f"no subject {subject_id!r}", field="subject_id")
        if "already completed" in exc.message or "workflow execution already" in exc.message:
            return errors.WrongPhase(f"subject {subject_id} has ended participation")
        raise exc


def _update_id(submission: Submission) -> str:
    """The command id, plus the request's fingerprint: Temporal answers a repeat of the same
    request from its own record, while the same id with another body reaches the workflow,
    which refuses it (a reused id must not silently return someone else's answer)."""
    assert submission.command_id is not None
    return f"{submission.command_id}/{fingerprint(submission.command, submission.actor)[:16]}"


def _ended_message(subject_id: str, state: SubjectState) -> str:
    when = f" on {state.ended_on.isoformat()}" if state.ended_on else ""
    outcome = state.outcome or state.phase.value
    return f"{subject_id} ended participation{when} ({outcome})"


def _unreachable(exc: RPCError) -> bool:
    return exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)


def _temporal_down(exc: RPCError | None) -> DependencyUnavailable:
    status = f" ({exc.status.name})" if exc is not None and exc.status is not None else ""
    return DependencyUnavailable("Temporal", f"the workflow service does not answer{status}")


def _refused(sent: CommandStatus, error: errors.DomainError) -> CommandStatus:
    """The status of a sent command the domain refused: why, in the domain's own words."""
    return sent.model_copy(
        update={
            "status": "refused",
            "code": error.code,
            "field": error.field,
            "message": error.message,
        }
    )
