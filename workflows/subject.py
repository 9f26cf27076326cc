"""SubjectWorkflow: one durable workflow per subject, thin around the pure domain core."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel, ConfigDict
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.events import AppendBatch, EventActivities
    from domain.actors import SYSTEM_ACTOR, Actor
    from domain.commands import Command, Submission
    from domain.deadlines import next_deadline
    from domain.errors import DomainError
    from domain.events import Event, NewEvent, seal
    from domain.protocol import Protocol
    from domain.state import SubjectState
    from domain.subject import apply, decide

__all__ = ["SubjectWorkflow", "SubjectWorkflowInput", "SubmitResult", "workflow_id_for"]

APPEND_TIMEOUT = timedelta(seconds=30)
APPEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["ConflictingEvent", "SeqConflict"],
)


def workflow_id_for(subject_id: str) -> str:
    return f"subject-{subject_id}"


class SubjectWorkflowInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    protocol: Protocol
    # Carried across continue-as-new so the new run starts from the folded state.
    state: SubjectState | None = None


class SubmitResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    events: tuple[Event, ...]
    state: SubjectState


def _rejection(exc: DomainError) -> ApplicationError:
    return ApplicationError(exc.message, exc.to_dict(), type=exc.code, non_retryable=True)


@workflow.defn
class SubjectWorkflow:
    @workflow.init
    def __init__(self, input: SubjectWorkflowInput) -> None:
        self._subject_id = input.subject_id
        self._protocol = input.protocol
        self._state = input.state or SubjectState()
        self._lock = asyncio.Lock()
        # Bumped on every fold so the main loop recomputes its next deadline.
        self._version = 0
        # A deadline the domain refused stays parked until the state changes, or it would spin.
        self._parked: object | None = None

    @workflow.run
    async def run(self, input: SubjectWorkflowInput) -> SubjectState:
        while not self._state.phase.is_terminal:
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(
                    lambda: not self._lock.locked() and workflow.all_handlers_finished()
                )
                workflow.continue_as_new(
                    SubjectWorkflowInput(
                        subject_id=self._subject_id, protocol=self._protocol, state=self._state
                    )
                )
            seen = self._version
            deadline = next_deadline(self._state, self._protocol)
            timeout = None
            if deadline is not None and deadline != self._parked:
                timeout = max((deadline.due_at - workflow.now()).total_seconds(), 0.0)
            try:
                await workflow.wait_condition(
                    self._changed_since(seen), timeout=timeout, timeout_summary="deadline"
                )
            except TimeoutError:
                if deadline is not None and not await self._system(deadline.command):
                    self._parked = deadline
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    def _changed_since(self, version: int) -> Callable[[], bool]:
        return lambda: self._version != version

    async def _system(self, command: Command) -> bool:
        async with self._lock:
            try:
                events = decide(self._state, command, SYSTEM_ACTOR, workflow.now(), self._protocol)
            except DomainError as exc:
                # A human acted first (the visit was done, the subject withdrew): nothing due.
                workflow.logger.warning("deadline refused by the domain: %s", exc.message)
                return False
            await self._record(SYSTEM_ACTOR, events)
            return True

    async def _record(self, actor: Actor, events: list[NewEvent]) -> tuple[Event, ...]:
        sealed = seal(
            events,
            stream=self._subject_id,
            last_seq=self._state.last_seq,
            last_hash=self._state.last_hash,
            actor=actor,
            recorded_at=workflow.now(),
            protocol_version=self._protocol.version,
        )
        await workflow.execute_activity_method(
            EventActivities.append_events,
            AppendBatch(events=tuple(sealed)),
            start_to_close_timeout=APPEND_TIMEOUT,
            retry_policy=APPEND_RETRY,
        )
        state = self._state
        for event in sealed:
            state = apply(state, event)
        self._state = state
        self._version += 1
        self._parked = None
        return tuple(sealed)

    @workflow.update
    async def submit(self, submission: Submission) -> SubmitResult:
        async with self._lock:
            try:
                # Decided again under the lock: another update may have changed the state.
                events = decide(
                    self._state,
                    submission.command,
                    submission.actor,
                    workflow.now(),
                    self._protocol,
                )
            except DomainError as exc:
                raise _rejection(exc) from exc
            sealed = await self._record(submission.actor, events)
            return SubmitResult(events=sealed, state=self._state)

    @submit.validator
    def validate_submit(self, submission: Submission) -> None:
        try:
            decide(
                self._state, submission.command, submission.actor, workflow.now(), self._protocol
            )
        except DomainError as exc:
            raise _rejection(exc) from exc

    @workflow.query
    def state(self) -> SubjectState:
        return self._state
