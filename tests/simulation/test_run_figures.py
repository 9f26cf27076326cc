"""What a long simulation reports about itself: progress lines, CPU, and the cache it needs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from domain import commands as c
from domain.protocol import Protocol
from domain.schedule import visit_schedule
from simulation.agenda import peak_open
from simulation.cohort import plan_cohort
from simulation.cpu import children_cpu_seconds, process_cpu_seconds
from simulation.plan import SubjectPlan
from simulation.progress import ProgressLog

AT = datetime(2027, 3, 1, 9, tzinfo=UTC)


def test_progress_log_writes_at_most_one_line_per_interval_and_always_the_last() -> None:
    now = [0.0]
    lines: list[str] = []
    log = ProgressLog(10, lines.append, clock=lambda: now[0])
    for done, at in ((1, 1.0), (2, 5.0), (3, 11.0), (4, 12.0), (5, 13.0)):
        now[0] = at
        log(done, 5, AT)
    assert len(lines) == 2
    assert "commands 3/5 (60%)" in lines[0]
    assert "protocol day 2027-03-01" in lines[0]
    assert "commands 5/5 (100%)" in lines[1]


def _open_between(plan: SubjectPlan, opens: datetime, days: int) -> SubjectPlan:
    moved = tuple(replace(action, at=opens) for action in plan.actions)
    return replace(plan, actions=moved, settles_by=opens + timedelta(days=days))


def test_peak_open_counts_subjects_whose_workflows_overlap(protocol: Protocol) -> None:
    first, second, third = plan_cohort(3, seed=1, first_day=AT.date(), protocol=protocol)
    plans = [
        _open_between(first, AT, 10),
        _open_between(second, AT + timedelta(days=5), 10),
        _open_between(third, AT + timedelta(days=20), 10),
    ]
    assert peak_open(plans) == 2
    assert peak_open([]) == 0


def test_a_large_cohort_keeps_fewer_subjects_open_than_it_has(protocol: Protocol) -> None:
    plans = plan_cohort(200, seed=1, first_day=AT.date(), protocol=protocol, prefix="P")
    assert 0 < peak_open(plans) < 200


def test_cpu_of_a_named_child_is_counted_and_an_absent_one_is_none() -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    child = subprocess.Popen([sys.executable, "-c", burn + "time.sleep(60)"])
    try:
        # The kernel names a process after the file it executes, cut to 15 bytes.
        name = Path(sys.executable).name[:15]
        deadline = time.monotonic() + 30
        while (children_cpu_seconds(name) or 0.0) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (children_cpu_seconds(name) or 0.0) >= 0.25
    finally:
        child.kill()
        child.wait()
    assert children_cpu_seconds("no-such-process") is None
    assert process_cpu_seconds() > 0


@pytest.mark.slow
def test_a_cohort_split_over_several_test_servers_ends_as_planned_in_one_store(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    split = ["--subjects", "6", "--seed", "3", "--subjects-per-server", "2"]
    result = CliRunner().invoke(app, ["simulate", *split, "--json", "--store-url", url])
    report = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert report["ok"] is True
    assert report["streams_verified"] == report["subjects"] == 6
    assert report["store_events"] == report["events_written"] > 0


def test_nobody_is_planned_to_withdraw_after_the_visit_that_completes_them(
    protocol: Protocol,
) -> None:
    # Seed 1 at 1,000 subjects drew the final visit as the cut for four subjects, who then
    # completed two days before their withdrawal was sent.
    final = visit_schedule(AT.date(), protocol)[-1].code
    plans = plan_cohort(1000, seed=1, first_day=AT.date(), protocol=protocol)
    withdrawing = [p for p in plans if p.scenario == "withdraws"]
    assert withdrawing
    for plan in withdrawing:
        visits = [a.command.code for a in plan.actions if isinstance(a.command, c.CompleteVisit)]
        assert final not in visits, plan.subject_id
