"""The study level: dose-level cohorts, sentinel staggering and 3+3 escalation, decide/apply.

One stream per trial ("study-<trial id>"). Subjects ask for a slot in their dose level's cohort
before lymphodepletion; infusions and DLT-window outcomes flow back in; the 3+3 rule reads the
outcomes, and escalation takes effect only after the PI signs a safety review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain import commands as c
from domain import events as e
from domain.actors import Actor, Role
from domain.canonical import GENESIS_HASH
from domain.database_lock import (
    DB_LOCK_DECIDERS,
    LockDatabase,
    UnlockDatabase,
    check_database_lock,
    evolve_database,
)
from domain.errors import MissingPrerequisite, RoleNotAllowed, ValueOutOfRange, WrongPhase
from domain.inputs import InputModel
from domain.monitoring_commands import SignatureAttestation
from domain.protocol import Protocol
from domain.signatures import sign_first
from domain.state import SubjectState

__all__ = [
    "COHORT_SIZE",
    "EXPANDED_SIZE",
    "Cohort",
    "CohortMember",
    "RecordDltOutcome",
    "RecordSubjectInfused",
    "RequestSlot",
    "SignSafetyReview",
    "SlotDecision",
    "StudyCommand",
    "StudyState",
    "apply_study",
    "decide_study",
    "fold_study",
    "require_slot",
    "slot_decision",
    "study_id_for",
]

COHORT_SIZE = 3
EXPANDED_SIZE = 6

LevelStatus = Literal["closed", "open", "expanded", "escalation_eligible", "escalated", "stopped"]
Outcome = Literal["dlt", "no_dlt", "not_evaluable"]


def study_id_for(protocol: Protocol) -> str:
    return f"study-{protocol.protocol.id}"


# -- commands ---------------------------------------------------------------------------------


class _StudyCommand(InputModel):
    """Finite numbers and printable text only (InputModel)."""

    occurred_at: datetime


class RequestSlot(_StudyCommand):
    type: Literal["request_slot"] = "request_slot"
    subject_id: str = Field(min_length=1, max_length=64)
    dose_level: str = Field(pattern=r"^DL[0-9]+$")


class RecordSubjectInfused(_StudyCommand):
    type: Literal["record_subject_infused"] = "record_subject_infused"
    subject_id: str
    dose_level: str
    infused_on: date


class RecordDltOutcome(_StudyCommand):
    type: Literal["record_dlt_outcome"] = "record_dlt_outcome"
    subject_id: str
    dose_level: str
    outcome: Outcome


class SignSafetyReview(_StudyCommand):
    type: Literal["sign_safety_review"] = "sign_safety_review"
    dose_level: str = Field(pattern=r"^DL[0-9]+$")
    decision: Literal["escalate", "stay"]
    summary: str = Field(min_length=1, max_length=4000)
    # The PI's re-entered password, as checked by the web/CLI layer (21 CFR 11.200).
    signature: SignatureAttestation | None = None


StudyCommand = (
    RequestSlot
    | RecordSubjectInfused
    | RecordDltOutcome
    | SignSafetyReview
    | LockDatabase
    | UnlockDatabase
)

_ROLES: dict[str, frozenset[Role]] = {
    "request_slot": frozenset({Role.COORDINATOR, Role.INVESTIGATOR, Role.PI}),
    "record_subject_infused": frozenset({Role.SYSTEM}),
    "record_dlt_outcome": frozenset({Role.SYSTEM}),
    "sign_safety_review": frozenset({Role.PI}),
    "lock_database": frozenset({Role.PI}),
    "unlock_database": frozenset({Role.PI}),
}

# -- state ------------------------------------------------------------------------------------


class CohortMember(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_id: str
    granted_on: date
    sentinel: bool
    infused_on: date | None = None
    outcome: Outcome | None = None


class Cohort(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dose_level: str
    status: LevelStatus = "closed"
    size: int = COHORT_SIZE
    members: tuple[CohortMember, ...] = ()

    @property
    def active(self) -> tuple[CohortMember, ...]:
        """Members holding a place: a not-evaluable subject is replaced, so frees theirs."""
        return tuple(m for m in self.members if m.outcome != "not_evaluable")

    @property
    def dlts(self) -> int:
        return sum(m.outcome == "dlt" for m in self.members)

    @property
    def evaluable(self) -> int:
        return sum(m.outcome in ("dlt", "no_dlt") for m in self.members)

    @property
    def sentinel(self) -> CohortMember | None:
        return next((m for m in self.members if m.sentinel), None)

    def member(self, subject_id: str) -> CohortMember | None:
        return next((m for m in self.members if m.subject_id == subject_id), None)


class StudyState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cohorts: tuple[Cohort, ...] = ()
    # Study-wide database lock (domain/database_lock.py).
    database_locked: bool = False
    last_seq: int = 0
    last_hash: str = GENESIS_HASH

    @classmethod
    def initial(cls, protocol: Protocol) -> StudyState:
        """Every dose level closed but the first: escalation starts at the lowest dose."""
        return cls(
            cohorts=tuple(
                Cohort(dose_level=level.code, status="open" if i == 0 else "closed")
                for i, level in enumerate(protocol.dose_levels)
            )
        )

    def cohort(self, dose_level: str) -> Cohort | None:
        return next((co for co in self.cohorts if co.dose_level == dose_level), None)

    def cohort_of(self, subject_id: str) -> Cohort | None:
        return next((co for co in self.cohorts if co.member(subject_id) is not None), None)


# -- the slot answer --------------------------------------------------------------------------


class SlotDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_id: str
    dose_level: str
    decision: Literal["granted", "wait", "refused"]
    # For "wait": the first day a new request can be granted, when the study knows it.
    wait_until: date | None = None
    sentinel: bool = False
    reason: str


def slot_decision(
    state: StudyState, cmd: RequestSlot, now: datetime, protocol: Protocol
) -> SlotDecision:
    """Whether the subject may start lymphodepletion at this dose level now. Pure."""

    def answer(
        decision: Literal["granted", "wait", "refused"], reason: str, **kw: Any
    ) -> SlotDecision:
        return SlotDecision(
            subject_id=cmd.subject_id,
            dose_level=cmd.dose_level,
            decision=decision,
            reason=reason,
            **kw,
        )

    held = state.cohort_of(cmd.subject_id)
    if held is not None:
        member = held.member(cmd.subject_id)
        assert member is not None
        if held.dose_level != cmd.dose_level:
            return answer("refused", f"the subject already holds a {held.dose_level} slot")
        return answer("granted", "the slot was already granted", sentinel=member.sentinel)
    cohort = state.cohort(cmd.dose_level)
    if cohort is None:
        return answer("refused", f"no dose level {cmd.dose_level} in the protocol")
    if cohort.status not in ("open", "expanded"):
        open_levels = [co.dose_level for co in state.cohorts if co.status in ("open", "expanded")]
        where = ", ".join(open_levels) or "none"
        return answer(
            "refused", f"dose level {cmd.dose_level} is {cohort.status}; open levels: {where}"
        )
    if len(cohort.active) >= cohort.size:
        return answer(
            "wait",
            f"the {cmd.dose_level} cohort is full ({len(cohort.active)} of {cohort.size}) "
            "until its DLT outcomes decide the next step",
        )
    sentinel = cohort.sentinel
    if sentinel is None or sentinel.outcome == "not_evaluable":
        return answer("granted", "first subject of the cohort (sentinel)", sentinel=True)
    if len(cohort.active) == 1:
        # Only the second subject waits: it may start once the sentinel has been watched for
        # the stagger period after infusion.
        if sentinel.infused_on is None:
            return answer("wait", "the sentinel subject has not been infused yet")
        until = sentinel.infused_on + timedelta(days=protocol.safety.sentinel_stagger_days)
        if now.date() < until:
            return answer(
                "wait",
                f"sentinel staggering: {protocol.safety.sentinel_stagger_days} days after the "
                f"sentinel's infusion on {sentinel.infused_on}",
                wait_until=until,
            )
    return answer("granted", f"slot {len(cohort.active) + 1} of {cohort.size}")


# -- decide -----------------------------------------------------------------------------------


def decide_study(
    state: StudyState, command: StudyCommand, actor: Actor, now: datetime, protocol: Protocol
) -> list[e.NewEvent]:
    roles = _ROLES[command.type]
    if actor.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise RoleNotAllowed(
            f"role {actor.role.value!r} may not {command.type.replace('_', ' ')}; "
            f"allowed: {allowed}"
        )
    check_database_lock(state, command)
    handler = _DECIDERS[type(command)]
    return [
        e.NewEvent(
            payload=p, occurred_at=command.occurred_at, reason=getattr(command, "reason", None)
        )
        for p in handler(state, command, now, protocol)
    ]


def _request(s: StudyState, cmd: RequestSlot, now: datetime, p: Protocol) -> list[e.EventPayload]:
    answer = slot_decision(s, cmd, now, p)
    if answer.decision != "granted" or s.cohort_of(cmd.subject_id) is not None:
        return []
    return [
        e.CohortSlotGranted(
            subject_id=cmd.subject_id,
            dose_level=cmd.dose_level,
            granted_on=now.date(),
            sentinel=answer.sentinel,
        )
    ]


def _member_of(s: StudyState, subject_id: str, dose_level: str) -> CohortMember:
    cohort = s.cohort(dose_level)
    member = cohort.member(subject_id) if cohort is not None else None
    if member is None:
        raise MissingPrerequisite(f"subject {subject_id} holds no {dose_level} slot")
    return member


def _infused(
    s: StudyState, cmd: RecordSubjectInfused, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if _member_of(s, cmd.subject_id, cmd.dose_level).infused_on is not None:
        return []  # a re-sent signal
    return [
        e.CohortSubjectInfused(
            subject_id=cmd.subject_id, dose_level=cmd.dose_level, infused_on=cmd.infused_on
        )
    ]


def _three_plus_three(cohort: Cohort, levels: list[str]) -> list[e.EventPayload]:
    """The 3+3 step the outcomes call for now, if any (the cohort already holds them)."""
    dlts, evaluable = cohort.dlts, cohort.evaluable
    if cohort.status not in ("open", "expanded"):
        return []
    if dlts >= 2:
        index = levels.index(cohort.dose_level)
        below = levels[index - 1] if index > 0 else None
        return [
            e.DoseLevelStopped(
                dose_level=cohort.dose_level,
                dlts=dlts,
                evaluable=evaluable,
                de_escalated_to=below,
            )
        ]
    if evaluable < cohort.size:
        return []
    if cohort.size == COHORT_SIZE and dlts == 1:
        return [
            e.CohortExpanded(
                dose_level=cohort.dose_level, size=EXPANDED_SIZE, dlts=dlts, evaluable=evaluable
            )
        ]
    return [e.EscalationEligible(dose_level=cohort.dose_level, dlts=dlts, evaluable=evaluable)]


def _outcome(
    s: StudyState, cmd: RecordDltOutcome, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if _member_of(s, cmd.subject_id, cmd.dose_level).outcome is not None:
        return []  # a re-sent signal
    recorded = e.CohortDltOutcome(
        subject_id=cmd.subject_id, dose_level=cmd.dose_level, outcome=cmd.outcome
    )
    after = _evolve_cohorts(s, recorded)
    cohort = after.cohort(cmd.dose_level)
    assert cohort is not None
    return [recorded, *_three_plus_three(cohort, [co.dose_level for co in s.cohorts])]


def _review(
    s: StudyState, cmd: SignSafetyReview, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    statement = f"safety review of {cmd.dose_level}: {cmd.decision}"
    return sign_first(cmd.signature, statement, s.last_seq, _reviewed(s, cmd))


def _reviewed(s: StudyState, cmd: SignSafetyReview) -> list[e.EventPayload]:
    cohort = s.cohort(cmd.dose_level)
    if cohort is None:
        raise ValueOutOfRange(f"no dose level {cmd.dose_level}", field="dose_level")
    if cohort.status != "escalation_eligible":
        raise WrongPhase(
            f"{cmd.dose_level} is {cohort.status}; a safety review decides only on a level "
            "the 3+3 rule has made eligible for escalation",
            field="dose_level",
        )
    signed = e.SafetyReviewSigned(
        dose_level=cmd.dose_level, decision=cmd.decision, summary=cmd.summary
    )
    if cmd.decision == "stay":
        return [signed]
    levels = [co.dose_level for co in s.cohorts]
    index = levels.index(cmd.dose_level)
    if index + 1 >= len(levels):
        raise ValueOutOfRange(
            f"{cmd.dose_level} is the highest dose level; there is nothing to escalate to",
            field="decision",
        )
    return [signed, e.DoseEscalated(from_level=cmd.dose_level, to_level=levels[index + 1])]


_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    RequestSlot: _request,
    RecordSubjectInfused: _infused,
    RecordDltOutcome: _outcome,
    SignSafetyReview: _review,
    **DB_LOCK_DECIDERS,
}

# -- apply ------------------------------------------------------------------------------------


def _with_cohort(s: StudyState, dose_level: str, **update: Any) -> tuple[Cohort, ...]:
    return tuple(
        co.model_copy(update=update) if co.dose_level == dose_level else co for co in s.cohorts
    )


def _with_member(s: StudyState, dose_level: str, subject_id: str, **update: Any) -> StudyState:
    cohort = s.cohort(dose_level)
    assert cohort is not None
    members = tuple(
        m.model_copy(update=update) if m.subject_id == subject_id else m for m in cohort.members
    )
    return s.model_copy(update={"cohorts": _with_cohort(s, dose_level, members=members)})


def _evolve_cohorts(s: StudyState, p: e.EventPayload) -> StudyState:
    database = evolve_database(s, p)
    if database is not None:
        return database
    match p:
        case e.CohortSlotGranted():
            cohort = s.cohort(p.dose_level)
            assert cohort is not None
            member = CohortMember(
                subject_id=p.subject_id, granted_on=p.granted_on, sentinel=p.sentinel
            )
            cohorts = _with_cohort(s, p.dose_level, members=(*cohort.members, member))
            return s.model_copy(update={"cohorts": cohorts})
        case e.CohortSubjectInfused():
            return _with_member(s, p.dose_level, p.subject_id, infused_on=p.infused_on)
        case e.CohortDltOutcome():
            return _with_member(s, p.dose_level, p.subject_id, outcome=p.outcome)
        case e.CohortExpanded():
            cohorts = _with_cohort(s, p.dose_level, status="expanded", size=p.size)
            return s.model_copy(update={"cohorts": cohorts})
        case e.EscalationEligible():
            cohorts = _with_cohort(s, p.dose_level, status="escalation_eligible")
            return s.model_copy(update={"cohorts": cohorts})
        case e.DoseLevelStopped():
            s = s.model_copy(update={"cohorts": _with_cohort(s, p.dose_level, status="stopped")})
            if p.de_escalated_to is None:
                return s
            # 3+3: the level below must show ≤ 1 DLT in six before it can be called safe.
            below = s.cohort(p.de_escalated_to)
            assert below is not None
            return (
                s.model_copy(
                    update={
                        "cohorts": _with_cohort(
                            s, p.de_escalated_to, status="expanded", size=EXPANDED_SIZE
                        )
                    }
                )
                if below.evaluable < EXPANDED_SIZE
                else s
            )
        case e.SafetyReviewSigned():
            return s
        case e.DoseEscalated():
            s = s.model_copy(update={"cohorts": _with_cohort(s, p.from_level, status="escalated")})
            return s.model_copy(update={"cohorts": _with_cohort(s, p.to_level, status="open")})
    raise AssertionError(f"not a study event: {p.type}")  # pragma: no cover


def apply_study(state: StudyState, event: e.Event) -> StudyState:
    if event.seq != state.last_seq + 1 or event.prev_hash != state.last_hash:
        raise WrongPhase(f"event {event.stream}#{event.seq} does not follow #{state.last_seq}")
    evolved = _evolve_cohorts(state, event.payload)
    return evolved.model_copy(update={"last_seq": event.seq, "last_hash": event.hash})


def fold_study(events: Iterable[e.Event], state: StudyState) -> StudyState:
    for event in events:
        state = apply_study(state, event)
    return state


# -- the subject side of the gate ---------------------------------------------------------------

_GATED = (c.PlanLymphodepletion, c.ApproveLymphodepletion)


def require_slot(state: SubjectState, command: c.Command) -> None:
    """With a study configured, lymphodepletion needs a granted dose-level slot first."""
    if isinstance(command, _GATED) and state.slot_dose_level is None:
        raise MissingPrerequisite(
            "no dose-level slot from the study yet; request one (sentinel staggering and the "
            "3+3 rule decide when the subject may start lymphodepletion)"
        )
