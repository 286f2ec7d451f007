"""The store says whether its database takes writes; a write it cannot make never stops the refresh."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dda_portal.store
from dda_portal.domain.clock import utcnow
from dda_portal.queries import freshness as freshness_queries
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


def test_an_older_read_of_the_freshness_never_replaces_a_newer_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh's thread and the listener's both read the freshness after commits: a read that began
    before a newer refresh was recorded, and ends after it, must not bring the old failure back."""
    store = Store(f'sqlite:///{tmp_path / "portal.db"}')
    store.record_cycle(utcnow(), 3, 0, ('ThrottlingException', 'Rate exceeded'))
    older = store.read(freshness_queries.freshness)  # read while the failure was the newest refresh
    store.record_cycle(utcnow(), 3, 0)
    assert store.freshness().last_failure is None
    monkeypatch.setattr(store, 'read', lambda *_: older)  # that read ends only now
    store._read_freshness()
    assert store.freshness().last_failure is None
