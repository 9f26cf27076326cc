"""Signed submissions: the pure check a workflow's update validator runs before it accepts.

The gateway is the only component that authenticates people. It seals what it sends (the
command, the actor, the command id when there is one, the time it was issued and the workflow it
is meant for) with an HMAC-SHA256 under a key shared only with the workers. Anyone else who can
reach Temporal can still send an update, but cannot make a seal that verifies, so the validator
refuses it before anything reaches history.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.canonical import canonical_json
from domain.errors import DomainError

__all__ = [
    "MAX_AGE",
    "MAX_SKEW",
    "Keyring",
    "Seal",
    "SignatureRefused",
    "seal_model",
    "verify_seal",
]

# How old a seal may be when the worker first sees it: long enough for a busy worker to pick up
# the update, short enough that a captured submission cannot be replayed later.
MAX_AGE = timedelta(minutes=5)
# How far the gateway's clock may run ahead of the Temporal server's.
MAX_SKEW = timedelta(minutes=1)
# Short keys make HMAC guessable offline from one captured seal.
MIN_KEY_BYTES = 32

M = TypeVar("M", bound=BaseModel)
_TIME: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


class SignatureRefused(DomainError):
    code = "signature_refused"


class Seal(BaseModel):
    """Who vouches for a submission: which key, when, and the MAC itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str = Field(min_length=1, max_length=64)
    issued_at: AwareDatetime
    mac: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Keyring:
    """Secrets by key id; ``active`` signs, every listed key verifies (rotation)."""

    active: str
    # Kept out of repr so that a keyring in a log line or a traceback shows no secret.
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise ValueError(f"the active key id {self.active!r} is not among the keys")
        for key_id, secret in self.keys.items():
            if len(secret) < MIN_KEY_BYTES:
                raise ValueError(f"key {key_id!r} is shorter than {MIN_KEY_BYTES} bytes")

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self.keys)


def _material(model: BaseModel, purpose: str, target: str, key_id: str, issued_at: str) -> bytes:
    # Everything in the model but the seal; None fields left out so that an optional field
    # added later (absent on both sides) does not change what an older seal covered.
    body = model.model_dump(mode="json", exclude={"seal"}, exclude_none=True)
    return canonical_json(
        {
            "purpose": purpose,
            "target": target,
            "key_id": key_id,
            "issued_at": issued_at,
            "body": body,
        }
    ).encode("utf-8")


def _mac(secret: bytes, material: bytes) -> str:
    return hmac.new(secret, material, hashlib.sha256).hexdigest()


def _iso(moment: datetime) -> str:
    # Pydantic's own JSON form, so the gateway and the worker (which parsed it back) agree.
    return str(_TIME.dump_python(moment, mode="json"))


def seal_model(model: M, *, purpose: str, target: str, keyring: Keyring, issued_at: datetime) -> M:
    """``model`` with its ``seal`` set: a MAC over it, ``purpose`` (which update) and
    ``target`` (which workflow), so a seal cannot be moved to another update or subject."""
    key_id = keyring.active
    mac = _mac(keyring.keys[key_id], _material(model, purpose, target, key_id, _iso(issued_at)))
    return model.model_copy(update={"seal": Seal(key_id=key_id, issued_at=issued_at, mac=mac)})


def verify_seal(
    model: BaseModel,
    seal: Seal | None,
    *,
    purpose: str,
    target: str,
    keyring: Keyring,
    now: datetime,
    max_age: timedelta | None = MAX_AGE,
) -> None:
    """Refuse a seal that is missing, made with an unknown key, wrong, or issued outside the
    window around ``now`` (the workflow's time); ``max_age=None`` checks no age."""
    if seal is None:
        raise SignatureRefused("the submission is not signed by the gateway", field="seal")
    secret = keyring.keys.get(seal.key_id)
    if secret is None:
        raise SignatureRefused(f"unknown signing key {seal.key_id!r}", field="seal")
    expected = _mac(secret, _material(model, purpose, target, seal.key_id, _iso(seal.issued_at)))
    if not hmac.compare_digest(expected, seal.mac):
        raise SignatureRefused("the submission's signature does not verify", field="seal")
    if max_age is not None and seal.issued_at < now - max_age:
        raise SignatureRefused(
            f"the submission was signed at {seal.issued_at.isoformat()}, more than "
            f"{int(max_age.total_seconds() // 60)} minutes ago",
            field="seal",
        )
    if seal.issued_at > now + MAX_SKEW:
        raise SignatureRefused(
            f"the submission is signed in the future ({seal.issued_at.isoformat()})",
            field="seal",
        )
