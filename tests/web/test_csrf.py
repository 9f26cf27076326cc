"""Dashboard forms are accepted only with the session's CSRF token; the API needs none."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from tests.web.conftest import ClientFor
from tests.web.login import csrf_token, logged_in, submit
from tests.web.test_api import register_body


def register_form(subject_id: str) -> dict[str, str]:
    return {"subject_id": subject_id, "disease": "SLE", "birth_date": "1980-06-15", "sex": "female"}


async def test_a_form_post_without_the_token_is_refused_403_and_records_nothing(
    client_for: ClientFor, sqlite_store: SqlEventStore, subject_id: str
) -> None:
    cora = await logged_in(client_for, "cora")
    response = await cora.post("/subjects/new", data=register_form(subject_id))
    assert response.status_code == 403
    assert "security token" in response.text
    assert "Nothing was recorded" in response.text
    assert sqlite_store.read_stream(subject_id) == []


async def test_a_token_from_another_session_is_refused_and_records_nothing(
    client_for: ClientFor, sqlite_store: SqlEventStore, subject_id: str
) -> None:
    other = await csrf_token(await logged_in(client_for, "cora"))
    cora = await logged_in(client_for, "cora")
    assert await csrf_token(cora) != other
    form = {**register_form(subject_id), "csrf_token": other}
    response = await cora.post("/subjects/new", data=form)
    assert response.status_code == 403
    assert "does not belong to this session" in response.text
    assert sqlite_store.read_stream(subject_id) == []


async def test_a_form_post_with_the_token_is_recorded(
    client_for: ClientFor, sqlite_store: SqlEventStore, subject_id: str
) -> None:
    cora = await logged_in(client_for, "cora")
    response = await submit(cora, "/subjects/new", register_form(subject_id))
    assert response.status_code == 303, response.text
    assert [e.type for e in sqlite_store.read_stream(subject_id)] == ["subject.registered"]


async def test_a_command_form_without_the_token_leaves_the_subject_stream_unchanged(
    client_for: ClientFor, sqlite_store: SqlEventStore, subject_id: str
) -> None:
    cora = await logged_in(client_for, "cora")
    await submit(cora, "/subjects/new", register_form(subject_id))
    before = sqlite_store.read_stream(subject_id)
    response = await cora.post(
        f"/subjects/{subject_id}/commands/withdraw_consent", data={"reason": "forged"}
    )
    assert response.status_code == 403
    assert sqlite_store.read_stream(subject_id) == before


async def test_every_rendered_form_carries_the_token(
    client_for: ClientFor, subject_id: str
) -> None:
    cora = await logged_in(client_for, "cora")
    token = await csrf_token(cora)
    page = (await cora.get("/subjects/new")).text
    assert page.count('method="post"') == page.count(f'name="csrf_token" value="{token}"') == 2


async def test_logout_without_the_token_keeps_the_session(client_for: ClientFor) -> None:
    cora = await logged_in(client_for, "cora")
    assert (await cora.post("/logout")).status_code == 403
    assert (await cora.get("/board")).status_code == 200
    assert (await submit(cora, "/logout", {})).status_code == 303
    assert (await cora.get("/board")).status_code == 303


async def test_the_basic_auth_api_needs_no_token(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    body = await register_body(time_env, subject_id)
    response = await client_for("cora").post("/api/subjects", json=body)
    assert response.status_code == 201, response.text
    assert [e.type for e in sqlite_store.read_stream(subject_id)] == ["subject.registered"]
