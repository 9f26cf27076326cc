"""Record the history of issue 12's response rule (``issue12-response``).

Run ``python -m tests.histories.record_issue12_response``.

``subject_issue12_response_lifecycle.json``: under protocol 1.0 with its ``[response]`` section,
Day 0 is completed without a response and every later visit with the SLE activity measure and
the glucocorticoid dose. It sits beside the older histories, which are never re-recorded.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from tests.histories.record import HERE
from tests.histories.record_issue15 import _runs
from tests.histories.scenarios import full_life

NAME = "subject_issue12_response_lifecycle.json"


async def main() -> None:
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=pydantic_data_converter
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlEventStore(f"sqlite:///{Path(tmp) / 'events.db'}")
            [history] = await _runs(env, store, "S-HIST-RESP", full_life, "1.0")
            (HERE / NAME).write_text(history.to_json() + "\n", encoding="utf-8")
            print(f"wrote {NAME}")
            store.close()
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
