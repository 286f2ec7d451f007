"""Changes reach every replica (PostgreSQL): a commit that changed keys also sends `NOTIFY` on CHANNEL (in
its own transaction, so that listeners hear of it only once it is committed), and each replica listens on a
connection of its own and hands what other replicas committed to its pages.

A listener whose connection drops connects again; what it may have missed meanwhile it reports once as a
change of everything. With SQLite there is one portal, and nothing of this applies.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlmodel import Session

from .domain.changes import EVERYTHING, Notice, payloads, read_payload

log = logging.getLogger(__name__)

CHANNEL = 'dda_portal_changed'
NOTIFY = text('SELECT pg_notify(:channel, :payload)')
WAIT_SECONDS = 1.0  # how long one wait for notices lasts (the listener checks for its stop in between)
KEEPALIVES = {'keepalives': 1, 'keepalives_idle': 5, 'keepalives_interval': 2, 'keepalives_count': 3}


def send(session: Session, notice: Notice) -> None:
    """Tell the other replicas, when the session's transaction commits (PostgreSQL only)."""
    for payload in payloads(notice):
        session.execute(NOTIFY, {'channel': CHANNEL, 'payload': payload})


class Listener:
    """Hears the notices other replicas send and hands each to `deliver` (in the listener's thread)."""

    def __init__(
        self, url: URL, replica_id: str, deliver: Callable[[Notice], None], *, retry_seconds: float = 2.0
    ) -> None:
        self.replica_id = replica_id
        self.deliver = deliver
        self.retry_seconds = retry_seconds
        self._conninfo = url.set(drivername='postgresql').render_as_string(hide_password=False)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self.listening = threading.Event()  # set while LISTEN is in force (tests wait for it)
        self.heard = 0  # notices of other replicas handed on
        self.reconnects = 0

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name='notice listener', daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=WAIT_SECONDS + 5)
            self._thread = None

    def drop_connection(self) -> None:
        """Close the listening connection as a network failure would (tests)."""
        connection = self._connection
        if connection is not None:
            connection.pgconn.finish()

    def _run(self) -> None:
        missed = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    application_name=f'{self.replica_id} listener'[:63],
                    connect_timeout=5,
                    **KEEPALIVES,  # type: ignore[arg-type]
                ) as connection:
                    self._connection = connection
                    connection.execute(f'LISTEN {CHANNEL}')
                    self.listening.set()
                    if (
                        missed
                    ):  # what other replicas committed meanwhile is unknown: all of it may have changed
                        log.info('Listening for other replicas’ changes again')
                        self.reconnects += 1
                        self._hand_on(Notice('', EVERYTHING, fresh=True))
                        missed = False
                    while not self._stopping.is_set():
                        for notification in connection.notifies(timeout=WAIT_SECONDS):
                            notice = read_payload(notification.payload)
                            if notice is not None and notice.sender != self.replica_id:
                                self._hand_on(notice)
            except psycopg.Error as error:
                if self._stopping.is_set():
                    break
                was_listening = self.listening.is_set()
                self.listening.clear()
                missed = missed or was_listening
                log.warning('Listening for other replicas’ changes failed (trying again): %s', error)
                self._stopping.wait(self.retry_seconds)
            finally:
                self._connection = None
                self.listening.clear()

    def _hand_on(self, notice: Notice) -> None:
        self.heard += 1
        try:
            self.deliver(notice)
        except Exception:  # one bad delivery must not end the listening
            log.exception('Handing on a change of another replica failed')
