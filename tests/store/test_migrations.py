"""Upgrades lose nothing: databases earlier releases wrote are brought to today's schema by Alembic at start,
after a backup; newer or unreadable files stop the start with one line and stay as they were."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

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


def stopped_with_one_line(path: Path) -> str:
    with pytest.raises(UnusableDatabase) as stopped:
        Store(f'sqlite:///{path}')
    message = str(stopped.value)
    assert '\n' not in message and str(path) in message
    assert isinstance(stopped.value, SystemExit)  # printed as one line, no traceback
    return message


def test_database_newer_than_the_code_stops_the_start_untouched(tmp_path: Path) -> None:
    path = tmp_path / 'portal.db'
    open_store(path).engine.dispose()
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    db.execute('PRAGMA journal_mode=DELETE')
    db.close()
    files, digest = sorted(os.listdir(tmp_path)), sha256(path)
    message = stopped_with_one_line(path)
    assert "'9999_from_the_future' is newer than this portal" in message
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
    scripts = Path(shutil.copytree(migrations.HERE, tmp_path / 'migrations'))
    head = migrations.head()
    (scripts / 'versions' / '9999_fails.py').write_text(
        f'revision = "9999_fails"\ndown_revision = "{head}"\nbranch_labels = None\ndepends_on = None\n'
        'def upgrade():\n    raise RuntimeError("disk on fire")\n'
    )
    monkeypatch.setattr(migrations, 'HERE', scripts)
    digest, before = sha256(old_database), rows(old_database)
    message = stopped_with_one_line(old_database)
    assert (
        'nothing was changed' in message and 'disk on fire' in message and '.backup-unversioned-' in message
    )
    assert rows(old_database) == before  # neither the baseline nor any later revision stayed
    assert sha256(old_database) == digest


@pytest.mark.parametrize('source', ['fresh', 'upgraded'])
def test_models_and_migrations_do_not_drift(source: str, tmp_path: Path) -> None:
    paths = [tmp_path / 'fresh.db']
    if source == 'upgraded':
        paths = [Path(shutil.copy(FIXTURES / name, tmp_path / name)) for name in RELEASES]
    for path in paths:
        open_store(path).engine.dispose()
        engine = create_engine(f'sqlite:///{path}')
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        engine.dispose()
        assert differences == [], path.name
