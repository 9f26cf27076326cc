"""The subject's deadline timer, kept across wake-ups and restarted only when its instant moves.

A subject's main loop wakes on every command to recompute its next deadline. Waiting with
``wait_condition(timeout=...)`` cancels the timer at each wake-up and starts a new one for the
same instant; a subject taking commands between two visits would do that for every command.
``DeadlineTimer`` keeps one timer task for one instant instead (patch ``issue13-steady-timers``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow

__all__ = ["STEADY_TIMERS_PATCH", "DeadlineTimer"]

# Subjects started before steady timers keep waking with a fresh timer after every command.
STEADY_TIMERS_PATCH = "issue13-steady-timers"


class DeadlineTimer:
    """One timer aimed at one instant; ``rang`` once the instant has come."""

    def __init__(self, summary: str = "deadline") -> None:
        self._summary = summary
        self._due: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def aim(self, due: datetime | None) -> None:
        """Wake at ``due`` (None: no timer). The running timer stays if it is aimed there."""
        if due == self._due:
            return
        self.cancel()
        self._due = due
        if due is None:
            return
        delay = (due - workflow.now()).total_seconds()
        # An instant already passed rings at once, with no timer (as a zero timeout did).
        if delay > 0:
            self._task = asyncio.create_task(workflow.sleep(delay, summary=self._summary))

    def rang(self) -> bool:
        return self._due is not None and (self._task is None or self._task.done())

    def spent(self) -> None:
        """The instant was handled: the next ``aim`` starts afresh, even at the same instant."""
        self._due = None
        self._task = None

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.spent()
