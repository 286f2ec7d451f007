"""The training jobs as every open list page holds them: read once, kept current from the store's changes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nicegui import Event, background_tasks
from sqlmodel import Session

from ... import queries
from ...domain.changes import Changed
from ...domain.filters import ROLLUPS, ListedJob, ListFilter
from ...domain.places import by_place, object_key
from ...queries.jobs import AttemptSummary, JobSummary
from ...store import Store
from ..feeds import Durations, register_feed
from ..widgets import elapsed
from .columns import compilation_status, training_job_row

log = logging.getLogger(__name__)

ROW_FRESH_SECONDS = 30.0  # a running compilation's row (durations, estimates) is rebuilt this often
READ_TRIES = 3


@dataclass
class Entry:
    """One training job as every list page holds it: the store's records, what the filters see, its row
    (built once for all pages, when some page shows it)."""

    job: JobSummary
    latest: list[AttemptSummary]
    listed: ListedJob = field(init=False)
    compiling: bool = field(init=False)
    row: dict[str, Any] | None = None
    row_built: float = 0.0

    def __post_init__(self) -> None:
        target_ids = frozenset(a.target_id for a in self.latest)
        job = self.job
        self.listed = ListedJob(job.name, job.status, job.rollup, target_ids, job.use_case)
        self.compiling = any_active(self.latest)


def any_active(attempts: Iterable[AttemptSummary]) -> bool:
    return any(compilation_status(a.status).is_active for a in attempts)


# how each column sorts (the browser cannot: it has only one page); ties go by name
SORT_KEYS: dict[str, Callable[[Entry], Any]] = {
    'name': lambda e: e.job.name,
    'use_case': lambda e: e.job.use_case,
    'status': lambda e: e.job.status,
    'created': lambda e: e.job.created_at,
    'training_time': lambda e: _training_seconds(e.job),
    'rollup': lambda e: e.job.rollup,
    'compiled': lambda e: (e.job.targets_compiled, e.job.targets_total),
}


def sort_like_table(entries: list[Entry], pagination: dict[str, Any]) -> list[Entry]:
    """The entries in the table's order: its sort column (ties by name), newest first when unsorted."""
    by_name = sorted(entries, key=lambda e: e.job.name)
    key = SORT_KEYS.get(str(pagination.get('sortBy')))
    if key is None:
        return sorted(by_name, key=SORT_KEYS['created'], reverse=True)
    return sorted(by_name, key=key, reverse=bool(pagination.get('descending')))


def _training_seconds(job: JobSummary) -> float:
    seconds = elapsed(job.started_at, job.ended_at)  # so far, while training runs
    return seconds if seconds is not None else -1.0


Entries = dict[str, Entry]
ViewKey = tuple[ListFilter, str | None, bool]  # filter, sort column, descending


@dataclass
class Change:
    """One store change as the list pages need it: read once (in a store thread) for all of them."""

    names: frozenset[str]  # the entries' keys (object_key: names repeat across use cases)
    entries: Entries  # the changed jobs as they are now (a job the store no longer has is absent)
    before: dict[str, Entry] = field(default_factory=dict)  # the same jobs as the pages held them


def read_change(session: Session, keys: frozenset[str]) -> Entries:
    """The training jobs of these object keys, each read in its own place, by object_key."""
    found: Entries = {}
    for place, names in by_place(keys).items():
        jobs = queries.jobs.job_summaries(session, names, [place])
        found.update(_entries(jobs, queries.jobs.latest_attempt_summaries(session, names, [place])))
    return found


def read_all(session: Session) -> Entries:
    """Every training job with its latest attempts (two queries; plain values, no tracked records)."""
    latest = queries.jobs.latest_attempt_summaries(session)
    return _entries(queries.jobs.job_summaries(session), latest)


def _entries(jobs: Iterable[JobSummary], latest: dict[str, list[AttemptSummary]]) -> Entries:
    """Entries by object_key; each job with the latest attempts of its own place."""
    return {
        object_key(job.use_case, job.name): Entry(
            job, [a for a in latest.get(job.name, []) if a.use_case == job.use_case]
        )
        for job in jobs
    }


