"""The two databases the store runs on, for tests: a SQLite file, or a database of its own in a throwaway
PostgreSQL cluster.

The cluster (Debian's `postgresql` server binaries; scripts/test.sh installs them when missing) is made with
initdb in a temporary folder and started once per run, only when a selected test needs it; it runs as an
unprivileged user (initdb refuses root: as root, the `postgres` user Debian's package creates, else
`nobody`), listens on 127.0.0.1 on a free port, and is stopped and deleted when the run ends. Each test
gets a fresh database, dropped after it.

`DDA_TEST_POSTGRES_BIN` names the folder of initdb and pg_ctl when they are elsewhere.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

BACKENDS = ['sqlite', 'postgresql']
SUPERUSER = 'portal'


def server_binaries() -> Path:
    """The folder holding initdb and pg_ctl: DDA_TEST_POSTGRES_BIN, Debian's newest, or initdb on PATH."""
    named = os.environ.get('DDA_TEST_POSTGRES_BIN')
    candidates = [Path(named)] if named else []
    debian = Path('/usr/lib/postgresql').glob('*/bin')
    candidates += sorted(
        debian, key=lambda p: [int(n) for n in re.findall(r'\d+', p.parent.name)], reverse=True
    )
    on_path = shutil.which('initdb')
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / 'initdb').is_file() and (folder / 'pg_ctl').is_file():
            return folder
    raise RuntimeError(
        "PostgreSQL's server is needed for the store's tests: apt-get install -y postgresql "
        '(scripts/test.sh installs it), or set DDA_TEST_POSTGRES_BIN to the folder of initdb and pg_ctl'
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return int(probe.getsockname()[1])


class Cluster:
    """A throwaway PostgreSQL cluster: start() once, database() per test, stop() deletes everything."""

    def __init__(self) -> None:
        self.bin = server_binaries()
        self.user = None if os.geteuid() != 0 else _unprivileged_user()
        self.folder = Path(tempfile.mkdtemp(prefix='dda-portal-postgresql-'))
        self.data = self.folder / 'data'
        self.port = free_port()
        self._names = itertools.count(1)

    def _run(self, *command: str) -> None:
        prefix = ['runuser', '-u', self.user, '--'] if self.user else []
        done = subprocess.run(
            [*prefix, *command], cwd=self.folder, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            log = self.folder / 'server.log'
            server = log.read_text(errors='replace')[-2000:] if log.exists() else ''
            raise RuntimeError(f'{" ".join(command)} failed: {done.stderr.strip()}\n{server}')

    def start(self) -> None:
        if self.user:
            shutil.chown(self.folder, self.user)
        self._run(
            str(self.bin / 'initdb'),
            '--pgdata',
            str(self.data),
            '--username',
            SUPERUSER,
            '--auth',
            'trust',
            '--encoding',
            'UTF8',
            '--locale',
            'C.UTF-8',
            '--no-sync',
        )
        options = [
            f'-p {self.port}',
            '-c listen_addresses=127.0.0.1',
            f'-c unix_socket_directories={self.folder}',
            '-c max_connections=300',
            # a throwaway cluster: nothing needs to survive a crash
            '-c fsync=off',
            '-c synchronous_commit=off',
            '-c full_page_writes=off',
        ]
        log = str(self.folder / 'server.log')
        self._run(
            str(self.bin / 'pg_ctl'),
            '--pgdata',
            str(self.data),
            '--log',
            log,
            '--wait',
            '--options',
            ' '.join(options),
            'start',
        )

    def stop(self) -> None:
        try:
            if (self.data / 'postmaster.pid').exists():
                self._run(
                    str(self.bin / 'pg_ctl'),
                    '--pgdata',
                    str(self.data),
                    '--mode',
                    'immediate',
                    '--wait',
                    'stop',
                )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f'postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}'

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host='127.0.0.1', port=self.port, user=SUPERUSER, dbname='postgres', autocommit=True
        )

    def create_database(self) -> str:
        name = f'portal_{os.getpid()}_{next(self._names)}'
        with self._admin() as admin:
            # from the empty template0, copied as files: a few ms with fsync off
            admin.execute(f'CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')  # the test's connections too


def _unprivileged_user() -> str:
    for name in ('postgres', 'nobody'):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError('No unprivileged user to run the PostgreSQL cluster as (postgres or nobody)')


@pytest.fixture(scope='session')
def postgresql_cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgresql_url(postgresql_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database in the run's PostgreSQL cluster, dropped after the test."""
    url = postgresql_cluster.create_database()
    yield url
    postgresql_cluster.drop_database(url)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new store's URL on each backend: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == 'sqlite':
        return f'sqlite:///{tmp_path / "portal.db"}'
    return str(request.getfixturevalue('postgresql_url'))


@contextmanager
def write_locked(database_url: str) -> Iterator[None]:
    """Another process's writer holding the database's write lock (readers go on)."""
    url = make_url(database_url)
    if url.get_backend_name() == 'sqlite':
        other = sqlite3.connect(str(url.database), isolation_level=None)
        other.execute('BEGIN EXCLUSIVE')
        other.execute("INSERT INTO sync_state (\"key\", value) VALUES ('other', '2026-11-30 00:00:00')")
        try:
            yield
        finally:
            other.execute('ROLLBACK')
            other.close()
        return
    with psycopg.connect(url.set(drivername='postgresql').render_as_string(hide_password=False)) as holder:
        tables = [
            row[0] for row in holder.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        # EXCLUSIVE: every write waits, reads go on (as a SQLite writer's lock in WAL mode)
        holder.execute(f'LOCK TABLE {", ".join(tables)} IN EXCLUSIVE MODE')
        try:
            yield
        finally:
            holder.rollback()
