"""Taking checkpoints, checking the store against one, and inclusion/consistency proofs.

Proof files are JSON a third party checks with ``tools/verify_proof.py`` (standard library only):

``jy231-inclusion-proof/1``::

    {"format": "jy231-inclusion-proof/1",
     "checkpoint": {<signed checkpoint>},
     "leaf_index": 12,                  # the event's log_index
     "event": {<the stored envelope, as JSON>},
     "audit_path": ["<hex>", ...]}      # RFC 9162 2.1.3 inclusion path, leaf side first

``jy231-consistency-proof/1``::

    {"format": "jy231-consistency-proof/1",
     "old": {<signed checkpoint>},
     "new": {<signed checkpoint>} or {"tree_size": n, "root": "<hex>"},
     "audit_path": ["<hex>", ...]}      # RFC 9162 2.1.4 consistency proof

The leaf of an event is SHA-256(0x00 || event hash), where the event hash is recomputed from the
envelope under its ``hash_scheme`` (absent: sorted-keys JSON; ``rfc8785-sha256``: RFC 8785).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import String, select, type_coerce

from audit.checkpoint import (
    Checkpoint,
    CheckpointLog,
    JournalEntry,
    Notary,
    SigningKey,
)
from audit.merkle import (
    MerkleError,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
)
from audit.verify import LOG, Finding, LogSnapshot, VerifyReport, verify_log
from store.base import EventStore
from store.log import log_store
from store.schema import events

__all__ = [
    "CONSISTENCY_FORMAT",
    "INCLUSION_FORMAT",
    "CheckpointRefused",
    "check_checkpoint",
    "consistency_document",
    "inclusion_document",
    "take_checkpoint",
]

INCLUSION_FORMAT = "jy231-inclusion-proof/1"
CONSISTENCY_FORMAT = "jy231-consistency-proof/1"

# How late an honest event may reach the store after it was sealed (the append activity retries
# while the store is down). An event beyond a checkpoint but recorded earlier than this before
# the checkpoint's time was not there when the checkpoint was taken: it was slipped in later.
DEFAULT_GRACE = timedelta(hours=1)


class CheckpointRefused(Exception):
    """The store does not verify (or no longer extends the last checkpoint): nothing is signed."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f"{f.stream} seq {f.seq}: {f.problem}" for f in findings))
        self.findings = findings


def take_checkpoint(
    store: EventStore,
    key: SigningKey,
    log: CheckpointLog,
    log_id: str,
    now: datetime,
    notaries: tuple[Notary, ...] = (),
) -> Checkpoint:
    """Verify the whole store, check it extends the last checkpoint, then sign and publish."""
    report, snapshot = verify_log(store)
    findings = list(report.findings)
    previous = log.latest()
    if previous is not None:
        findings += _against(previous, snapshot, log)
    if findings:
        raise CheckpointRefused(findings)
    checkpoint = key.sign(log_id, snapshot.size, root(snapshot.leaves), now)
    log.append(checkpoint, snapshot.leaves, snapshot.places)
    for notary in notaries:
        notary.publish(checkpoint)
    return checkpoint


def _against(checkpoint: Checkpoint, snapshot: LogSnapshot, log: CheckpointLog) -> list[Finding]:
    """Where the store's log stops extending ``checkpoint``, named through the leaf journal."""
    size = checkpoint.tree_size
    if snapshot.size >= size and root(snapshot.leaves, size).hex() == checkpoint.root:
        return []
    when = f"checkpoint of {checkpoint.time} (size {size})"
    journal = [e for e in log.journal() if e.index < size]
    if len(journal) < size or root([bytes.fromhex(e.leaf) for e in journal]).hex() != (
        checkpoint.root
    ):
        return [
            Finding(
                stream=LOG,
                seq=0,
                problem=f"the store's first {size} events no longer hash to the root of the "
                f"{when}; no matching leaf journal to name the first differing position",
            )
        ]
    for entry in journal:
        problem = _differs(entry, snapshot, when)
        if problem is not None:
            return [problem]
    return []  # pragma: no cover (the roots differ, so some leaf does)


def _differs(entry: JournalEntry, snapshot: LogSnapshot, when: str) -> Finding | None:
    index = entry.index
    if index >= snapshot.size:
        return Finding(
            stream=entry.stream,
            seq=entry.seq,
            position=index,
            problem=f"log position {index}: the {when} holds {entry.stream} seq {entry.seq}, "
            f"the store ends at position {snapshot.size - 1}: the event was deleted "
            "(the log was truncated)",
        )
    if snapshot.leaves[index].hex() == entry.leaf:
        return None
    stream, seq = snapshot.places[index]
    if (stream, seq) == (entry.stream, entry.seq):
        what = "with different content: the event was rewritten"
    else:
        what = (
            f"but the store now has {stream} seq {seq} there: events before it were deleted, "
            "inserted or reordered"
        )
    return Finding(
        stream=entry.stream,
        seq=entry.seq,
        position=index,
        problem=f"log position {index}: the {when} holds {entry.stream} seq {entry.seq} "
        f"(leaf {entry.leaf[:12]}…) {what}",
    )


