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
    from activities.notifications import NotificationActivities
    from activities.seals import SealedSignal
    from domain import events as ev
    from domain.actors import SYSTEM_ACTOR, Actor, Role
    from domain.alerts import alert_for
    from domain.amendments import amend, is_safe_point
    from domain.commands import Command, GrantStudySlot, RecordCorrection, Submission
    from domain.correction_rules import refusal_before_added
    from domain.deadlines import Deadline, next_deadline
    from domain.errors import DomainError
    from domain.events import Event, NewEvent
    from domain.idempotency import CommandOutcome, fingerprint, remember
    from domain.ltfu import ltfu_stretch
    from domain.protocol import Protocol
    from domain.site_calendar import utc_protocol
    from domain.state import SubjectState
    from domain.study import RecordDltOutcome, RecordSubjectInfused, require_slot
    from domain.subject import apply, decide
    from domain.summary import SubjectSummary
    from domain.values import Phase
    from workflows.persist import persist
    from workflows.search_attributes import current_details, subject_search_attributes
    from workflows.signal_seals import (
        GRANT_PURPOSE,
        REPORT_PURPOSE,
        SEALED_SIGNALS_PATCH,
        seal_holds,
        send_sealed,
    )
    from workflows.trust import check_seal

from workflows.amendment import AMEND_PURPOSE, AmendmentNotice
from workflows.deadline_timer import STEADY_TIMERS_PATCH, DeadlineTimer

__all__ = [
    "COMMAND_IDS_PATCH",
    "CUSTODY_PATCH",
    "DEFAULT_MAX_UPDATES_PER_RUN",
    "LEAN_RESULTS_PATCH",
    "LTFU_PATCH",
    "MORE_CORRECTIONS_PATCH",
    "NO_DEBRIS_PATCH",
    "RESPONSE_PATCH",
    "SAFETY_PATCH",
    "SEARCH_ATTRIBUTES_PATCH",
    "SITE_TZ_PATCH",
    "STEADY_TIMERS_PATCH",
    "SUBMIT_PURPOSE",
    "SUSAR_PATCH",
    "UPDATE_COUNT_PATCH",
    "VISIT_ALERTS_PATCH",
    "SubjectWorkflow",
    "SubjectWorkflowInput",
    "SubmitResult",
    "workflow_id_for",
]

NOTIFY_TIMEOUT = timedelta(seconds=30)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
# Histories recorded before the safety clocks replay without them.
SAFETY_PATCH = "safety-deadlines"
# Histories recorded before visit reminders and missed-visit warnings replay without them.
VISIT_ALERTS_PATCH = "visit-alerts"
# Submissions carrying a command id are answered once: a repeat returns the first outcome.
COMMAND_IDS_PATCH = "issue9-command-ids"
# A run whose registration was refused ends at once instead of waiting as an empty subject.
NO_DEBRIS_PATCH = "issue9-no-debris"
# Update results carry the new events and a summary instead of the whole state.
LEAN_RESULTS_PATCH = "issue13-lean-results"
# A run continues as new after this many updates, well before Temporal's 2,000 per run.
UPDATE_COUNT_PATCH = "issue13-update-count-can"
DEFAULT_MAX_UPDATES_PER_RUN = 1000
# Subjects describe where they stand in Temporal's own views (search attributes, details).
SEARCH_ATTRIBUTES_PATCH = "17-search-attributes"
# What a gateway seal for the submit update covers, besides the submission and the workflow id.
SUBMIT_PURPOSE = "subject.submit"
# Histories recorded before the SUSAR expedited-report clocks replay without them.
SUSAR_PATCH = "issue12-susar-clocks"
# Histories recorded before site time zones keep their deadlines at UTC midnight.
SITE_TZ_PATCH = "issue15-site-timezone"
# Histories recorded before long-term follow-up complete at the last main-study visit.
LTFU_PATCH = "issue15-ltfu"
# Subjects started before the chain of identity and custody run on without it.
CUSTODY_PATCH = "issue14-custody"
# Histories recorded before Day 0 became the baseline keep the Cheson response at every visit
# (their protocol's ``[response]`` section, if an amendment brings one, is not applied).
RESPONSE_PATCH = "issue12-response"
# Corrections of safety, infusion, plan, withdrawal, end and disease values (refused before).
MORE_CORRECTIONS_PATCH = "issue9-more-corrections"


