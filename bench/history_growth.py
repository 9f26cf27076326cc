"""Benchmark: history bytes per command early and late in one subject's life.

    python bench/history_growth.py [--commands 1000]

One subject on the time-skipping server takes ``--commands`` corrections through the gateway.
The history's size is read around command 10 and around the last command; the figure is bytes
per command over the five commands before each point (constant when the history grows
linearly). The run's update budget is set above ``--commands`` so both points are in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from datetime import date
from pathlib import Path

from setup_env import bench_converter
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.actors import Actor, Role
from domain.protocol import load_protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from system.logging import configure_logging
from worker import build_worker
from workflows.subject import SubjectWorkflow, SubjectWorkflowInput, workflow_id_for


def _clock(env: WorkflowEnvironment) -> None:
    """Seals dated by the skipped clock, as the workflows' validators see it."""
    try:
        from system import signing
    except ImportError:  # before signed submissions
        return
    signing.set_clock(env.get_current_time)


COORDINATOR = Actor(user_id="cora", role=Role.COORDINATOR)
INVESTIGATOR = Actor(user_id="ivan", role=Role.INVESTIGATOR)


async def main() -> None:
    configure_logging("console", level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    args = parser.parse_args()
    last = args.commands
    marks = {5, 10, last - 5, last}

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=bench_converter(),
    )
    _clock(env)
    protocol = load_protocol()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlEventStore(f"sqlite:///{Path(tmp) / 'events.db'}")
        try:
            async with build_worker(env.client, store, "history-growth"):
                gateway = SubjectGateway(env.client, "history-growth", protocol)
                subject = "S-GROWTH"
                now = await env.get_current_time()
                fields: dict[str, object] = {"subject_id": subject, "protocol": protocol}
                if "max_updates_per_run" in SubjectWorkflowInput.model_fields:
                    fields["max_updates_per_run"] = last + 100
                registration = c.Submission(
                    command=c.RegisterSubject(
                        occurred_at=now,
                        subject_id=subject,
                        disease="SLE",
                        sex="female",
                        birth_date=date(1980, 6, 15),
                    ),
                    actor=COORDINATOR,
                )
                try:  # sealed as the gateway seals, where the workers check seals
                    from system.signing import default_signer
                    from workflows.subject import SUBMIT_PURPOSE

                    registration = await default_signer().seal(
                        registration, purpose=SUBMIT_PURPOSE, target=workflow_id_for(subject)
                    )
                except ImportError:
                    pass
                await env.client.execute_update_with_start_workflow(
                    SubjectWorkflow.submit,
                    registration,
                    start_workflow_operation=WithStartWorkflowOperation(
                        SubjectWorkflow.run,
                        SubjectWorkflowInput(**fields),  # type: ignore[arg-type]
                        id=workflow_id_for(subject),
                        task_queue="history-growth",
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    ),
                )
                handle = env.client.get_workflow_handle(workflow_id_for(subject))
                sizes: dict[int, int] = {}
                runs = {(await handle.describe()).run_id}
                for number in range(1, last + 1):
                    await gateway.submit(
                        subject,
                        c.RecordCorrection(
                            occurred_at=now,
                            target_seq=1,
                            field="sex",
                            new_value="male" if number % 2 else "female",
                            reason=f"source document check {number}",
                        ),
                        INVESTIGATOR,
                    )
                    if number in marks:
                        history = await handle.fetch_history()
                        sizes[number] = sum(e.ByteSize() for e in history.events)
                        runs.add((await handle.describe()).run_id)
        finally:
            store.close()
    await env.shutdown()
    early = (sizes[10] - sizes[5]) / 5
    late = (sizes[last] - sizes[last - 5]) / 5
    print(
        f"history bytes per command: at command 10 {early:,.0f}, at command {last} {late:,.0f}; "
        f"ratio {late / early:.2f} ({len(runs)} run(s) seen; history {sizes[last]:,} bytes)"
    )


if __name__ == "__main__":
    asyncio.run(main())
