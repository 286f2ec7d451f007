"""Upgrades lose nothing: databases earlier releases wrote are brought to today's schema by Alembic at start,
after a backup; newer or unreadable files stop the start with one line and stay as they were.

What does not depend on a SQLite file (an empty database brought to the newest revision, a newer or foreign
database refused, a failed upgrade rolled back, the unique indexes, no drift) runs on PostgreSQL too."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, DateTime, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, UTCDateTime

from dda_portal import migrations, queries
from dda_portal.domain.attempts import StartDecision
from dda_portal.migrations import UnusableDatabase
from dda_portal.store import Store
from dda_portal.tables import CompilationAttempt
from tests.store.databases import FIXTURES, RELEASES, rows, sha256

PARTIAL_INDEXES = {
    'one_live_attempt_per_target': (
        "WHERE reserved AND status IN ('Starting', 'In progress', 'Stopping', 'Completed')"
    ),
    'one_package_per_attempt': "WHERE origin = 'portal'",
}


def open_store(path: Path) -> Store:
    store = Store(f'sqlite:///{path}')
    return store


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f'{path.name}.backup-*'))


def index_sql(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(
            db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        )
    finally:
        db.close()


def test_upgrade_keeps_every_row_and_value(old_database: Path) -> None:
    before = rows(old_database)
    assert before['compilation_attempt'] and before['training_job'] and before['sync_cycle']
    store = open_store(old_database)
    store.engine.dispose()
    after = rows(old_database)
    for table, old_rows in before.items():
        assert len(after[table]) == len(old_rows), table
        for old, new in zip(old_rows, after[table], strict=True):
            assert {k: new[k] for k in old} == old, table  # every old column keeps its value
    assert {r['reserved'] for r in after['compilation_attempt']} <= {0, 1}
    assert 'auto_compiled_at' in after['training_job'][0]


def test_upgrade_creates_every_index_with_its_where_clause(old_database: Path) -> None:
    open_store(old_database).engine.dispose()
    indexes = index_sql(old_database)
    for table in SQLModel.metadata.tables.values():
        for index in table.indexes:
            assert index.name in indexes, index.name
    for name, where in PARTIAL_INDEXES.items():
        assert indexes[name].startswith('CREATE UNIQUE INDEX') and indexes[name].endswith(where), name


def test_guards_hold_after_the_upgrade(old_database: Path) -> None:
    store = open_store(old_database)
    job = next(j for j in store.read(queries.jobs.training_jobs) if j.status == 'Completed')
    reserved = store.write(
        queries.attempts.reserve_attempt,
        job.name,
        'jetson_nano',
        'Jetson Nano',
        lambda n: f'{job.name}-nano-{n}',
        'portal',
    )
    assert isinstance(reserved, CompilationAttempt)
    again = store.write(
        queries.attempts.reserve_attempt,
        job.name,
        'jetson_nano',
        'Jetson Nano',
        lambda n: f'{job.name}-nano-{n}',
        'portal',
    )
    assert isinstance(again, StartDecision) and not again.allowed
    store.engine.dispose()
    db = sqlite3.connect(old_database)
    with pytest.raises(sqlite3.IntegrityError, match='UNIQUE'):
        db.execute(
            'INSERT INTO compilation_attempt (job_name, arn, training_job_name, target_id, target_label, '
            'attempt, status, created_at, last_modified, origin, reserved, in_aws) '
            "VALUES ('second', '', ?, 'jetson_nano', 'Jetson Nano', 2, 'Starting', '2026-11-30', "
            "'2026-11-30', 'portal', 1, 1)",
            (job.name,),
        )
    db.close()


def test_upgraded_portal_shows_the_history(old_database: Path) -> None:
    before = rows(old_database)
    store = open_store(old_database)
    jobs = store.read(queries.jobs.training_jobs)
    assert {j.name for j in jobs} == {r['name'] for r in before['training_job']}
    attempts = [a for j in jobs for a in store.read(queries.jobs.attempts_for, j.name)]
    linked = [r for r in before['compilation_attempt'] if r['training_job_name']]
    assert sorted(a.job_name for a in attempts) == sorted(r['job_name'] for r in linked)
    assert {'Failed', 'Stopped', 'Completed'} <= {a.status for a in attempts}
    failed = next(a for a in attempts if a.status == 'Failed')
    assert failed.failure_reason
    latest = store.read(queries.jobs.latest_attempts_by_training_job)
    assert sum(len(v) for v in latest.values()) >= len(jobs) // 2
    assert len(store.read(queries.fleet.components)) == len(before.get('component_version', []))
    assert len(store.read(queries.fleet.devices)) == len(before.get('core_device', []))
    store.engine.dispose()


def test_backup_is_a_consistent_copy_named_in_the_log(
    old_database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = rows(old_database)
    with caplog.at_level(logging.INFO, logger='dda_portal.migrations'):
        store = open_store(old_database)
    store.engine.dispose()
    [backup] = backups(old_database)
    assert backup.name.startswith('portal.db.backup-unversioned-') and backup.name.endswith('Z')
    assert store.upgraded.backup == backup
    assert rows(backup) == original  # a valid SQLite file holding exactly the old rows
    assert any(str(backup) in record.getMessage() for record in caplog.records)


def test_upgrading_twice_changes_nothing_the_second_time(old_database: Path) -> None:
    open_store(old_database).engine.dispose()
    upgraded = rows(old_database)
    second = open_store(old_database)
    second.engine.dispose()
    assert second.upgraded.before == second.upgraded.after == migrations.head()
    assert second.upgraded.backup is None
    assert len(backups(old_database)) == 1
    assert rows(old_database) == upgraded


def test_fresh_file_gets_the_newest_revision_and_no_backup(tmp_path: Path) -> None:
    path = tmp_path / 'new' / 'portal.db'
    store = open_store(path)
    store.engine.dispose()
    assert store.upgraded.after == migrations.head()
    db = sqlite3.connect(path)
    assert db.execute('SELECT version_num FROM alembic_version').fetchall() == [(migrations.head(),)]
    db.close()
    assert not backups(path)


def test_in_memory_database_still_works() -> None:
    store = Store('sqlite://')
    assert store.upgraded.after == migrations.head()
    assert store.read(queries.jobs.training_jobs) == []
    assert store.write_problem() is None


def stopped_with_one_line(where: Path | str) -> str:
    """The start stops with one line naming the database (a file, or a server's URL without password)."""
    url = where if isinstance(where, str) else f'sqlite:///{where}'
    with pytest.raises(UnusableDatabase) as stopped:
        Store(url)
    message = str(stopped.value)
    named = migrations.sqlite_file(url) or make_url(url).render_as_string(hide_password=True)
    assert '\n' not in message and str(named) in message
    assert isinstance(stopped.value, SystemExit)  # printed as one line, no traceback
    return message


def test_database_newer_than_the_code_stops_the_start_untouched(database_url: str, tmp_path: Path) -> None:
    Store(database_url).engine.dispose()
    with connected(database_url) as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    path = migrations.sqlite_file(database_url)
    if path is not None:
        db = sqlite3.connect(path)
        db.execute('PRAGMA journal_mode=DELETE')
        db.close()
    files, digest, before = sorted(os.listdir(tmp_path)), path and sha256(path), all_rows(database_url)
    message = stopped_with_one_line(database_url)
    assert "'9999_from_the_future' is newer than this portal" in message
    assert all_rows(database_url) == before
    if path is not None:
        assert sha256(path) == digest and sorted(os.listdir(tmp_path)) == files  # no backup, no -wal


@pytest.mark.parametrize(
    'content',
    [
        os.urandom(8192),
        b'portal_url = "http://localhost"\nnot a database at all\n',
        b'SQLite format 3\x00' + os.urandom(8176),  # the right header, then garbage
    ],
    ids=['random-bytes', 'text-file', 'damaged-sqlite'],
)
def test_unreadable_file_stops_the_start_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / 'portal.db'
    path.write_bytes(content)
    message = stopped_with_one_line(path)
    assert message.startswith('Cannot')
    assert path.read_bytes() == content and os.listdir(tmp_path) == ['portal.db']


def test_failed_upgrade_rolls_back_every_revision(
    old_database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing_revision(tmp_path, monkeypatch)
    digest, before = sha256(old_database), rows(old_database)
    message = stopped_with_one_line(old_database)
    assert (
        'nothing was changed' in message and 'disk on fire' in message and '.backup-unversioned-' in message
    )
    assert rows(old_database) == before  # neither the baseline nor any later revision stayed
    assert sha256(old_database) == digest


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    Store(database_url).engine.dispose()
    assert differences(database_url) == []


def test_upgraded_releases_do_not_drift_from_the_models(tmp_path: Path) -> None:
    for name in RELEASES:
        path = Path(shutil.copy(FIXTURES / name, tmp_path / name))
        open_store(path).engine.dispose()
        assert differences(f'sqlite:///{path}') == [], name


def differences(database_url: str) -> list[object]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={'compare_type': same_timestamps})
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def same_timestamps(
    _context: object, _inspected: object, _column: object, stored: object, model: object
) -> bool | None:
    """The models' datetimes are SQLModel's UTCDateTime (aware in Python); the migrations keep them as
    `timestamp without time zone` holding UTC (the store's PostgreSQL sessions run in UTC): the same."""
    if isinstance(model, UTCDateTime) and isinstance(stored, DateTime) and not stored.timezone:
        return False
    return None  # Alembic's own comparison


def test_an_empty_database_gets_the_newest_revision(database_url: str) -> None:
    store = Store(database_url)
    assert store.upgraded == migrations.Upgrade(None, migrations.head())
    assert store.read(queries.jobs.training_jobs) == [] and store.write_problem() is None
    store.engine.dispose()
    with connected(database_url) as connection:
        assert connection.execute(text('SELECT version_num FROM alembic_version')).all() == [
            (migrations.head(),)
        ]
    again = Store(database_url)
    assert again.upgraded == migrations.Upgrade(migrations.head(), migrations.head())
    again.engine.dispose()


def test_failed_upgrade_of_an_empty_database_leaves_it_empty(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing_revision(tmp_path, monkeypatch)
    message = stopped_with_one_line(database_url)
    assert 'nothing was changed' in message and 'disk on fire' in message
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []  # not even the baseline's tables stayed
    finally:
        engine.dispose()


def test_a_database_of_another_application_is_refused_untouched(database_url: str) -> None:
    with connected(database_url) as connection:
        connection.execute(text('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)'))
        connection.execute(text('INSERT INTO invoices VALUES (1, 42)'))
    before = all_rows(database_url)
    message = stopped_with_one_line(database_url)
    assert 'not a DDA Portal database (it holds tables invoices)' in message
    assert all_rows(database_url) == before


def test_the_database_keeps_one_live_attempt_per_target_and_one_package_per_attempt(
    database_url: str,
) -> None:
    """The partial unique indexes hold on every backend, whatever a writer checked before."""
    store = Store(database_url)
    store.engine.dispose()
    attempt = (
        'INSERT INTO compilation_attempt (job_name, arn, training_job_name, target_id, target_label, '
        "attempt, status, created_at, last_modified, origin, reserved, in_aws) VALUES (:name, '', 'cracks', "
        "'jetson_nano', 'Jetson Nano', 1, :status, '2026-11-30', '2026-11-30', 'portal', :reserved, true)"
    )
    package = (
        'INSERT INTO component_version (arn, component_name, component_version, state, compilation_job_name, '
        "origin) VALUES (:arn, 'cracks', '1.0.0', 'DEPLOYABLE', 'cracks-nano-1', :origin)"
    )
    with connected(database_url) as connection:
        connection.execute(text(attempt), {'name': 'first', 'status': 'Starting', 'reserved': True})
        connection.execute(text(attempt), {'name': 'failed', 'status': 'Failed', 'reserved': True})
        connection.execute(text(attempt), {'name': 'external', 'status': 'Starting', 'reserved': False})
        connection.execute(text(package), {'arn': 'a', 'origin': 'portal'})
        connection.execute(text(package), {'arn': 'b', 'origin': 'external'})
    for statement, values in [
        (attempt, {'name': 'second', 'status': 'In progress', 'reserved': True}),
        (package, {'arn': 'c', 'origin': 'portal'}),
    ]:
        with pytest.raises(IntegrityError), connected(database_url) as connection:
            connection.execute(text(statement), values)


@contextmanager
def connected(database_url: str) -> Iterator[Connection]:
    """One transaction of another process's, committed when the block ends."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def all_rows(database_url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            names = sorted(inspect(connection).get_table_names())
            return {
                t: [tuple(r) for r in connection.execute(text(f'SELECT * FROM {t} ORDER BY 1'))]
                for t in names
            }
    finally:
        engine.dispose()


def failing_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A revision after the newest that fails: every revision before it must roll back with it."""
    scripts = Path(shutil.copytree(migrations.HERE, tmp_path / 'migrations'))
    head = migrations.head()
    (scripts / 'versions' / '9999_fails.py').write_text(
        f'revision = "9999_fails"\ndown_revision = "{head}"\nbranch_labels = None\ndepends_on = None\n'
        'def upgrade():\n    raise RuntimeError("disk on fire")\n'
    )
    monkeypatch.setattr(migrations, 'HERE', scripts)
