"""Record ``subject_issue11_sealed_signals.json``: run this module with ``python -m``.

A study-gated subject from enrollment to infusion under the ``issue11-sealed-signals`` patch:
the study's sealed slot grant arrives (its seal checked by a local activity) and the subject
sends its sealed infusion report. Recorded once; the replay guard keeps it replaying.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.protocol import load_protocol
from domain.signing import Keyring
from store.sql import SqlEventStore
from system import signing
from system.gateway import StudyGateway, SubjectGateway
from system.signing import SubmissionSigner
from tests.safety.conftest import quiet_protocol
from tests.safety.test_study_workflow import infuse, ready_for_slot
from tests.workflows.harness import COORDINATOR
from worker import build_worker
from workflows.subject import workflow_id_for

NAME = "subject_issue11_sealed_signals.json"
HERE = Path(__file__).parent


async def main() -> None:
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=pydantic_data_converter
    )
    keyring = Keyring(active="record", keys={"record": secrets.token_bytes(32)})
    signing.set_clock(env.get_current_time)
    signer = SubmissionSigner(keyring)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlEventStore(f"sqlite:///{Path(tmp) / 'events.db'}")
            async with build_worker(env.client, store, "record-sealed", keyring=keyring):
                protocol = quiet_protocol(load_protocol())
                study = StudyGateway(env.client, "record-sealed", protocol, signer=signer)
                await study.start()
                gateway = SubjectGateway(
                    env.client, "record-sealed", protocol, study.workflow_id, signer=signer
                )
                driver = await ready_for_slot(env, gateway)
                await study.request_slot(driver.subject_id, "DL1", COORDINATOR)
                await infuse(driver, study)
                handle = env.client.get_workflow_handle(workflow_id_for(driver.subject_id))
                history = await handle.fetch_history()
                for workflow_id in (workflow_id_for(driver.subject_id), study.workflow_id):
                    await env.client.get_workflow_handle(workflow_id).terminate("recorded")
            store.close()
        (HERE / NAME).write_text(history.to_json() + "\n", encoding="utf-8")
        print(f"wrote {NAME}")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
