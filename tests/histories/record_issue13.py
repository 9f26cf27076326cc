"""Record the histories of issue 13's steady deadline timers (``issue13-steady-timers``).

Run ``python -m tests.histories.record_issue13 [NAME...]``. A subject's deadline timer is
restarted only when its instant moves; these sit beside the older histories (recorded with a
fresh timer after every command), which are never re-recorded.
"""

from __future__ import annotations

import asyncio
import sys

from tests.histories.record import Scenario
from tests.histories.record_issue15 import record_table
from tests.histories.scenarios import full_life, withdrawal

# name(s), one per run, oldest first -> (subject, scenario, protocol version)
ISSUE13: dict[tuple[str, ...], tuple[str, Scenario, str]] = {
    ("subject_issue13_steady_timers_full_lifecycle.json",): ("S-HIST-STDY", full_life, "1.0"),
    ("subject_issue13_steady_timers_withdrawal.json",): ("S-HIST-STDW", withdrawal, "1.0"),
}


async def main(names: list[str]) -> None:
    await record_table(ISSUE13, names)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
