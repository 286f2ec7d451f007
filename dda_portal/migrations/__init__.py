"""The store's schema belongs to Alembic: `upgrade` brings a database to the newest revision at start.

Before it changes a file that holds data, a consistent copy is made beside it with SQLite's online backup
API (`<file>.backup-<old revision or "unversioned">-<UTC time>`) and named in the log; all revisions then run
in one transaction, so a failed upgrade leaves the file as it was. A database an earlier release made
without Alembic is completed to the baseline (see versions/0001_baseline.py) and stamped. A database newer
than this code, or a file that is not a readable SQLite database, stops the start with one line
(`UnusableDatabase`) and is left untouched: it is only ever opened read-only before the decision.

A PostgreSQL database is upgraded in one transaction too (its DDL is transactional), under an advisory lock
so two portals starting at once upgrade it one after the other; it is checked inside that transaction, and
refused the same way when newer than this code or holding another application's tables. Its backups are the
server's business (pg_dump, point-in-time recovery): the portal makes none.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SQLITE_HEADER = b'SQLite format 3\x00'
UNVERSIONED = 'unversioned'
# pg_advisory_xact_lock's key while a PostgreSQL database is upgraded (any number, the same in every portal)
UPGRADE_LOCK = 0x44444150
# tables every release before Alembic had: an unversioned file holding none of them is not the portal's
FIRST_RELEASE_TABLES = frozenset({'training_job', 'compilation_attempt', 'sync_cycle', 'sync_state'})


class UnusableDatabase(SystemExit):
    """The store cannot use this database: the portal stops with one line naming the file and the problem."""


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did: the revision before (None: unversioned or new) and after, and the backup made."""

    before: str | None
    after: str
    backup: Path | None = None


def config() -> Config:
    cfg = Config()
    cfg.set_main_option('script_location', str(HERE))
    return cfg


def head() -> str:
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(config()).walk_revisions()}


def sqlite_file(database_url: str) -> Path | None:
    """The file behind a SQLite URL; None for in-memory databases and other engines."""
    url = make_url(database_url)
    if url.get_backend_name() != 'sqlite' or not url.database or url.database == ':memory:':
        return None
    if url.database.startswith('file:') or url.query.get('mode') == 'memory':
        return None
    return Path(url.database)


def upgrade(engine: Engine) -> Upgrade:
    """Bring the store's database to the newest revision (a no-op when it is there already)."""
    path = sqlite_file(str(engine.url))
    if engine.dialect.name != 'sqlite':
        return _upgrade_server(engine)
    if path is None:  # in-memory SQLite (tests): no file to check or copy
        with engine.connect() as connection:
            return _run(connection)
    before = _inspect_file(path)
    target = head()
    if before.revision == target:
        return Upgrade(target, target)
    backup = _backup(path, before.revision) if before.has_tables else None
    migrating = _migration_engine(str(engine.url))
    try:
        with migrating.connect() as connection:
            done = _run(connection)
    except Exception as error:  # the transaction rolled back: the file is as it was
        kept = f'; a copy from before is {backup}' if backup else ''
        raise UnusableDatabase(
            f'Cannot upgrade database {path} from {before.revision or UNVERSIONED} to {target}, '
            f'nothing was changed: {type(error).__name__}: {error}{kept}'
        ) from None
    finally:
        migrating.dispose()
    log.info(
        'Database %s upgraded from %s to %s%s',
        path,
        before.revision or (UNVERSIONED if before.has_tables else 'empty'),
        done.after,
        f' (backup before the upgrade: {backup})' if backup else '',
    )
    return Upgrade(before.revision, done.after, backup)


@dataclass(frozen=True)
class _FileState:
    revision: str | None
    has_tables: bool


def _inspect_file(path: Path) -> _FileState:
    """Read-only look at the file: is it SQLite, readable, ours, and not newer than this code?"""
    if not path.exists() or path.stat().st_size == 0:
        return _FileState(None, False)
    if path.is_dir():
        raise UnusableDatabase(f'Cannot use database {path}: it is a directory, not a SQLite file')
    try:
        with path.open('rb') as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as error:
        raise UnusableDatabase(f'Cannot read database {path}: {error.strerror or error}') from None
    if header != SQLITE_HEADER:
        raise UnusableDatabase(f'Cannot use database {path}: it is not a SQLite database file')
    try:
        db = sqlite3.connect(f'{path.resolve().as_uri()}?mode=ro', uri=True)
    except sqlite3.Error as error:
        raise UnusableDatabase(f'Cannot open database {path}: {error}') from None
    try:
        check = db.execute('PRAGMA quick_check').fetchall()
        if check != [('ok',)]:
            first = check[0][0] if check else 'no answer'
            raise UnusableDatabase(f'Cannot use database {path}: it is damaged ({first})')
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = None
        if 'alembic_version' in tables:
            rows = db.execute('SELECT version_num FROM alembic_version').fetchall()
            revision = rows[0][0] if rows else None
    except sqlite3.DatabaseError as error:
        raise UnusableDatabase(f'Cannot use database {path}: {error}') from None
    finally:
        db.close()
    _refuse_unknown(path, revision, tables)
    return _FileState(revision, bool(tables - {'alembic_version'}))


