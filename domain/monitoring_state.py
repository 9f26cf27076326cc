"""Folded oversight records of one subject: its event ledger, queries, SDV marks, signatures."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.monitoring_events import SignatureMeaning, SignedRef

__all__ = ["LedgerEntry", "Query", "QueryStatus", "SdvMark", "SignatureRecord"]

QueryStatus = Literal["open", "answered", "closed"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LedgerEntry(_Frozen):
    """One stored event as the monitoring rules see it: which form it belongs to, its hash."""

    seq: int
    type: str
    form: str | None
    hash: str


class Query(_Frozen):
    query_id: str
    target_seq: int
    form: str
    field: str | None
    question: str
    status: QueryStatus
    opened_seq: int
    opened_at: datetime
    opened_by: str
    answer: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    closed_at: datetime | None = None
    # Every step's seq, in order: opened, answered, re-opened, closed.
    steps: tuple[int, ...] = ()

    @property
    def awaiting_site(self) -> bool:
        return self.status == "open"


class SdvMark(_Frozen):
    form: str
    verified: bool
    verified_seq: int
    verified_by: str
    verified_at: datetime
    seqs: tuple[int, ...]
    reset_seq: int | None = None
    reset_cause: str | None = None


class SignatureRecord(_Frozen):
    seq: int
    signer_id: str
    printed_name: str
    meaning: SignatureMeaning
    statement: str
    signed_at: datetime
    signed: tuple[SignedRef, ...]
    components: str
