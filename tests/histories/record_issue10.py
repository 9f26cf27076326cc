"""Record issue 10's histories: ``python -m tests.histories.record_issue10``.

``issue10_subject_full_lifecycle.json``: a SubjectWorkflow that seals its events under RFC 8785
(the ``issue10-jcs-hash`` patch). ``issue10_checkpoint_workflow.json``: two hours of the
CheckpointWorkflow, ending in continue-as-new. The older ``subject_*.json`` histories stay as
they are: they prove subjects started before the patch still replay (with legacy hashes).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from audit.checkpoint import CheckpointConfig, create_demo_key
from domain.protocol import load_protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.audit.tamper import populate
from tests.histories.scenarios import full_life
from tests.workflows.harness import SubjectDriver
from worker import build_worker
from workflows.checkpoint import CheckpointSchedule, CheckpointWorkflow
from workflows.subject import workflow_id_for

HERE = Path(__file__).parent


async def _subject(env: WorkflowEnvironment, tmp: Path) -> str:
    store = SqlEventStore(f"sqlite:///{tmp / 'subject.db'}")
    async with build_worker(env.client, store, "record-i10-subject", tmp / "outbox.jsonl"):
        gateway = SubjectGateway(env.client, "record-i10-subject", load_protocol())
        await full_life(SubjectDriver(env, gateway, "S-HIST-I10"))
        history = await env.client.get_workflow_handle(
            workflow_id_for("S-HIST-I10")
        ).fetch_history()
    store.close()
    return history.to_json()


async def _checkpoints(env: WorkflowEnvironment, tmp: Path) -> str:
    store = SqlEventStore(f"sqlite:///{tmp / 'checkpoints.db'}")
    populate(store)
    key = tmp / "checkpoint-key.pem"
    create_demo_key(key)
    config = CheckpointConfig(
        log_dir=tmp / "log", key_file=key, key_env=None, notary_file=None, log_id="record"
    )
    async with build_worker(env.client, store, "record-i10-cp", checkpoints=config):
        handle = await env.client.start_workflow(
            CheckpointWorkflow.run,
            CheckpointSchedule(runs_before_continue=2),
            id="audit-checkpoint-record",
            task_queue="record-i10-cp",
        )
        await env.sleep(timedelta(hours=2, minutes=30))
        history = await handle.fetch_history()
    store.close()
    return history.to_json()


async def main() -> None:
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=pydantic_data_converter
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            wanted = sys.argv[1:] or ["subject", "checkpoint"]
            for name, record in (
                ("issue10_subject_full_lifecycle.json", _subject),
                ("issue10_checkpoint_workflow.json", _checkpoints),
            ):
                if name.split("_")[1] not in wanted:
                    continue
                text = await record(env, Path(tmp))
                (HERE / name).write_text(text + "\n", encoding="utf-8")
                print(f"wrote {name}")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
