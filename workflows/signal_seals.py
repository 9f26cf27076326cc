"""Sending and receiving sealed signals between the subject and study workflows.

Behind ``SEALED_SIGNALS_PATCH``: runs from before it send and accept plain signals on replay;
from it on, a plain ``grant_slot`` or ``subject_report`` signal (what anyone with access to
Temporal can send) is ignored and only the ``*_sealed`` signals, checked through a local
activity, count.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.seals import CheckRequest, SealedSignal, SealRequest, SignalSeals
    from domain.commands import GrantStudySlot
    from domain.study import RecordDltOutcome, RecordSubjectInfused

__all__ = [
    "GRANT_PURPOSE",
    "REPORT_PURPOSE",
    "SEALED_SIGNALS_PATCH",
    "seal_holds",
    "send_sealed",
]

SEALED_SIGNALS_PATCH = "issue11-sealed-signals"
GRANT_PURPOSE = "signal.grant_slot"
REPORT_PURPOSE = "signal.subject_report"
_TIMEOUT = timedelta(seconds=10)


async def send_sealed(
    handle: Any,
    signal: str,
    message: GrantStudySlot | RecordSubjectInfused | RecordDltOutcome,
    *,
    purpose: str,
    target: str,
) -> None:
    seal = await workflow.execute_local_activity_method(
        SignalSeals.seal_signal,
        SealRequest(message=message, purpose=purpose, target=target, issued_at=workflow.now()),
        start_to_close_timeout=_TIMEOUT,
    )
    await handle.signal(signal, SealedSignal(message=message, seal=seal))


async def seal_holds(signal: SealedSignal, *, purpose: str) -> bool:
    why = await workflow.execute_local_activity_method(
        SignalSeals.check_signal_seal,
        CheckRequest(
            signal=signal, purpose=purpose, target=workflow.info().workflow_id, now=workflow.now()
        ),
        start_to_close_timeout=_TIMEOUT,
    )
    if why is not None:
        workflow.logger.warning("signal %s ignored: %s", purpose, why)
        return False
    return True
