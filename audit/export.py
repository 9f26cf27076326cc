"""The audit trail as JSON Lines (stored envelopes verbatim) or CSV (one flat row per event)."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from audit.source import raw_streams
from domain.canonical import canonical_json
from store.base import EventStore

__all__ = ["CSV_COLUMNS", "export_csv", "export_jsonl", "neutralise_cell"]

# A spreadsheet treats a cell starting with one of these as a formula (OWASP, CSV injection):
# `=HYPERLINK(...)` typed as a reason would run when a monitor opens the export.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    "stream",
    "seq",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "user_id",
    "role",
    "reason",
    "protocol_version",
    "payload",
    "prev_hash",
    "hash",
)


def export_jsonl(store: EventStore, out: TextIO, subject: str | None = None) -> int:
    """Write each stored envelope as one canonical JSON line; returns the number written.

    Canonical JSON is the text the hash covers, so a reader can re-verify the chain from the
    export alone, without access to the store.
    """
    written = 0
    for _, rows in raw_streams(store, subject):
        out.writelines(canonical_json(row) + "\n" for row in rows)
        written += len(rows)
    return written


def neutralise_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would evaluate, prefixed with ``'`` so it shows as text.

    Only the CSV is changed this way; the JSON Lines and ODM exports carry the exact values.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_row(row: dict[str, Any]) -> list[Any]:
    actor = row.get("actor") or {}
    cells = [
        row.get("stream"),
        row.get("seq"),
        row.get("type"),
        row.get("schema_version"),
        row.get("occurred_at"),
        row.get("recorded_at"),
        actor.get("user_id"),
        actor.get("role"),
        row.get("reason") or "",
        row.get("protocol_version"),
        json.dumps(row.get("payload"), sort_keys=True, ensure_ascii=False),
        row.get("prev_hash"),
        row.get("hash"),
    ]
    return [neutralise_cell(cell) for cell in cells]


def export_csv(store: EventStore, out: TextIO, subject: str | None = None) -> int:
    """Write a header and one row per event; the payload column holds the payload as JSON."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    written = 0
    for _, rows in raw_streams(store, subject):
        writer.writerows(_csv_row(row) for row in rows)
        written += len(rows)
    return written
