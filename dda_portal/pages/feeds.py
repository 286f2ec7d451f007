"""Shared feeds: how every page follows the store.

A feed subscribes once to `Store.changed`. For each change it takes the keys it cares about (training job
names, component ARNs, device names), keeps those some open tab shows, reads them once in the store's read
threads (never on the event loop) and hands the result to the tabs that show them. A change none of its
keys touched costs nothing, and nothing is sent. A change of everything (another replica's changes may have
been missed) reads every key some tab shows, and every row for the tabs showing all of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

from nicegui import Event, background_tasks
from sqlmodel import Session

from .. import queries
from ..domain.changes import Changed
from ..domain.clock import as_utc
from ..domain.status import CompilationStatus
from ..queries.jobs import AttemptSummary
from ..store import Store

log = logging.getLogger(__name__)

K = TypeVar('K')
R = TypeVar('R')

READ_TRIES = 3
EVERY_KEY: Any = object()  # a tab that shows every key of its feed (the components and devices tables)


_FEEDS: weakref.WeakSet[Any] = weakref.WeakSet()


def register_feed(feed: Any) -> None:
    """Count `feed` (anything with a `busy` property) among those `settled` waits for."""
    _FEEDS.add(feed)


async def settled(timeout: float = 5.0) -> None:
    """Wait until no feed has a change left to read and hand out (tests and benches wait for this)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0)
        busy = [feed for feed in _FEEDS if feed.busy]
        if not busy:
            await asyncio.sleep(0)  # the tabs' handlers run in the loop's next turn
            if not any(feed.busy for feed in _FEEDS):
                return
        await asyncio.sleep(0.01)
    raise TimeoutError(f'feeds still busy after {timeout} s')


