"""Part 11 signatures on the dashboard: user id and password at the first signing of a session,
the password alone at later ones; without them nothing is recorded."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.web.conftest import ClientFor
from tests.web.live import PASSWORDS
from tests.web.login import logged_in, submit
from tests.workflows.harness import SubjectDriver


async def test_first_signing_needs_id_and_password_later_ones_the_password(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.register()
    await driver.consent()
    await driver.screening()
    petra = await logged_in(client_for, "petra")
    path = f"/subjects/{subject_id}/commands/sign_eligibility"
    form = (await petra.get(path)).text
    assert 'name="signature_username"' in form and 'name="signature_password"' in form
    assert 'name="signature"' not in form

    unsigned = await submit(petra, path, {"decision": "eligible"})
    assert unsigned.status_code == 422
    assert "user id and password" in unsigned.text
    wrong = await submit(
        petra,
        path,
        {"decision": "eligible", "signature_username": "petra", "signature_password": "guess"},
    )
    assert wrong.status_code == 422 and "password is not correct" in wrong.text
    assert sqlite_store.read_stream(subject_id)[-1].type == "screening.recorded"

    signed = await submit(
        petra,
        path,
        {
            "decision": "eligible",
            "signature_meaning": "approval",
            "signature_username": "petra",
            "signature_password": PASSWORDS["petra"],
        },
    )
    assert signed.status_code == 303, signed.text
    signature = sqlite_store.read_stream(subject_id)[-1]
    assert signature.type == "signature.applied"
    assert signature.payload.components == "id_and_password"  # type: ignore[union-attr]
    page = (await petra.get(f"/subjects/{subject_id}")).text
    assert "Signed by <b>Petra (Principal Investigator)</b>" in page
    assert "meaning: <b>approval</b>" in page

    # The second signing of the session: the password alone.
    sign_off = f"/subjects/{subject_id}/commands/sign_casebook"
    form = (await petra.get(sign_off)).text
    assert 'name="signature_username"' not in form
    locked = await submit(
        petra, sign_off, {"scope": "casebook", "signature_password": PASSWORDS["petra"]}
    )
    assert locked.status_code == 303, locked.text
    signature, lock = sqlite_store.read_stream(subject_id)[-2:]
    assert (signature.type, lock.type) == ("signature.applied", "casebook.locked")
    assert signature.payload.components == "password"  # type: ignore[union-attr]
    assert signature.payload.meaning == "responsibility"  # type: ignore[union-attr]
