"""Electronic signatures (21 CFR Part 11): bound to the hashes of the events they sign.

A signing command carries a ``SignatureAttestation`` the web or CLI layer made after checking
the signer's password; the domain turns it into a ``signature.applied`` event that names the
signer's printed name, the meaning and the signed events with their hashes (11.50, 11.70).
``check_signatures`` re-checks those hashes against the stored envelopes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain import events as e
from domain import monitoring_commands as mc
from domain import monitoring_events as me
from domain.actors import Actor
from domain.errors import RoleNotAllowed
from domain.monitoring_state import SignatureRecord
from domain.state import SubjectState

__all__ = [
    "SignatureProblem",
    "attach_signature",
    "check_signatures",
    "evolve_signature",
    "sign_first",
    "signature_for",
    "signed_refs",
]


def signed_refs(s: SubjectState, seqs: Iterable[int]) -> tuple[me.SignedRef, ...]:
    wanted = set(seqs)
    return tuple(
        me.SignedRef(seq=x.seq, type=x.type, hash=x.hash) for x in s.ledger if x.seq in wanted
    )


def signature_for(
    attestation: mc.SignatureAttestation, statement: str, signed: tuple[me.SignedRef, ...]
) -> me.SignatureApplied:
    return me.SignatureApplied(
        signer_id=attestation.signer_id,
        printed_name=attestation.printed_name,
        meaning=attestation.meaning,
        statement=statement,
        signed=signed,
        components=attestation.components,
    )


def sign_first(
    attestation: mc.SignatureAttestation | None,
    statement: str,
    last_seq: int,
    payloads: Sequence[e.EventPayload],
) -> list[e.EventPayload]:
    """A decision's events with its signature placed right after the first, which it signs
    through its ``prev_hash`` (the first event's hash is not known before it is sealed)."""
    if attestation is None or not payloads:
        return list(payloads)
    decision = me.SignedRef(seq=last_seq + 1, type=payloads[0].type)
    return [payloads[0], signature_for(attestation, statement, (decision,)), *payloads[1:]]


def _basis(s: SubjectState, command: Any) -> tuple[list[int], str]:
    """The earlier events a signed decision rests on, and the statement signed."""
    if command.type == "sign_eligibility":
        return [s.screening_seq] if s.screening_seq else [], f"eligibility: {command.decision}"
    if command.type == "approve_lymphodepletion":
        return [s.ld_plan_seq] if s.ld_plan_seq else [], "lymphodepletion plan approved"
    if command.type == "override_renal_threshold":
        return [], f"renal threshold override: {command.drug} at ×{command.factor:g}"
    return [], command.type.replace("_", " ")


def attach_signature(
    s: SubjectState, command: Any, actor: Actor, payloads: Sequence[e.EventPayload]
) -> list[e.EventPayload]:
    """Place the signature of a signed decision right after the decision's first event.

    The decision event's hash is not known until it is sealed, so its reference has no hash:
    the signature's own ``prev_hash`` binds it.
    """
    attestation: mc.SignatureAttestation | None = getattr(command, "signature", None)
    if attestation is None:
        return list(payloads)
    if attestation.signer_id != actor.user_id:
        raise RoleNotAllowed(
            "an electronic signature can only be applied by the signer themself",
            field="signature",
        )
    if command.type == "sign_casebook" or not payloads:
        return list(payloads)  # the casebook sign-off builds its own signature
    seqs, statement = _basis(s, command)
    decision = me.SignedRef(seq=s.last_seq + 1, type=payloads[0].type)
    signature = signature_for(attestation, statement, (*signed_refs(s, seqs), decision))
    return [payloads[0], signature, *payloads[1:]]


def evolve_signature(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    p = event.payload
    if not isinstance(p, me.SignatureApplied):
        return None
    record = SignatureRecord(
        seq=event.seq,
        signer_id=p.signer_id,
        printed_name=p.printed_name,
        meaning=p.meaning,
        statement=p.statement,
        signed_at=event.recorded_at,
        signed=p.signed,
        components=p.components,
    )
    return {"signatures": (*s.signatures, record)}


class SignatureProblem(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream: str
    seq: int
    signed_seq: int
    problem: str


def check_signatures(stream: str, rows: Sequence[dict[str, Any]]) -> list[SignatureProblem]:
    """Every signature of a stream against the stored envelopes it signs (raw, as stored).

    A signed event whose recomputed hash differs from the one in the signature, or that is
    missing, invalidates the signature: it cannot be moved to other data.
    """
    by_seq = {int(row.get("seq", -1)): row for row in rows}
    problems: list[SignatureProblem] = []
    for row in rows:
        payload = row.get("payload") or {}
        if payload.get("type") != "signature.applied":
            continue
        seq = int(row["seq"])
        for ref in payload.get("signed", ()):
            signed_seq = int(ref.get("seq", -1))
            target = by_seq.get(signed_seq)
            expected = ref.get("hash")
            if expected is None:
                # Only the event right before the signature may be bound through prev_hash.
                if signed_seq != seq - 1:
                    problems.append(
                        SignatureProblem(
                            stream=stream,
                            seq=seq,
                            signed_seq=signed_seq,
                            problem="signed event has no hash and is not the one before",
                        )
                    )
                    continue
                expected = row.get("prev_hash")
            if target is None:
                problem = "signed event is missing"
            elif target.get("type") != ref.get("type"):
                problem = f"signed event is a {target.get('type')}, not a {ref.get('type')}"
            elif e.compute_hash(target) != expected:
                problem = "signed event changed after signing (hash differs)"
            else:
                continue
            problems.append(
                SignatureProblem(stream=stream, seq=seq, signed_seq=signed_seq, problem=problem)
            )
    return problems
