"""The gateway's side of signed submissions: seal each update with the active key and a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel

from domain.signing import Keyring, seal_model
from system.keys import load_keyring

__all__ = ["Clock", "SubmissionSigner", "default_signer", "set_clock", "wall_clock"]

Clock = Callable[[], Awaitable[datetime]]
M = TypeVar("M", bound=BaseModel)


async def wall_clock() -> datetime:
    return datetime.now(UTC)


# The seal's time must be the Temporal server's time. That is the wall clock, except on the
# time-skipping test server (tests and `trial simulate`), which sets its own clock here.
_clock: Clock = wall_clock


def set_clock(clock: Clock) -> Clock:
    """Use ``clock`` for every seal from now on; returns the previous one to restore."""
    global _clock
    previous, _clock = _clock, clock
    return previous


class SubmissionSigner:
    def __init__(self, keyring: Keyring, clock: Clock | None = None) -> None:
        self.keyring = keyring
        self._clock = clock

    async def seal(self, model: M, *, purpose: str, target: str) -> M:
        issued_at = await (self._clock or _clock)()
        return seal_model(
            model, purpose=purpose, target=target, keyring=self.keyring, issued_at=issued_at
        )


_default: SubmissionSigner | None = None


def default_signer() -> SubmissionSigner:
    """The signer for this process's keys (environment or key file), loaded once."""
    global _default
    if _default is None:
        _default = SubmissionSigner(load_keyring("submission"))
    return _default
