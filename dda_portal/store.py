"""The store's front door: the engine, sessions and transactions, the change event, the freshness pages show.

Its parts sit beside it: `tables.py` (the tables), `queries/` (reads and writes as plain functions taking a
session), `migrations/` (schema upgrades, run when the store opens), `leadership.py` (which replica
refreshes) and `notices.py` (changes reaching the other replicas), both for PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from nicegui import Event
from sqlalchemy import Connection, Engine, text
from sqlalchemy import event as sa_event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

from . import migrations, notices
from .config import default_replica_id
from .domain.alerts import AlertPolicy
from .domain.changes import NOTHING, Changed, Notice
from .domain.clock import utcnow
from .leadership import Leadership
from .queries import alerts, places, refresh
from .queries.freshness import Freshness
from .queries.freshness import freshness as freshness_of
from .queries.refresh import CycleResult
from .use_cases import DEFAULT_USE_CASE
from .workers import WorkerPool

log = logging.getLogger(__name__)

HEALTH_PROBE_BUSY_MS = 1000
HEALTH_PROBE_STATEMENT_MS = 3000  # PostgreSQL: the whole probe write
DEFAULT_BUSY_MS = 30_000

P = ParamSpec('P')
T = TypeVar('T')

# reads pages await: threads of their own, so the event loop never waits on the database
STORE_READS = WorkerPool('store-reads', 2, max_waiting=1024)


class Store:
    def __init__(
        self, database_url: str, replica_id: str | None = None, leader_retry_seconds: float = 5.0
    ) -> None:
        """Open the store, upgrading its schema first (migrations.upgrade: backup, one transaction).

        SQLite (`sqlite:///file`, the default) or PostgreSQL (`postgresql+psycopg://user:pass@host/db`).
        Raises migrations.UnusableDatabase (a SystemExit: one line, no traceback) for a database newer than
        this code, a file that is not a readable SQLite database (left untouched), a server it cannot reach,
        or a URL of another kind.

        On PostgreSQL, several portals (replicas, each its `replica_id`) may share the database:
        `start_replica` makes this one try to lead and hear the others' changes.
        """
        # what each write records in the alerts outbox (queries/alerts.py); None records nothing
        self.alert_policy: AlertPolicy | None = None
        self._place = threading.local()  # the place this thread works in (at)
        self.engine = _engine(database_url)
        self.database_file = migrations.sqlite_file(database_url)
        self.database_name = _database_name(self.engine.url, self.database_file)
        self.upgraded = migrations.upgrade(self.engine)
        # fired on NiceGUI's loop after each commit, with the keys that changed
        self.changed: Event[Changed] = Event()
        self._writes = threading.Lock()  # one writer of this process at a time: check-then-insert is safe
        self._freshness_lock = threading.Lock()
        self._freshness: Freshness | None = None
        self._read_freshness()
        self.replica_id = replica_id or default_replica_id()
        self.postgresql = self.engine.dialect.name == 'postgresql'
        self.leadership = Leadership(self.engine.url, self.replica_id, retry_seconds=leader_retry_seconds)
        # on NiceGUI's loop: another replica finished a refresh cycle / asks the leader to refresh now
        self.cycle_ended: Event[[]] = Event()
        self.refresh_requested: Event[[]] = Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: notices.Listener | None = None
        self._sender = ThreadPoolExecutor(1, thread_name_prefix='store-notices')
        self._fenced = threading.local()

    # ---- replicas (PostgreSQL) ---------------------------------------------------------------------------

    def start_replica(self, loop: asyncio.AbstractEventLoop) -> None:
        """Try to lead (always leads on SQLite) and hear other replicas' changes on `loop` (NiceGUI's)."""
        self._loop = loop
        self.leadership.start()
        if self.postgresql and self._listener is None:
            self._listener = notices.Listener(self.engine.url, self.replica_id, self._receive)
            self._listener.start()

    def stop_replica(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self.leadership.stop()
        self._sender.shutdown(wait=False)

    @property
    def listener(self) -> notices.Listener | None:
        return self._listener

    @contextmanager
    def as_leader(self) -> Iterator[None]:
        """This thread's writes are the leader's: each transaction first checks that this replica still
        leads (Leadership.fence) and is rolled back with LostLeadership when not."""
        self._fenced.on = True
        try:
            yield
        finally:
            self._fenced.on = False

    @contextmanager
    def at(self, place: str) -> Iterator[None]:
        """This thread's reads and writes of one object work in `place` (a use_cases.Place key; the default
        use case outside such a block): what a refresh part or an action of that place reads and writes."""
        before = getattr(self._place, 'key', None)
        self._place.key = place
        try:
            yield
        finally:
            self._place.key = before

    @property
    def place(self) -> str:
        """The place this thread works in (Store.at)."""
        return getattr(self._place, 'key', None) or DEFAULT_USE_CASE

    def publish(self, changed: Changed) -> None:
        """Tell the pages (on NiceGUI's loop: call it there) and the other replicas what a commit changed (by
        keys that say the place: Changed.placed)."""
        self.changed.emit(changed)
        if self.postgresql and changed:
            self._sender.submit(self._send_safely, Notice(self.replica_id, changed))

    def request_refresh(self) -> None:
        """Ask the leader to refresh now (blocking: call it off the loop)."""
        if self.postgresql:
            self._send_safely(Notice(self.replica_id, NOTHING, refresh=True))

    def _send_safely(self, notice: Notice) -> None:
        try:
            with self.session() as session:
                notices.send(session, notice)
                session.commit()
        except SQLAlchemyError as error:
            log.warning('Could not tell the other replicas of a change: %s', _reason(error))

    def _notify(self, session: Session, changed: Changed, *, cycle: bool = False) -> None:
        """In a refresh write's transaction: the other replicas hear of it (and read the freshness again), by
        keys that say the place the write worked in."""
        if self.postgresql:
            placed = changed.placed(places.place_of(session))
            notices.send(session, Notice(self.replica_id, placed, fresh=True, cycle=cycle))

    def _receive(self, notice: Notice) -> None:
        """Another replica's notice (in the listener's thread): pages hear of it on NiceGUI's loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if notice.refresh:
            loop.call_soon_threadsafe(self.refresh_requested.emit)
            return
        if notice.fresh:
            try:
                self._read_freshness()
            except SQLAlchemyError as error:
                log.warning('Could not read the freshness another replica changed: %s', _reason(error))
        if notice.changed or notice.fresh:
            loop.call_soon_threadsafe(self.changed.emit, notice.changed)
        if notice.cycle:
            loop.call_soon_threadsafe(self.cycle_ended.emit)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            session.info[alerts.POLICY] = self.alert_policy
            session.info[places.PLACE] = self.place
            yield session

    def read(self, query: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`query(session, …)` in a session of its own (blocking: services and worker threads)."""
        with self.session() as session:
            return query(session, *args, **kwargs)

    async def fetch(
        self, query: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`query(session, …)` in the store's read threads, awaited: how pages read."""
        return await STORE_READS.run(lambda: self.read(query, *args, **kwargs))

    def write(self, change: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`change(session, …)` in one transaction, committed when it returns (blocking). A change may roll
        back itself (e.g. on an IntegrityError) and return why; an exception rolls everything back."""
        with self._writes, self.session() as session:
            if getattr(self._fenced, 'on', False) and self.leadership.started:
                self.leadership.fence(session)
            result = change(session, *args, **kwargs)
            session.commit()
            return result

    def freshness(self) -> Freshness:
        """Kept in memory (pages ask every second); rewritten after each recorded cycle."""
        assert self._freshness is not None  # read when the store opened
        return self._freshness

    def _read_freshness(self) -> None:
        """Read the freshness again. Reads run in several threads (the refresh's, the listener's): one that
        began before a newer refresh was recorded must not replace what a later read kept."""
        fresh = self.read(freshness_of)
        with self._freshness_lock:
            current = self._freshness
            if current is None or fresh.cycle_id >= current.cycle_id:
                self._freshness = fresh

    # ---- the refresh's writes (they change the freshness) ------------------------------------------------

    def apply(self, cycle: CycleResult) -> Changed:
        """Write one successful refresh in one transaction, recorded as a cycle; what changed."""

        def write(session: Session) -> Changed:
            changed = refresh.write_cycle(session, cycle)
            refresh.add_cycle(session, cycle.started_at, cycle.aws_calls, len(changed.training_jobs))
            self._notify(session, changed, cycle=True)
            return changed

        changed = self.write(write)
        self._read_freshness()
        return changed

    def apply_part(self, part: str, cycle: CycleResult) -> Changed:
        """Write what one part of a refresh read and that part's success (its failure cleared), in one
        transaction; what changed."""

        def write(session: Session) -> Changed:
            changed = refresh.write_cycle(session, cycle)
            refresh.mark_part_succeeded(session, part)
            self._notify(session, changed)
            return changed

        changed = self.write(write)
        self._read_freshness()
        return changed

    def record_part_failure(self, part: str, failed_at: datetime, code: str, message: str, call: str) -> None:
        """A part that failed writes nothing but this; its last good data and last success stay."""

        def write(session: Session) -> None:
            refresh.mark_part_failed(session, part, failed_at, code, message, call)
            self._notify(session, NOTHING)

        self.write(write)
        self._read_freshness()

    def record_cycle(
        self,
        started_at: datetime,
        aws_calls: int,
        changed_training_jobs: int,
        error: tuple[str, str] | None = None,
        acted: Changed = NOTHING,
    ) -> None:
        """One row per refresh: ok when every part (and the acting on it) succeeded, else the first error.
        `acted`: what acting on the refresh changed (the other replicas hear of it with the record)."""

        def write(session: Session) -> None:
            refresh.add_cycle(session, started_at, aws_calls, changed_training_jobs, error)
            self._notify(session, acted, cycle=True)

        self.write(write)
        self._read_freshness()

    # ---- health ------------------------------------------------------------------------------------------

    def write_problem(self) -> str | None:
        """None when the database takes a write now (one short transaction on health_probe), else why not.

        Waits at most HEALTH_PROBE_BUSY_MS for another writer's lock; blocking, so call it off the event loop.
        """
        now = {'now': utcnow().replace(tzinfo=None)}
        try:
            with self.engine.connect() as connection:
                if self.engine.dialect.name == 'sqlite':
                    _sqlite_probe(connection, now)
                else:
                    with connection.begin():  # SET LOCAL: only for this transaction
                        connection.exec_driver_sql(f'SET LOCAL lock_timeout = {HEALTH_PROBE_BUSY_MS}')
                        connection.exec_driver_sql(
                            f'SET LOCAL statement_timeout = {HEALTH_PROBE_STATEMENT_MS}'
                        )
                        connection.execute(PROBE_UPSERT, now)
        except SQLAlchemyError as error:
            return _reason(error)
        return None


PROBE_UPSERT = text(
    'INSERT INTO health_probe (id, checked_at) VALUES (1, :now) '
    'ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at'
)


def _sqlite_probe(connection: Connection, now: dict[str, datetime]) -> None:
    connection.exec_driver_sql(f'PRAGMA busy_timeout = {HEALTH_PROBE_BUSY_MS}')
    connection.commit()
    try:
        connection.exec_driver_sql('BEGIN IMMEDIATE')  # the write lock now, not at commit
        connection.execute(PROBE_UPSERT, now)
        connection.commit()
    finally:
        connection.rollback()
        connection.exec_driver_sql(f'PRAGMA busy_timeout = {DEFAULT_BUSY_MS}')
        connection.commit()


def _engine(database_url: str) -> Engine:
    """SQLite (its pragmas on every connection) or PostgreSQL through psycopg 3 (UTC, a bounded lock wait)."""
    url = make_url(database_url)
    if url.get_backend_name() == 'sqlite':
        if database_url.startswith('sqlite:///'):
            Path(database_url.removeprefix('sqlite:///')).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={'check_same_thread': False, 'timeout': DEFAULT_BUSY_MS / 1000}
        )
        sa_event.listen(engine, 'connect', _sqlite_pragmas)
        return engine
    if url.drivername in {'postgresql', 'postgresql+psycopg'}:
        # a plain postgresql:// URL means psycopg 3 too (the one PostgreSQL driver the portal installs)
        engine = create_engine(url.set(drivername='postgresql+psycopg'), pool_pre_ping=True)
        sa_event.listen(engine, 'connect', _postgresql_settings(DEFAULT_BUSY_MS))
        return engine
    raise migrations.UnusableDatabase(
        f'Cannot use database {url.render_as_string(hide_password=True)}: the store runs on SQLite '
        '(sqlite:///file) or PostgreSQL (postgresql+psycopg://user:pass@host/db)'
    )


def _database_name(url: URL, file: Path | None) -> str:
    """How messages name the database: its file, or a server's as `name on host` (never the password)."""
    if file is not None:
        return file.name
    if url.get_backend_name() == 'sqlite':
        return 'the store'  # in memory
    return f'{url.database} on {url.host or "the local server"}'


def _postgresql_settings(lock_ms: int) -> Callable[[Any, Any], None]:
    def settings(dbapi_connection: Any, _record: Any) -> None:
        """Timestamps are kept as UTC wall times (timestamp without time zone): an aware value is converted
        to UTC by the server, whatever its own time zone. A write waits for another's lock as long as a
        SQLite writer would, then fails (the refresh reports it and goes on)."""
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            cursor.execute(f'SET lock_timeout = {int(lock_ms)}')
        dbapi_connection.autocommit = autocommit

    return settings


def _reason(error: SQLAlchemyError) -> str:
    """The database's own words (e.g. 'database is locked'), without SQL or parameters."""
    original = getattr(error, 'orig', None)
    words = str(original).strip() if original is not None else ''
    return words.splitlines()[0] if words else type(error).__name__


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    # FULL: a commit is on disk when it returns, also across a power cut (see README, Durability)
    cursor.execute('PRAGMA synchronous=FULL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.close()
