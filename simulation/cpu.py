"""CPU seconds of this process and of the test server it started.

A simulation's wall time on a shared machine says as much about the other processes as about
the run; the CPU both sides spent does not, so the report carries it beside the wall time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["TEST_SERVER_NAME", "children_cpu_seconds", "process_cpu_seconds"]

TEST_SERVER_NAME = "temporal-test-server"
# The kernel keeps the first 15 bytes of a process's name in /proc/<pid>/stat.
_COMM_LENGTH = 15


def process_cpu_seconds() -> float:
    """User and system CPU of this process (every thread: the driver, worker and store)."""
    return time.process_time()


def children_cpu_seconds(name: str, proc: Path = Path("/proc")) -> float | None:
    """User and system CPU of this process's live children called ``name``; None where the
    system has no /proc or no such child."""
    parent = os.getpid()
    ticks = os.sysconf("SC_CLK_TCK")
    total = None
    try:
        entries = list(proc.iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        # "pid (comm) state ppid ... utime stime ...": comm may hold spaces and parentheses.
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if comm != name[:_COMM_LENGTH] or int(fields[1]) != parent:
            continue
        total = (total or 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return total
