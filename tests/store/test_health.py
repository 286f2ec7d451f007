"""The store says whether its database takes writes; a write it cannot make never stops the refresh."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import dda_portal.store
from dda_portal.store import Store
from tests.backends import write_locked

# each backend's own words for a write lock held by someone else
LOCKED = {'sqlite': 'database is locked', 'postgresql': 'canceling statement due to lock timeout'}


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(dda_portal.store, 'DEFAULT_BUSY_MS', 200)  # wait 0.2 s for a lock, not 30 s
    store = Store(database_url)
    yield store
    store.engine.dispose()


def test_write_probe_names_the_lock_and_recovers(store: Store, database_url: str) -> None:
    assert store.write_problem() is None
    with write_locked(database_url):
        assert store.write_problem() == LOCKED[store.engine.dialect.name]
    assert store.write_problem() is None
