"""Keep `make run`'s worker and web app up: a child that dies is started again, with backoff.

A worker killed by the OOM killer or a web app crashing on a bad deploy should not take the
whole stack down (nor silently stay down): the supervisor logs the exit and restarts the child
after a delay that doubles while it keeps dying and resets once it has stayed up a while.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

__all__ = ["Supervised"]

log = structlog.get_logger(__name__)


class Supervised:
    """One child process, restarted when it exits unasked."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        # Up this long, a child is healthy again: the next crash starts the backoff afresh.
        stable_after_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self._env = env
        self._cwd = cwd
        self._initial = initial_backoff_s
        self._max = max_backoff_s
        self._stable_after = stable_after_s
        self._clock = clock
        self._backoff = initial_backoff_s
        self._started_at = 0.0
        self._restart_at: float | None = None
        self.restarts = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self._argv, env=self._env, cwd=self._cwd)
        self._started_at = self._clock()
        self._restart_at = None

    def check(self) -> None:
        """Call periodically: notices an exit, and restarts once its backoff has passed."""
        now = self._clock()
        if self.proc is None:
            return
        if self._restart_at is None:
            code = self.proc.poll()
            if code is None:
                if now - self._started_at >= self._stable_after:
                    self._backoff = self._initial
                return
            if now - self._started_at >= self._stable_after:
                self._backoff = self._initial
            self._restart_at = now + self._backoff
            log.error(
                "child exited; restarting",
                child=self.name,
                code=code,
                restart_in_s=round(self._backoff, 1),
            )
            self._backoff = min(self._backoff * 2, self._max)
            return
        if now >= self._restart_at:
            self.restarts += 1
            log.warning("restarting child", child=self.name, restarts=self.restarts)
            self.start()

    def stop(self, timeout_s: float = 15.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("child did not stop; killing", child=self.name)
            proc.kill()
            proc.wait()
