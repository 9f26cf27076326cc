"""Password checks behind throttling: per account and per address, lockout, security log.

Argon2 is slow on purpose (about 0.3 s of CPU), so it runs only here: at a dashboard login, at
the first HTTP Basic request of a credential (then cached for a few minutes, keyed by an HMAC
of the credential under a per-process key) and nowhere else. Concurrent first requests with
one credential run argon2 once: the others wait for that answer (``basic_async``). A locked
account or address is refused before argon2 runs, which also bounds the CPU a guesser can burn.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from domain.actors import Actor
from store.security import SecurityStore
from system.users import UserDirectory

__all__ = ["AccountLocked", "LoginGuard", "LoginPolicy"]

log = structlog.get_logger("security")


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    # 20 wrong passwords in a row (within the window) lock the account for the lockout time.
    account_limit: int = 20
    # One address may try more (several users behind one proxy), but not without end.
    address_limit: int = 50
    window_s: float = 15 * 60
    lockout_s: float = 15 * 60
    # How long a verified HTTP Basic credential is trusted without argon2 again.
    basic_cache_s: float = 5 * 60


class AccountLocked(Exception):
    """Too many failures: refused without checking the password."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class LoginGuard:
    def __init__(
        self,
        users: UserDirectory,
        store: SecurityStore,
        policy: LoginPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.users = users
        self.store = store
        self.policy = policy or LoginPolicy()
        self._clock = clock
        self._cache_key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[str, str, float]] = {}
        self._lock = threading.Lock()
        # Credential (HMAC) -> the argon2 check running for it, on the event loop's side.
        self._checking: dict[bytes, asyncio.Future[Actor]] = {}

    def _locked(self, key: str, now: float) -> float | None:
        state = self.store.failure_state(key)
        if state is not None and state.locked_until is not None and state.locked_until > now:
            return state.locked_until
        return None

    def _refuse_if_locked(self, username: str, address: str, now: float) -> None:
        for key, what in ((f"account:{username}", "account"), (f"address:{address}", "address")):
            until = self._locked(key, now)
            if until is not None:
                self.store.log_event(
                    "login.refused_locked",
                    f"{what} locked until {time.strftime('%H:%M:%S', time.gmtime(until))} UTC",
                    username=username,
                    address=address,
                    now=now,
                )
                log.warning("login refused: locked", what=what, username=username, address=address)
                raise AccountLocked(
                    f"too many failed logins: this {what} is locked; try again later",
                    retry_after_s=max(int(until - now), 1),
                )

    def login(self, username: str, password: str, address: str) -> Actor:
        """The user's actor, or ``AccountLocked`` / ``PermissionError`` (wrong credentials)."""
        now = self._clock()
        self._refuse_if_locked(username, address, now)
        actor = self.users.verify(username, password)
        if actor is None:
            self._failed(username, address, now)
            raise PermissionError("unknown user or wrong password")
        self.store.clear_failures(f"account:{username}")
        self.store.log_event("login.succeeded", "password accepted", username=username,
                             address=address, now=now)  # fmt: skip
        return actor

    def _failed(self, username: str, address: str, now: float) -> None:
        p = self.policy
        account = self.store.record_failure(
            f"account:{username}", window_s=p.window_s, limit=p.account_limit,
            lockout_s=p.lockout_s, now=now,
        )  # fmt: skip
        by_address = self.store.record_failure(
            f"address:{address}", window_s=p.window_s, limit=p.address_limit,
            lockout_s=p.lockout_s, now=now,
        )  # fmt: skip
        self.store.log_event(
            "login.failed", f"failure {account.count} for this account", username=username,
            address=address, now=now,
        )  # fmt: skip
        log.info("login failed", username=username, address=address, failures=account.count)
        for state, what in ((account, "account"), (by_address, "address")):
            if state.locked_until is not None and state.count == (
                p.account_limit if what == "account" else p.address_limit
            ):
                self.store.log_event(
                    "login.locked", f"{what} locked after {state.count} failures",
                    username=username, address=address, now=now,
                )  # fmt: skip
                log.warning("login lockout", what=what, username=username, address=address)

    def _key(self, username: str, password: str) -> bytes:
        return hmac.new(
            self._cache_key, f"{username}\0{password}".encode(), hashlib.sha256
        ).digest()

    def _cached(self, key: bytes, username: str, now: float) -> Actor | None:
        """The user's actor if this credential was verified lately, without argon2."""
        with self._lock:
            cached = self._cache.get(key)
        user = self.users.get(username)
        # Trusted only while the user is active with the same hash: a reset or a
        # deactivation ends the cached credential at once.
        if cached is not None and user is not None:
            cached_user, cached_hash, expires = cached
            if cached_user == username and cached_hash == user.password_hash and expires > now:
                return user.actor
        return None

    async def basic_async(self, username: str, password: str, address: str) -> Actor:
        """``basic`` in a worker thread, argon2 at most once at a time per credential.

        The first requests of a script with many connections arrive together: without this
        each would run argon2 (64 MiB, ~0.3 s of CPU) for the same credential. A wrong
        password is checked again for each request, one after another, so every failure
        still counts towards the lockout.
        """
        key = self._key(username, password)
        while (running := self._checking.get(key)) is not None and not running.done():
            await asyncio.wait([running])
        if self._cached(key, username, self._clock()) is not None:
            # Only the lockout check is left: no argon2, nothing to wait for.
            return await asyncio.to_thread(self.basic, username, password, address)
        check = asyncio.ensure_future(asyncio.to_thread(self.basic, username, password, address))
        self._checking[key] = check
        check.add_done_callback(lambda done: self._forget(key, done))
        # shield: a caller that hangs up does not make the others check again.
        return await asyncio.shield(check)

    def _forget(self, key: bytes, check: asyncio.Future[Actor]) -> None:
        if self._checking.get(key) is check:
            del self._checking[key]
        if not check.cancelled():
            # Read here, so a refusal whose first caller hung up is not reported as lost.
            check.exception()

    def basic(self, username: str, password: str, address: str) -> Actor:
        """HTTP Basic: argon2 once per credential per cache period, then an HMAC lookup."""
        now = self._clock()
        key = self._key(username, password)
        cached = self._cached(key, username, now)
        if cached is not None:
            self._refuse_if_locked(username, address, now)
            return cached
        actor = self.login(username, password, address)
        current = self.users.get(username)
        if current is not None:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = (
                    username,
                    current.password_hash,
                    now + self.policy.basic_cache_s,
                )
        return actor
