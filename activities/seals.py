"""Seals on the signals workflows send each other: slot grants, infusion and DLT reports.

Signals have no validator, so anyone who reaches Temporal could otherwise grant a subject a
dose-level slot or report a DLT to the study. The sending workflow has its message sealed and
the receiving one has the seal checked, both through local activities: the keys stay in the
worker process, and the seal and the verdict are recorded in history, so replay reuses them
even after a key is rotated away.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from temporalio import activity

from domain.commands import GrantStudySlot
from domain.signing import Keyring, Seal, SignatureRefused, seal_model, verify_seal
from domain.study import RecordDltOutcome, RecordSubjectInfused

__all__ = ["CheckRequest", "SealRequest", "SealedSignal", "SignalSeals"]

SignalMessage = Annotated[
    GrantStudySlot | RecordSubjectInfused | RecordDltOutcome, Field(discriminator="type")
]


class SealedSignal(BaseModel):
    """A signal's message and the sending workflow's seal over it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message: SignalMessage
    seal: Seal | None = None


class SealRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    message: SignalMessage
    purpose: str
    # The receiving workflow's id: a seal made for one subject is worthless for another.
    target: str
    # The sender's workflow.now(): the activity must not read its own clock for this.
    issued_at: AwareDatetime


class CheckRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    signal: SealedSignal
    purpose: str
    target: str
    now: AwareDatetime


class SignalSeals:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @activity.defn(name="seal_signal")
    async def seal_signal(self, request: SealRequest) -> Seal:
        sealed = seal_model(
            SealedSignal(message=request.message),
            purpose=request.purpose,
            target=request.target,
            keyring=self._keyring,
            issued_at=request.issued_at,
        )
        assert sealed.seal is not None
        return sealed.seal

    @activity.defn(name="check_signal_seal")
    async def check_signal_seal(self, request: CheckRequest) -> str | None:
        """None when the seal holds, else why not (the receiver then ignores the signal)."""
        try:
            verify_seal(
                request.signal,
                request.signal.seal,
                purpose=request.purpose,
                target=request.target,
                keyring=self._keyring,
                now=request.now,
                # A signal may wait for its receiver's worker for a long time; what it may
                # do is checked by the domain (a second grant or report is refused there).
                max_age=None,
            )
        except SignatureRefused as exc:
            return exc.message
        return None
