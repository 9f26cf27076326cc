"""WAL pages written per append on SQLite: our store against `eventsourcing`'s recorder.

    python bench/append_wal_frames.py [--subjects 50]

A count, not a time, so it does not move with the machine's load: the same cohort batches as
``store_append.py`` go into a fresh database each, with automatic checkpoints off, and the WAL's
growth over every batch after the first is divided by the frame size (page + 24-byte header).
Each frame is a page a commit wrote again: the events' B-trees, the stream head, the board row
and, every 32+ events, the subject's snapshot.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from pathlib import Path

from cohort_events import cohort_batches
from store_append import Batches, Stored, _stored, sqlite_recorder

from store.sql import SqlEventStore

_FRAME_HEADER = 24


def _frames(wal: Path, before: int, page_size: int, appends: int) -> float:
    return (wal.stat().st_size - before) / (page_size + _FRAME_HEADER) / appends


def _page_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])


def ours(path: Path, batches: Batches) -> float:
    store = SqlEventStore(f"sqlite:///{path}")
    try:
        store.append(batches[0])
        # The appender reuses one driver connection: turning its checkpoints off keeps every
        # frame of the run in the WAL.
        _no_checkpoints(store)
        wal = Path(f"{path}-wal")
        before = wal.stat().st_size
        for batch in batches[1:]:
            store.append(batch)
        return _frames(wal, before, _page_size(path), len(batches) - 1)
    finally:
        store.close()


def _no_checkpoints(store: SqlEventStore) -> None:
    # A benchmark's look inside: the appender's own driver connection.
    connections = store._appender._connections
    connection = connections.get()
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connections.put(connection)


def peer(path: Path, stored: Stored) -> float:
    # On the recorder's only connection: a pooled one might not be the one that inserts.
    datastore, recorder = sqlite_recorder(path, "wal_autocheckpoint=0")
    try:
        recorder.insert_events(stored[0])
        wal = Path(f"{path}-wal")
        before = wal.stat().st_size
        for batch in stored[1:]:
            recorder.insert_events(batch)
        return _frames(wal, before, _page_size(path), len(stored) - 1)
    finally:
        datastore.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=50)
    args = parser.parse_args()
    batches = cohort_batches(args.subjects)
    with tempfile.TemporaryDirectory(prefix="jy231-bench-wal-") as tmp:
        mine = ours(Path(tmp) / "ours.db", batches)
        theirs = peer(Path(tmp) / "peer.db", _stored(batches))
    print(
        f"WAL frames per append ({len(batches) - 1} appends): ours "
        f"{mine:.2f}, eventsourcing {theirs:.2f}, ratio peer/ours {theirs / mine:.2f}"
    )


if __name__ == "__main__":
    main()
