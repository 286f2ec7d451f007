"""Who is signed in with a password: rows of the store (so every replica honours them), behind a short cache.

The gate asks on every request and on every checked action. Requests, socket handshakes and the actions
read the row in the store's read threads when the cached one has aged (`await load`), so the event loop does
not wait on the database; what a page asks while it is built comes from the cache. An entry is trusted for
at most CACHE_SECONDS: a sign-out on another replica deletes the row, and this replica stops honouring the
session at most CACHE_SECONDS later (a sign-out here takes effect here at once). A synchronous check that
still finds its entry older than that reads the row itself (one primary-key read), rather than trust it.

Only the SHA-256 of a session id is stored or cached, never the id: whoever reads the database cannot sign
in with what they find there.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from . import queries
from .domain.clock import as_utc
from .domain.short_cache import ShortCache
from .store import Store
from .tables import SignIn

CACHE_SECONDS = 3.0  # the longest a sign-out on another replica takes to end the session here
MAX_CACHED = 4096  # sessions remembered at once; beyond, stale ones are dropped first


@dataclass(frozen=True)
class Entry:
    name: str
    since: float  # wall-clock seconds (time.time) of signing in


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _entry(row: SignIn | None) -> Entry | None:
    return None if row is None else Entry(row.name, as_utc(row.since).timestamp())


def _wall_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class SignIns:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = time.monotonic  # the cache's ages (tests move it instead of waiting)
        self._cache: ShortCache[Entry] = ShortCache(
            CACHE_SECONDS, MAX_CACHED
        )  # thread-safe: written in workers

    def get(self, session_id: str) -> Entry | None:
        """The session's sign-in, expired or not: from the cache while fresh, else read now (blocking)."""
        key = session_hash(session_id)
        cached = self._cache.fresh(key, self.clock())
        if cached is not None:
            return cached[0]
        entry = _entry(self.store.read(queries.sign_ins.signed_in, key))
        self._remember(key, entry)
        return entry

    async def load(self, session_id: str) -> None:
        """Make the cache fresh for this session, reading in the store's read threads when it is not."""
        key = session_hash(session_id)
        if self._cache.fresh(key, self.clock()) is None:
            self._remember(key, _entry(await self.store.fetch(queries.sign_ins.signed_in, key)))

    def start(self, session_id: str, name: str, now: float, lifetime: float, ended: str | None) -> None:
        """Record a sign-in begun at `now` (blocking); `ended`: the session id it replaces, which opens
        nothing any more. Sign-ins older than `lifetime` seconds are deleted on the way."""
        key = session_hash(session_id)
        if ended is not None:
            self.end(ended)
        self.store.write(queries.sign_ins.start, key, name, _wall_time(now), _wall_time(now - lifetime))
        self._remember(key, Entry(name, now))

    def end(self, session_id: str) -> None:
        """Sign-out (blocking): the row goes, so every replica stops honouring it (this one at once)."""
        key = session_hash(session_id)
        self.store.write(queries.sign_ins.end, key)
        self._remember(key, None)

    def forget_cached(self) -> None:
        """Read every session from the store next time (as a replica that just started would)."""
        self._cache.clear()

    def _remember(self, key: str, entry: Entry | None) -> None:
        self._cache.remember(key, entry, self.clock())
