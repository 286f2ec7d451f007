"""One leader among the portal's replicas: on PostgreSQL, the replica holding an advisory lock on a
connection of its own runs the refresh (and what acts on it); the others serve pages. With SQLite there is
one portal, and it always leads.

Each replica that does not lead tries `pg_try_advisory_lock` every DDA_LEADER_RETRY_SECONDS; the leader
checks its lock's connection as often (TCP keepalives on it notice a silent network). A leader whose check
fails stops leading at once. PostgreSQL ends the session of a leader that dies (kill -9), which releases the
lock, and another replica takes it at its next try.

A stale leader never commits a refresh: each of the refresh's write transactions (`fence`) first takes a
shared transaction lock on a second key, then checks that the leader lock is still held by this replica's
lock session. A replica taking the lead waits for that second key exclusively before it leads, so a write
that passed the check under the old leader has committed (or rolled back) before the new one writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlmodel import Session

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A fixed signed 64-bit advisory lock key derived from `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], 'big', signed=True)


LEADER_LOCK = lock_key('dda_portal.leader')
FENCE_LOCK = lock_key('dda_portal.leader.fence')
CHECK_TIMEOUT_MS = 3000  # the leader's check of its lock connection
CONNECT_TIMEOUT_SECONDS = 5
# TCP keepalives on the lock connection: a silent network ends it within about 5 + 3 * 2 s
KEEPALIVES = {'keepalives': 1, 'keepalives_idle': 5, 'keepalives_interval': 2, 'keepalives_count': 3}

# the advisory lock on a bigint key shows in pg_locks as classid (high 32 bits), objid (low), objsubid 1
HOLDER = """SELECT l.pid, a.application_name FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database
WHERE datname = current_database()) AND l.classid::bigint = :high AND l.objid::bigint = :low
AND l.objsubid = 1"""


OWN_LOCK = """SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND granted
AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1"""


def _halves(key: int) -> dict[str, int]:
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return {'high': unsigned >> 32, 'low': unsigned & 0xFFFF_FFFF}


class LostLeadership(RuntimeError):
    """A refresh write of a replica that no longer leads: rolled back, nothing of it committed."""


class Leadership:
    """Whether this replica leads (see the module's docstring); `start` begins trying, `stop` lets go."""

    def __init__(
        self,
        url: URL,
        replica_id: str,
        *,
        retry_seconds: float = 5.0,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.replica_id = replica_id
        self.retry_seconds = retry_seconds
        self.on_change = on_change or (lambda _leading: None)
        self.postgresql = url.get_backend_name() == 'postgresql'
        self._conninfo = url.set(drivername='postgresql').render_as_string(hide_password=False)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._pid: int | None = None  # the lock session's backend while this replica leads
        self._leading = not self.postgresql
        self._state = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = False
        self.takeovers = 0  # how many times this replica began leading

    @property
    def leading(self) -> bool:
        return self._leading

    def start(self) -> None:
        """Try to lead now, then keep trying (or checking) in a thread of its own (PostgreSQL only)."""
        self.started = True
        if not self.postgresql or self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name='leadership', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop trying, and let go of the lead (closing the lock's connection releases it)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=CONNECT_TIMEOUT_SECONDS + 1)
            self._thread = None
        connection = self._connection
        if self._leading and connection is not None:
            with (
                self._state,
                contextlib.suppress(psycopg.Error),
            ):  # handed on at once, not when the session ends
                connection.execute('SELECT pg_advisory_unlock(%s)', (LEADER_LOCK,))
        self._lose('the portal stops')

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._leading:
                self.check()
            else:
                self.try_to_lead()
            self._stopping.wait(self.retry_seconds)

    def try_to_lead(self) -> bool:
        """One try at the lock; True when this replica leads now."""
        with self._state:
            if self._leading:
                return True
            try:
                connection = self._connection
                if connection is None or connection.closed:
                    connection = self._connection = self._connect()
                row = connection.execute('SELECT pg_try_advisory_lock(%s)', (LEADER_LOCK,)).fetchone()
                if not row or not row[0]:
                    return False
                # a write a stale leader fenced before it lost the lock ends before this replica leads
                with connection.transaction():
                    connection.execute('SET LOCAL statement_timeout = 0')
                    connection.execute('SELECT pg_advisory_xact_lock(%s)', (FENCE_LOCK,))
                self._pid = connection.info.backend_pid
                self._leading = True
                self.takeovers += 1
            except psycopg.Error as error:
                log.warning(
                    'Could not try to lead: %s', str(error).strip().splitlines()[0] if str(error) else error
                )
                self._close()
                return False
        log.info('Replica %s leads: it runs the refresh', self.replica_id)
        self.on_change(True)
        return True

    def check(self) -> bool:
        """The leader's check that its lock connection is alive and holds the lock; stops leading when not."""
        connection = self._connection
        if not self._leading or connection is None:
            return False
        try:
            with self._state:
                row = connection.execute(
                    OWN_LOCK, (_halves(LEADER_LOCK)['high'], _halves(LEADER_LOCK)['low'])
                ).fetchone()
            if row and row[0]:
                return True
            reason = 'its lock is no longer held'
        except psycopg.Error as error:
            reason = (
                f'its lock connection failed ({str(error).strip().splitlines()[0] if str(error) else error})'
            )
        self._lose(reason)
        return False

    def _lose(self, reason: str) -> None:
        was = self._leading and self.postgresql
        if self.postgresql:
            self._leading = False  # first: the schedule skips from now on, and `fence` refuses
            self._pid = None
        with self._state:
            self._close()
        if was:
            log.warning('Replica %s no longer leads: %s', self.replica_id, reason)
            self.on_change(False)

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            self._conninfo,
            autocommit=True,
            application_name=self.replica_id[:63],  # other replicas read who leads here
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            options=f'-c statement_timeout={CHECK_TIMEOUT_MS}',
            **KEEPALIVES,  # type: ignore[arg-type]
        )

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()

    # ---- in the store's transactions -------------------------------------------------------------------

    def fence(self, session: Session) -> None:
        """At the start of a refresh write's transaction: raises LostLeadership unless this replica's lock
        session still holds the lead (see the module's docstring). Nothing to check on SQLite."""
        if not self.postgresql:
            return
        pid = self._pid
        if not self._leading or pid is None:
            raise LostLeadership(f'replica {self.replica_id} does not lead')
        session.execute(text('SELECT pg_advisory_xact_lock_shared(:key)'), {'key': FENCE_LOCK})
        holder = session.execute(text(HOLDER), _halves(LEADER_LOCK)).first()
        if holder is None or holder[0] != pid:
            raise LostLeadership(f'replica {self.replica_id} lost the lead')

    def leader(self, session: Session) -> str | None:
        """Which replica leads now (its id), as every replica sees it; None when none does."""
        if not self.postgresql:
            return self.replica_id
        holder = session.execute(text(HOLDER), _halves(LEADER_LOCK)).first()
        return None if holder is None else str(holder[1])