def workflow_id_for(subject_id: str) -> str:
    return f"subject-{subject_id}"


class SubjectWorkflowInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    protocol: Protocol
    # Carried across continue-as-new so the new run starts from the folded state.
    state: SubjectState | None = None
    # The StudyWorkflow id when dose-level slots gate lymphodepletion and infusions and DLT
    # outcomes are reported to the study; None runs the subject on its own.
    study_id: str | None = None
    # Temporal refuses more than 2,000 updates in one run; the run continues as new after this
    # many accepted ones (the history-size suggestion alone does not count updates).
    max_updates_per_run: int = DEFAULT_MAX_UPDATES_PER_RUN
    # Upsert the trial's typed search attributes; only where the namespace has them registered
    # (the embedded dev server and the compose setup do), since upserting an unknown one fails.
    search_attributes: bool = False
    # Recent command ids and what they recorded, carried across continue-as-new and re-opening.
    recent_commands: tuple[CommandOutcome, ...] = ()
    # A registered amendment not yet in force for this subject (its day or a safe point).
    pending_amendment: AmendmentNotice | None = None


class SubmitResult(BaseModel):
    """What a command recorded. ``state`` is only filled by runs started before the
    lean-results patch; newer runs return ``summary`` and leave the full state to the query."""

    model_config = ConfigDict(frozen=True)

    events: tuple[Event, ...]
    state: SubjectState | None = None
    summary: SubjectSummary | None = None
    command_id: str | None = None
    # True when the command id had been answered before: ``events`` are the first answer's.
    repeated: bool = False


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
        self._study_id = input.study_id
        self._safety = False
        self._visit_alerts = False
        self._max_updates = input.max_updates_per_run
        # Updates accepted by this run (the handler ran), rejected ones included.
        self._updates = 0
        self._count_updates = False
        self._search_attributes = input.search_attributes
        self._described: object | None = None
        self._expedited = False
        self._recent: dict[str, CommandOutcome] = {o.command_id: o for o in input.recent_commands}
        self._ltfu = False
        self._responses = False
        self._ltfu_mark = ltfu_stretch(self._state)
        self._pending = input.pending_amendment
        self._timer = DeadlineTimer()

    @workflow.run
    async def run(self, input: SubjectWorkflowInput) -> SubjectState:
        self._safety = workflow.patched(SAFETY_PATCH)
        self._visit_alerts = workflow.patched(VISIT_ALERTS_PATCH)
        self._count_updates = workflow.patched(UPDATE_COUNT_PATCH)
        # Asked only when wanted, so subjects without search attributes leave no marker.
        describe = self._search_attributes and workflow.patched(SEARCH_ATTRIBUTES_PATCH)
        self._expedited = workflow.patched(SUSAR_PATCH)
        if not workflow.patched(SITE_TZ_PATCH):
            self._protocol = utc_protocol(self._protocol)
        self._ltfu = workflow.patched(LTFU_PATCH)
        self._responses = workflow.patched(RESPONSE_PATCH)
        self._protocol = self._applicable(self._protocol)
        steady = workflow.patched(STEADY_TIMERS_PATCH)
        if self._state.phase is Phase.NEW and workflow.patched(NO_DEBRIS_PATCH):
            # The registration comes with the start (update-with-start); once no handler is
            # running, a subject still unregistered was refused: end, leave nothing running.
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._state.phase is Phase.NEW:
                return self._state
        if not workflow.patched(CUSTODY_PATCH):
            self._protocol = self._protocol.model_copy(update={"custody": None})
        while not self._finished():
            if (
                workflow.info().is_continue_as_new_suggested()
                or self._update_budget_spent()
                or self._ltfu_rollover()
            ):
                await workflow.wait_condition(
                    lambda: not self._lock.locked() and workflow.all_handlers_finished()
                )
                workflow.continue_as_new(self._next_run_input())
            if self._pending is not None:
                await self._try_amend(self._pending)
            seen = self._version
            deadline = next_deadline(
                self._state,
                self._protocol,
                safety=self._safety,
                expedited=self._expedited,
                ltfu=self._ltfu,
            )
            if describe:
                self._describe(deadline)
            if steady:
                await self._wait_steady(deadline, seen)
                continue
            timeout = None
            for_amendment = False
            if deadline is not None and deadline != self._parked:
                timeout = max((deadline.due_at - workflow.now()).total_seconds(), 0.0)
            if self._pending is not None and workflow.now() < self._pending.effective_at(
                self._protocol
            ):
                # Wake on the amendment's effective day as well.
                wake = (self._pending.effective_at(self._protocol) - workflow.now()).total_seconds()
                if timeout is None or wake < timeout:
                    timeout, for_amendment = wake, True
            try:
                await workflow.wait_condition(
                    self._woken_since(seen),
                    timeout=timeout,
                    timeout_summary="deadline",
                )
            except TimeoutError:
                if for_amendment:
                    continue  # the loop's top applies it
                if deadline is not None and not await self._system(deadline.command):
                    self._parked = deadline
        self._timer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _wait_steady(self, deadline: Deadline | None, seen: int) -> None:
        """Wait for a change or the next instant (the deadline's, or the amendment's day),
        keeping the timer of an instant that has not moved."""
        due = deadline.due_at if deadline is not None and deadline != self._parked else None
        for_amendment = False
        if self._pending is not None and workflow.now() < self._pending.effective_at(
            self._protocol
        ):
            # Wake on the amendment's effective day as well (the deadline wins a tie).
            wake = self._pending.effective_at(self._protocol)
            if due is None or wake < due:
                due, for_amendment = wake, True
        self._timer.aim(due)
        woken = self._woken_since(seen)
        if not self._timer.rang():
            await workflow.wait_condition(lambda: woken() or self._timer.rang())
        if woken() or not self._timer.rang():
            return  # recomputed at the loop's top; a timer that rang meanwhile rings again
        self._timer.spent()
        if for_amendment:
            return  # the loop's top applies it
        if deadline is not None and not await self._system(deadline.command):
            self._parked = deadline

    def _describe(self, deadline: Deadline | None) -> None:
        updates = subject_search_attributes(self._state, deadline)
        # Upserts are history events: write them only when something an operator filters on moved.
        if updates != self._described:
            workflow.upsert_search_attributes(updates)
            self._described = updates
        workflow.set_current_details(current_details(self._state, deadline))

    async def _try_amend(self, notice: AmendmentNotice) -> None:
        """Move onto the amended protocol once it is in force and the subject at a safe point."""
        if self._state.phase.is_terminal:
            self._pending = None
            return
        if workflow.now() < notice.effective_at(self._protocol) or not is_safe_point(self._state):
            return
        async with self._lock:
            try:
                events = amend(
                    self._state,
                    self._protocol,
                    notice.protocol,
                    notice.effective_on,
                    workflow.now(),
                )
            except DomainError as exc:
                workflow.logger.warning("amendment not applied: %s", exc.message)
                self._pending = None
                return
            # The amended event is the first decision under the new version.
            self._protocol = self._applicable(notice.protocol)
            self._pending = None
            await self._record(SYSTEM_ACTOR, events)

    def _applicable(self, protocol: Protocol) -> Protocol:
        """The protocol as this run applies it: without response rules before their patch."""
        if self._responses or protocol.response is None:
            return protocol
        return protocol.model_copy(update={"response": None})

    def _ltfu_rollover(self) -> bool:
        """Continue as new at the start of LTFU and after each LTFU timepoint is resolved.

        Fifteen years in one history would be long, and past ten years the time-skipping
        test server times a single run out; a run per LTFU year keeps each history short.
        """
        return self._ltfu and ltfu_stretch(self._state) not in (None, self._ltfu_mark)

    def _finished(self) -> bool:
        if not self._state.phase.is_terminal:
            return False
        if not self._safety:
            return True
        # A death must still be reported and the DLT window closed after participation ends.
        pending = next_deadline(
            self._state, self._protocol, safety=True, expedited=self._expedited, ltfu=self._ltfu
        )
        return pending is None and not self._state.unreported_saes

    def _woken_since(self, version: int) -> Callable[[], bool]:
        """Changed, or the run has taken as many updates as it should."""
        return lambda: self._version != version or self._update_budget_spent()

    def _update_budget_spent(self) -> bool:
        return self._count_updates and self._updates >= self._max_updates

    def _next_run_input(self) -> SubjectWorkflowInput:
        """Only what the next run needs: the folded state (with its chain head) and settings."""
        return SubjectWorkflowInput(
            subject_id=self._subject_id,
            protocol=self._protocol,
            state=self._state,
            study_id=self._study_id,
            recent_commands=tuple(self._recent.values()),
            max_updates_per_run=self._max_updates,
            search_attributes=self._search_attributes,
            pending_amendment=self._pending,
        )

    async def _system(self, command: Command) -> bool:
        async with self._lock:
            # A timer fires at or after its due time, sometimes long after (a reminder whose
            # date had passed when it was computed): the system acts when it acts.
            command = command.model_copy(update={"occurred_at": workflow.now()})
            try:
                events = decide(self._state, command, SYSTEM_ACTOR, workflow.now(), self._protocol)
            except DomainError as exc:
                # A human acted first (the visit was done, the subject withdrew): nothing due.
                workflow.logger.warning("deadline refused by the domain: %s", exc.message)
                return False
            await self._record(SYSTEM_ACTOR, events)
            return True

    async def _record(
        self, actor: Actor, events: list[NewEvent], command_id: str | None = None
    ) -> tuple[Event, ...]:
        sealed = await persist(
            events,
            stream=self._subject_id,
            last_seq=self._state.last_seq,
            last_hash=self._state.last_hash,
            actor=actor,
            protocol_version=self._protocol.version,
            command_id=command_id,
        )
        state = self._state
        for event in sealed:
            state = apply(state, event)
        self._state = state
        self._version += 1
        self._parked = None
        for event in sealed:
            await self._after(event)
        return sealed

    async def _after(self, event: Event) -> None:
        """Side effects of a stored event: alerts, and reports to the study."""
        notification = alert_for(self._subject_id, event, visits=self._visit_alerts)
        if notification is not None:
            await workflow.execute_activity_method(
                NotificationActivities.notify,
                notification,
                start_to_close_timeout=NOTIFY_TIMEOUT,
                retry_policy=NOTIFY_RETRY,
            )
        if self._study_id is None:
            return
        p = event.payload
        message: RecordSubjectInfused | RecordDltOutcome | None = None
        if isinstance(p, ev.InfusionRecorded):
            message = RecordSubjectInfused(
                occurred_at=event.occurred_at,
                subject_id=self._subject_id,
                dose_level=p.dose_level,
                infused_on=p.infused_on,
            )
        elif isinstance(p, ev.DltWindowClosed):
            message = RecordDltOutcome(
                occurred_at=event.occurred_at,
                subject_id=self._subject_id,
                dose_level=p.dose_level,
                outcome=p.outcome,
            )
        if message is not None:
            study = workflow.get_external_workflow_handle(self._study_id)
            try:
                if workflow.patched(SEALED_SIGNALS_PATCH):
                    await send_sealed(
                        study,
                        "subject_report_sealed",
                        message,
                        purpose=REPORT_PURPOSE,
                        target=self._study_id,
                    )
                else:
                    await study.signal("subject_report", message)
            except Exception as exc:  # the study workflow is not running
                # The fact is in the subject's stream either way; the study can be re-fed from it.
                workflow.logger.error("could not report to %s: %s", self._study_id, exc)

    @workflow.signal
    async def grant_slot(self, command: GrantStudySlot) -> None:
        """The unsealed grant of runs from before sealed signals; anyone could send it."""
        if workflow.patched(SEALED_SIGNALS_PATCH):
            workflow.logger.warning("an unsealed grant_slot signal was ignored")
            return
        await self._system(command)

    @workflow.signal
    async def grant_slot_sealed(self, signal: SealedSignal) -> None:
        """Sent by the StudyWorkflow when it grants this subject a dose-level slot."""
        if not isinstance(signal.message, GrantStudySlot):
            workflow.logger.warning("grant_slot_sealed without a grant was ignored")
            return
        if await seal_holds(signal, purpose=GRANT_PURPOSE):
            await self._system(signal.message)

    @workflow.update
    async def submit(self, submission: Submission) -> SubmitResult:
        self._updates += 1
        async with self._lock:
            command_id = submission.command_id
            if command_id is not None and workflow.patched(COMMAND_IDS_PATCH):
                known = self._recent.get(command_id)
                if known is not None:
                    # A retry (or a second tab) of a command already answered: no new event.
                    self._same_request(known, submission)
                    return self._result(known.events, command_id, repeated=True)
            else:
                command_id = None
            try:
                if isinstance(submission.command, RecordCorrection):
                    self._gate_correction(submission.command)
                # Decided again under the lock: another update may have changed the state.
                events = decide(
                    self._state,
                    submission.command,
                    submission.actor,
                    workflow.now(),
                    self._protocol,
                )
                self._gate(submission.command)
            except DomainError as exc:
                raise _rejection(exc) from exc
            sealed = await self._record(submission.actor, events, command_id)
            if command_id is not None:
                outcome = CommandOutcome(
                    command_id=command_id,
                    fingerprint=fingerprint(submission.command, submission.actor),
                    events=sealed,
                )
                self._recent = remember(self._recent, outcome)
            return self._result(sealed, command_id)

    def _result(
        self, events: tuple[Event, ...], command_id: str | None, repeated: bool = False
    ) -> SubmitResult:
        if workflow.patched(LEAN_RESULTS_PATCH):
            # Constant-size history entries: the full state stays out of the result.
            return SubmitResult(
                events=events,
                summary=SubjectSummary.of(self._state),
                command_id=command_id,
                repeated=repeated,
            )
        return SubmitResult(events=events, state=self._state)

    def _gate_correction(self, command: RecordCorrection) -> None:
        # Asked only for a correction the older rules refused, so other histories carry no
        # marker; a run that answered such a correction with a refusal keeps answering so.
        refusal = refusal_before_added(self._state, command)
        if refusal is not None and not workflow.patched(MORE_CORRECTIONS_PATCH):
            raise refusal

    def _same_request(self, known: CommandOutcome, submission: Submission) -> None:
        if known.fingerprint is None:  # rebuilt from stored events: the body is not known
            return
        if known.fingerprint != fingerprint(submission.command, submission.actor):
            raise ApplicationError(
                f"command id {known.command_id} was already used for a different command "
                f"(recorded as event(s) {', '.join(str(e.seq) for e in known.events)}); "
                "send a new command with a new id",
                {"code": "duplicate_command", "field": "command_id"},
                type="duplicate_command",
                non_retryable=True,
            )

    @submit.validator
    def validate_submit(self, submission: Submission) -> None:
        try:
            # Before anything else: a forged or replayed submission learns nothing about state.
            check_seal(submission, submission.seal, submission.actor, purpose=SUBMIT_PURPOSE)
        except DomainError as exc:
            raise _rejection(exc) from exc
        known = self._recent.get(submission.command_id or "")
        if known is not None:
            # Answered from memory by the handler; the domain would refuse a repeat as stale.
            self._same_request(known, submission)
            return
        try:
            decide(
                self._state, submission.command, submission.actor, workflow.now(), self._protocol
            )
            self._gate(submission.command)
        except DomainError as exc:
            raise _rejection(exc) from exc

    def _gate(self, command: Command) -> None:
        if self._study_id is not None:
            require_slot(self._state, command)

    @workflow.update
    async def amend_protocol(self, notice: AmendmentNotice) -> str:
        """A registered amendment; it takes effect on its day, at the subject's next safe point."""
        self._updates += 1
        self._pending = notice
        self._version += 1
        return self._state.phase.value

    @amend_protocol.validator
    def validate_amend_protocol(self, notice: AmendmentNotice) -> None:
        try:
            # Only the gateway tells a subject of an amendment, on the PI's signature.
            check_seal(notice, notice.seal, notice.actor or SYSTEM_ACTOR, purpose=AMEND_PURPOSE)
        except DomainError as exc:
            raise _rejection(exc) from exc
        if notice.actor is None or notice.actor.role is not Role.PI:
            raise ApplicationError(
                "only the PI signs a protocol amendment into force",
                type="role_not_allowed",
                non_retryable=True,
            )
        if notice.protocol.version == self._protocol.version:
            raise ApplicationError(
                f"the subject already runs under version {notice.protocol.version}",
                type="already_amended",
                non_retryable=True,
            )
        if self._state.phase.is_terminal or self._state.phase.value == "new":
            raise ApplicationError(
                "participation has ended", type="wrong_phase", non_retryable=True
            )

    @workflow.query
    def state(self) -> SubjectState:
        return self._state
