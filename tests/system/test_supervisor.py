"""`make run`'s supervisor restarts a child that dies, with backoff, instead of stopping."""

from __future__ import annotations

import os
import signal
import sys

from system.supervisor import Supervised


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _wait_exit(child: Supervised) -> None:
    assert child.proc is not None
    child.proc.wait(timeout=30)


def test_a_child_killed_with_sigkill_is_started_again() -> None:
    clock = FakeClock()
    child = Supervised(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], clock=clock
    )
    child.start()
    try:
        assert child.proc is not None
        first = child.proc.pid
        os.kill(first, signal.SIGKILL)
        _wait_exit(child)
        child.check()  # notices the exit, schedules the restart after the backoff
        assert child.restarts == 0
        clock.now += 1.0
        child.check()
        assert child.restarts == 1
        assert child.proc.pid != first and child.proc.poll() is None
    finally:
        child.stop(timeout_s=5)


def test_the_backoff_doubles_while_the_child_keeps_dying_and_resets_once_it_stays_up() -> None:
    clock = FakeClock()
    child = Supervised(
        "crasher",
        [sys.executable, "-c", "raise SystemExit(3)"],
        clock=clock,
        initial_backoff_s=1.0,
        max_backoff_s=4.0,
        stable_after_s=60.0,
    )
    child.start()
    delays = []
    for _ in range(4):
        _wait_exit(child)
        child.check()
        started = clock.now
        while child.restarts == len(delays):
            clock.now += 0.5
            child.check()
        delays.append(clock.now - started)
    assert delays == [1.0, 2.0, 4.0, 4.0]

    # Up for longer than stable_after_s before dying again: the delay starts from 1 s again.
    _wait_exit(child)
    clock.now += 120
    child._started_at = clock.now - 120  # it ran for two minutes
    child.check()
    started = clock.now
    while child.restarts == 4:
        clock.now += 0.5
        child.check()
    assert clock.now - started == 1.0
    child.stop(timeout_s=5)
