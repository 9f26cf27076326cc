"""`trial protocol amend|list|diff`: the PI signs an amendment in through the live web API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from domain.protocol import PROTOCOLS_DIR
from store.sql import SqlEventStore
from tests.cli.test_cli_api import trial
from tests.web.live import LiveServer

V2 = str(PROTOCOLS_DIR / "NCT06243159-v2.toml")


async def test_the_pi_signs_the_amendment_in_and_others_are_refused_with_exit_codes(
    live_server: LiveServer, sqlite_store: SqlEventStore, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date().isoformat()
    refused = await trial(live_server, "ivan", "protocol", "amend", V2, "--effective", today)
    assert refused.exit_code == 1, refused.output
    assert "only the PI" in refused.stderr

    bad = tmp_path / "broken.toml"
    bad.write_text("[protocol]\nid = ", encoding="utf-8")
    broken = await trial(live_server, "petra", "protocol", "amend", str(bad), "--effective", today)
    assert broken.exit_code == 2, broken.output

    signed = await trial(live_server, "petra", "protocol", "amend", V2, "--effective", today)
    assert signed.exit_code == 0, signed.output
    assert "protocol 2.0 (after 1.0) signed into force" in signed.stdout
    (event,) = sqlite_store.read_stream("protocol-NCT06243159")
    assert event.type == "protocol.amendment_registered" and event.actor.user_id == "petra"

    again = await trial(live_server, "petra", "protocol", "amend", V2, "--effective", today)
    assert again.exit_code == 1 and "already registered" in again.stderr

    listed = await trial(live_server, "mona", "protocol", "list", "--json")
    assert [r["version"] for r in json.loads(listed.stdout)] == ["2.0"]


async def test_the_diff_lists_what_the_amendment_changes_by_section() -> None:
    result = await trial("http://127.0.0.1:9", None, "protocol", "diff", "v1", "v2", "--json")
    assert result.exit_code == 0, result.output
    changes = {(c["section"], c["path"], c["kind"]) for c in json.loads(result.stdout)}
    assert ("visits", "visits.M9", "added") in changes
    assert ("visits", "visits.M6.window_before_days", "changed") in changes
    assert ("long-term follow-up", "ltfu.contact_attempts_before_lost", "added") in changes
    missing = await trial("http://127.0.0.1:9", None, "protocol", "diff", "v1", "v7")
    assert missing.exit_code == 2
