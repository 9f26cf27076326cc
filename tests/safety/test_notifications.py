"""The notify activity writes each alert once, however often it is retried."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.notifications import Notification, NotificationActivities, read_outbox
from activities.outbox_index import index_path

ALERT = Notification(
    notification_id="S-0001:sae.overdue:12",
    kind="sae.overdue",
    severity="urgent",
    subject_id="S-0001",
    message="SAE S-0001-AE-1: expedited report overdue",
    raised_at=datetime(2026, 3, 3, 9, tzinfo=UTC),
)


async def test_a_retried_notification_is_written_once(tmp_path: Path) -> None:
    outbox = tmp_path / "out" / "notifications.jsonl"
    activities = NotificationActivities(outbox)
    env = ActivityEnvironment()
    assert await env.run(activities.notify, ALERT) is True
    assert await env.run(activities.notify, ALERT) is False
    other = ALERT.model_copy(update={"notification_id": "S-0001:sae.overdue:13"})
    assert await env.run(activities.notify, other) is True
    assert read_outbox(outbox) == [ALERT, other]


def test_an_absent_outbox_reads_as_empty(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "none.jsonl") == []


def _numbered(number: int) -> Notification:
    return ALERT.model_copy(update={"notification_id": f"S-0001:sae.overdue:{number}"})


async def test_an_outbox_from_before_the_index_still_refuses_its_alerts_again(
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "notifications.jsonl"
    outbox.write_text("".join(_numbered(n).model_dump_json() + "\n" for n in range(50)))
    assert not index_path(outbox).exists()
    env = ActivityEnvironment()
    activities = NotificationActivities(outbox)

    assert await env.run(activities.notify, _numbered(7)) is False
    assert await env.run(activities.notify, _numbered(50)) is True
    assert len(read_outbox(outbox)) == 51


async def test_a_line_written_by_a_process_that_died_before_indexing_it_is_found(
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "notifications.jsonl"
    env = ActivityEnvironment()
    activities = NotificationActivities(outbox)
    assert await env.run(activities.notify, _numbered(1)) is True
    # Written, never indexed: the worker was killed between the two.
    with outbox.open("a", encoding="utf-8") as fh:
        fh.write(_numbered(2).model_dump_json() + "\n")

    assert await env.run(activities.notify, _numbered(2)) is False
    assert await env.run(activities.notify, _numbered(1)) is False
    assert [n.notification_id for n in read_outbox(outbox)] == [
        "S-0001:sae.overdue:1",
        "S-0001:sae.overdue:2",
    ]


async def test_a_replaced_outbox_is_indexed_afresh(tmp_path: Path) -> None:
    outbox = tmp_path / "notifications.jsonl"
    env = ActivityEnvironment()
    activities = NotificationActivities(outbox)
    for number in range(3):
        assert await env.run(activities.notify, _numbered(number)) is True
    # Rotated by an operator: only the second alert is kept.
    outbox.write_text(_numbered(1).model_dump_json() + "\n")

    assert await env.run(activities.notify, _numbered(1)) is False
    assert await env.run(activities.notify, _numbered(0)) is True
