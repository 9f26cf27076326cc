"""`trial study` against the live web app on the real worker: slots, cohorts, exit codes."""

from __future__ import annotations

import json

from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from system.gateway import StudyGateway
from tests.cli.test_cli_api import trial
from tests.web.live import LiveServer, free_port
from tests.web.test_study_pages import enrolled


async def test_a_slot_requested_from_the_cli_is_granted_and_shows_in_the_cohort(
    live_server: LiveServer,
    time_env: WorkflowEnvironment,
    task_queue: str,
    protocol: Protocol,
    subject_id: str,
) -> None:
    study = StudyGateway(time_env.client, task_queue, protocol)
    driver = await enrolled(time_env, study, subject_id)

    result = await trial(live_server, "cora", "study", "slot", subject_id, "--dose-level", "DL1")
    assert result.exit_code == 0, result.output
    assert "granted" in result.stdout and "(sentinel)" in result.stdout
    assert (await driver.state()).slot_dose_level == "DL1"

    result = await trial(live_server, "mona", "study", "show", "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    dl1 = next(c for c in view["cohorts"] if c["dose_level"] == "DL1")
    assert [m["subject_id"] for m in dl1["members"]] == [subject_id]

    table = await trial(live_server, "mona", "study", "show")
    assert table.exit_code == 0, table.output
    assert f"{subject_id} (sentinel)" in table.stdout


async def test_study_commands_exit_1_on_refusal_2_on_bad_input_and_3_when_down(
    live_server: LiveServer,
    time_env: WorkflowEnvironment,
    task_queue: str,
    protocol: Protocol,
    subject_id: str,
) -> None:
    await enrolled(time_env, StudyGateway(time_env.client, task_queue, protocol), subject_id)
    closed = await trial(live_server, "cora", "study", "slot", subject_id, "--dose-level", "DL2")
    assert closed.exit_code == 1, closed.output
    assert "enrolled at DL1, not DL2" in closed.stderr

    bad = await trial(live_server, "cora", "study", "slot", subject_id, "--dose-level", "one")
    assert bad.exit_code == 2, bad.output

    not_pi = await trial(
        live_server, "ivan", "study", "review", "--dose-level", "DL1",
        "--decision", "stay", "--summary", "not mine", "--sign-password", "ivan-demo-2024",
    )  # fmt: skip
    assert not_pi.exit_code == 1 and "principal investigator" in not_pi.stderr

    down = await trial(f"http://127.0.0.1:{free_port()}", "cora", "study", "show")
    assert down.exit_code == 3
    assert "not running" in down.stderr
