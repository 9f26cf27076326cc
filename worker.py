"""Composition root: logging, data converter, store, workflows and activities on one worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import structlog
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Interceptor, Worker, WorkflowRunner

from activities.checkpoint import CheckpointActivities
from activities.events import EventActivities
from activities.notifications import NotificationActivities
from activities.seals import SignalSeals
from audit.checkpoint import CheckpointConfig, checkpoint_config
from domain.signing import Keyring
from store.base import EventStore
from store.factory import open_store
from store.sql import SqlEventStore
from store.traced import traced
from system.collector import tune_collector
from system.config import Settings, load_settings
from system.keys import load_keyring
from system.logging import configure_logging
from system.sandbox import sandbox_runner
from system.telemetry import (
    ActivityMetricsInterceptor,
    configure_tracing,
    tracing_interceptors,
    worker_runtime,
)
from system.temporal import connect, dev_server
from workflows.checkpoint import CHECKPOINT_WORKFLOW_ID, CheckpointSchedule, CheckpointWorkflow
from workflows.study import StudyWorkflow
from workflows.subject import SubjectWorkflow
from workflows.trust import install_keyring

__all__ = [
    "DEFAULT_MAX_CACHED_WORKFLOWS",
    "OUTBOX_NAME",
    "build_worker",
    "default_outbox",
    "main",
    "sandbox_runner",
    "start_checkpoints",
    "temporal_address",
]

log = structlog.get_logger(__name__)


OUTBOX_NAME = "notifications.jsonl"
# Temporal's own default sticky cache size, named so callers can size theirs from it.
DEFAULT_MAX_CACHED_WORKFLOWS = 1000


def default_outbox(store: EventStore) -> Path:
    if isinstance(store, SqlEventStore) and store.url.get_backend_name() == "sqlite":
        database = store.url.database
        if database and database != ":memory:":
            return Path(database).parent / OUTBOX_NAME
    return load_settings().data_dir / OUTBOX_NAME


def build_worker(
    client: Client,
    store: EventStore,
    task_queue: str,
    outbox: Path | None = None,
    interceptors: Sequence[Interceptor] = (),
    keyring: Keyring | None = None,
    checkpoints: CheckpointConfig | None = None,
    workflow_runner: WorkflowRunner | None = None,
    max_cached_workflows: int = DEFAULT_MAX_CACHED_WORKFLOWS,
) -> Worker:
    """``outbox``: the safety-notification JSONL file; by default beside a SQLite event store,
    else under the data directory. ``interceptors``: worker-side ones (activity timings);
    the client's own (tracing) apply to the worker by themselves. ``keyring``: the keys the
    gateway's seals are checked with; by default this process's (environment or key file).
    ``checkpoints``: where the audit checkpoints are signed and written (default: from the
    environment, under the data directory). ``workflow_runner``: Temporal's sandbox unless
    given (the benchmarks measure the sandbox's share with the unsandboxed runner).
    ``max_cached_workflows``: the sticky cache; a workflow evicted from it is replayed from its
    whole history on its next task, so a process holding more open workflows than this replays
    over and over (the simulation sizes it to its cohort)."""
    keyring = keyring or load_keyring("submission")
    # Before the worker polls: no update is validated without the keys in place.
    install_keyring(keyring)
    seals = SignalSeals(keyring)
    outbox = outbox or default_outbox(store)
    events = EventActivities(store, outbox)
    notifications = NotificationActivities(outbox)
    signer = CheckpointActivities(store, checkpoints or checkpoint_config(load_settings().data_dir))
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[SubjectWorkflow, StudyWorkflow, CheckpointWorkflow],
        activities=[
            events.append_events,
            notifications.notify,
            seals.seal_signal,
            seals.check_signal_seal,
            signer.write_checkpoint,
        ],
        interceptors=interceptors,
        workflow_runner=workflow_runner or sandbox_runner(),
        max_cached_workflows=max_cached_workflows,
    )


async def start_checkpoints(client: Client, task_queue: str) -> None:
    """Join (or start) the one hourly CheckpointWorkflow; every start-up may call this."""
    await client.start_workflow(
        CheckpointWorkflow.run,
        CheckpointSchedule(),
        id=CHECKPOINT_WORKFLOW_ID,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


@contextlib.asynccontextmanager
async def temporal_address(settings: Settings) -> AsyncIterator[str]:
    """The configured Temporal, or the embedded dev server when none is configured."""
    if settings.temporal_address:
        yield settings.temporal_address
        return
    async with dev_server(
        settings.data_dir, settings.temporal_port, settings.temporal_ui_port
    ) as address:
        yield address


async def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_format)
    tune_collector()
    async with temporal_address(settings) as address:
        tracing = configure_tracing(settings.otel_endpoint, "jy231-worker")
        runtime = worker_runtime(settings.worker_metrics)
        client = await connect(
            address,
            settings.temporal_namespace,
            interceptors=tracing_interceptors(tracing),
            runtime=runtime,
        )
        store = traced(open_store(settings.event_store_url))
        log.info(
            "worker starting",
            temporal=address,
            task_queue=settings.task_queue,
            metrics=f"http://{settings.worker_metrics}/metrics" if runtime else None,
        )
        outbox = settings.data_dir / OUTBOX_NAME
        worker = build_worker(
            client, store, settings.task_queue, outbox, [ActivityMetricsInterceptor()]
        )
        await start_checkpoints(client, settings.task_queue)
        await worker.run()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
