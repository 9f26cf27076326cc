"""Schema management through Alembic, and how the store is opened."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column, create_engine, insert, inspect, select, table

from audit.verify import verify_log
from domain import subject
from domain.events import Event
from domain.state import SubjectState
from store.engine import create_store_engine
from store.factory import ENV_VAR, open_store
from store.migrate import alembic_config, upgrade
from store.projection import BoardRow
from store.schema import VERSION_TABLE, metadata, stream_heads, subject_snapshots
from store.schema import events as events_table
from store.sql import SqlEventStore
from tests.store.builders import Chain, registered, to_infusion
from tests.store.test_fold_cache import deviation


def test_migrated_schema_matches_the_tables_the_store_queries(store_url: str) -> None:
    upgrade(store_url)
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, metadata) == []
            assert context.get_current_revision() == "0007"
    finally:
        engine.dispose()


def test_processes_opening_a_new_database_together_all_succeed(fresh_url: str) -> None:
    # Worker and web app start at once; both run "upgrade head" on the same empty database.
    start = threading.Barrier(4)

    def open_and_close() -> int:
        start.wait()
        with SqlEventStore(fresh_url) as opened:
            return opened.count_events()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = [f.result() for f in [pool.submit(open_and_close) for _ in range(4)]]

    assert counts == [0, 0, 0, 0]


def test_upgrading_twice_keeps_the_data(store: SqlEventStore, store_url: str) -> None:
    store.append(Chain("S-001").next(registered("S-001")))

    upgrade(store_url)

    assert store.count_events() == 1


# The board as revision 0001 created it (the live table has other columns since 0005).
_BOARD_0001 = table(
    "subject_board",
    column("subject_id"), column("phase"), column("open_deviations"), column("last_seq"),
    column("state"),
)  # fmt: skip


def _store_as_before_0003(url: str, *batches: list[Event]) -> None:
    """Write events the way a store of revision 0001/0002 did: without a log index."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for batch in batches:
                conn.execute(
                    insert(events_table),
                    [{"envelope": e.envelope_text(), **_columns(e)} for e in batch],
                )
                conn.execute(
                    insert(stream_heads).values(
                        stream=batch[-1].stream, seq=batch[-1].seq, hash=batch[-1].hash
                    )
                )
    finally:
        engine.dispose()


def _columns(event: Event) -> dict[str, object]:
    return {
        "stream": event.stream, "seq": event.seq, "type": event.type,
        "occurred_at": event.occurred_at, "recorded_at": event.recorded_at,
        "actor_id": event.actor.user_id, "prev_hash": event.prev_hash, "hash": event.hash,
    }  # fmt: skip


def test_upgrading_from_0001_refolds_board_rows_from_the_events(fresh_url: str) -> None:
    upgrade(fresh_url, "0001")
    _store_as_before_0003(fresh_url, Chain("S-001").next(*to_infusion("S-001")))
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        # What the 0001 store kept in the state column: its own row JSON, not the domain's.
        legacy = '{"subject_id": "S-001", "phase": "infused", "open_deviations": 0}'
        conn.execute(
            insert(_BOARD_0001).values(
                subject_id="S-001", phase="registered", open_deviations=0, last_seq=9,
                state=legacy,
            )
        )  # fmt: skip
    engine.dispose()

    with SqlEventStore(fresh_url) as migrated:
        events = migrated.read_stream("S-001")
        row = migrated.board_row("S-001")
        assert migrated.board(phase="infused") == [row]

    assert row == BoardRow.from_state(subject.fold(events), events[-1].recorded_at)


def test_upgrading_to_0003_numbers_stored_events_into_the_log_in_commit_order(
    fresh_url: str,
) -> None:
    upgrade(fresh_url, "0002")
    one, two = Chain("S-001"), Chain("S-002")
    _store_as_before_0003(
        fresh_url, one.next(*to_infusion("S-001")[:3]), two.next(*to_infusion("S-002")[:2])
    )

    with SqlEventStore(fresh_url) as migrated:
        migrated.append(one.next(*to_infusion("S-001")[3:4]))
        report, snapshot = verify_log(migrated)

    assert report.clean, report.findings
    assert snapshot.places == [
        ("S-001", 1), ("S-001", 2), ("S-001", 3), ("S-002", 1), ("S-002", 2), ("S-001", 4)
    ]  # fmt: skip


def test_upgrade_works_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    upgrade(f"sqlite:///{tmp_path / 'x.db'}")

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"events", "stream_heads", "subject_board", VERSION_TABLE} <= tables


def test_open_store_defaults_to_a_sqlite_file_under_dot_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)

    opened = open_store()
    try:
        opened.append(Chain("S-001").next(registered("S-001")))
    finally:
        opened.close()

    assert (tmp_path / ".data" / "events.db").is_file()


def test_open_store_follows_the_environment_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "nested" / "dir" / "store.db"
    monkeypatch.setenv(ENV_VAR, f"sqlite:///{target}")

    opened = open_store()
    try:
        assert opened.count_events() == 0
    finally:
        opened.close()

    assert target.is_file()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with SqlEventStore(f"sqlite:///{tmp_path / 'w.db'}") as opened, opened.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert int(c.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000


def test_sqlite_commits_reach_the_disk_before_an_append_returns(tmp_path: Path) -> None:
    """synchronous=FULL on every connection, the appender's own included: an acknowledged
    event survives a power cut, not only a crash of the process."""
    full = 2
    with SqlEventStore(f"sqlite:///{tmp_path / 'w.db'}") as opened:
        opened.append(Chain("S-001").next(registered("S-001")))
        with opened.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA synchronous").scalar() == full
        writer = opened._appender._connections.get()
        try:
            assert writer.execute("PRAGMA synchronous").fetchone()[0] == full
        finally:
            opened._appender._connections.put(writer)


def _downgrade(url: str, revision: str) -> None:
    engine = create_store_engine(url)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def test_the_folded_state_moves_to_its_own_table_and_back_across_0007(store_url: str) -> None:
    chain = Chain("S-001")
    with SqlEventStore(store_url) as store:
        store.append(chain.next(*to_infusion("S-001")))
        for n in range(40):
            store.append(chain.next(deviation(n)))
    _downgrade(store_url, "0006")
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            state, state_seq = conn.execute(
                select(column("state"), column("state_seq")).select_from(table("subject_board"))
            ).one()
        indexes = {i["name"] for i in inspect(engine).get_indexes("events")}
    finally:
        engine.dispose()
    assert state_seq > 0 and SubjectState.model_validate_json(state).last_seq == state_seq
    assert {"ix_events_type", "ix_events_actor_id", "ix_events_hash"} <= indexes

    upgrade(store_url)
    # A new process resumes its fold from the moved state and keeps the board equal to the fold.
    with SqlEventStore(store_url) as reopened:
        reopened.append(chain.next(deviation(99)))
        events = reopened.read_stream("S-001")
        assert reopened.board_row("S-001") == BoardRow.from_state(
            subject.fold(events), events[-1].recorded_at
        )
        assert verify_log(reopened)[0].clean
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            moved = conn.execute(select(subject_snapshots.c.state_seq)).scalar_one()
    finally:
        engine.dispose()
    assert moved == state_seq
