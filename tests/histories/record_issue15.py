"""Record the histories of issue 15's workflow behaviour.

Run ``python -m tests.histories.record_issue15 [NAME...]``.

``subject_issue15_tz_*.json``: deadlines at the site's midnight (``issue15-site-timezone``).
``subject_issue15_ltfu_*.json``: under the amended protocol (v2.0) a subject enters long-term
follow-up (``issue15-ltfu``); the first file is the run that ends in continue-as-new at the
LTFU consent, the second the LTFU run after it.
``subject_issue15_amendment_mid_follow_up.json``: a v1.0 subject moved onto v2.0 by the
``amend_protocol`` update in follow-up, re-consent, then Month 6 under the new window.
They sit beside the older histories, which are never re-recorded.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.events import EventActivities
from activities.notifications import NotificationActivities
from domain.protocol import load_protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from system.signing import SubmissionSigner
from tests.histories.record import HERE, KEYRING, Scenario
from tests.histories.scenarios import (
    amendment_mid_follow_up,
    full_life,
    ltfu_entry,
    screen_failure,
)
from tests.workflows.harness import SubjectDriver
from workflows.subject import SubjectWorkflow, workflow_id_for
from workflows.trust import install_keyring

# name(s) -> (subject, scenario, protocol version)
ISSUE15: dict[tuple[str, ...], tuple[str, Scenario, str]] = {
    ("subject_issue15_tz_full_lifecycle.json",): ("S-HIST-TZ-LIFE", full_life, "1.0"),
    ("subject_issue15_tz_screen_failure.json",): ("S-HIST-TZ-SCRF", screen_failure, "1.0"),
    (
        "subject_issue15_ltfu_main_study_run.json",
        "subject_issue15_ltfu_first_year_run.json",
    ): ("S-HIST-LTFU", ltfu_entry, "2.0"),
    ("subject_issue15_amendment_mid_follow_up.json",): (
        "S-HIST-AMND",
        amendment_mid_follow_up,
        "1.0",
    ),
}


async def _runs(
    env: WorkflowEnvironment, store: SqlEventStore, subject: str, scenario: Scenario, version: str
) -> list[WorkflowHistory]:
    """The scenario's runs, oldest first."""
    task_queue = f"record-{uuid.uuid4().hex[:8]}"
    events = EventActivities(store)
    notifications = NotificationActivities(Path(tempfile.mkdtemp()) / "outbox.jsonl")
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[SubjectWorkflow],
        activities=[events.append_events, notifications.notify],
    ):
        install_keyring(KEYRING)
        signer = SubmissionSigner(KEYRING, clock=env.get_current_time)
        gateway = SubjectGateway(env.client, task_queue, load_protocol(version), signer=signer)
        await scenario(SubjectDriver(env, gateway, subject))
        histories: list[WorkflowHistory] = []
        run_id: str | None = None
        while True:
            handle = env.client.get_workflow_handle(workflow_id_for(subject), run_id=run_id)
            history = await handle.fetch_history()
            histories.insert(0, history)
            started = history.events[0].workflow_execution_started_event_attributes
            if not started.continued_execution_run_id:
                return histories
            run_id = started.continued_execution_run_id


async def record_table(
    table: dict[tuple[str, ...], tuple[str, Scenario, str]], names: list[str]
) -> None:
    """Record every entry of ``table`` (only those naming one of ``names``, if any are given)."""
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=pydantic_data_converter
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlEventStore(f"sqlite:///{Path(tmp) / 'events.db'}")
            for files, (subject, scenario, version) in table.items():
                if names and not set(files) & set(names):
                    continue
                runs = await _runs(env, store, subject, scenario, version)
                for name, history in zip(files, runs, strict=False):
                    (HERE / name).write_text(history.to_json() + "\n", encoding="utf-8")
                    print(f"wrote {name}")
            store.close()
    finally:
        await env.shutdown()


async def main(names: list[str]) -> None:
    await record_table(ISSUE15, names)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
