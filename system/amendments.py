"""Registering a protocol amendment and bringing it to every running subject.

The trial's protocol stream (``protocol-<trial id>``) holds one ``protocol.amendment_registered``
event per amendment the PI signed, with the file's text and SHA-256. Each running subject
workflow is then told (update ``amend_protocol``); it moves onto the new version on its
effective day at its next safe point, as a ``protocol.amended`` event of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime

import structlog
from pydantic import ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from domain.actors import Actor, Role
from domain.amendment_events import ProtocolAmendmentRegistered
from domain.errors import RoleNotAllowed, ValueOutOfRange, WrongPhase
from domain.events import NewEvent, seal
from domain.protocol import Protocol, parse_protocol
from store.base import EventStore
from system.signing import SubmissionSigner, default_signer
from workflows.amendment import AMEND_PURPOSE, AmendmentNotice
from workflows.subject import SubjectWorkflow, workflow_id_for

__all__ = ["AmendmentFanout", "AmendmentRegistry", "notify_subjects", "protocol_stream"]

log = structlog.get_logger(__name__)


def protocol_stream(protocol: Protocol) -> str:
    return f"protocol-{protocol.protocol.id}"


def _parse(text: str) -> Protocol:
    try:
        return parse_protocol(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueOutOfRange(f"the protocol file is not valid TOML: {exc}", field="file") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueOutOfRange(f"protocol file, {where}: {first['msg']}", field="file") from exc


class AmendmentRegistry:
    """The trial's signed protocol versions, in its own stream of the event store."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def registered(self, current: Protocol) -> list[ProtocolAmendmentRegistered]:
        events = self.store.read_stream(protocol_stream(current))
        return [e.payload for e in events if isinstance(e.payload, ProtocolAmendmentRegistered)]

    def register(
        self, text: str, effective_on: date, actor: Actor, now: datetime, current: Protocol
    ) -> tuple[Protocol, ProtocolAmendmentRegistered]:
        """Record the PI's signature on a new protocol version; nothing is recorded if refused."""
        if actor.role is not Role.PI:
            raise RoleNotAllowed("only the PI signs a protocol amendment into force")
        new = _parse(text)
        if new.amendment is None:
            raise ValueOutOfRange(
                "the protocol file has no [amendment] section (number, previous_version, summary)",
                field="file",
            )
        if new.protocol.id != current.protocol.id:
            raise ValueOutOfRange(
                f"the file is protocol {new.protocol.id}, not {current.protocol.id}", field="file"
            )
        known = [r.version for r in self.registered(current)]
        if new.version == current.version or new.version in known:
            raise WrongPhase(f"protocol version {new.version} is already registered", field="file")
        latest = known[-1] if known else current.version
        if new.amendment.previous_version != latest:
            raise ValueOutOfRange(
                f"the amendment follows version {new.amendment.previous_version}, but the "
                f"version in force is {latest}",
                field="file",
            )
        if effective_on < now.date():
            raise ValueOutOfRange("effective_on is in the past", field="effective_on")
        payload = ProtocolAmendmentRegistered(
            version=new.version,
            previous_version=new.amendment.previous_version,
            number=new.amendment.number,
            summary=new.amendment.summary,
            effective_on=effective_on,
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            toml=text,
        )
        stream = protocol_stream(current)
        head = self.store.head(stream)
        sealed = seal(
            [NewEvent(payload=payload, occurred_at=now)],
            stream=stream,
            last_seq=head.seq if head else 0,
            last_hash=head.hash if head else "",
            actor=actor,
            recorded_at=now,
            protocol_version=new.version,
        )
        self.store.append(sealed)
        log.info("protocol amendment registered", version=new.version, effective_on=effective_on)
        return new, payload

    def in_force(self, current: Protocol, today: date) -> Protocol:
        """The latest registered version effective by ``today``; ``current`` if none is."""
        chosen = current
        for registered in self.registered(current):
            if registered.effective_on <= today:
                chosen = parse_protocol(registered.toml)
        return chosen


@dataclass
class AmendmentFanout:
    notified: list[str] = field(default_factory=list)
    # subject id -> why it was not told (ended, already amended, unreachable)
    skipped: dict[str, str] = field(default_factory=dict)


async def notify_subjects(
    client: Client,
    store: EventStore,
    notice: AmendmentNotice,
    signer: SubmissionSigner | None = None,
) -> AmendmentFanout:
    """Tell every subject still in the study; each applies it on its own day and safe point.

    Each notice is sealed for its subject's workflow, as every update from a gateway is.
    """
    out = AmendmentFanout()
    rows = await asyncio.to_thread(store.board)
    for row in rows:
        if row.phase.is_terminal:
            out.skipped[row.subject_id] = "participation has ended"
            continue
        handle = client.get_workflow_handle_for(
            SubjectWorkflow.run, workflow_id_for(row.subject_id)
        )
        try:
            sealed = await (signer or default_signer()).seal(
                notice, purpose=AMEND_PURPOSE, target=workflow_id_for(row.subject_id)
            )
            await handle.execute_update(SubjectWorkflow.amend_protocol, sealed)
        except WorkflowUpdateFailedError as exc:
            out.skipped[row.subject_id] = str(exc.cause or exc)
            continue
        except RPCError as exc:
            out.skipped[row.subject_id] = exc.message
            continue
        out.notified.append(row.subject_id)
    return out
