"""Benchmark: `trial simulate` against bare workflows with the same updates, activities, timers.

    python bench/simulate_vs_bare.py [--subjects 40] [--rounds 1] [--unsandboxed]

The simulation runs first (time-skipping server, SQLite store), exactly as ``trial simulate``.
From its store every subject's batches are read back: a batch by a person is one update (one
append activity), a batch by the system is one timer that fired (one activity). Then, on a fresh
time-skipping server, one ``bare.BareWorkflow`` per subject receives the same updates (update-
with-start for the first) at the same protocol times, with the same concurrency, and sleeps
on the same timers; each update and timer runs one activity that INSERTs the same number of rows.
Both figures are the time to drive the agenda, let every timer fire and collect every result.

``--unsandboxed`` also runs the simulation with Temporal's unsandboxed runner (measurement
only, never used in production), to show the sandbox's share of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path

from bare import BareActivities, BareInput, BareWorkflow
from setup_env import bench_converter, ensure_bench_keys
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain import commands as c
from domain.actors import Role
from domain.events import Event
from simulation.runner import (
    TEST_SERVER_STARTUP,
    SimulationConfig,
    run_simulation,
    test_server_path,
)
from store.sql import SqlEventStore
from system.logging import configure_logging

CONCURRENCY = 20


class SubjectLoad:
    def __init__(self, subject_id: str) -> None:
        self.subject_id = subject_id
        self.updates: list[tuple[datetime, int]] = []
        self.timers: list[tuple[datetime, int]] = []
        self.update_alerts: list[int] = []
        self.timer_alerts: list[int] = []


def _alert_seqs(store_url: str) -> dict[str, list[int]]:
    """The event seq each alert in the simulation's outbox reported, per subject."""
    from activities.notifications import read_outbox
    from worker import default_outbox

    store = SqlEventStore(store_url)
    try:
        outbox = default_outbox(store)
    finally:
        store.close()
    seqs: dict[str, list[int]] = defaultdict(list)
    for alert in read_outbox(outbox):
        seq = alert.notification_id.rsplit(":", 1)[-1]
        if seq.isdigit():
            seqs[alert.subject_id].append(int(seq))
    return seqs


def _loads(store_url: str, prefix: str) -> list[SubjectLoad]:
    alerts = _alert_seqs(store_url)
    store = SqlEventStore(store_url)
    try:
        loads = []
        for stream in store.streams():
            if not stream.startswith(f"{prefix}-"):
                continue
            load = SubjectLoad(stream)
            events = store.read_stream(stream)
            for (at, role), group in groupby(events, key=lambda e: (e.recorded_at, e.actor.role)):
                batch: list[Event] = list(group)
                seqs = {e.seq for e in batch}
                sent = sum(1 for seq in alerts.get(stream, []) if seq in seqs)
                if role is Role.SYSTEM:
                    load.timers.append((at, len(batch)))
                    load.timer_alerts.append(sent)
                else:
                    load.updates.append((at, len(batch)))
                    load.update_alerts.append(sent)
            loads.append(load)
        return loads
    finally:
        store.close()


async def _simulate(subjects: int, seed: int, directory: Path, unsandboxed: bool) -> float:
    prefix = "SIMB"
    url = f"sqlite:///{directory / ('sim-u.db' if unsandboxed else 'sim.db')}"
    import simulation.runner as runner_module

    original = runner_module.build_worker
    if unsandboxed:
        runner_module.build_worker = functools.partial(  # type: ignore[assignment]
            original, workflow_runner=UnsandboxedWorkflowRunner()
        )
    try:
        report = await run_simulation(
            SimulationConfig(
                subjects=subjects, seed=seed, store_url=url, concurrency=CONCURRENCY, prefix=prefix
            )
        )
    finally:
        runner_module.build_worker = original
    if not report.ok:
        raise SystemExit(f"the simulation did not run as planned: {report}")
    _simulate.last_url = url  # type: ignore[attr-defined]
    return report.drive_seconds


async def _lane(
    send: Callable[[SubjectLoad, int], Awaitable[None]], lane: list[tuple[SubjectLoad, int]]
) -> None:
    for load, number in lane:
        await send(load, number)