class Feed(Generic[K, R]):
    """One page kind's shared view of the store changes (see the module's docstring).

    `keys_of` picks this feed's keys from a change; `read(session, keys)` reads them (in a store thread).
    Reads run one at a time in the order of the changes; changes that arrive during a read are merged
    into the next one.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        keys_of: Callable[[Changed], frozenset[K]],
        read: Callable[[Session, frozenset[K]], R],
        read_all: Callable[[Session], tuple[frozenset[K], R]] | None = None,
    ) -> None:
        """`read_all`: every key and its data, for the tabs showing every key after a change of everything."""
        self.store = store
        self.read_all = read_all
        self._everything = False
        self.name = name
        self.keys_of = keys_of
        self.read = read
        self._tabs: dict[Any, Event[frozenset[K], R]] = {}  # a key (or EVERY_KEY) → the tabs showing it
        self._pending: set[K] = set()
        self._reading: asyncio.Task[None] | None = None
        self.reads = 0  # how many reads the feed made (the benches and tests look)
        store.changed.subscribe(self._follow, unsubscribe_on_delete=False)  # for the app's lifetime
        register_feed(self)

    @property
    def busy(self) -> bool:
        return self._reading is not None

    def follow(self, key: Any, tab: Callable[[frozenset[K], R], Any]) -> None:
        """Call `tab(keys, data)` in the current page's context whenever `key` (or, with EVERY_KEY, any of
        this feed's keys) changes; ends when the page's client goes."""
        event = self._tabs.get(key)
        if event is None:
            event = self._tabs[key] = Event()
        event.subscribe(tab)

    def followed(self) -> frozenset[K]:
        """The keys some open tab shows (EVERY_KEY aside)."""
        return frozenset(key for key, event in self._tabs.items() if key is not EVERY_KEY and event.callbacks)

    def watched(self, keys: frozenset[K]) -> frozenset[K]:
        """Of these keys (EVERY_KEY: all of them), those some open tab shows."""
        self._tabs = {key: event for key, event in self._tabs.items() if event.callbacks}
        if keys is EVERY_KEY:
            return frozenset(key for key in self._tabs if key is not EVERY_KEY)
        if EVERY_KEY in self._tabs:
            return keys
        return frozenset(key for key in keys if key in self._tabs)

    def _follow(self, changed: Changed) -> None:
        keys = self.watched(EVERY_KEY if changed.everything else self.keys_of(changed))
        if changed.everything and self.read_all is not None and EVERY_KEY in self._tabs:
            self._everything = True
        elif not keys:
            return
        self._pending |= keys
        if self._reading is None:
            self._reading = background_tasks.create(self._read_pending(), name=f'feed {self.name}')

    async def _read_pending(self) -> None:
        failures = 0
        try:
            while self._pending or self._everything:
                if self._everything and self.read_all is not None:
                    self._everything = False
                    every = await self._read_everything()
                    if every is not None:
                        self.reads += 1
                        self._hand_out(*every)  # to each tab showing one of them too
                    continue
                keys, self._pending = frozenset(self._pending), set()
                try:
                    data = await self.store.fetch(self.read, keys)
                except Exception as error:  # the database is busy or gone: try again, then wait for a change
                    failures += 1
                    log.warning('%s could not read %d changed keys: %s', self.name, len(keys), error)
                    self._pending |= keys
                    if failures >= READ_TRIES:
                        return
                    await asyncio.sleep(failures)
                    continue
                self.reads += 1
                self._hand_out(keys, data)
        finally:
            self._reading = None

    async def _read_everything(self) -> tuple[frozenset[K], R] | None:
        assert self.read_all is not None
        try:
            return await self.store.fetch(self.read_all)
        except Exception as error:  # the next change of everything tries again
            log.warning('%s could not read every key: %s', self.name, error)
            return None

    def _hand_out(self, keys: frozenset[K], data: R) -> None:
        every = self._tabs.get(EVERY_KEY)
        if every is not None:
            every.emit(keys, data)
        for key in keys:
            event = self._tabs.get(key)
            if event is not None:
                event.emit(frozenset({key}), data)


class Durations:
    """How long earlier compilations took, per target (for the estimates), newest first: read once off the
    loop, then kept current by `add` from the changes the list feed reads (no scan of every completed attempt
    per change). One per store, shared by all pages (`Durations.of`)."""

    _shared: ClassVar[weakref.WeakKeyDictionary[Store, Durations]] = weakref.WeakKeyDictionary()

    def __init__(self, store: Store, newest_per_target: int = 200) -> None:
        self.store = store
        self.newest_per_target = newest_per_target
        self.by_target: dict[str, list[float]] = {}
        self._counted: set[str] = set()  # compilation jobs whose duration is in by_target
        self._read: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, store: Store) -> Durations:
        durations = cls._shared.get(store)
        if durations is None:
            durations = cls._shared[store] = cls(store)
        return durations

    async def current(self) -> dict[str, list[float]]:
        if self._read is None:
            self._read = background_tasks.create(self._read_all(), name='compilation durations')
        await asyncio.shield(self._read)
        return self.by_target

    async def _read_all(self) -> None:
        try:
            read = await self.store.fetch(queries.jobs.completed_durations, self.newest_per_target)
        except Exception as error:
            log.warning('Reading earlier compilation durations failed: %s', error)
            self._read = None  # the next page tries again
            return
        for job_name, target_id, seconds in read:
            self._note(job_name, target_id, seconds, newest=False)

    def add(self, attempts: Iterable[AttemptSummary]) -> None:
        """Count the completed ones among these attempts (each once)."""
        for attempt in attempts:
            if attempt.status == CompilationStatus.COMPLETED and attempt.job_name not in self._counted:
                start, end = as_utc(attempt.started_at), as_utc(attempt.ended_at)
                if start is not None and end is not None:
                    seconds = (end - start).total_seconds()
                    self._note(attempt.job_name, attempt.target_id, seconds, newest=True)

    def _note(self, job_name: str, target_id: str, seconds: float, *, newest: bool) -> None:
        self._counted.add(job_name)
        durations = self.by_target.setdefault(target_id, [])
        if newest:
            durations.insert(0, seconds)
            del durations[self.newest_per_target :]
        elif len(durations) < self.newest_per_target:
            durations.append(seconds)
