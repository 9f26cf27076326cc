"""The message that brings a registered protocol amendment to a running subject workflow."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.actors import Actor
    from domain.protocol import Protocol
    from domain.signing import Seal
    from domain.site_calendar import local_midnight

__all__ = ["AMEND_PURPOSE", "AmendmentNotice"]

# What a gateway seal on the amend_protocol update covers, besides the notice and the workflow.
AMEND_PURPOSE = "subject.amend_protocol"


class AmendmentNotice(BaseModel):
    model_config = ConfigDict(frozen=True)

    protocol: Protocol
    effective_on: date
    # The PI who signed the amendment into force, and the gateway's seal on this notice.
    actor: Actor | None = None
    seal: Seal | None = None

    def effective_at(self, current: Protocol) -> datetime:
        """The site's midnight that starts the effective day."""
        return local_midnight(self.effective_on, current.calendar.timezone)
