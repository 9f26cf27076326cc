"""The safety alerts the workers wrote to the notification outbox, for staff to read."""

from __future__ import annotations

from pathlib import Path

from activities.notifications import Notification, read_outbox

__all__ = ["newest_first"]


def newest_first(outbox: Path) -> list[Notification]:
    """Newest raised first; alerts raised at the same moment keep the reverse of file order."""
    alerts = list(enumerate(read_outbox(outbox)))
    alerts.sort(key=lambda pair: (pair[1].raised_at, pair[0]), reverse=True)
    return [alert for _, alert in alerts]
