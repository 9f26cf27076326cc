"""`trial visit complete`: Day 0 without a response; follow-ups with the disease's measures."""

from __future__ import annotations

from datetime import date

from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from system.gateway import SubjectGateway
from tests.cli.test_cli_api import trial
from tests.web.live import LiveServer
from tests.workflows.harness import SubjectDriver


async def test_visits_are_completed_with_the_baseline_rule_and_the_activity_options(
    live_server: LiveServer,
    time_env: WorkflowEnvironment,
    task_queue: str,
    protocol: Protocol,
    subject_id: str,
) -> None:
    driver = SubjectDriver(
        time_env, SubjectGateway(time_env.client, task_queue, protocol), subject_id
    )
    infused_on = await driver.to_infusion("SLE")  # SLEDAI-2K 12 at screening

    async def on(day: date) -> list[str]:
        # Clinical time from the test server's clock, which runs ahead of the wall clock.
        return ["--completed-on", str(day), "--at", (await driver.now()).isoformat()]

    d0 = ["visit", "complete", subject_id, "D0", *await on(infused_on)]
    refused = await trial(live_server, "cora", *d0, "--response", "PR")
    # Refused by the domain (exit 1), naming the field; nothing recorded.
    assert refused.exit_code == 1, refused.output
    assert "response: D0 is the baseline" in refused.stderr
    done = await trial(live_server, "cora", *d0)
    assert done.exit_code == 0, done.output

    m1 = (await driver.state()).visit("M1")
    assert m1 is not None
    await driver.sleep_until(m1.target)
    visit = ["visit", "complete", subject_id, "M1", *await on(m1.target), "--response", "PR"]
    missing = await trial(live_server, "cora", *visit, "--glucocorticoid", "5")
    assert missing.exit_code == 1, missing.output
    assert "activity.sledai_2k: M1 needs the SLE activity measure" in missing.stderr
    recorded = await trial(
        live_server, "cora", *visit, "--sledai-2k", "4", "--glucocorticoid", "7.5", "--json"
    )
    assert recorded.exit_code == 0, recorded.output
    [assessment] = (await driver.state()).assessments
    assert assessment.glucocorticoid_mg_per_day == 7.5
    assert {r.name: r.met for r in assessment.responses}["LLDAS"] is True
