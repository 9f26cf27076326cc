"""`audit verify` catches every way of rewriting stored history, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from audit.verify import LOG, verify_store
from cli.main import app
from store.sql import SqlEventStore
from tests.audit.tamper import (
    append_forged,
    insert_between,
    rehash,
    remove,
    replace_last,
    rewrite,
    set_column,
    swap,
)


def _only_finding(store: SqlEventStore) -> tuple[str, int, str]:
    """The one stream finding (a deletion also leaves a gap in the log, checked apart)."""
    report = verify_store(store)
    assert not report.clean
    streams = [f for f in report.findings if f.stream != LOG]
    assert len(streams) == 1, report.findings
    finding = streams[0]
    return finding.stream, finding.seq, finding.problem


def _log_gaps(store: SqlEventStore) -> list[tuple[int | None, str]]:
    return [(f.position, f.problem) for f in verify_store(store).findings if f.stream == LOG]


def test_an_untouched_store_verifies_clean(audit_store: SqlEventStore) -> None:
    report = verify_store(audit_store)

    assert report.clean
    assert report.streams_checked == 2
    assert report.events_checked == audit_store.count_events() == 19


def test_a_changed_payload_value_is_reported_at_its_event(audit_store: SqlEventStore) -> None:
    rewrite(audit_store, "S-001", 6, lambda e: e["payload"].update(volume_ml=300.0))

    assert _only_finding(audit_store)[:2] == ("S-001", 6)
    assert "hash mismatch" in _only_finding(audit_store)[2]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", {"user_id": "mallory", "role": "pi"}),
        ("occurred_at", "2020-01-01T00:00:00Z"),
        ("recorded_at", "2020-01-01T00:00:00Z"),
        ("reason", "backdated on request"),
        ("protocol_version", "9.9"),
    ],
)
def test_a_changed_envelope_field_is_reported_at_its_event(
    audit_store: SqlEventStore, field: str, value: Any
) -> None:
    rewrite(audit_store, "S-002", 4, lambda e: e.update({field: value}))

    stream, seq, problem = _only_finding(audit_store)
    assert (stream, seq) == ("S-002", 4)
    assert "hash mismatch" in problem


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(audit_store: SqlEventStore) -> None:
    rehash(audit_store, "S-001", 3, lambda e: e["payload"].update(eligible=False))

    stream, seq, problem = _only_finding(audit_store)
    assert (stream, seq) == ("S-001", 4)
    assert "prev_hash" in problem


def test_swapped_events_are_reported_where_the_order_breaks(audit_store: SqlEventStore) -> None:
    swap(audit_store, "S-002", 5, 6)

    stream, seq, problem = _only_finding(audit_store)
    assert (stream, seq) == ("S-002", 5)
    assert "seq gap" in problem


def test_a_deleted_middle_event_is_reported_as_missing(audit_store: SqlEventStore) -> None:
    remove(audit_store, "S-001", 7)

    stream, seq, problem = _only_finding(audit_store)
    assert (stream, seq) == ("S-001", 7)
    assert "missing" in problem
    assert _log_gaps(audit_store) == [
        (6, "log positions 6..6 are missing: 1 event(s) were deleted from the Merkle log")
    ]


def test_a_deleted_last_event_is_caught_by_the_stream_head(audit_store: SqlEventStore) -> None:
    remove(audit_store, "S-001", 10)

    stream, seq, problem = _only_finding(audit_store)
    assert (stream, seq) == ("S-001", 10)
    assert "deleted" in problem and "stream_heads records seq 10" in problem


def test_deleting_every_event_of_a_stream_is_caught(audit_store: SqlEventStore) -> None:
    for seq in range(1, 10):
        remove(audit_store, "S-002", seq)

    stream, seq, problem = _only_finding(audit_store)
    assert (stream, seq) == ("S-002", 1)
    assert "deleted" in problem
    assert [position for position, _ in _log_gaps(audit_store)] == [9]


def test_an_event_inserted_mid_stream_is_reported(audit_store: SqlEventStore) -> None:
    insert_between(audit_store, "S-002", 4)

    stream, seq, problem = _only_finding(audit_store)
    # The forged seq 4 is not in the log; in log order the old seq 4, now numbered 5, is next.
    assert (stream, seq) == ("S-002", 4)
    assert "seq gap" in problem


def test_a_correctly_chained_event_appended_by_sql_is_caught_by_the_stream_head(
    audit_store: SqlEventStore,
) -> None:
    forged_seq = append_forged(audit_store, "S-002")

    stream, seq, problem = _only_finding(audit_store)
    assert (stream, seq) == ("S-002", forged_seq)
    assert "inserted" in problem


def test_a_last_event_replaced_by_a_validly_chained_one_is_caught_by_the_head_hash(
    audit_store: SqlEventStore,
) -> None:
    seq = replace_last(audit_store, "S-002")

    stream, found, problem = _only_finding(audit_store)
    assert (stream, found) == ("S-002", seq)
    assert "stream_heads hash" in problem and "the last event was replaced" in problem


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("actor_id", "mallory", "'mallory'"),
        ("type", "consent.withdrawn", "'consent.withdrawn'"),
        ("occurred_at", datetime(2020, 1, 1, tzinfo=UTC), "2020-01-01"),
        ("recorded_at", datetime(2020, 1, 1, tzinfo=UTC), "2020-01-01"),
    ],
)
def test_an_indexed_column_changed_by_sql_is_reported_at_its_event(
    audit_store: SqlEventStore, column: str, value: Any, shown: str
) -> None:
    set_column(audit_store, "S-001", 5, **{column: value})

    stream, seq, problem = _only_finding(audit_store)
    assert (stream, seq) == ("S-001", 5)
    assert f"indexed column {column} is" in problem and shown in problem


def test_verify_reports_each_broken_stream_once_and_leaves_clean_ones_out(
    audit_store: SqlEventStore,
) -> None:
    rewrite(audit_store, "S-001", 2, lambda e: e["payload"].update(signed_on="2025-01-01"))
    rewrite(audit_store, "S-001", 8, lambda e: e["payload"].update(plan_seq=1))
    remove(audit_store, "S-002", 9)

    report = verify_store(audit_store)

    assert [(f.stream, f.seq) for f in report.findings if f.stream != LOG] == [
        ("S-001", 2),
        ("S-002", 9),
    ]


def test_verify_cli_exits_1_and_names_stream_and_seq_in_json(audit_store: SqlEventStore) -> None:
    url = audit_store.url.render_as_string(hide_password=False)
    clean = CliRunner().invoke(app, ["audit", "verify", "--json", "--store-url", url])
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["clean"] is True

    swap(audit_store, "S-001", 2, 3)
    broken = CliRunner().invoke(app, ["audit", "verify", "--json", "--store-url", url])

    assert broken.exit_code == 1
    findings = json.loads(broken.stdout)["findings"]
    assert [(f["stream"], f["seq"]) for f in findings] == [("S-001", 2)]


def test_verify_cli_checks_one_subject_and_prints_a_readable_report(
    audit_store: SqlEventStore,
) -> None:
    url = audit_store.url.render_as_string(hide_password=False)
    remove(audit_store, "S-002", 3)

    only_clean = CliRunner().invoke(
        app, ["audit", "verify", "--subject", "S-001", "--store-url", url]
    )
    broken = CliRunner().invoke(app, ["audit", "verify", "--subject", "S-002", "--store-url", url])

    assert only_clean.exit_code == 0 and "OK" in only_clean.stdout
    assert broken.exit_code == 1
    assert "S-002" in broken.stdout and "BROKEN" in broken.stdout
