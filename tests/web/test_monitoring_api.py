"""The monitors' round through the REST API against the real worker: queries, SDV, report."""

from __future__ import annotations

from typing import Any

from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from tests.web.conftest import ClientFor, Clock
from tests.web.login import logged_in
from tests.web.test_api import now_iso, registered


async def _command(
    client_for: ClientFor,
    user: str,
    subject_id: str,
    body: dict[str, Any],
    env: WorkflowEnvironment,
) -> Any:
    response = await client_for(user).post(
        f"/api/subjects/{subject_id}/commands",
        json={"occurred_at": await now_iso(env), **body},
    )
    return response


async def test_a_query_goes_open_answer_correction_close_and_each_step_is_in_the_audit_trail(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    await registered(client_for, time_env, subject_id)
    opened = await _command(
        client_for,
        "mona",
        subject_id,
        {"type": "open_query", "target_seq": 1, "field": "sex", "question": "Sex per source?"},
        time_env,
    )
    assert opened.status_code == 200, opened.text
    query_id = f"{subject_id}-Q1"
    board = (await client_for("mona").get("/api/board")).json()
    assert [b["open_queries"] for b in board if b["subject_id"] == subject_id] == [1]
    answered = await _command(
        client_for,
        "cora",
        subject_id,
        {"type": "answer_query", "query_id": query_id, "answer": "Male per source; corrected"},
        time_env,
    )
    assert answered.status_code == 200, answered.text
    corrected = await _command(
        client_for,
        "cora",
        subject_id,
        {
            "type": "record_correction",
            "target_seq": 1,
            "field": "sex",
            "new_value": "male",
            "reason": f"answer to {query_id}",
        },
        time_env,
    )
    assert corrected.status_code == 200, corrected.text
    closed = await _command(
        client_for, "mona", subject_id, {"type": "close_query", "query_id": query_id}, time_env
    )
    assert closed.status_code == 200, closed.text

    events = sqlite_store.read_stream(subject_id)
    assert [(e.type, e.actor.user_id) for e in events] == [
        ("subject.registered", "cora"),
        ("query.opened", "mona"),
        ("query.answered", "cora"),
        ("correction.recorded", "cora"),
        ("query.closed", "mona"),
    ]
    listed = (await client_for("cora").get(f"/api/subjects/{subject_id}/queries")).json()
    assert [(q["query_id"], q["status"], q["answer"]) for q in listed] == [
        (query_id, "closed", "Male per source; corrected")
    ]


async def test_a_monitor_may_not_answer_a_query_and_a_coordinator_may_not_open_one(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    await registered(client_for, time_env, subject_id)
    body = {"type": "open_query", "target_seq": 1, "question": "?"}
    refused = await _command(client_for, "cora", subject_id, body, time_env)
    assert refused.status_code == 403
    await _command(client_for, "mona", subject_id, body, time_env)
    answer = {"type": "answer_query", "query_id": f"{subject_id}-Q1", "answer": "x"}
    monitor = await _command(client_for, "mona", subject_id, answer, time_env)
    assert monitor.status_code == 403 and "read-only" in monitor.json()["detail"]
    assert [e.type for e in sqlite_store.read_stream(subject_id)] == [
        "subject.registered",
        "query.opened",
    ]


async def test_sdv_reset_by_a_correction_shows_in_the_sdv_list_and_the_site_report(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    await registered(client_for, time_env, subject_id)
    verify = {"type": "verify_source", "form": "registration"}
    assert (await _command(client_for, "mona", subject_id, verify, time_env)).status_code == 200
    sdv = (await client_for("mona").get(f"/api/subjects/{subject_id}/sdv")).json()
    assert [(s["form"], s["level"], s["status"]) for s in sdv] == [
        ("registration", "full", "verified")
    ]
    report = (await client_for("mona").get("/api/monitoring/report")).json()
    assert [(r["site_id"], r["verified_percent"]) for r in report] == [("SBH-01", 100.0)]
    correction = {
        "type": "record_correction",
        "target_seq": 1,
        "field": "birth_date",
        "new_value": "1981-06-15",
        "reason": "transcription error",
    }
    assert (await _command(client_for, "cora", subject_id, correction, time_env)).status_code == 200
    sdv = (await client_for("mona").get(f"/api/subjects/{subject_id}/sdv")).json()
    assert sdv[0]["status"] == "reset"
    assert sdv[0]["reset_cause"] == "correction of #1 (birth_date)"
    report = (await client_for("mona").get("/api/monitoring/report")).json()
    assert report[0]["verified_percent"] == 0.0


async def test_the_study_query_list_filters_by_site_status_and_age_and_flags_overdue(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str, clock: Clock
) -> None:
    await registered(client_for, time_env, subject_id)
    body = {"type": "open_query", "target_seq": 1, "question": "Birth date per source?"}
    await _command(client_for, "mona", subject_id, body, time_env)
    opened_on = (await time_env.get_current_time()).date()
    client = client_for("mona")
    assert len((await client.get("/api/queries", params={"status": "open"})).json()) == 1
    assert (await client.get("/api/queries", params={"status": "closed"})).json() == []
    assert (await client.get("/api/queries", params={"site": "OTHER"})).json() == []
    clock.value = opened_on.fromordinal(opened_on.toordinal() + 8)
    overdue = (await client.get("/api/queries", params={"min_age_days": 8})).json()
    assert [(q["age_days"], q["overdue"]) for q in overdue] == [(8, True)]
    report = (await client.get("/api/monitoring/report")).json()
    assert report[0]["overdue_queries"] == 1
    # The alerts page lists it with the safety alerts.
    page = (await (await logged_in(client_for, "cora")).get("/alerts")).text
    overdue_section = page[page.index('id="overdue-queries"') :]
    assert f"{subject_id}-Q1" in overdue_section and "overdue" in overdue_section
