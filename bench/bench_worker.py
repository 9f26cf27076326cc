"""A worker process for the benchmarks: the real workflows and activities plus the bare floor.

    python bench/bench_worker.py ADDRESS TASK_QUEUE STORE_URL BARE_URL [IDENTITY]

Exactly ``worker.build_worker``'s workflows and activities, with ``BareWorkflow`` and its
activity added on the same task queue, so both paths share one worker process as they would
share one deployment.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from bare import BareActivities, BareWorkflow
from temporalio.worker import Worker

from activities.events import EventActivities
from activities.notifications import NotificationActivities
from store.sql import SqlEventStore
from system.logging import configure_logging
from system.temporal import connect
from worker import sandbox_runner
from workflows.study import StudyWorkflow
from workflows.subject import SubjectWorkflow


async def main() -> None:
    address, task_queue, store_url, bare_url = sys.argv[1:5]
    identity = sys.argv[5] if len(sys.argv) > 5 else None
    configure_logging("console", level=logging.WARNING)
    try:  # the keys the update validators check seals with
        from system.keys import load_keyring
        from workflows.trust import install_keyring

        install_keyring(load_keyring("submission"))
    except ImportError:  # before signed submissions
        pass
    client = await connect(address, "default")
    store = SqlEventStore(store_url)
    outbox = Path(sys.argv[6]) if len(sys.argv) > 6 else Path(f"/tmp/{task_queue}.jsonl")
    events = EventActivities(store)
    notifications = NotificationActivities(outbox)
    bare = BareActivities(bare_url)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[SubjectWorkflow, StudyWorkflow, BareWorkflow],
        activities=[events.append_events, notifications.notify, bare.bare_insert],
        identity=identity,
        workflow_runner=sandbox_runner(),
    )
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
