"""A browser signed in through the portal's form is signed in on every replica of the same database, and
`Sign out` ends it there too (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nicegui import app
from nicegui.testing import User

from dda_portal.auth import session_id_of
from dda_portal.sign_ins import CACHE_SECONDS
from tests.store.test_sign_ins import Replica, replica
from tests.ui.test_sign_in import accounts, sign_in

__all__ = ['accounts']  # the fixture, used by name


@pytest.fixture
def shared_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The portal under test stores in `database_url` (set before it starts)."""
    monkeypatch.setenv('DDA_DATABASE_URL', database_url)
    yield database_url


@pytest.fixture
def other_replica(shared_database: str, user: User) -> Iterator[Replica]:
    """A second portal's store and gate on the same database, with the same users (once the first runs)."""
    other = replica(shared_database)
    other.gate.accounts = app.state.portal.gate.accounts
    other.gate.wall_clock = app.state.portal.gate.wall_clock
    yield other
    other.store.engine.dispose()


async def test_a_sign_in_through_the_form_holds_on_another_replica_until_sign_out(
    accounts: None, shared_database: str, user: User, other_replica: Replica
) -> None:
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.should_see('alice · Data Scientist', retries=50)
    session = session_id_of(user.client.request)
    assert session is not None
    assert other_replica.person(session) == 'alice'

    user.find(marker='sign-out').click()
    await user.should_see(marker='login-card', retries=50)
    other_replica.now += CACHE_SECONDS  # the other's cached answer has aged out
    assert other_replica.person(session) is None
