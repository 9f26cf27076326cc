"""Bearer tokens are not read from the store on every request (issue 13), yet a revoked token is
refused at once in the process that revoked it and within ``RECHECK_S`` in any other."""

from __future__ import annotations

import asyncio
from pathlib import Path

from store.security import ApiToken, SecurityStore
from web.token_cache import RECHECK_S, TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(SecurityStore):
    """Counts look-ups; ``revoke_during_lookup`` revokes the token after reading it live, as a
    revocation committed while a look-up is in flight would."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.lookups = 0
        self.revoke_during_lookup = False

    def token(self, presented: str) -> ApiToken | None:
        self.lookups += 1
        found = super().token(presented)
        if found is not None and self.revoke_during_lookup:
            self.revoke_during_lookup = False
            self.revoke_token(found.token_id)
        return found


def _token_id(token: str) -> str:
    return token.split("_")[1]


def test_a_live_token_is_read_once_per_recheck_interval() -> None:
    store, clock = CountingStore("sqlite://"), Clock()
    cache = TokenCache(store, clock=clock)
    token = store.create_token("cora", "coordinator", "t")

    async def run() -> None:
        for _ in range(5):
            assert await cache.token(token) is not None
        assert store.lookups == 1
        clock.now += RECHECK_S
        assert await cache.token(token) is not None
        assert store.lookups == 2

    asyncio.run(run())


def test_concurrent_requests_with_one_token_share_one_lookup() -> None:
    store = CountingStore("sqlite://")
    cache = TokenCache(store)
    token = store.create_token("cora", "coordinator", "t")

    async def run() -> None:
        found = await asyncio.gather(*(cache.token(token) for _ in range(50)))
        assert all(t is not None and t.username == "cora" for t in found)

    asyncio.run(run())
    assert store.lookups == 1


def test_a_token_revoked_in_this_process_is_refused_on_the_next_request() -> None:
    store = CountingStore("sqlite://")
    cache = TokenCache(store, clock=Clock())  # the clock never moves: only the revocation can
    token = store.create_token("cora", "coordinator", "t")
    other = store.create_token("ivan", "investigator", "t")

    async def run() -> None:
        assert await cache.token(token) is not None
        assert await cache.token(other) is not None
        store.revoke_token(_token_id(token))
        assert await cache.token(token) is None
        # Deactivation, password reset and role change end every token of the user.
        store.revoke_user("ivan")
        assert await cache.token(other) is None

    asyncio.run(run())


def test_a_revocation_committed_during_a_lookup_is_not_outlived_by_its_answer() -> None:
    store = CountingStore("sqlite://")
    cache = TokenCache(store, clock=Clock())
    token = store.create_token("cora", "coordinator", "t")
    store.revoke_during_lookup = True

    async def run() -> None:
        # Read live just before the revocation committed: that request may pass ...
        assert await cache.token(token) is not None
        # ... but nothing after it does.
        assert await cache.token(token) is None

    asyncio.run(run())


def test_a_token_revoked_by_another_process_is_refused_within_the_recheck_interval(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'security.db'}"
    web, cli = SecurityStore(url), SecurityStore(url)  # two engines: two processes
    clock = Clock()
    cache = TokenCache(web, clock=clock)
    token = cli.create_token("cora", "coordinator", "t")

    async def run() -> None:
        assert await cache.token(token) is not None
        cli.revoke_token(_token_id(token))
        clock.now += RECHECK_S
        assert await cache.token(token) is None

    asyncio.run(run())
    assert RECHECK_S <= 1.0


def test_a_forged_secret_for_a_known_token_id_is_refused() -> None:
    store = SecurityStore("sqlite://")
    cache = TokenCache(store)
    token = store.create_token("cora", "coordinator", "t")

    async def run() -> None:
        assert await cache.token(token) is not None
        assert await cache.token(token[:-4] + "AAAA") is None
        assert await cache.token("jy231_nothing_here") is None

    asyncio.run(run())
