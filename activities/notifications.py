"""The notify activity: alerts to the site, logged and kept in a JSONL outbox.

The outbox is a file, not a store table, so notifications never contend with event appends and
any mailer or pager bridge can tail it. Each line carries a notification id chosen by the
workflow from the event it reports, so a retried activity (or a replayed workflow) finds its
line already written and adds nothing. The ids are looked up in an index beside the outbox
(``activities.outbox_index``), not by re-reading the whole file for every alert.
"""

from __future__ import annotations

import asyncio
import fcntl
from pathlib import Path

import structlog
from temporalio import activity

from activities.outbox_index import OutboxIndex
from domain.alerts import Notification

__all__ = ["Notification", "NotificationActivities", "append_once", "read_outbox"]

log = structlog.get_logger(__name__)


def read_outbox(path: Path) -> list[Notification]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Notification.model_validate_json(line) for line in lines if line.strip()]


def append_once(path: Path, notification: Notification) -> bool:
    """Append unless the id is already there; an exclusive lock makes check-and-append atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        index = OutboxIndex(path)
        try:
            index.catch_up(fh)
            if index.holds(notification.notification_id):
                return False
            fh.write((notification.model_dump_json() + "\n").encode("utf-8"))
            fh.flush()
            # Indexed after the line is out: a crash in between is caught up on the next call.
            index.add(notification.notification_id, fh.tell())
            return True
        finally:
            index.close()
            fcntl.flock(fh, fcntl.LOCK_UN)


class NotificationActivities:
    """Bound to one outbox file (the worker's composition root picks it)."""

    def __init__(self, outbox: Path) -> None:
        self._outbox = outbox

    @activity.defn(name="notify")
    async def notify(self, notification: Notification) -> bool:
        """Write the alert; True when new, False when this id was already sent."""
        written = await asyncio.to_thread(append_once, self._outbox, notification)
        if written:
            log.warning(
                "notification",
                notification_id=notification.notification_id,
                kind=notification.kind,
                severity=notification.severity,
                subject_id=notification.subject_id,
                message=notification.message,
                recipients=list(notification.recipients),
            )
        return written