async def _bare(loads: list[SubjectLoad], directory: Path) -> float:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(),
        data_converter=bench_converter(),
        test_server_startup_timeout=TEST_SERVER_STARTUP,
    )
    try:
        origin_sim = min(at for load in loads for at, _ in load.updates) - timedelta(minutes=1)
        origin = await env.get_current_time() + timedelta(hours=1)

        def moved(at: datetime) -> datetime:
            return origin + (at - origin_sim)

        activities = BareActivities(f"sqlite:///{directory / 'bare.db'}")
        task_queue = "bench-bare"
        # The simulation sent each slot of its agenda at one protocol moment; the updates'
        # record times spread over the seconds the slot took, so they are clustered back.
        slots: dict[datetime, list[tuple[SubjectLoad, int, int]]] = defaultdict(list)
        sends = sorted(
            ((moved(at), load, number, rows) for load in loads
             for number, (at, rows) in enumerate(load.updates)),
            key=lambda item: (item[0], item[1].subject_id, item[2]),
        )  # fmt: skip
        slot_at = sends[0][0]
        for at, load, number, rows in sends:
            if at - slot_at > timedelta(minutes=10):
                slot_at = at
            slots[slot_at].append((load, number, rows))
        inputs = {
            load.subject_id: BareInput(
                subject_id=load.subject_id,
                timers=tuple(moved(at) for at, _ in load.timers),
                rows_per_timer=tuple(rows for _, rows in load.timers),
                updates=len(load.updates),
                alerts_per_update=tuple(load.update_alerts),
                alerts_per_timer=tuple(load.timer_alerts),
            )
            for load in loads
        }
        gate = asyncio.Semaphore(CONCURRENCY)
        command = c.Submission.model_validate(
            {
                "command": {
                    "type": "record_correction",
                    "occurred_at": "2026-01-01T00:00:00Z",
                    "target_seq": 1,
                    "field": "sex",
                    "new_value": "male",
                    "reason": "benchmark",
                },
                "actor": {"user_id": "ivan", "role": "investigator"},
            }
        )

        async def send(load: SubjectLoad, number: int) -> None:
            async with gate:
                if number == 0:
                    operation = WithStartWorkflowOperation(
                        BareWorkflow.run,
                        inputs[load.subject_id],
                        id=f"bare-{load.subject_id}",
                        task_queue=task_queue,
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    )
                    await env.client.execute_update_with_start_workflow(
                        BareWorkflow.submit, command, start_workflow_operation=operation
                    )
                    return
                handle = env.client.get_workflow_handle_for(
                    BareWorkflow.run, f"bare-{load.subject_id}"
                )
                await handle.execute_update(BareWorkflow.submit, command)

        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[BareWorkflow],
            activities=[activities.bare_insert],
        ):
            started = time.perf_counter()
            for at in sorted(slots):
                now = await env.get_current_time()
                if at > now:
                    await env.sleep(at - now)
                lanes: dict[str, list[tuple[SubjectLoad, int]]] = defaultdict(list)
                for load, number, _ in slots[at]:
                    lanes[load.subject_id].append((load, number))
                await asyncio.gather(*(_lane(send, lane) for lane in lanes.values()))
            last = max(
                [moved(at) for load in loads for at, _ in load.timers]
                + [moved(at) for load in loads for at, _ in load.updates]
            ) + timedelta(days=1)
            now = await env.get_current_time()
            if last > now:
                await env.sleep(last - now)
            await asyncio.gather(
                *(
                    env.client.get_workflow_handle(f"bare-{load.subject_id}").result()
                    for load in loads
                )
            )
            return time.perf_counter() - started
    finally:
        await env.shutdown()


async def main() -> None:
    configure_logging("console", level=logging.ERROR)
    ensure_bench_keys()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--unsandboxed", action="store_true")
    args = parser.parse_args()

    ratios: list[float] = []
    shares: list[float] = []
    with tempfile.TemporaryDirectory(prefix="jy231-bench-simbare-") as tmp:
        directory = Path(tmp)
        for number in range(args.rounds):
            round_dir = directory / str(number)
            round_dir.mkdir()
            simulated = await _simulate(args.subjects, args.seed, round_dir, unsandboxed=False)
            loads = _loads(_simulate.last_url, "SIMB")  # type: ignore[attr-defined]
            bare = await _bare(loads, round_dir)
            updates = sum(len(load.updates) for load in loads)
            timers = sum(len(load.timers) for load in loads)
            alerts = sum(sum(load.update_alerts) + sum(load.timer_alerts) for load in loads)
            ratios.append(simulated / bare)
            line = (
                f"round {number + 1}: simulate {simulated:6.1f} s, bare {bare:6.1f} s "
                f"({updates} updates, {timers} timers fired, {alerts} alerts): "
                f"ratio {simulated / bare:.2f}"
            )
            if args.unsandboxed:
                unsandboxed = await _simulate(args.subjects, args.seed, round_dir, unsandboxed=True)
                shares.append(1 - unsandboxed / simulated)
                line += f"; unsandboxed {unsandboxed:6.1f} s (sandbox share {shares[-1]:.0%})"
            print(line, flush=True)
    print(
        f"simulate/bare ({args.subjects} subjects): min {min(ratios):.2f} "
        f"median {statistics.median(ratios):.2f}"
        + (f"; sandbox share median {statistics.median(shares):.0%}" if shares else "")
    )


if __name__ == "__main__":
    asyncio.run(main())
