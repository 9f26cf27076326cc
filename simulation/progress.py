"""Progress lines for long simulations run in the background (a log, not a bar)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

__all__ = ["ProgressLog"]


class ProgressLog:
    """A ``ProgressCallback`` writing at most one line per ``every`` seconds of wall time:
    elapsed time, protocol day, commands sent and the rate since the last line."""

    def __init__(
        self,
        every: float,
        write: Callable[[str], None],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._every = every
        self._write = write
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._last_done = 0

    def __call__(self, done: int, total: int, at: datetime) -> None:
        now = self._clock()
        if now - self._last < self._every and done != total:
            return
        rate = (done - self._last_done) / (now - self._last) if now > self._last else 0.0
        self._write(
            f"{now - self._started:8.0f} s  protocol day {at:%Y-%m-%d}  "
            f"commands {done}/{total} ({done / total:.0%})  {rate:.1f} commands/s"
        )
        self._last, self._last_done = now, done
