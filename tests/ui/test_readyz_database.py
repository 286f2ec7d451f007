"""/readyz proves the database file takes a write: not ready while another process holds its write lock."""

from __future__ import annotations

import sqlite3

from nicegui import app
from nicegui.testing import User

from dda_portal.domain.clock import utcnow
from dda_portal.queries.refresh import CycleResult


async def test_readyz_is_not_ready_while_the_database_is_locked(user: User) -> None:
    store = app.state.portal.store
    store.apply(CycleResult(started_at=utcnow(), aws_calls=0))  # a successful refresh just now
    assert (await user.http_client.get('/readyz')).status_code == 200  # type: ignore[attr-defined]

    other = sqlite3.connect(store.database_file, isolation_level=None)
    other.execute('BEGIN EXCLUSIVE')
    try:
        response = await user.http_client.get('/readyz')  # type: ignore[attr-defined]
    finally:
        other.execute('ROLLBACK')
        other.close()
    assert response.status_code == 503
    assert response.json()['problems'] == ['database ui.db not writable: database is locked']

    assert (await user.http_client.get('/readyz')).status_code == 200  # type: ignore[attr-defined]
