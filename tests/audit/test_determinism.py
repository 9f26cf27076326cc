"""`audit determinism`: histories of the current code pass, a changed workflow's history fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from audit.determinism import check_histories, replay_history, subject_to_workflow_id
from cli.main import app
from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.histories.scenarios import screen_failure, withdrawal
from tests.workflows.harness import SubjectDriver, new_subject
from worker import build_worker
from workflows.subject import workflow_id_for

CHANGED = Path(__file__).parents[1] / "histories" / "changed_subject_workflow.json"


@pytest.fixture
async def gateway(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        yield SubjectGateway(time_env.client, task_queue, protocol)


async def test_histories_fetched_from_temporal_replay_cleanly_on_the_current_code(
    time_env: WorkflowEnvironment, gateway: SubjectGateway
) -> None:
    failed, withdrawn = new_subject(), new_subject()
    await screen_failure(SubjectDriver(time_env, gateway, failed))
    await withdrawal(SubjectDriver(time_env, gateway, withdrawn))

    outcomes = await check_histories(
        time_env.client, [workflow_id_for(failed), subject_to_workflow_id(withdrawn)]
    )

    assert [(o.workflow_id, o.passed, o.error) for o in outcomes] == [
        (workflow_id_for(failed), True, None),
        (workflow_id_for(withdrawn), True, None),
    ]
    assert all(o.run_id and o.events > 10 for o in outcomes)


async def test_a_history_made_by_a_changed_workflow_fails_with_a_nondeterminism_error() -> None:
    history = WorkflowHistory.from_json(CHANGED.stem, CHANGED.read_text(encoding="utf-8"))

    outcome = await replay_history(history)

    assert not outcome.passed
    assert outcome.error is not None
    assert "Nondeterminism" in outcome.error or "nondeterminism" in outcome.error
    # The message must say what differs, not just that something did.
    assert "Timer" in outcome.error or "timer" in outcome.error


def test_determinism_cli_says_clearly_when_temporal_is_not_reachable() -> None:
    result = CliRunner().invoke(
        app, ["audit", "determinism", "S-001"], env={"TEMPORAL_ADDRESS": "127.0.0.1:1"}
    )

    assert result.exit_code == 3
    assert "not reachable at 127.0.0.1:1" in result.stderr


def test_determinism_cli_needs_exactly_one_of_subject_or_all() -> None:
    result = CliRunner().invoke(app, ["audit", "determinism"])

    assert result.exit_code == 2
    assert "exactly one of SUBJECT or --all" in result.stderr
