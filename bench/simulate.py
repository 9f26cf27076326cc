"""Benchmark: the simulation's workflow path against appending the same events straight to a store.

    python bench/simulate.py [--subjects 200] [--seed 1] [--concurrency 20] [--progress 60]

The baseline re-appends exactly the events the simulation wrote, batch for batch (events one
decision produced share ``recorded_at`` and actor), into a fresh SQLite store with no Temporal in
between; the ratio shows what the durable-workflow path costs per event.

The 1,000-subject measurement of issue 13 is ``python bench/simulate.py --subjects 1000
--progress 60`` (20-30 minutes on two quiet cores, far longer under load: the CPU seconds it
prints, of this process and of the test server, are what to compare across runs).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from itertools import groupby
from pathlib import Path

from domain.events import Event
from simulation.progress import ProgressLog
from simulation.runner import SUBJECTS_PER_SERVER, SimulationConfig, run_simulation
from store.sql import SqlEventStore
from system.collector import tune_collector
from system.logging import configure_logging

__all__ = ["main"]


def _batches(store: SqlEventStore, prefix: str) -> list[list[Event]]:
    batches: list[list[Event]] = []
    for stream in store.streams():
        if not stream.startswith(f"{prefix}-"):
            continue
        events = store.read_stream(stream)
        batches.extend(
            list(group)
            for _, group in groupby(events, key=lambda e: (e.recorded_at, e.actor.user_id))
        )
    # Interleave streams in the order the workflows wrote them.
    batches.sort(key=lambda batch: (batch[0].recorded_at, batch[0].stream))
    return batches


def _plain_append(batches: list[list[Event]], directory: Path) -> float:
    baseline = SqlEventStore(f"sqlite:///{directory / 'baseline.db'}")
    try:
        started = time.perf_counter()
        for batch in batches:
            baseline.append(batch)
        return time.perf_counter() - started
    finally:
        baseline.close()


def main() -> None:
    # The workflows' safety alerts are logged; keep stdout for the figures.
    configure_logging("console", level=logging.WARNING)
    # As `trial simulate` runs (the process is the worker too).
    tune_collector()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--subjects-per-server", type=int, default=SUBJECTS_PER_SERVER)
    parser.add_argument(
        "--progress",
        type=float,
        default=0,
        metavar="SECONDS",
        help="a progress line on stderr every SECONDS (0: none)",
    )
    args = parser.parse_args()
    progress = (
        ProgressLog(args.progress, lambda line: print(line, file=sys.stderr, flush=True))
        if args.progress
        else None
    )

    with tempfile.TemporaryDirectory(prefix="jy231-bench-") as tmp:
        directory = Path(tmp)
        url = f"sqlite:///{directory / 'events.db'}"
        prefix = "BENCH"
        report = asyncio.run(
            run_simulation(
                SimulationConfig(
                    subjects=args.subjects,
                    seed=args.seed,
                    store_url=url,
                    concurrency=args.concurrency,
                    prefix=prefix,
                    subjects_per_server=args.subjects_per_server,
                ),
                on_progress=progress,
            )
        )
        store = SqlEventStore(url)
        try:
            batches = _batches(store, prefix)
        finally:
            store.close()
        plain_seconds = _plain_append(batches, directory)

    events = sum(len(b) for b in batches)
    plain_rate = events / plain_seconds if plain_seconds > 0 else 0.0
    print(f"subjects            {report.subjects} (seed {report.seed}), ok={report.ok}")
    print(f"events              {report.events_written} in {len(batches)} appends")
    print(
        f"simulation wall     {report.wall_seconds:8.1f} s (driving {report.drive_seconds:.1f} s)"
    )
    print(f"per subject         {report.wall_seconds / report.subjects:8.2f} s wall")
    if report.cpu_seconds is not None:
        server = report.server_cpu_seconds
        print(
            f"CPU                 {report.cpu_seconds:8.1f} s driver and worker, "
            + (f"{server:.1f} s test server" if server is not None else "test server unknown")
            + f" ({(report.cpu_seconds + (server or 0.0)) / report.subjects:.2f} s per subject)"
        )
    print(f"workflow path       {report.events_per_second:8.1f} events/s")
    print(f"plain append        {plain_rate:8.1f} events/s ({plain_seconds:.2f} s, SQLite)")
    ratio = report.events_per_second / plain_rate if plain_rate > 0 else 0.0
    print(f"workflow/plain      {ratio:8.3f}")
    if events != report.events_written:
        raise SystemExit(
            f"baseline appended {events} events, the simulation wrote {report.events_written}"
        )
    if not report.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
