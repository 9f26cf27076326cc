"""Source data verification per case report form; data changed after verification reset it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from domain import events as e
from domain import monitoring_commands as mc
from domain import monitoring_events as me
from domain.crf import payload_form
from domain.errors import MissingPrerequisite, WrongPhase
from domain.monitoring_state import SdvMark
from domain.protocol import Protocol
from domain.state import SubjectState

__all__ = ["SDV_DECIDERS", "evolve_sdv", "sdv_resets", "verified_forms"]


def verified_forms(s: SubjectState) -> frozenset[str]:
    return frozenset(m.form for m in s.sdv if m.verified)


def _verify(
    s: SubjectState, cmd: mc.VerifySource, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    seqs = tuple(x.seq for x in s.ledger if x.form == cmd.form)
    if not seqs:
        forms = sorted({x.form for x in s.ledger if x.form})
        raise MissingPrerequisite(
            f"form {cmd.form!r} holds no data yet; forms with data: {', '.join(forms)}",
            field="form",
        )
    if cmd.form in verified_forms(s):
        raise WrongPhase(f"form {cmd.form} is already verified", field="form")
    return [me.SourceVerified(form=cmd.form, seqs=seqs, level=p.monitoring.sdv_level(cmd.form))]


SDV_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    mc.VerifySource: _verify,
}


def sdv_resets(s: SubjectState, payloads: Sequence[e.EventPayload]) -> list[e.EventPayload]:
    """The decision's events followed by an ``sdv.reset`` for each verified form they change.

    A correction of a verified form's value, or new data on a verified form, makes the form
    "not verified" again, visibly, in the same decision. Resets go after all of the decision's
    own events, so a signature still directly follows the event it signs.
    """
    verified = set(verified_forms(s))
    resets: list[e.EventPayload] = []
    for position, payload in enumerate(payloads, start=1):
        form = payload_form(payload, s.ledger)
        if form is None or form not in verified:
            continue
        verified.discard(form)
        what: str = payload.type
        if isinstance(payload, e.CorrectionRecorded):
            what = f"correction of #{payload.target_seq} ({payload.field})"
        resets.append(me.SdvReset(form=form, cause_seq=s.last_seq + position, cause=what))
    return [*payloads, *resets]


def evolve_sdv(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    p = event.payload
    match p:
        case me.SourceVerified():
            mark = SdvMark(
                form=p.form,
                verified=True,
                verified_seq=event.seq,
                verified_by=event.actor.user_id,
                verified_at=event.recorded_at,
                seqs=p.seqs,
            )
            return {"sdv": (*(m for m in s.sdv if m.form != p.form), mark)}
        case me.SdvReset():
            return {
                "sdv": tuple(
                    m.model_copy(
                        update={"verified": False, "reset_seq": event.seq, "reset_cause": p.cause}
                    )
                    if m.form == p.form
                    else m
                    for m in s.sdv
                )
            }
    return None
