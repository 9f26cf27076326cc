"""The site's time zone, in which the simulated staff keep their clinic hours."""

from __future__ import annotations

from datetime import tzinfo

from domain.protocol import load_protocol
from domain.site_calendar import zone

__all__ = ["SITE_ZONE"]

SITE_ZONE: tzinfo = zone(load_protocol().calendar.timezone)
