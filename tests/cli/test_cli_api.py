"""`trial` commands against a live web app on the real worker: output, JSON and exit codes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from domain.protocol import Protocol
from tests.domain.factories import eligible_record_json
from tests.web.live import PASSWORDS, LiveServer, free_port

runner = CliRunner()


async def trial(server: LiveServer | str, user: str | None, *args: str) -> Result:
    """Run `trial ...` off the event loop, so the worker on this loop keeps serving."""
    url = server if isinstance(server, str) else server.url
    env = {"JY231_API_URL": url, "JY231_USER": user or "", "JY231_PASSWORD": "", "COLUMNS": "200"}
    if user:
        env["JY231_PASSWORD"] = PASSWORDS[user]
    return await asyncio.to_thread(runner.invoke, app, list(args), env=env)


def write_json(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


async def test_a_subject_goes_from_registration_to_enrollment_through_the_cli(
    live_server: LiveServer, subject_id: str, protocol: Protocol, tmp_path: Path
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
    assert "subject.registered" in result.stdout and "registered" in result.stdout

    result = await trial(
        live_server,
        "cora",
        "consent",
        subject_id,
        "--version",
        protocol.version,
        "--childbearing-potential",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["phase"] == "consented"

    record = write_json(
        tmp_path, "screening.json", eligible_record_json("SLE", screening_date=date.today())
    )
    result = await trial(live_server, "cora", "screening", subject_id, str(record), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"][0]["payload"]["eligible"] is True

    sign = write_json(
        tmp_path,
        "sign.json",
        {"subject_id": subject_id, "command": {"type": "sign_eligibility", "decision": "eligible"}},
    )
    result = await trial(
        live_server, "petra", "subject", "submit", str(sign), "--sign-password", "petra-demo-2024"
    )
    assert result.exit_code == 0, result.output

    result = await trial(
        live_server,
        "ivan",
        "enroll",
        subject_id,
        "--dose-level",
        "DL1",
        "--route",
        "intravenous",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["phase"] == "enrolled"

    shown = await trial(live_server, "mona", "subject", "show", subject_id, "--json")
    assert json.loads(shown.stdout)["dose_level"] == "DL1"
    events = await trial(live_server, "mona", "subject", "events", subject_id, "--json")
    assert [e["actor"]["user_id"] for e in json.loads(events.stdout)] == [
        "cora",
        "cora",
        "cora",
        "petra",
        "petra",  # the electronic signature of the eligibility decision
        "ivan",
        # The chain-of-identity id and the slots booked at enrollment (issue 14).
        "ivan",
        "ivan",
    ]
    table = await trial(live_server, "mona", "subject", "events", subject_id)
    assert "eligibility.signed" in table.stdout

    board = await trial(live_server, "mona", "board", "--phase", "enrolled", "--json")
    assert [r["subject_id"] for r in json.loads(board.stdout)] == [subject_id]
    human = await trial(live_server, "mona", "board")
    assert subject_id in human.stdout


async def test_visits_due_within_lists_json_and_accepts_weeks(live_server: LiveServer) -> None:
    result = await trial(live_server, "mona", "visits", "--due-within", "2w", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    bad = await trial(live_server, "mona", "visits", "--due-within", "soon")
    assert bad.exit_code == 2
    assert "14d" in bad.stderr


async def test_a_refused_command_prints_the_reason_and_exits_1(
    live_server: LiveServer, subject_id: str
) -> None:
    await trial(
        live_server,
        "cora",
        "subject",
        "register",
        subject_id,
        "--disease",
        "SSc",
        "--sex",
        "male",
        "--birth-date",
        "1970-01-01",
    )
    wrong_phase = await trial(
        live_server, "ivan", "enroll", subject_id, "--dose-level", "DL1", "--route", "intravenous"
    )
    assert wrong_phase.exit_code == 1
    assert "cannot enroll while the subject is registered" in wrong_phase.stderr
    monitor = await trial(live_server, "mona", "apheresis", subject_id, "--volume-ml", "100")
    assert monitor.exit_code == 1
    assert "read-only" in monitor.stderr
    missing = await trial(live_server, "mona", "subject", "show", "S-NOBODY")
    assert missing.exit_code == 1
    assert "S-NOBODY" in missing.stderr


async def test_bad_input_exits_2(live_server: LiveServer, subject_id: str, tmp_path: Path) -> None:
    not_json = tmp_path / "broken.json"
    not_json.write_text("{nope", encoding="utf-8")
    result = await trial(live_server, "cora", "screening", subject_id, str(not_json))
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr

    invalid = await trial(
        live_server,
        "cora",
        "subject",
        "register",
        "bad id",
        "--disease",
        "flu",
        "--sex",
        "female",
        "--birth-date",
        "1980-01-01",
    )
    assert invalid.exit_code == 2
    assert "subject_id" in invalid.stderr and "disease" in invalid.stderr

    wrong_password = await asyncio.to_thread(
        runner.invoke,
        app,
        ["board"],
        env={"JY231_API_URL": live_server.url, "JY231_USER": "cora", "JY231_PASSWORD": "wrong"},
    )
    assert wrong_password.exit_code == 2
    assert "authentication failed" in wrong_password.stderr


@pytest.mark.parametrize("args", [["board"], ["subject", "show", "S-1"], ["visits"]])
async def test_when_the_system_is_not_running_it_says_so_in_one_line_and_exits_3(
    args: list[str],
) -> None:
    result = await trial(f"http://127.0.0.1:{free_port()}", "cora", *args)
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert "not running" in result.stderr


def test_the_occurred_at_default_is_timezone_aware() -> None:
    from cli.options import occurred_at

    assert datetime.fromisoformat(occurred_at(None)).tzinfo is not None
    naive = datetime(2025, 1, 2, 3, 4)
    assert datetime.fromisoformat(occurred_at(naive)) == naive.replace(tzinfo=UTC)


async def test_a_cli_command_repeated_with_its_command_id_records_once_and_a_reused_id_is_refused(
    live_server: LiveServer, subject_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JY231_COMMAND_ID repeats a submission (as the CLI's own retry does after a timeout)."""
    import uuid

    monkeypatch.setenv("JY231_COMMAND_ID", str(uuid.uuid4()))
    args = ("subject", "register", subject_id, "--disease", "SLE", "--sex", "female")
    first = await trial(live_server, "cora", *args, "--birth-date", "1980-06-15", "--json")
    again = await trial(live_server, "cora", *args, "--birth-date", "1980-06-15", "--json")
    assert (first.exit_code, again.exit_code) == (0, 0), again.output
    assert json.loads(again.stdout)["events"] == json.loads(first.stdout)["events"]

    other = await trial(live_server, "cora", *args, "--birth-date", "1981-06-15")
    assert other.exit_code == 1
    assert "already used for a different command" in other.output
