"""`trial query|sdv|casebook|monitoring` against a live web app on the real worker."""

from __future__ import annotations

import json

from tests.cli.test_cli_api import trial
from tests.web.live import LiveServer


async def test_the_monitors_round_and_the_pi_sign_off_through_the_cli(
    live_server: LiveServer, subject_id: str
) -> None:
    result = await trial(
        live_server,
        "cora",
        "subject",
        "register",
        subject_id,
        "--disease",
        "SLE",
        "--sex",
        "female",
        "--birth-date",
        "1980-06-15",
    )
    assert result.exit_code == 0, result.output
    opened = await trial(
        live_server, "mona", "query", "open", subject_id, "--seq", "1", "--question", "DOB?"
    )
    assert opened.exit_code == 0, opened.output
    query_id = f"{subject_id}-Q1"
    answered = await trial(
        live_server, "cora", "query", "answer", subject_id, query_id, "--answer", "As source"
    )
    assert answered.exit_code == 0, answered.output
    listed = await trial(live_server, "mona", "query", "list", "--status", "answered", "--json")
    assert [q["query_id"] for q in json.loads(listed.stdout)] == [query_id]
    assert (await trial(live_server, "mona", "query", "close", subject_id, query_id)).exit_code == 0
    verified = await trial(
        live_server, "mona", "sdv", "verify", subject_id, "--form", "registration"
    )
    assert verified.exit_code == 0, verified.output
    report = await trial(live_server, "mona", "monitoring", "report", "--json")
    assert json.loads(report.stdout)[0]["verified_percent"] == 100.0

    wrong = await trial(
        live_server, "petra", "casebook", "sign", subject_id, "--sign-password", "guess"
    )
    assert wrong.exit_code == 2 and "password is not correct" in wrong.output
    signed = await trial(
        live_server,
        "petra",
        "casebook",
        "sign",
        subject_id,
        "--sign-password",
        "petra-demo-2024",
        "--json",
    )
    assert signed.exit_code == 0, signed.output
    types = [e["type"] for e in json.loads(signed.stdout)["events"]]
    assert types == ["signature.applied", "casebook.locked"]
    refused = await trial(
        live_server, "mona", "query", "open", subject_id, "--seq", "1", "--question", "Again?"
    )
    assert refused.exit_code == 1 and "locked" in refused.output
    unlocked = await trial(
        live_server, "petra", "casebook", "unlock", subject_id, "--reason", "late lab value"
    )
    assert unlocked.exit_code == 0, unlocked.output
