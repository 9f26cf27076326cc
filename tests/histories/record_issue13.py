"""Record the histories of issue 13's steady deadline timers (``issue13-steady-timers``).

Run ``python -m tests.histories.record_issue13 [NAME...]``. A subject's deadline timer is
restarted only when its instant moves; these sit beside the older histories (recorded with a
fresh timer after every command), which are never re-recorded.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from tests.histories.record import HERE, Scenario
from tests.histories.record_issue15 import _runs
from tests.histories.scenarios import full_life, withdrawal

# name(s), one per run, oldest first -> (subject, scenario, protocol version)
ISSUE13: dict[tuple[str, ...], tuple[str, Scenario, str]] = {
    ("subject_issue13_steady_timers_full_lifecycle.json",): ("S-HIST-STDY", full_life, "1.0"),
    ("subject_issue13_steady_timers_withdrawal.json",): ("S-HIST-STDW", withdrawal, "1.0"),
}


async def main(names: list[str]) -> None:
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=pydantic_data_converter
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlEventStore(f"sqlite:///{Path(tmp) / 'events.db'}")
            for files, (subject, scenario, version) in ISSUE13.items():
                if names and not set(files) & set(names):
                    continue
                runs = await _runs(env, store, subject, scenario, version)
                for name, history in zip(files, runs, strict=False):
                    (HERE / name).write_text(history.to_json() + "\n", encoding="utf-8")
                    print(f"wrote {name}")
            store.close()
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
