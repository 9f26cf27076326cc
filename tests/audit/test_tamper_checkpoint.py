"""The ten ways of rewriting history from the issue, each against a checkpoint taken before.

Every case is done in SQL, straight on the tables, on SQLite and PostgreSQL; each must be
detected with a finding that names the stream and seq (and, where the log itself changed, the
log position) and says what is wrong. An honest store grown since the checkpoint stays clean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.checkpoint import Checkpoint, CheckpointLog, SigningKey
from audit.proofs import CheckpointRefused, check_checkpoint, take_checkpoint
from audit.verify import Finding, VerifyReport
from store.sql import SqlEventStore
from tests.audit.tamper import (
    append_forged_with_head,
    delete_last_fixing_head,
    delete_stream,
    grow,
    remove,
    rewrite,
    rewrite_consistently,
    set_column,
    swap,
)


@dataclass
class Audit:
    store: SqlEventStore
    key: SigningKey
    log: CheckpointLog
    checkpoint: Checkpoint

    def check(self) -> VerifyReport:
        return check_checkpoint(self.store, self.checkpoint, self.key.public, self.log)[0]


@pytest.fixture
def audited(audit_store: SqlEventStore, tmp_path: Path) -> Audit:
    key = SigningKey(Ed25519PrivateKey.generate())
    log = CheckpointLog(tmp_path / "checkpoints")
    checkpoint = take_checkpoint(audit_store, key, log, "test-log", datetime.now(UTC))
    return Audit(audit_store, key, log, checkpoint)


def _named(report: VerifyReport, stream: str, seq: int, *words: str) -> Finding:
    """The finding naming ``stream`` seq ``seq`` whose message holds every word."""
    assert not report.clean
    for finding in report.findings:
        if (finding.stream, finding.seq) == (stream, seq) and all(
            w in finding.problem for w in words
        ):
            return finding
    raise AssertionError(f"no finding for {stream} seq {seq} with {words}: {report.findings}")


def test_an_untampered_store_grown_since_the_checkpoint_verifies_clean(audited: Audit) -> None:
    grow(audited.store)

    report = audited.check()

    assert report.clean, report.findings
    assert report.tree_size == audited.checkpoint.tree_size + 4


def test_1_a_changed_payload(audited: Audit) -> None:
    rewrite(audited.store, "S-001", 6, lambda e: e["payload"].update(volume_ml=300.0))

    report = audited.check()

    _named(report, "S-001", 6, "hash mismatch")
    assert _named(report, "S-001", 6, "log position 5", "rewritten").position == 5


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor_id", "mallory"),
        ("type", "consent.withdrawn"),
        ("occurred_at", datetime(2020, 1, 1, tzinfo=UTC)),
        ("recorded_at", datetime(2020, 1, 1, tzinfo=UTC)),
    ],
)
def test_2_to_5_an_indexed_column_changed_alone(audited: Audit, column: str, value: object) -> None:
    set_column(audited.store, "S-001", 5, **{column: value})

    _named(audited.check(), "S-001", 5, f"indexed column {column}", "changed by SQL")


def test_6_the_last_event_deleted_and_the_head_moved_back(audited: Audit) -> None:
    grow(audited.store)
    seq = delete_last_fixing_head(audited.store, "S-001")

    found = _named(audited.check(), "S-001", seq, "log position 18", "deleted")

    assert found.position == 18


def test_6b_a_stream_s_last_event_deleted_mid_log_with_the_head_moved_back(
    audited: Audit,
) -> None:
    seq = delete_last_fixing_head(audited.store, "S-002")

    report = audited.check()

    _named(report, "S-002", seq, "log position 17", "S-001 seq 10 there")


def test_7_the_last_event_deleted_with_the_head_left_alone(audited: Audit) -> None:
    remove(audited.store, "S-002", 9)

    _named(audited.check(), "S-002", 9, "stream_heads records seq 9", "deleted")


def test_8_a_whole_stream_deleted_with_its_head_and_board_row(audited: Audit) -> None:
    delete_stream(audited.store, "S-002")

    assert _named(audited.check(), "S-002", 1, "log position 9").position == 9


def test_9_two_events_swapped(audited: Audit) -> None:
    swap(audited.store, "S-002", 5, 6)

    # Only the seq columns moved: each envelope (and so each leaf) kept its log slot, and the
    # stream check sees the order break.
    _named(audited.check(), "S-002", 5, "seq gap: expected 5, found 6")


def test_10_an_edit_with_every_later_hash_and_the_head_recomputed(audited: Audit) -> None:
    rewrite_consistently(audited.store, "S-001", 3, lambda e: e["payload"].update(eligible=False))

    report = audited.check()

    # The stream's own chain and head are perfect now; only the checkpoint can tell.
    assert [f for f in report.findings if "log position" not in f.problem] == []
    assert _named(report, "S-001", 3, "log position 2", "rewritten").position == 2


def test_11_a_forged_event_appended_with_a_valid_chain_and_head(audited: Audit) -> None:
    grow(audited.store)
    seq = append_forged_with_head(audited.store, "S-002")

    found = _named(audited.check(), "S-002", seq, "back-dated")

    assert found.position == audited.checkpoint.tree_size + 4


TAMPERS: list[Callable[[SqlEventStore], object]] = [
    lambda s: delete_stream(s, "S-001"),
    lambda s: rewrite_consistently(s, "S-002", 2, lambda e: e.update(reason="late entry")),
]


@pytest.mark.parametrize("tamper", TAMPERS)
def test_a_store_that_no_longer_extends_the_last_checkpoint_is_not_signed_again(
    audited: Audit, tamper: Callable[[SqlEventStore], object]
) -> None:
    tamper(audited.store)

    with pytest.raises(CheckpointRefused, match="log position"):
        take_checkpoint(audited.store, audited.key, audited.log, "test-log", datetime.now(UTC))
    assert audited.log.checkpoints() == [audited.checkpoint]
