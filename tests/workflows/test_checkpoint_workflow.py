"""The hourly CheckpointWorkflow on the time-skipping server: it signs the growing log on the hour,
and a refused checkpoint (a tampered store) is logged while the timer goes on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from audit.checkpoint import CheckpointConfig, CheckpointLog, create_demo_key, load_public_key
from store.sql import SqlEventStore
from tests.audit.tamper import grow, populate, rewrite_consistently
from worker import build_worker
from workflows.checkpoint import CheckpointSchedule, CheckpointWorkflow


@pytest.fixture
def config(tmp_path: Path) -> CheckpointConfig:
    key = tmp_path / "key" / "checkpoint-key.pem"
    create_demo_key(key)
    return CheckpointConfig(
        log_dir=tmp_path / "checkpoints",
        key_file=key,
        key_env=None,
        notary_file=tmp_path / "notary.jsonl",
        log_id="test-log",
    )


async def _hours(env: WorkflowEnvironment, log: CheckpointLog, n: int) -> None:
    """Skip time until the log holds ``n`` checkpoints (the activity runs in real time)."""
    for _ in range(200):
        if len(log.checkpoints()) >= n:
            return
        await env.sleep(timedelta(minutes=20))
    raise AssertionError(f"only {len(log.checkpoints())} checkpoint(s) written, wanted {n}")


async def test_checkpoints_are_signed_every_hour_over_the_growing_log(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    config: CheckpointConfig,
) -> None:
    populate(sqlite_store)
    log = CheckpointLog(config.log_dir)
    async with build_worker(time_env.client, sqlite_store, task_queue, checkpoints=config):
        handle = await time_env.client.start_workflow(
            CheckpointWorkflow.run,
            CheckpointSchedule(runs_before_continue=3),
            id=f"checkpoint-{task_queue}",
            task_queue=task_queue,
        )
        await _hours(time_env, log, 1)
        grow(sqlite_store)
        await _hours(time_env, log, 2)
        last = await handle.query(CheckpointWorkflow.last)
        await handle.terminate()

    sizes = [c.tree_size for c in log.checkpoints()]
    assert sizes[:2] == [19, 23]
    assert last is not None and last.tree_size == 23
    public = load_public_key(config.key_file.with_suffix(".pub"))
    assert all(c.verify_signature(public) is None for c in log.checkpoints())
    assert config.notary_file is not None
    assert len(config.notary_file.read_text().splitlines()) == len(sizes)


async def test_a_tampered_store_is_not_signed_and_the_timer_carries_on(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    config: CheckpointConfig,
) -> None:
    populate(sqlite_store)
    log = CheckpointLog(config.log_dir)
    async with build_worker(time_env.client, sqlite_store, task_queue, checkpoints=config):
        handle = await time_env.client.start_workflow(
            CheckpointWorkflow.run,
            CheckpointSchedule(runs_before_continue=4),
            id=f"checkpoint-{task_queue}",
            task_queue=task_queue,
        )
        await _hours(time_env, log, 1)
        rewrite_consistently(sqlite_store, "S-001", 3, lambda e: e.update(reason="edited"))
        await time_env.sleep(timedelta(hours=3))
        description = await handle.describe()
        await handle.terminate()

    assert [c.tree_size for c in log.checkpoints()] == [19]
    assert description.status is not None and description.status.name == "RUNNING"
