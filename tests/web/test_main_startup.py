"""The production entry point `web.main`: settings from the environment, gating at start-up."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from system.codec import default_data_converter
from tests.web.live import PASSWORDS, USERS_FILE
from web.main import build_app

pytestmark = pytest.mark.devserver

STUDY_ID = "study-NCT06243159"


@pytest.fixture
async def fresh_dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of the test's own, so the study workflow's existence depends on this test."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=default_data_converter(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


def start_production_app(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run web.main's start-up and one authenticated read; return that read's status."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with TestClient(build_app()) as client:
        response = client.get("/api/study", auth=("mona", PASSWORDS["mona"]))
        return response.status_code


def production_env(dev: WorkflowEnvironment, tmp_path: Path, gating: str) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": dev.client.service_client.config.target_host,
        "JY231_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:8]}",
        "JY231_DATA_DIR": str(tmp_path),
        "EVENT_STORE_URL": f"sqlite:///{tmp_path / 'events.db'}",
        "JY231_USERS_FILE": str(USERS_FILE),
        "JY231_STUDY_GATING": gating,
    }


async def test_start_up_with_gating_on_starts_the_study_workflow(
    fresh_dev_server: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = production_env(fresh_dev_server, tmp_path, "1")
    status = await asyncio.to_thread(start_production_app, env, monkeypatch)
    assert status == 200
    described = await fresh_dev_server.client.get_workflow_handle(STUDY_ID).describe()
    assert described.status is WorkflowExecutionStatus.RUNNING


async def test_start_up_with_gating_off_leaves_the_study_workflow_unstarted(
    fresh_dev_server: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = production_env(fresh_dev_server, tmp_path, "0")
    status = await asyncio.to_thread(start_production_app, env, monkeypatch)
    assert status == 200
    with pytest.raises(RPCError) as missing:
        await fresh_dev_server.client.get_workflow_handle(STUDY_ID).describe()
    assert missing.value.status is RPCStatusCode.NOT_FOUND


def test_an_unrecognised_gating_value_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JY231_STUDY_GATING", "maybe")
    monkeypatch.setenv("JY231_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="JY231_STUDY_GATING"), TestClient(build_app()):
        pass