def _upgrade_server(engine: Engine) -> Upgrade:
    """A server database (PostgreSQL): checked, then upgraded, in one transaction."""
    name = engine.url.render_as_string(hide_password=True)
    try:
        connection = engine.connect()
    except SQLAlchemyError as error:
        raise UnusableDatabase(f'Cannot connect to database {name}: {_first_line(error)}') from None
    target, before, tables = head(), None, set[str]()
    try:
        with connection, connection.begin():
            connection.exec_driver_sql(f'SELECT pg_advisory_xact_lock({UPGRADE_LOCK})')
            before = _current(connection)
            tables = set(inspect(connection).get_table_names())
            _refuse_unknown(name, before, tables)
            if before != target:
                _alembic_upgrade(connection)
    except UnusableDatabase:
        raise
    except Exception as error:  # the transaction rolled back: the database is as it was
        was = before or (UNVERSIONED if tables - {'alembic_version'} else 'empty')
        raise UnusableDatabase(
            f'Cannot upgrade database {name} from {was} to {target}, nothing was changed: '
            f'{type(error).__name__}: {_first_line(error)}'
        ) from None
    if before != target:
        log.info('Database %s upgraded from %s to %s', name, before or 'empty', target)
    return Upgrade(before, target)


def _first_line(error: Exception) -> str:
    """The driver's own words without SQL or parameters (SQLAlchemy appends them on lines of their own)."""
    words = str(getattr(error, 'orig', None) or error).strip()
    return words.splitlines()[0] if words else type(error).__name__


def _refuse_unknown(path: Path | str, revision: str | None, tables: set[str]) -> None:
    if revision is not None and revision not in known_revisions():
        raise UnusableDatabase(
            f'Cannot use database {path}: its schema revision {revision!r} is newer than this portal '
            f'(newest known: {head()!r}); run the release that wrote it, or restore a backup'
        )
    if revision is None and tables and not tables & FIRST_RELEASE_TABLES:
        names = ', '.join(sorted(tables)[:5])
        raise UnusableDatabase(
            f'Cannot use database {path}: it is not a DDA Portal database (it holds tables {names})'
        )


def _backup(path: Path, revision: str | None) -> Path:
    """A consistent copy beside the file, made with SQLite's online backup API."""
    stamp = datetime.now(UTC).strftime('%Y%m%dT%H%M%S.%fZ')
    target = path.with_name(f'{path.name}.backup-{revision or UNVERSIONED}-{stamp}')
    source = sqlite3.connect(f'{path.resolve().as_uri()}?mode=ro', uri=True)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()
    log.info('Database %s: backup before the upgrade written to %s', path, target)
    return target


def _migration_engine(database_url: str) -> Engine:
    """One connection whose BEGIN is SQLite's own (pysqlite would run DDL outside any transaction)."""
    engine = create_engine(database_url, poolclass=NullPool, connect_args={'timeout': 30})

    @event.listens_for(engine, 'connect')
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say when transactions begin and end

    @event.listens_for(engine, 'begin')
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql('BEGIN IMMEDIATE')  # the write lock first: no one changes it under us

    return engine


def _run(connection: Any) -> Upgrade:
    with connection.begin():
        before = _current(connection)
        _alembic_upgrade(connection)
    return Upgrade(before, head())


def _alembic_upgrade(connection: Any) -> None:
    """Every revision after the database's, on this connection, in its open transaction."""
    cfg = config()
    cfg.attributes['connection'] = connection
    command.upgrade(cfg, 'head')


def _current(connection: Any) -> str | None:
    if not inspect(connection).has_table('alembic_version'):
        return None
    row = connection.exec_driver_sql('SELECT version_num FROM alembic_version').first()
    return row[0] if row else None
