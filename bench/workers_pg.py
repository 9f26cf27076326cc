"""Benchmark: command throughput with one and with two worker processes, PostgreSQL store.

    python bench/workers_pg.py [--clients 20] [--rounds 3] [--seconds 5]

One Temporal dev server and one scratch PostgreSQL database; ``bench_worker.py`` processes on
one task queue (one, then two; the rounds interleave). Each client owns a subject and sends
corrections through ``SubjectGateway`` back to back. Both workers' identities are checked in
the histories, so the two-worker figure is two processes sharing the work.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from corrections import correction
from pg import postgres_available, scratch_database
from setup_env import bench_converter
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.actors import Actor, Role
from domain.protocol import load_protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from workflows.subject import workflow_id_for

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
COORDINATOR = Actor(user_id="cora", role=Role.COORDINATOR)
INVESTIGATOR = Actor(user_id="ivan", role=Role.INVESTIGATOR)


async def _round(
    env: WorkflowEnvironment, url: str, workers: int, clients: int, seconds: float, tmp: Path
) -> tuple[float, int]:
    task_queue = f"bench-workers-{uuid.uuid4().hex[:6]}"
    address = env.client.service_client.config.target_host
    bare = f"sqlite:///{tmp / 'bare.db'}"
    processes = [
        subprocess.Popen(
            [
                *(sys.executable, str(HERE / "bench_worker.py"), address, task_queue, url, bare),
                *(f"bench-worker-{n}", str(tmp / f"out-{n}.jsonl")),
            ],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        for n in range(workers)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            process.stdout.readline()
        gateway = SubjectGateway(env.client, task_queue, load_protocol())
        prefix = uuid.uuid4().hex[:6].upper()
        subjects = [f"W{prefix}-{i}" for i in range(clients)]
        await asyncio.gather(
            *(
                gateway.register(
                    c.RegisterSubject(
                        occurred_at=datetime.now(UTC) - timedelta(minutes=1),
                        subject_id=s,
                        disease="SLE",
                        sex="female",
                        birth_date=date(1980, 6, 15),
                    ),
                    COORDINATOR,
                )
                for s in subjects
            )
        )
        sent = 0
        stop = time.perf_counter() + seconds

        async def loop(subject_id: str) -> None:
            nonlocal sent
            value = "female"
            while time.perf_counter() < stop:
                value = "male" if value == "female" else "female"
                await gateway.submit(subject_id, correction(value), INVESTIGATOR)
                sent += 1

        started = time.perf_counter()
        await asyncio.gather(*(loop(s) for s in subjects))
        rate = sent / (time.perf_counter() - started)
        identities: set[str] = set()
        for subject_id in subjects:
            history = await env.client.get_workflow_handle(
                workflow_id_for(subject_id)
            ).fetch_history()
            identities.update(
                e.activity_task_started_event_attributes.identity
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            )
        return rate, len(identities)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if not postgres_available():
        print("workers: skipped (no PostgreSQL at 127.0.0.1:5432)")
        return
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=bench_converter(),
    )
    rates: dict[int, list[float]] = {1: [], 2: []}
    try:
        with scratch_database("workers") as url, tempfile.TemporaryDirectory() as tmp:
            SqlEventStore(url).close()  # migrated once, before the workers open it
            for number in range(args.rounds):
                for workers in (1, 2) if number % 2 == 0 else (2, 1):
                    rate, seen = await _round(
                        env, url, workers, args.clients, args.seconds, Path(tmp)
                    )
                    rates[workers].append(rate)
                    print(f"round {number + 1}: {workers} worker(s) {rate:6.1f} cmds/s, "
                          f"activities ran on {seen} worker(s)", flush=True)  # fmt: skip
    finally:
        await env.shutdown()
    ratios = [b / a for a, b in zip(rates[1], rates[2], strict=True)]
    print(
        f"workers (PostgreSQL, {args.clients} clients): one {statistics.median(rates[1]):.1f} "
        f"cmds/s, two {statistics.median(rates[2]):.1f} cmds/s; two/one min {min(ratios):.2f} "
        f"median {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
