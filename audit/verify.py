"""Prove the stored history unaltered: every hash, every chain link, every seq, every head."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from audit.source import raw_streams
from domain.events import verify_chain
from store.base import EventStore

__all__ = ["Finding", "VerifyReport", "verify_store"]


class Finding(BaseModel):
    """The first broken event of one stream."""

    model_config = ConfigDict(frozen=True)

    stream: str
    seq: int
    problem: str


class VerifyReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    streams_checked: int
    events_checked: int
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        return not self.findings


def _head_finding(store: EventStore, stream: str, rows: list[dict[str, Any]]) -> Finding | None:
    """Compare the stream's recorded head with its last stored event.

    A chain is self-consistent after its last events are deleted (or after a correctly forged
    event is appended), so only the head that ``append`` wrote in the same transaction can tell.
    """
    head = store.head(stream)
    last_seq = int(rows[-1]["seq"]) if rows else 0
    last_hash = str(rows[-1]["hash"]) if rows else ""
    if head is None:
        if not rows:
            return None
        return Finding(
            stream=stream,
            seq=1,
            problem="events are stored but stream_heads has no head for this stream "
            "(events inserted outside the store)",
        )
    if head.seq > last_seq:
        return Finding(
            stream=stream,
            seq=last_seq + 1,
            problem=f"stream_heads records seq {head.seq} but the last stored event is seq "
            f"{last_seq}: event(s) {last_seq + 1}..{head.seq} were deleted",
        )
    if head.seq < last_seq:
        return Finding(
            stream=stream,
            seq=head.seq + 1,
            problem=f"stream_heads records seq {head.seq} but events up to seq {last_seq} are "
            f"stored: event(s) {head.seq + 1}..{last_seq} were inserted",
        )
    if head.hash != last_hash:
        return Finding(
            stream=stream,
            seq=last_seq,
            problem=f"stream_heads hash {head.hash[:12]}… differs from the last event's hash "
            f"{last_hash[:12]}… (the last event was replaced)",
        )
    return None


def verify_store(store: EventStore, subject: str | None = None) -> VerifyReport:
    """Check one subject's stream, or every stream in the store, and report the first break each.

    Streams are found both in the events and in ``stream_heads``, so a stream whose events were
    all deleted is still reported.
    """
    findings: list[Finding] = []
    seen: set[str] = set()
    events = 0
    for stream, rows in raw_streams(store, subject):
        seen.add(stream)
        events += len(rows)
        broken = verify_chain(stream, rows)
        if broken is not None:
            findings.append(Finding(stream=stream, seq=broken.seq, problem=broken.problem))
            continue
        head_problem = _head_finding(store, stream, rows)
        if head_problem is not None:
            findings.append(head_problem)
    wanted = [subject] if subject is not None else store.streams()
    for stream in wanted:
        if stream not in seen:
            seen.add(stream)
            problem = _head_finding(store, stream, [])
            if problem is not None:
                findings.append(problem)
    return VerifyReport(
        streams_checked=len(seen),
        events_checked=events,
        findings=tuple(sorted(findings, key=lambda f: (f.stream, f.seq))),
    )
