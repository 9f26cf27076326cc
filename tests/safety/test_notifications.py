"""The notify activity writes each alert once, however often it is retried."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.notifications import Notification, NotificationActivities, read_outbox

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
