"""Prove the stored history unaltered: every hash, link, seq, indexed column, head and the log.

The whole store is read once in Merkle-log order (``log_index``): each event's hash is recomputed
under its scheme, linked to its stream's previous event, compared with its indexed columns, and
becomes a leaf of the log whose root a signed checkpoint can pin (audit/checkpoint.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from audit.merkle import root
from audit.scan import StreamScan
from store.base import EventStore, StreamHead
from store.log import LogStore, log_store

__all__ = ["LOG", "Finding", "LogSnapshot", "VerifyReport", "verify_log", "verify_store"]


LOG = "(log)"


class Finding(BaseModel):
    """The first broken event of one stream, or (stream ``(log)``) a place in the Merkle log.

    ``position`` is the event's place in the log (its ``log_index``) where known.
    """

    model_config = ConfigDict(frozen=True)

    stream: str
    seq: int
    problem: str
    position: int | None = None


class VerifyReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    streams_checked: int
    events_checked: int
    findings: tuple[Finding, ...]
    # The Merkle log over every event in log order (absent for a one-subject check).
    tree_size: int | None = None
    root: str | None = None

    @property
    def clean(self) -> bool:
        return not self.findings


@dataclass
class LogSnapshot:
    """The log's leaf hashes as the store holds them now, and which event each one is."""

    leaves: list[bytes] = field(default_factory=list)
    places: list[tuple[str, int]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.leaves)


def _head_problem(head: StreamHead | None, last: tuple[int, str] | None) -> tuple[int, str] | None:
    """Compare the stream's recorded head with its last stored event.

    A chain is self-consistent after its last events are deleted (or after a correctly forged
    event is appended), so only the head that ``append`` wrote in the same transaction can tell.
    """
    last_seq, last_hash = last if last is not None else (0, "")
    if head is None:
        if last is None:
            return None
        return 1, (
            "events are stored but stream_heads has no head for this stream "
            "(events inserted outside the store)"
        )
    if head.seq > last_seq:
        return last_seq + 1, (
            f"stream_heads records seq {head.seq} but the last stored event is seq "
            f"{last_seq}: event(s) {last_seq + 1}..{head.seq} were deleted"
        )
    if head.seq < last_seq:
        return head.seq + 1, (
            f"stream_heads records seq {head.seq} but events up to seq {last_seq} are "
            f"stored: event(s) {head.seq + 1}..{last_seq} were inserted"
        )
    if head.hash != last_hash:
        return last_seq, (
            f"stream_heads hash {head.hash[:12]}… differs from the last event's hash "
            f"{last_hash[:12]}… (the last event was replaced)"
        )
    return None


def _finish(scan: StreamScan, heads: dict[str, StreamHead], streams: set[str]) -> list[Finding]:
    for stream in sorted(streams | heads.keys()):
        if stream in scan.problems:
            continue
        tail = scan.tails.get(stream)
        problem = _head_problem(heads.get(stream), tail)
        if problem is not None:
            scan.report(stream, *problem)
    findings = [
        Finding(stream=p.stream, seq=p.seq, problem=p.problem)
        for p in sorted(scan.problems.values(), key=lambda p: (p.stream, p.seq))
    ]
    findings += [
        Finding(
            stream=LOG,
            seq=0,
            position=first,
            problem=f"log positions {first}..{last} are missing: {last - first + 1} event(s) "
            "were deleted from the Merkle log",
        )
        for first, last in scan.log_gaps
    ]
    return findings


def verify_log(store: EventStore, batch_size: int = 20_000) -> tuple[VerifyReport, LogSnapshot]:
    """Check every stream and the log itself; also return the log's leaves for proofs."""
    log = log_store(store)
    scan = StreamScan()
    expected: int | None = 0
    for page in log.raw_pages(batch_size):
        expected = scan.scan(page, expected)
    streams = set(scan.tails) | set(scan.problems)
    unlogged = log.unlogged()
    for row in unlogged:
        streams.add(row.stream)
        scan.report(
            row.stream,
            row.seq,
            "event has no log_index: it was inserted outside the store and is not in the "
            "Merkle log",
        )
    heads = log.heads()
    findings = _finish(scan, heads, streams)
    snapshot = LogSnapshot(leaves=scan.leaves, places=scan.places)
    report = VerifyReport(
        streams_checked=len(streams | heads.keys()),
        events_checked=scan.events + len(unlogged),
        findings=tuple(findings),
        tree_size=snapshot.size,
        root=root(snapshot.leaves).hex(),
    )
    return report, snapshot


def _verify_subject(log: LogStore, subject: str) -> VerifyReport:
    rows = log.stream_rows(subject)
    scan = StreamScan(with_leaves=False)
    scan.scan(rows)
    heads = log.heads()
    findings = _finish(scan, {k: v for k, v in heads.items() if k == subject}, {subject})
    return VerifyReport(
        streams_checked=1 if rows or subject in heads else 0,
        events_checked=len(rows),
        findings=tuple(findings),
    )


def verify_store(store: EventStore, subject: str | None = None) -> VerifyReport:
    """Check one subject's stream, or every stream and the log, and report the first break each.

    Streams are found both in the events and in ``stream_heads``, so a stream whose events were
    all deleted is still reported.
    """
    if subject is not None:
        return _verify_subject(log_store(store), subject)
    return verify_log(store)[0]
