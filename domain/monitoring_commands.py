"""Commands of the monitors and the PI's oversight: queries, SDV, casebook sign-off and locks.

``domain.commands`` folds them into its union; the base mirrors ``commands._Command``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from domain.inputs import InputModel
from domain.monitoring_events import SignatureMeaning

__all__ = [
    "AnswerQuery",
    "CloseQuery",
    "OpenQuery",
    "ReopenQuery",
    "SignCasebook",
    "SignatureAttestation",
    "UnlockCasebook",
    "VerifySource",
]

Text = Annotated[str, Field(min_length=1, max_length=2000)]
QueryId = Annotated[str, Field(min_length=1, max_length=64)]
# "casebook" or a visit's form, "visit:<code>".
Scope = Annotated[str, Field(pattern=r"^(casebook|visit:[A-Za-z0-9_-]{1,16})$")]
FormKey = Annotated[str, Field(min_length=1, max_length=48)]


class SignatureAttestation(InputModel):
    """What the web or CLI layer verified before it let a signing command through.

    The workflow never sees a password: the surface re-checks the signer's password (and user
    id at the first signing of a session) and attaches this record of it.
    """

    signer_id: str = Field(min_length=1, max_length=64)
    printed_name: str = Field(min_length=1, max_length=200)
    meaning: SignatureMeaning
    components: Literal["id_and_password", "password"]


class _Command(InputModel):
    # Non-finite numbers, control and bidi characters are refused on every field (InputModel).

    occurred_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=2000)


class OpenQuery(_Command):
    type: Literal["open_query"] = "open_query"
    target_seq: int = Field(ge=1)
    field: str | None = Field(default=None, max_length=64)
    question: Text


class AnswerQuery(_Command):
    type: Literal["answer_query"] = "answer_query"
    query_id: QueryId
    answer: Text


class CloseQuery(_Command):
    type: Literal["close_query"] = "close_query"
    query_id: QueryId


class ReopenQuery(_Command):
    type: Literal["reopen_query"] = "reopen_query"
    query_id: QueryId
    question: Text
    reason: Text


class VerifySource(_Command):
    type: Literal["verify_source"] = "verify_source"
    form: FormKey


class SignCasebook(_Command):
    """The PI's sign-off of the whole casebook or one visit, which also locks it."""

    type: Literal["sign_casebook"] = "sign_casebook"
    scope: Scope = "casebook"
    signature: SignatureAttestation | None = None


class UnlockCasebook(_Command):
    type: Literal["unlock_casebook"] = "unlock_casebook"
    scope: Scope = "casebook"
    reason: Text
