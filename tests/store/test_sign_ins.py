"""Sign-ins shared by the replicas on one database: two portals' gates, each with its own Store (its own
engine and cache), as two processes would have them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from starlette.requests import Request

from dda_portal.auth import SESSION_SECONDS, Gate, hash_password
from dda_portal.config import Account, Settings
from dda_portal.domain.access import Role
from dda_portal.sign_ins import CACHE_SECONDS, session_hash
from dda_portal.store import Store

T0 = 1_900_000_000.0  # wall-clock seconds of the first sign-in
HASH = hash_password('alice-secret-1')


@dataclass
class Replica:
    store: Store
    gate: Gate
    now: float = 0.0  # the cache's clock, moved by hand

    def person(self, session_id: str) -> str | None:
        found = self.gate.person_for(browser(session_id))
        return found.name if found else None


def browser(session_id: str | None) -> Request:
    """A request as the gate sees it: the session id NiceGUI keeps in the signed cookie."""
    return Request({'type': 'http', 'session': {} if session_id is None else {'id': session_id}})


def replica(database_url: str) -> Replica:
    settings = Settings(
        database_url=database_url,
        users={'alice': Account(role=Role.DATA_SCIENTIST, password_hash=HASH)},
        storage_secret='a-test-secret-of-32-characters!!',
    )
    store = Store(database_url)
    made = Replica(store, Gate(settings, store))
    made.gate.wall_clock = lambda: T0
    made.gate.sign_ins.clock = lambda: made.now
    return made


@pytest.fixture
def replicas(database_url: str) -> Iterator[tuple[Replica, Replica]]:
    pair = (replica(database_url), replica(database_url))
    yield pair
    for each in pair:
        each.store.engine.dispose()


def sign_in(on: Replica, anonymous: str = 'the-form-session') -> str:
    """What /login/complete does with a redeemed ticket; the browser's new session id."""
    request = browser(anonymous)
    on.gate.start_session(request, 'alice')
    new = request.session['id']
    assert new != anonymous
    return str(new)


def rows(store: Store) -> list[tuple[object, ...]]:
    with store.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text('SELECT session_hash, name FROM sign_in'))]


def test_a_sign_in_on_one_replica_is_honoured_by_another(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    assert b.person('the-form-session') is None  # b has looked (and cached the answer) before
    session = sign_in(a)
    assert a.person(session) == 'alice'
    assert b.person(session) == 'alice'  # a session b never saw: read from the store at once
    assert a.person('the-form-session') is None and b.person('the-form-session') is None
    assert b.person(None) is None


def test_the_store_keeps_only_a_hash_of_the_session_id(replicas: tuple[Replica, Replica]) -> None:
    a, _ = replicas
    session = sign_in(a)
    assert rows(a.store) == [(session_hash(session), 'alice')]
    assert session not in str(rows(a.store))


def test_sign_out_on_one_replica_ends_the_session_on_the_other_within_the_cache_bound(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    session = sign_in(a)
    assert b.person(session) == 'alice'  # b caches it now
    a.gate.sign_ins.end(session)  # `Sign out` on a
    assert a.person(session) is None  # on a at once
    assert rows(a.store) == []
    b.now += CACHE_SECONDS - 0.1
    assert b.person(session) == 'alice'  # b's cached answer, younger than the bound
    b.now += 0.1
    assert b.person(session) is None  # no later than CACHE_SECONDS after the sign-out


async def test_a_page_request_reads_the_sign_in_off_the_loop_then_from_the_cache(
    replicas: tuple[Replica, Replica], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    session = sign_in(a)
    await b.gate.load(browser(session))  # the middleware: in the store's read threads

    def no_blocking_read(*_: object) -> None:
        raise AssertionError('a blocking read of the store')

    monkeypatch.setattr(b.store, 'read', no_blocking_read)
    assert b.person(session) == 'alice'  # the page and its handlers: from the cache
    await b.gate.load(browser(session))  # still fresh: nothing read
    b.now += CACHE_SECONDS
    with pytest.raises(AssertionError, match='blocking read'):
        b.person(session)  # a stale entry is read again


def test_expired_sign_ins_are_not_honoured_and_are_deleted(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    old = sign_in(a)
    later = T0 + SESSION_SECONDS + 1
    b.gate.wall_clock = lambda: later
    b.gate.sign_ins.forget_cached()
    assert b.person(old) is None  # 12 h and a second after signing in
    assert len(rows(b.store)) == 1  # still there, until the next sign-in on any replica
    a.gate.wall_clock = lambda: later
    new = sign_in(a, 'another-browser')
    assert rows(a.store) == [(session_hash(new), 'alice')]  # the expired one is gone
    assert b.person(new) == 'alice'


def test_signing_in_again_ends_the_session_id_the_form_had(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    first = sign_in(a)
    assert b.person(first) == 'alice'
    second = sign_in(a, first)  # the same browser signs in again (say, as someone else)
    b.now += CACHE_SECONDS
    assert b.person(first) is None
    assert b.person(second) == 'alice'
    assert rows(b.store) == [(session_hash(second), 'alice')]


def test_a_new_replica_honours_the_sign_ins_of_one_that_died(database_url: str) -> None:
    first = replica(database_url)
    session = sign_in(first)
    first.store.engine.dispose()  # its process is gone; its sign-ins stay in the store
    second = replica(database_url)
    try:
        assert second.person(session) == 'alice'
    finally:
        second.store.engine.dispose()
