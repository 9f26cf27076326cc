"""Throttled password checks: lockout after 20 failures, per-address limits, the security
log, and HTTP Basic answered from a cache so argon2 runs once per credential."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from domain.actors import Role
from store.security import SecurityStore
from system.users import User, UserDirectory, write_users
from web.login_guard import AccountLocked, LoginGuard, LoginPolicy

# Cheap argon2 parameters: the hash carries them, so verifying is fast in tests.
_CHEAP = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class CountingUsers(UserDirectory):
    """Counts the argon2 verifications actually run."""

    verifications = 0

    def verify(self, username: str, password: str):  # type: ignore[no-untyped-def]
        self.verifications += 1
        return super().verify(username, password)


@pytest.fixture
def users(tmp_path: Path) -> CountingUsers:
    path = tmp_path / "users.toml"
    write_users(
        path,
        {
            name: User(name, role, name.title(), _CHEAP.hash(PASSWORD))
            for name, role in (("cora", Role.COORDINATOR), ("petra", Role.PI))
        },
    )
    return CountingUsers({u.username: u for u in UserDirectory.load(path).all()}, path)


@pytest.fixture
def guard(users: CountingUsers) -> tuple[LoginGuard, Clock]:
    clock = Clock()
    return LoginGuard(users, SecurityStore(), LoginPolicy(), clock), clock


def test_twenty_wrong_passwords_lock_the_account_even_against_the_right_one(
    guard: tuple[LoginGuard, Clock],
) -> None:
    g, clock = guard
    for _ in range(20):
        with pytest.raises(PermissionError):
            g.login("cora", "wrong password!!", "10.0.0.1")
    with pytest.raises(AccountLocked, match="account is locked") as locked:
        g.login("cora", PASSWORD, "10.0.0.2")
    assert 0 < locked.value.retry_after_s <= 15 * 60
    # Another user is not affected by cora's lockout.
    assert g.login("petra", PASSWORD, "10.0.0.2").user_id == "petra"

    clock.now += 15 * 60 + 1
    assert g.login("cora", PASSWORD, "10.0.0.2").user_id == "cora"
    kinds = [e.kind for e in g.store.events()]
    assert kinds.count("login.failed") == 20
    assert "login.locked" in kinds and "login.refused_locked" in kinds


def test_one_address_guessing_is_locked_out_for_every_account(
    guard: tuple[LoginGuard, Clock],
) -> None:
    g, clock = guard
    g = LoginGuard(g.users, g.store, LoginPolicy(address_limit=5), clock)
    for _ in range(5):
        with pytest.raises(PermissionError):
            g.login("cora", "wrong password!!", "203.0.113.9")
    with pytest.raises(AccountLocked, match="address is locked"):
        g.login("petra", PASSWORD, "203.0.113.9")
    assert g.login("petra", PASSWORD, "198.51.100.1").user_id == "petra"


def test_basic_auth_runs_argon2_once_per_credential_and_not_after_a_reset(
    guard: tuple[LoginGuard, Clock], users: CountingUsers
) -> None:
    g, clock = guard
    for _ in range(5):
        assert g.basic("cora", PASSWORD, "10.0.0.1").role is Role.COORDINATOR
    assert users.verifications == 1
    with pytest.raises(PermissionError):
        g.basic("cora", "not the password", "10.0.0.1")
    assert users.verifications == 2

    clock.now += 5 * 60 + 1
    g.basic("cora", PASSWORD, "10.0.0.1")
    assert users.verifications == 3

    users.reset_password("cora", "a brand new passphrase")
    with pytest.raises(PermissionError):
        g.basic("cora", PASSWORD, "10.0.0.1")


def test_a_deactivated_user_is_refused_at_once_even_with_a_cached_credential(
    guard: tuple[LoginGuard, Clock], users: CountingUsers
) -> None:
    g, _ = guard
    g.basic("cora", PASSWORD, "10.0.0.1")
    users.deactivate("cora")
    with pytest.raises(PermissionError):
        g.basic("cora", PASSWORD, "10.0.0.1")
    assert users.check_password("petra", PASSWORD)
    assert not users.check_password("cora", PASSWORD)


async def test_concurrent_first_basic_requests_run_argon2_once(
    guard: tuple[LoginGuard, Clock], users: CountingUsers
) -> None:
    """A script opening many connections at once with one credential costs one argon2."""
    g, _ = guard
    actors = await asyncio.gather(*(g.basic_async("cora", PASSWORD, "10.0.0.1") for _ in range(20)))
    assert {a.user_id for a in actors} == {"cora"}
    assert users.verifications == 1


async def test_concurrent_wrong_passwords_are_each_checked_and_counted(
    guard: tuple[LoginGuard, Clock], users: CountingUsers
) -> None:
    """Waiting for another check of the same credential never turns a failure into a pass."""
    g, _ = guard
    outcomes = await asyncio.gather(
        *(g.basic_async("cora", "not the password", "10.0.0.1") for _ in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(o, PermissionError) for o in outcomes)
    assert users.verifications == 5
    state = g.store.failure_state("account:cora")
    assert state is not None and state.count == 5
