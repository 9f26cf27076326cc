"""Regenerate the saved workflow histories: ``python -m tests.histories.record [PREFIX]``.

With a PREFIX only the histories whose file name starts with it are recorded (and the changed
workflow's is left alone), so a new patch adds histories without re-recording the older ones.

``subject_*.json`` are histories of the CURRENT SubjectWorkflow (the replay guard in
tests/workflows/test_replay.py must replay them cleanly; re-record only when a change to the
workflow is deliberately incompatible and versioned). ``subject_pre_safety_*.json`` (before the
``safety-deadlines`` patch) and ``subject_pre_visit_alerts_*.json`` (before ``visit-alerts``)
are never re-recorded: they prove that subjects started before those changes still replay.
``changed_subject_workflow.json`` comes from a deliberately changed copy of the workflow (an
extra timer at the start), so replaying it against the real workflow must fail with a
nondeterminism error.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.events import EventActivities
from activities.notifications import NotificationActivities
from domain.protocol import load_protocol
from domain.signing import Keyring
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from system.signing import SubmissionSigner
from tests.histories.changed_workflow import ChangedSubjectWorkflow
from tests.histories.scenarios import (
    custody_life,
    full_life,
    refused_registration,
    repeated_command,
    screen_failure,
    susar_overdue,
    withdrawal,
)
from tests.workflows.harness import SubjectDriver
from workflows.subject import SubjectWorkflow, workflow_id_for
from workflows.trust import install_keyring

HERE = Path(__file__).parent
# The recorder is its own gateway and worker; its seals land in the histories (no key does).
KEYRING = Keyring(active="record", keys={"record": secrets.token_bytes(32)})
Scenario = Callable[[SubjectDriver], Awaitable[None]]

CURRENT: dict[str, tuple[str, Scenario]] = {
    "subject_full_lifecycle.json": ("S-HIST-LIFE", full_life),
    "subject_screen_failure.json": ("S-HIST-SCRF", screen_failure),
    "subject_withdrawal.json": ("S-HIST-WDRL", withdrawal),
    # Lean update results and the updates-per-run budget (issue 13).
    "subject_issue13_full_lifecycle.json": ("S-HIST-I13-LIFE", full_life),
    "subject_issue13_screen_failure.json": ("S-HIST-I13-SCRF", screen_failure),
    "subject_issue13_withdrawal.json": ("S-HIST-I13-WDRL", withdrawal),
    # The chain of custody, enrollment to bedside (patch ``issue14-custody``).
    "subject_issue14_custody_lifecycle.json": ("S-HIST-COI1", custody_life),
}
CHANGED = ("changed_subject_workflow.json", "S-HIST-CHGD", screen_failure)
# Issue 12 (dated re-checks before lymphodepletion, renal bands): recorded on their own with
# ``python -m tests.histories.record issue12`` so the histories above stay as they were.
ISSUE12: dict[str, tuple[str, Scenario]] = {
    "subject_issue12_full_lifecycle.json": ("S-HIST-I12L", full_life),
    "subject_issue12_withdrawal.json": ("S-HIST-I12W", withdrawal),
    "subject_issue12_susar_overdue.json": ("S-HIST-I12S", susar_overdue),
}
# Issue 9 (command ids, no debris): ``python -m tests.histories.record issue9``.
ISSUE9: dict[str, tuple[str, Scenario]] = {
    "subject_issue9_full_lifecycle.json": ("S-HIST9-LIFE", full_life),
    "subject_issue9_repeated_command.json": ("S-HIST9-RPT", repeated_command),
    "subject_issue9_refused_registration.json": ("S-HIST9-REF", refused_registration),
}


async def _record(
    env: WorkflowEnvironment, store: SqlEventStore, workflow: type, subject: str, scenario: Scenario
) -> str:
    task_queue = f"record-{uuid.uuid4().hex[:8]}"
    events = EventActivities(store)
    notifications = NotificationActivities(Path(tempfile.mkdtemp()) / "outbox.jsonl")
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[workflow],
        activities=[events.append_events, notifications.notify],
    ):
        install_keyring(KEYRING)
        signer = SubmissionSigner(KEYRING, clock=env.get_current_time)
        gateway = SubjectGateway(env.client, task_queue, load_protocol(), signer=signer)
        await scenario(SubjectDriver(env, gateway, subject))
        handle = env.client.get_workflow_handle(workflow_id_for(subject))
        history = await handle.fetch_history()
    return history.to_json()


async def main(prefix: str = "") -> None:
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=pydantic_data_converter
    )
    only = sys.argv[1:]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlEventStore(f"sqlite:///{Path(tmp) / 'events.db'}")
            if only in (["issue12"], ["issue9"]):
                for name, (subject, scenario) in (
                    ISSUE12 if only == ["issue12"] else ISSUE9
                ).items():
                    text = await _record(env, store, SubjectWorkflow, subject, scenario)
                    (HERE / name).write_text(text + "\n", encoding="utf-8")
                    print(f"wrote {name}")
                store.close()
                return
            for name, (subject, scenario) in CURRENT.items():
                if not name.startswith(prefix):
                    continue
                text = await _record(env, store, SubjectWorkflow, subject, scenario)
                (HERE / name).write_text(text + "\n", encoding="utf-8")
                print(f"wrote {name}")
            name, subject, scenario = CHANGED
            if prefix:
                store.close()
                return
            text = await _record(env, store, ChangedSubjectWorkflow, subject, scenario)
            (HERE / name).write_text(text + "\n", encoding="utf-8")
            print(f"wrote {name}")
            store.close()
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