def _backdated(store: EventStore, checkpoint: Checkpoint, grace: timedelta) -> list[Finding]:
    """Events beyond the checkpoint although recorded well before it was taken."""
    cutoff = datetime.fromisoformat(checkpoint.time) - grace
    engine = log_store(store).engine
    recorded: Any = events.c.recorded_at
    if engine.dialect.name == "sqlite":
        recorded = type_coerce(events.c.recorded_at, String)
        bound: Any = cutoff.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    else:
        bound = cutoff
    query = (
        select(events.c.stream, events.c.seq, events.c.log_index, events.c.recorded_at)
        .where(events.c.log_index >= checkpoint.tree_size, recorded < bound)
        .order_by(events.c.log_index)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Finding(
            stream=stream,
            seq=seq,
            position=index,
            problem=f"log position {index}: recorded at {at} but not covered by the checkpoint "
            f"of {checkpoint.time} (size {checkpoint.tree_size}): appended afterwards with a "
            "back-dated record time",
        )
        for stream, seq, index, at in rows
    ]


def check_checkpoint(
    store: EventStore,
    checkpoint: Checkpoint,
    public: Ed25519PublicKey,
    log: CheckpointLog,
    grace: timedelta = DEFAULT_GRACE,
) -> tuple[VerifyReport, dict[str, Any] | None]:
    """verify + prove that today's store is an append-only extension of ``checkpoint``.

    Returns the report (with any finding about the checkpoint added) and, when the store does
    extend it, the consistency proof document.
    """
    report, snapshot = verify_log(store)
    extra: list[Finding] = []
    bad_signature = checkpoint.verify_signature(public)
    if bad_signature is not None:
        extra.append(Finding(stream=LOG, seq=0, problem=bad_signature))
    document: dict[str, Any] | None = None
    if bad_signature is None:
        extra += _against(checkpoint, snapshot, log)
        if not extra:
            document = consistency_document(checkpoint, snapshot, log)
            extra += _backdated(store, checkpoint, grace)
    merged = tuple(sorted([*report.findings, *extra], key=lambda f: (f.stream, f.seq)))
    return report.model_copy(update={"findings": merged}), document


def consistency_document(
    checkpoint: Checkpoint, snapshot: LogSnapshot, log: CheckpointLog
) -> dict[str, Any]:
    size = snapshot.size
    new_root = root(snapshot.leaves)
    path = consistency_proof(snapshot.leaves, checkpoint.tree_size, size)
    old_root = bytes.fromhex(checkpoint.root)
    try:
        verify_consistency(checkpoint.tree_size, size, old_root, new_root, path)
    except MerkleError as exc:  # pragma: no cover (the roots were compared just before)
        raise AssertionError(f"consistency proof does not verify: {exc}") from exc
    latest = log.latest()
    new: dict[str, Any] = {"tree_size": size, "root": new_root.hex()}
    if latest is not None and latest.tree_size == size and latest.root == new_root.hex():
        new = latest.model_dump()
    return {
        "format": CONSISTENCY_FORMAT,
        "old": checkpoint.model_dump(),
        "new": new,
        "audit_path": [p.hex() for p in path],
    }


def inclusion_document(
    store: EventStore, checkpoint: Checkpoint, stream: str, seq: int
) -> dict[str, Any]:
    """An inclusion proof of one event against ``checkpoint``; raises ``LookupError``."""
    log = log_store(store)
    index = log.index_of(stream, seq)
    if index is None:
        raise LookupError(f"no event {stream} seq {seq} in the log")
    if index >= checkpoint.tree_size:
        raise LookupError(
            f"{stream} seq {seq} is at log position {index}, after the latest checkpoint "
            f"(size {checkpoint.tree_size}); take a checkpoint first (trial audit checkpoint)"
        )
    _, snapshot = verify_log(store)
    if root(snapshot.leaves, checkpoint.tree_size).hex() != checkpoint.root:
        raise LookupError(
            "the store no longer matches the checkpoint (run trial audit verify --checkpoint)"
        )
    envelope = next(r.envelope for r in log.stream_rows(stream) if r.seq == seq)
    return {
        "format": INCLUSION_FORMAT,
        "checkpoint": checkpoint.model_dump(),
        "leaf_index": index,
        "event": json.loads(envelope),
        "audit_path": [
            p.hex() for p in inclusion_proof(snapshot.leaves, index, checkpoint.tree_size)
        ],
    }
