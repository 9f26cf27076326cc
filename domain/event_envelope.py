"""The sealed event: its envelope, the hash chain that links a stream's events, and reading stored
events back (upcasting older payload schemas); ``domain/events.py`` is its public face."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from domain.actors import Actor
from domain.canonical import (
    GENESIS_HASH,
    JCS_SCHEME,
    UnknownHashScheme,
    canonical_text,
    hash_envelope,
)
from domain.event_union import EventPayload
from domain.treatment_events import LymphodepletionPlanned

__all__ = [
    "ChainBreak",
    "Event",
    "NewEvent",
    "compute_hash",
    "current_plan",
    "parse_event",
    "seal",
    "verify_chain",
]


class NewEvent(BaseModel):
    """What ``decide`` returns: a fact not yet placed in a stream."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payload: EventPayload
    occurred_at: datetime
    reason: str | None = None


class Event(BaseModel):
    """A sealed event: envelope + payload, linked to its predecessor by SHA-256."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: str
    seq: int = Field(ge=1)
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    reason: str | None
    protocol_version: str
    payload: EventPayload
    prev_hash: str
    hash: str
    # The client's id of the command that produced the event (retries carry the same id).
    # Left out of the dump when None, so events written before it hash and read as they did.
    command_id: str | None = Field(default=None, exclude_if=lambda v: v is None)
    # Absent on events stored before RFC 8785 was adopted (the sort_keys scheme); left out of the
    # serialised envelope when absent, so those events hash and store exactly as they were.
    hash_scheme: str | None = Field(default=None, exclude_if=lambda scheme: scheme is None)

    def hash_input(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"hash"})

    def envelope_text(self) -> str:
        """The exact text stored for this event: its scheme's canonical JSON, ``hash`` included."""
        return canonical_text(self.model_dump(mode="json"), self.hash_scheme)


def compute_hash(event_fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the envelope without ``hash``, in its own scheme."""
    return hash_envelope(event_fields)


def seal(
    new_events: Sequence[NewEvent],
    *,
    stream: str,
    last_seq: int,
    last_hash: str,
    actor: Actor,
    recorded_at: datetime,
    protocol_version: str,
    command_id: str | None = None,
    hash_scheme: str | None = JCS_SCHEME,
) -> list[Event]:
    """Number and chain decided events after the stream's current head.

    New events hash under RFC 8785; ``hash_scheme=None`` (legacy) is for workflow code replaying
    histories recorded before it, which must reproduce the hashes they stored.
    """
    sealed: list[Event] = []
    prev = last_hash or GENESIS_HASH
    for offset, new in enumerate(new_events, start=1):
        fields: dict[str, Any] = {
            "stream": stream,
            "seq": last_seq + offset,
            "type": new.payload.type,
            "schema_version": new.payload.schema_version,
            "occurred_at": new.occurred_at,
            "recorded_at": recorded_at,
            "actor": actor,
            "reason": new.reason,
            "protocol_version": protocol_version,
            "payload": new.payload,
            "prev_hash": prev,
            "hash": "",
            "command_id": command_id,
            "hash_scheme": hash_scheme,
        }
        draft = Event.model_validate(fields)
        event = draft.model_copy(update={"hash": compute_hash(draft.hash_input())})
        sealed.append(event)
        prev = event.hash
    return sealed


def _plan_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """A version-1 plan's typed eGFR becomes an undated renal assessment; ``egfr`` stays."""
    renal = {"method": "typed_egfr", "value": payload["egfr"], "unit": "mL/min/1.73m2"}
    return {**payload, "schema_version": 2, "renal": renal}


def current_plan(plan: LymphodepletionPlanned) -> LymphodepletionPlanned:
    """The plan in its current schema, also when it reached the fold without ``parse_event``
    (a Temporal history holds events as they were written)."""
    if plan.schema_version >= 2:
        return plan
    return LymphodepletionPlanned.model_validate(_plan_v1_to_v2(plan.model_dump(mode="json")))


# Upcasters turn an older payload schema into the current one, keyed by (type, from_version).
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("lymphodepletion.planned", 1): _plan_v1_to_v2,
}

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: dict[str, Any]) -> Event:
    """Validate a stored event, upcasting older payload versions first.

    The hash always covers the payload as it was written, so verification must use the
    raw stored JSON, not this parsed (possibly upcast) value.
    """
    payload = dict(raw["payload"])
    while (key := (payload["type"], int(payload.get("schema_version", 1)))) in _UPCASTERS:
        payload = _UPCASTERS[key](payload)
    return _EVENT_ADAPTER.validate_python({**raw, "payload": payload})


class ChainBreak(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream: str
    seq: int
    problem: str


def verify_chain(stream: str, rows: Iterable[dict[str, Any]]) -> ChainBreak | None:
    """Check one stream's stored JSON rows in seq order; return the first break, if any.

    Rows are the raw stored envelopes (dicts), so a tampered field is hashed exactly as stored.
    """
    expected_seq = 1
    prev = GENESIS_HASH
    for row in rows:
        seq = int(row.get("seq", -1))
        if row.get("stream") != stream:
            return ChainBreak(stream=stream, seq=seq, problem=f"stream is {row.get('stream')!r}")
        if seq != expected_seq:
            what = "missing" if seq > expected_seq else "duplicate or out of order"
            return ChainBreak(
                stream=stream,
                seq=expected_seq,
                problem=f"seq gap: expected {expected_seq}, found {seq} ({what})",
            )
        if row.get("prev_hash") != prev:
            return ChainBreak(
                stream=stream,
                seq=seq,
                problem="prev_hash does not match the previous event's hash "
                "(an event was inserted, deleted or reordered)",
            )
        try:
            actual = compute_hash(row)
        except (UnknownHashScheme, ValueError) as exc:
            return ChainBreak(stream=stream, seq=seq, problem=f"cannot hash the envelope: {exc}")
        if row.get("hash") != actual:
            return ChainBreak(
                stream=stream,
                seq=seq,
                problem=f"hash mismatch: stored {str(row.get('hash'))[:12]}…, "
                f"recomputed {actual[:12]}… (payload or envelope changed)",
            )
        prev = actual
        expected_seq += 1
    return None
