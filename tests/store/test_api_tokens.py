"""API tokens on each backend: two replicas (each its own Store and cache, as two processes) see a token made
on the command line, and both refuse it within CACHE_SECONDS of its revocation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from dda_portal import api_tokens, queries
from dda_portal.api_tokens import CACHE_SECONDS, ApiTokens, TokenError
from dda_portal.domain.access import Role
from dda_portal.store import Store


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[Store, Store]]:
    one, two = Store(database_url), Store(database_url)
    yield one, two
    one.engine.dispose()
    two.engine.dispose()


def test_a_revoked_token_is_refused_on_every_replica_within_the_cache_time(
    stores: tuple[Store, Store],
) -> None:
    one, two = stores
    token = api_tokens.create(one, 'pipeline', 'data-scientist')
    assert token.startswith(api_tokens.PREFIX)
    row = one.read(queries.api_tokens.named, 'pipeline')
    assert row is not None and row.token_hash == api_tokens.token_hash(token) and token not in repr(row)
    replicas = [ApiTokens(one), ApiTokens(two)]
    now = [0.0]
    for replica in replicas:
        replica.clock = lambda: now[0]

    async def who() -> list[object]:
        return [await r.person(token) for r in replicas]

    assert [p.role if p else None for p in asyncio.run(who())] == [Role.DATA_SCIENTIST, Role.DATA_SCIENTIST]
    api_tokens.revoke(one, 'pipeline')
    assert all(p is not None for p in asyncio.run(who()))  # still cached: at most CACHE_SECONDS
    now[0] += CACHE_SECONDS
    assert asyncio.run(who()) == [None, None]
    assert asyncio.run(replicas[0].person(token[:-1] + 'x')) is None
    assert asyncio.run(replicas[0].person('not-a-portal-token')) is None


def test_names_are_unique_and_revocation_is_kept(stores: tuple[Store, Store]) -> None:
    one, two = stores
    api_tokens.create(one, 'grafana', 'operator')
    with pytest.raises(TokenError, match='exists already'):
        api_tokens.create(two, 'grafana', 'data-scientist')
    with pytest.raises(TokenError, match='printable'):
        api_tokens.create(one, 'has space', 'operator')
    api_tokens.revoke(two, 'grafana')
    api_tokens.revoke(two, 'grafana')  # twice is fine
    listed = {t.name: t for t in api_tokens.listed(one)}
    assert listed['grafana'].role == 'operator' and listed['grafana'].revoked_at is not None
