"""Event payloads of the monitors' and the PI's oversight: queries, SDV, signatures, locks.

Kept apart from ``domain.events`` (which folds them into its union) so the oversight records
read as one vocabulary.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.payload import Payload

__all__ = [
    "CasebookLocked",
    "CasebookUnlocked",
    "DatabaseLocked",
    "DatabaseUnlocked",
    "QueryAnswered",
    "QueryClosed",
    "QueryOpened",
    "QueryReopened",
    "SdvReset",
    "SignatureApplied",
    "SignatureMeaning",
    "SignedRef",
    "SourceVerified",
]

# 21 CFR 11.50(a)(3): the meaning of a signature is part of it.
SignatureMeaning = Literal["authorship", "review", "approval", "responsibility"]


class QueryOpened(Payload):
    """A data clarification request on one recorded event (and optionally one of its fields)."""

    type: Literal["query.opened"] = "query.opened"
    query_id: str
    target_seq: int
    # The case report form the target belongs to, e.g. "screening" or "visit:M1".
    form: str
    field: str | None = None
    question: str


class QueryAnswered(Payload):
    type: Literal["query.answered"] = "query.answered"
    query_id: str
    answer: str


class QueryClosed(Payload):
    type: Literal["query.closed"] = "query.closed"
    query_id: str


class QueryReopened(Payload):
    type: Literal["query.reopened"] = "query.reopened"
    query_id: str
    question: str


class SourceVerified(Payload):
    """The monitor compared a form's recorded data with the source documents."""

    type: Literal["sdv.verified"] = "sdv.verified"
    form: str
    # The events of the form as they stood when verified.
    seqs: tuple[int, ...]
    level: Literal["none", "partial", "full"]


class SdvReset(Payload):
    """Verified data changed afterwards; the form is "not verified" again."""

    type: Literal["sdv.reset"] = "sdv.reset"
    form: str
    # The event that changed it (the correction, or new data on the form) and what it was.
    cause_seq: int
    cause: str


class SignedRef(BaseModel):
    """One signed event: its seq, type and SHA-256 hash.

    ``hash`` is None only for the event immediately before the signature, decided together
    with it; the signature event's own ``prev_hash`` carries that hash (21 CFR 11.70).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    type: str
    hash: str | None = None


class SignatureApplied(Payload):
    """An electronic signature (21 CFR 11.50, 11.70, 11.200) bound to the events it signs."""

    type: Literal["signature.applied"] = "signature.applied"
    signer_id: str
    printed_name: str
    meaning: SignatureMeaning
    # What was signed, in words, e.g. "eligibility: eligible".
    statement: str
    signed: tuple[SignedRef, ...]
    # 11.200(a)(1): both components at the first signing of a session, the password later.
    components: Literal["id_and_password", "password"]
    method: Literal["password_reentry"] = "password_reentry"


class CasebookLocked(Payload):
    type: Literal["casebook.locked"] = "casebook.locked"
    # "casebook" (everything) or one visit's form, e.g. "visit:M1".
    scope: str


class CasebookUnlocked(Payload):
    type: Literal["casebook.unlocked"] = "casebook.unlocked"
    scope: str


class DatabaseLocked(Payload):
    """On the study stream: from now on nothing but audit reads, until a recorded unlock."""

    type: Literal["database.locked"] = "database.locked"


class DatabaseUnlocked(Payload):
    type: Literal["database.unlocked"] = "database.unlocked"
