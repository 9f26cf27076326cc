"""`trial label` and `trial custody` against the live web app on the real worker."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from system.gateway import SubjectGateway
from tests.cli.test_cli_api import trial
from tests.web.live import LiveServer
from tests.workflows.custody_driver import to_site
from tests.workflows.harness import SubjectDriver


async def stored(
    env: WorkflowEnvironment, task_queue: str, protocol: Protocol, subject_id: str
) -> tuple[SubjectDriver, str]:
    driver = SubjectDriver(env, SubjectGateway(env.client, task_queue, protocol), subject_id)
    await driver.register("SLE")
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    return driver, await to_site(driver)


async def test_label_log_and_board_from_the_cli(
    live_server: LiveServer,
    time_env: WorkflowEnvironment,
    task_queue: str,
    protocol: Protocol,
    subject_id: str,
    tmp_path: Path,
) -> None:
    driver, product = await stored(time_env, task_queue, protocol, subject_id)

    png = tmp_path / "unit.png"
    result = await trial(
        live_server, "cora", "label", subject_id, "--unit", product, "-o", str(png)
    )
    assert result.exit_code == 0, result.output
    assert png.read_bytes().startswith(b"\x89PNG")

    board = await trial(live_server, "mona", "custody", "board", "--json")
    assert board.exit_code == 0, board.output
    assert [i["unit_id"] for i in json.loads(board.stdout) if i["subject_id"] == subject_id] == [
        product
    ]

    at = (await driver.now() - timedelta(minutes=20)).isoformat()
    bad = tmp_path / "bad.csv"
    bad.write_text("when,degrees\n" + f"{at},-180\n")
    refused = await trial(live_server, "cora", "custody", "log", subject_id, product, str(bad),
                          "--logger", "DS-1")  # fmt: skip
    assert refused.exit_code == 2, refused.output
    assert "time column" in refused.stderr

    log = tmp_path / "logger.csv"
    log.write_text("timestamp,celsius\n" + f"{at},-182\n{at},-120\n")
    excursion = await trial(live_server, "cora", "custody", "log", subject_id, product, str(log),
                            "--logger", "DS-1")  # fmt: skip
    assert excursion.exit_code == 1, excursion.output
    assert "EXCURSION" in excursion.stdout
    unit = (await driver.state()).custody.unit(product)
    assert unit is not None and unit.quarantined
