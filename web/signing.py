"""Part 11 electronic signatures at the surface: the password is re-entered at signing.

21 CFR 11.200(a)(1): the first signing of a session needs both components (user id and
password), later signings of the same session at least the password. The password is checked
here, against the user directory; the workflow never sees it. What was checked travels on as a
``SignatureAttestation`` and becomes part of the ``signature.applied`` event (11.50, 11.70).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from domain.actors import Actor
from domain.commands import SignatureAttestation
from domain.errors import ValueOutOfRange
from domain.monitoring_events import SignatureMeaning
from system.redaction import remember_secret
from web.context import AppContext
from web.login_guard import AccountLocked
from web.security import client_address
from web.session import COOKIE_NAME

__all__ = [
    "MEANINGS",
    "SIGNED_COMMANDS",
    "SIGNING_FIELDS",
    "SignatureRefused",
    "attest",
    "mark_signed",
    "needs_user_id",
    "require_no_client_signature",
    "sign_from_form",
    "signing_context",
]

# The form fields of a signature, never part of a command.
SIGNING_FIELDS = ("signature_meaning", "signature_username", "signature_password")

# The commands that are electronic signatures, with the meaning offered first.
SIGNED_COMMANDS: dict[str, SignatureMeaning] = {
    "sign_eligibility": "approval",
    "approve_lymphodepletion": "approval",
    # The PI takes responsibility for giving fludarabine below its do-not-give threshold.
    "override_renal_threshold": "responsibility",
    "sign_casebook": "responsibility",
    "sign_safety_review": "review",
}
MEANINGS: tuple[SignatureMeaning, ...] = ("authorship", "review", "approval", "responsibility")


class SignatureRefused(ValueOutOfRange):
    """The re-entered signature components do not match the signer: nothing is recorded."""

    code = "signature_refused"


def _signed_sessions(request: Request) -> set[str]:
    state = request.app.state
    if not hasattr(state, "signed_sessions"):
        state.signed_sessions = set()
    sessions: set[str] = state.signed_sessions
    return sessions


def _session_id(request: Request, ctx: AppContext) -> str | None:
    cookie = request.cookies.get(COOKIE_NAME)
    session = ctx.signer.session(cookie) if cookie else None
    return session.sid if session else None


def needs_user_id(request: Request, ctx: AppContext) -> bool:
    """True for the first signing of this dashboard session (and for every API request)."""
    sid = _session_id(request, ctx)
    return sid is None or sid not in _signed_sessions(request)


def mark_signed(request: Request, ctx: AppContext) -> None:
    sid = _session_id(request, ctx)
    if sid is not None:
        _signed_sessions(request).add(sid)


async def attest(
    ctx: AppContext,
    actor: Actor,
    *,
    password: str,
    username: str | None,
    meaning: str,
    first_in_session: bool,
    address: str,
) -> SignatureAttestation:
    """Check the re-entered components and say what was checked; refuse on any mismatch.

    The password goes through the login guard, so wrong re-entries count towards the
    account's lockout and land in the security log like failed logins.
    """
    if meaning not in MEANINGS:
        raise SignatureRefused(
            f"meaning must be one of {', '.join(MEANINGS)}", field="signature_meaning"
        )
    if first_in_session:
        if not username:
            raise SignatureRefused(
                "the first signature of a session needs your user id and password",
                field="signature_username",
            )
        if username != actor.user_id:
            raise SignatureRefused(
                "the user id must be that of the logged-in signer", field="signature_username"
            )
    if not password:
        raise SignatureRefused(
            "an electronic signature needs your password re-entered", field="signature_password"
        )
    remember_secret(password)
    try:
        # In a thread: argon2 must not stall the event loop.
        await asyncio.to_thread(ctx.guard.login, actor.user_id, password, address)
    except AccountLocked as exc:
        raise SignatureRefused(str(exc), field="signature_password") from None
    except PermissionError:
        raise SignatureRefused("the password is not correct", field="signature_password") from None
    user = ctx.users.get(actor.user_id)
    return SignatureAttestation(
        signer_id=actor.user_id,
        printed_name=user.name if user else actor.user_id,
        meaning=meaning,
        components="id_and_password" if first_in_session else "password",
    )


def require_no_client_signature(command: Any) -> None:
    """A signing command cannot be sent as a plain command: the signature needs a password."""
    if command.type in SIGNED_COMMANDS:
        raise SignatureRefused(
            f"{command.type.replace('_', ' ')} is an electronic signature (21 CFR Part 11): "
            "send it to /api/subjects/{subject_id}/signatures with your user id and password",
            field="signature",
        )


def signing_context(
    request: Request, ctx: AppContext, command_type: str, values: dict[str, str]
) -> dict[str, Any] | None:
    """What the form page shows for a signing command: meaning, and the components to enter."""
    if command_type not in SIGNED_COMMANDS:
        return None
    return {
        "first": needs_user_id(request, ctx),
        "meanings": MEANINGS,
        "meaning": values.get("signature_meaning") or SIGNED_COMMANDS[command_type],
        "username": values.get("signature_username", ""),
    }


async def sign_from_form(
    request: Request, ctx: AppContext, actor: Actor, command: Any, values: dict[str, str]
) -> Any:
    """A dashboard form's signing command with its attestation; other commands unchanged."""
    if command.type not in SIGNED_COMMANDS:
        return command
    attestation = await attest(
        ctx,
        actor,
        address=client_address(request),
        password=values.get("signature_password", ""),
        username=values.get("signature_username", "").strip() or None,
        meaning=values.get("signature_meaning") or SIGNED_COMMANDS[command.type],
        first_in_session=needs_user_id(request, ctx),
    )
    return command.model_copy(update={"signature": attestation})
