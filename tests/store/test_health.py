"""The store says whether its file takes writes; a write it cannot make never stops the refresh."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import dda_portal.store
from dda_portal.store import Store


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another process's writer holding the database's write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute('BEGIN EXCLUSIVE')
    other.execute("INSERT INTO sync_state (\"key\", value) VALUES ('other', '2026-11-30 00:00:00')")
    try:
        yield
    finally:
        other.execute('ROLLBACK')
        other.close()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(dda_portal.store, 'DEFAULT_BUSY_MS', 200)  # wait 0.2 s for a lock, not 30 s
    store = Store(f'sqlite:///{tmp_path / "portal.db"}')
    yield store
    store.engine.dispose()


def test_write_probe_names_the_lock_and_recovers(store: Store, tmp_path: Path) -> None:
    assert store.write_problem() is None
    with write_locked(tmp_path / 'portal.db'):
        assert store.write_problem() == 'database is locked'
    assert store.write_problem() is None
