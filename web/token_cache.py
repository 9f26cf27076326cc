"""Bearer tokens verified against the security store at most once a second, not per request.

A token found live is remembered (by the digest of what was presented, never the secret) for
``recheck_s``. Two things end that early:

- any write committed to the security store through this process's engine (a revocation, a
  user's tokens ended, a logout, a login failure): every remembered token is looked up again,
  so a revocation made in this process refuses the token on the very next request;
- the time: a revocation made by another process (``trial user token revoke``, ``trial user
  deactivate``) writes the shared database, which this process sees at the next look-up, at
  most ``recheck_s`` (1 s by default) later.

Unknown, revoked and forged tokens are never remembered: each such request is looked up, as
before. Concurrent requests with one token share one look-up (one thread hop, not fifty).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from store.security import ApiToken, SecurityStore

__all__ = ["RECHECK_S", "TokenCache"]

# The bound on how long a token revoked by another process is still accepted here.
RECHECK_S = 1.0
# Far more tokens than a trial hands out; past it the cache starts over (never grows unbounded).
_MAX_ENTRIES = 10_000
_WROTE = "jy231.token_cache.wrote"


@dataclass(frozen=True, slots=True)
class _Entry:
    token: ApiToken
    generation: int
    fresh_until: float


class TokenCache:
    def __init__(
        self,
        security: SecurityStore,
        recheck_s: float = RECHECK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._security = security
        self._recheck_s = recheck_s
        self._clock = clock
        self._entries: dict[bytes, _Entry] = {}
        self._pending: dict[tuple[bytes, int], asyncio.Future[ApiToken | None]] = {}
        # Moves on every commit of this process to the security database: an entry looked up
        # under an older generation is not trusted.
        self._generation = 0
        # Commits run in worker threads: no two may move the generation to the same number.
        self._bump_lock = threading.Lock()
        event.listen(security.engine, "commit", self._committing)
        # On the engine, not its pool: the listener stays when the engine replaces its pool.
        event.listen(security.engine, "checkin", self._checked_in)

    @property
    def generation(self) -> int:
        return self._generation

    def _committing(self, conn: Any) -> None:
        # SQLAlchemy's commit event comes before the database commits: a look-up running
        # meanwhile may still read the old row, so the generation moves again on check-in,
        # once the commit is done.
        conn.info[_WROTE] = True
        self._bump()

    def _checked_in(self, _dbapi_conn: Any, record: Any) -> None:
        if record is not None and record.info.pop(_WROTE, False):
            self._bump()

    def _bump(self) -> None:
        with self._bump_lock:
            self._generation += 1

    async def token(self, presented: str) -> ApiToken | None:
        """The live token ``presented`` is, or None (unknown, wrong secret or revoked)."""
        key = hashlib.sha256(presented.encode("utf-8")).digest()
        generation = self._generation
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry.generation == generation
            and self._clock() < entry.fresh_until
        ):
            return entry.token
        flight = (key, generation)
        pending = self._pending.get(flight)
        if pending is None:
            pending = asyncio.ensure_future(self._look_up(key, generation, presented))
            self._pending[flight] = pending
            pending.add_done_callback(lambda _: self._pending.pop(flight, None))
        # Shielded: one caller giving up must not cancel the look-up the others wait for.
        return await asyncio.shield(pending)

    async def _look_up(self, key: bytes, generation: int, presented: str) -> ApiToken | None:
        started = self._clock()
        # A database read: off the event loop.
        token = await asyncio.to_thread(self._security.token, presented)
        if token is None:
            self._entries.pop(key, None)
            return None
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        # Fresh from when the read began; stale at once if anything was committed meanwhile.
        self._entries[key] = _Entry(token, generation, started + self._recheck_s)
        return token