class ListFeed:
    """The training jobs as the list pages show them: read from the store once (in a store thread), then
    kept current from its changes, each read once beside the loop and handed to every open list page.

    Pages share more than the records: each entry's row, and each view (filter and sort) of the jobs in
    order with its rollup counts, so thirty tabs on the same view sort once (bench/scale.py).
    """

    def __init__(self, store: Store, durations: Durations) -> None:
        self.store = store
        self.durations = durations
        self.changed: Event[Change] = Event()
        self.entries: Entries | None = None  # None until the first page asks
        self.targets: dict[str, str] = {}  # every target some job has an attempt for: id → label
        self._views: dict[ViewKey, list[str]] = {}  # names in a view's order, shared by the pages showing it
        self._counts: dict[ListFilter, dict[str, int]] = {}  # per filter (rollups ignored): jobs per rollup
        self._loading: asyncio.Task[Entries | None] | None = None
        self._pending: set[str] = set()
        self._everything = False  # every job is read again (another replica's changes may have been missed)
        self._reading: asyncio.Task[None] | None = None
        store.changed.subscribe(self._follow, unsubscribe_on_delete=False)  # for the app's lifetime
        register_feed(self)

    @property
    def busy(self) -> bool:
        return self._reading is not None or self._loading is not None

    async def current(self) -> Entries | None:
        """All jobs: read once (pages arriving meanwhile wait for that one read), then kept current from the
        store's changes alone: reading 10,000 jobs again would hold the event loop's GIL for seconds."""
        if self.entries is not None:
            return self.entries
        if self._loading is None:
            self._loading = background_tasks.create(self._load(), name='read training jobs')
        # shielded: a page whose browser went away must not cancel the read the others wait for
        return await asyncio.shield(self._loading)

    async def _load(self) -> Entries | None:
        """Read every job; changes that arrive meanwhile are read once it is done (the read may or may not
        have seen them)."""
        try:
            entries = await self.store.fetch(read_all)
            self.entries = entries
            self.targets = {}
            for entry in entries.values():
                self._note_targets(entry)
            return entries
        except Exception as error:
            log.warning('Reading the training jobs failed: %s', error)
            return self.entries
        finally:
            self._loading = None
            self._read_pending_soon()

    def _follow(self, changed: Changed) -> None:
        if changed.everything:
            if self.entries is not None or self._loading is not None:
                self._everything = True
                self._read_pending_soon()
            return
        if not changed.training_jobs:
            return
        self._pending |= changed.training_jobs
        if self.entries is not None or self._loading is not None:
            self._read_pending_soon()
        else:
            self._pending.clear()  # nobody looks yet: the first page reads everything anyway

    def _read_pending_soon(self) -> None:
        waiting = self._pending or self._everything
        if self._reading is None and self._loading is None and waiting and self.entries is not None:
            self._reading = background_tasks.create(self._read_pending(), name='list changes')

    async def _read_pending(self) -> None:
        failures = 0
        try:
            while (self._pending or self._everything) and self.entries is not None:
                if self._everything:
                    self._everything = False
                    try:
                        every = await self.store.fetch(read_all)
                    except Exception as error:  # the next change of everything tries again
                        log.warning('Reading every training job again failed: %s', error)
                        continue
                    self.changed.emit(self._keep(Change(frozenset(self.entries) | frozenset(every), every)))
                    continue
                changed, self._pending = frozenset(self._pending), set()
                try:
                    now = await self.store.fetch(read_change, changed)
                except Exception as error:  # the database is busy: try again, then wait for the next change
                    failures += 1
                    log.warning('Reading %d changed training jobs failed: %s', len(changed), error)
                    self._pending |= changed
                    if failures >= READ_TRIES:
                        return
                    await asyncio.sleep(failures)
                    continue
                self.changed.emit(self._keep(Change(changed | frozenset(now), now)))
        finally:
            self._reading = None

    def _keep(self, change: Change) -> Change:
        assert self.entries is not None
        for name in change.names:
            old = self.entries.pop(name, None)
            if old is not None:
                change.before[name] = old
            new = change.entries.get(name)
            if new is not None:
                self.entries[name] = new
                self._note_targets(new)
                self.durations.add(new.latest)  # a compilation that completed counts for the estimates
        self._update_views(change)
        return change

    def _note_targets(self, entry: Entry) -> None:
        self.targets.update((a.target_id, a.target_label) for a in entry.latest)

    # ---- views shared by the pages -----------------------------------------------------------------

    def ordered(self, list_filter: ListFilter, sort_by: str | None, descending: bool) -> list[str]:
        """The keys (object_key: the name in the default place) of the matching jobs in the table's order
        (computed once per view and kept)."""
        key = (list_filter, sort_by, descending)
        names = self._views.get(key)
        if names is None:
            entries = self.entries or {}
            matching = [e for e in entries.values() if list_filter.matches(e.listed)]
            pagination = {'sortBy': sort_by, 'descending': descending}
            names = self._views[key] = [
                object_key(e.job.use_case, e.job.name) for e in sort_like_table(matching, pagination)
            ]
        return names

    def rollup_counts(self, list_filter: ListFilter) -> dict[str, int]:
        """For each rollup, how many jobs match the other filters (computed once per filter and kept)."""
        key = list_filter.replace(rollups=())
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = dict.fromkeys(ROLLUPS, 0)
            for entry in (self.entries or {}).values():
                if entry.job.rollup in counts and key.matches(entry.listed):
                    counts[entry.job.rollup] += 1
        return counts

    def _update_views(self, change: Change) -> None:
        """Counts move by the changed jobs; a view is kept when no changed job enters, leaves or moves in
        it (the usual case: a compilation's state changes), else computed again when a page asks."""
        for list_filter, counts in self._counts.items():
            for name in change.names:
                for entry, step in ((change.before.get(name), -1), (change.entries.get(name), 1)):
                    if entry is not None and entry.job.rollup in counts and list_filter.matches(entry.listed):
                        counts[entry.job.rollup] += step
        for key in list(self._views):
            list_filter, sort_by, _ = key
            sort_key = SORT_KEYS.get(str(sort_by), SORT_KEYS['created'])
            for name in change.names:
                old, new = change.before.get(name), change.entries.get(name)
                old_place = old is not None and list_filter.matches(old.listed) and sort_key(old)
                new_place = new is not None and list_filter.matches(new.listed) and sort_key(new)
                if old is None or new is None or old_place != new_place:
                    del self._views[key]
                    break
        if len(self._views) > 64:  # views nobody has asked for lately go
            for key in list(self._views)[:-64]:
                del self._views[key]

    def row_of(self, entry: Entry) -> dict[str, Any]:
        """The entry's row (shared by the pages); a running compilation's is rebuilt every 30 s."""
        now = time.monotonic()
        if entry.row is None or (entry.compiling and now - entry.row_built >= ROW_FRESH_SECONDS):
            entry.row = training_job_row(entry.job, entry.latest, self.durations.by_target)
            entry.row_built = now
        return entry.row
