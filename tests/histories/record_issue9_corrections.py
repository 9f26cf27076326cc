"""Record the history of the corrections added by ``issue9-more-corrections``.

Run ``python -m tests.histories.record_issue9_corrections``.

``subject_issue9_more_corrections.json``: the registered disease corrected (and back), the
lymphodepletion plan's height, the infused TU/kg and an adverse event's term corrected, and a
correction of the AE's onset into the future refused. It sits beside the older histories, which
are never re-recorded; the replay guard replays it.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.errors import ValueOutOfRange
from store.sql import SqlEventStore
from tests.histories.record import HERE
from tests.histories.record_issue15 import _runs
from tests.workflows.harness import INVESTIGATOR, SubjectDriver

NAME = "subject_issue9_more_corrections.json"


async def _correct(driver: SubjectDriver, seq: int, field: str, value: object) -> None:
    await driver.send(
        INVESTIGATOR,
        c.RecordCorrection(
            occurred_at=await driver.now(),
            target_seq=seq,
            field=field,
            new_value=value,
            reason="source document verification",
        ),
    )


async def more_corrections(driver: SubjectDriver) -> None:
    await driver.register("SLE")
    await driver.consent()
    await _correct(driver, 1, "disease", "SS")
    await _correct(driver, 1, "disease", "SLE")
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    await driver.product()
    infusion_date = await driver.lymphodepletion()
    plan_seq = (await driver.state()).ld_plan_seq
    assert plan_seq is not None
    await _correct(driver, plan_seq, "height_cm", 166)
    await driver.give_ld_doses()
    infused = await driver.infuse(infusion_date)
    [infusion] = [e.seq for e in infused.events if e.type == "infusion.recorded"]
    await _correct(driver, infusion, "tu_per_kg", 5.5e6)
    recorded = await driver.send(
        INVESTIGATOR,
        c.RecordAdverseEvent(
            occurred_at=await driver.now(),
            term="Nausea",
            grade=1,
            onset_on=await driver.today(),
            related_to_jy231="unlikely",
            related_to_lymphodepletion="possible",
        ),
    )
    [ae] = [e.seq for e in recorded.events if e.type == "ae.recorded"]
    await _correct(driver, ae, "term", "Vomiting")
    try:
        await _correct(driver, ae, "onset_on", "2999-01-01")
    except ValueOutOfRange:
        pass
    else:
        raise AssertionError("an onset in the future was accepted")


async def main() -> None:
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=pydantic_data_converter
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlEventStore(f"sqlite:///{Path(tmp) / 'events.db'}")
            [history] = await _runs(env, store, "S-HIST-CORR", more_corrections, "1.0")
            (HERE / NAME).write_text(history.to_json() + "\n", encoding="utf-8")
            print(f"wrote {NAME}")
            store.close()
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
