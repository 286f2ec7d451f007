"""What only a server database has: its own time zone, portals starting together, a server out of reach, a
password in the URL, its partial indexes as PostgreSQL holds them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from dda_portal import migrations, queries
from dda_portal.domain.status import CompilationStatus, TrainingStatus
from dda_portal.migrations import UnusableDatabase
from dda_portal.store import Store
from dda_portal.tables import CompilationAttempt, TrainingJob
from tests.backends import free_port

NOON_UTC = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def raw(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_timestamps_are_kept_as_utc_whatever_the_servers_time_zone(postgresql_url: str) -> None:
    name = make_url(postgresql_url).database
    raw(postgresql_url, f"ALTER DATABASE {name} SET timezone TO 'America/New_York'")
    store = Store(postgresql_url)
    in_tokyo = NOON_UTC.astimezone(timezone(timedelta(hours=9)))
    job = TrainingJob(
        name='cracks', status=TrainingStatus.COMPLETED, created_at=in_tokyo, last_modified=NOON_UTC
    )
    attempt = CompilationAttempt(
        job_name='cracks-nano-1',
        training_job_name='cracks',
        target_id='jetson_nano',
        target_label='Jetson Nano',
        status=CompilationStatus.STARTING,
        created_at=NOON_UTC,
        last_modified=NOON_UTC,
        reserved=True,
        arn='',
    )

    def add(session: Session) -> None:
        session.add_all([job, attempt])

    store.write(add)
    # what another client of the database reads: the UTC wall time
    assert raw(postgresql_url, "SELECT created_at FROM training_job WHERE name = 'cracks'") == [
        (NOON_UTC.replace(tzinfo=None),)
    ]
    stored = store.read(queries.jobs.training_job, 'cracks')
    assert stored is not None and stored.created_at == NOON_UTC and stored.created_at.tzinfo is not None
    # comparisons with aware values are made in UTC too
    just_after = queries.jobs.unconfirmed_attempts
    assert [a.job_name for a in store.read(just_after, NOON_UTC + timedelta(seconds=1))] == ['cracks-nano-1']
    assert store.read(just_after, NOON_UTC - timedelta(seconds=1)) == []
    store.engine.dispose()


def test_portals_starting_together_on_an_empty_database_upgrade_it_once(postgresql_url: str) -> None:
    stores: list[Store] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            stores.append(Store(postgresql_url))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(stores) == 4
    assert sorted(s.upgraded.before or '' for s in stores) == ['', *[migrations.head()] * 3]
    for store in stores:
        store.engine.dispose()


def test_a_server_out_of_reach_stops_the_start_with_one_line_without_the_password() -> None:
    url = f'postgresql+psycopg://portal:s3cret@127.0.0.1:{free_port()}/portal'
    with pytest.raises(UnusableDatabase) as stopped:
        Store(url)
    message = str(stopped.value)
    assert message.startswith('Cannot connect to database postgresql+psycopg://portal:***@127.0.0.1:')
    assert '\n' not in message and 's3cret' not in message


def test_a_plain_postgresql_url_uses_psycopg_3(postgresql_url: str) -> None:
    store = Store(postgresql_url.replace('postgresql+psycopg://', 'postgresql://'))
    assert store.engine.dialect.driver == 'psycopg'
    assert store.database_name == f'{make_url(postgresql_url).database} on 127.0.0.1'  # as /readyz names it
    assert store.read(queries.jobs.training_jobs) == [] and store.write_problem() is None
    store.engine.dispose()


def test_a_database_the_store_cannot_run_on_is_named_in_one_line() -> None:
    with pytest.raises(UnusableDatabase, match=r'^Cannot use database mysql://portal:\*\*\*@db/portal: '):
        Store('mysql://portal:s3cret@db/portal')


def test_the_partial_unique_indexes_are_partial_on_postgresql(postgresql_url: str) -> None:
    Store(postgresql_url).engine.dispose()
    rows = raw(postgresql_url, "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'one_%'")
    definitions = {str(name): str(definition) for name, definition in rows}
    live = definitions['one_live_attempt_per_target']
    assert live.startswith('CREATE UNIQUE INDEX') and 'WHERE (reserved AND' in live, live
    assert all(f"'{s}'" in live for s in ('Starting', 'In progress', 'Stopping', 'Completed'))
    package = definitions['one_package_per_attempt']
    assert package.startswith('CREATE UNIQUE INDEX') and package.endswith(
        "WHERE ((origin)::text = 'portal'::text)"
    )
