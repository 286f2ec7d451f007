"""The training jobs as every open list page holds them: read once, kept current from the store's changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nicegui import Event, background_tasks, run

from ... import queries
from ...domain.changes import Changed
from ...domain.filters import ListedJob
from ...domain.status import CompilationStatus
from ...store import Store
from ...tables import CompilationAttempt, TrainingJob
from ..widgets import elapsed
from .columns import compilation_status

READ_AGAIN_SECONDS = 300.0  # a page opened later reads all jobs again (changes keep them current meanwhile)
COMPLETED = CompilationStatus.COMPLETED.value


@dataclass
class Entry:
    """One training job as the list page holds it: the store's records, what the filters see, its row."""

    job: TrainingJob
    latest: list[CompilationAttempt]
    listed: ListedJob = field(init=False)
    compiling: bool = field(init=False)
    row: dict[str, Any] | None = None  # built when the job is on the page shown

    def __post_init__(self) -> None:
        target_ids = frozenset(a.target_id for a in self.latest)
        self.listed = ListedJob(self.job.name, self.job.status, self.job.rollup, target_ids)
        self.compiling = any_active(self.latest)


def any_active(attempts: Iterable[CompilationAttempt]) -> bool:
    return any(compilation_status(a.status).is_active for a in attempts)


# how each column sorts (the browser cannot: it has only one page); ties go by name
SORT_KEYS: dict[str, Callable[[Entry], Any]] = {
    'name': lambda e: e.job.name,
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


def _training_seconds(job: TrainingJob) -> float:
    seconds = elapsed(job.started_at, job.ended_at)  # so far, while training runs
    return seconds if seconds is not None else -1.0


JobRecords = dict[str, tuple[TrainingJob, list[CompilationAttempt]]]  # name → job and its latest attempts


class Change:
    """One store change as the list pages need it: read once for all of them."""

    def __init__(self, store: Store, names: frozenset[str]) -> None:
        self.names = names
        self.jobs = store.read(queries.jobs.training_jobs_named, names)
        self.latest = store.read(queries.jobs.latest_attempts_by_training_job, names)


class ListFeed:
    """The training jobs as the list pages show them: read from the store once, then kept current from its
    changes, which it reads once and hands to every open list page.

    Without it every open tab would read all jobs when it opens and query the store after every refresh;
    with 2,000 jobs that made the server too slow for many tabs (bench/list_page.py).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.changed: Event[Change] = Event()
        self.jobs: JobRecords | None = None  # None until the first page asks
        self.durations: dict[str, list[float]] = {}  # earlier compilation times, for the estimates
        self._read_at = 0.0
        self._missed: set[str] | None = None  # changes while the jobs are being read
        self._reading: asyncio.Task[JobRecords | None] | None = None
        store.changed.subscribe(self._follow, unsubscribe_on_delete=False)  # for the app's lifetime

    async def current(self) -> JobRecords | None:
        """All jobs: read from the store (worker thread) the first time and after READ_AGAIN_SECONDS.

        Pages that arrive during a read all wait for that one read and go on together.
        """
        if self.jobs is not None and time.monotonic() - self._read_at <= READ_AGAIN_SECONDS:
            return self.jobs
        if self._reading is None:
            self._reading = background_tasks.create(self._read(), name='read training jobs')
        # shielded: a page whose browser went away must not cancel the read the others wait for
        return await asyncio.shield(self._reading)

    async def _read(self) -> JobRecords | None:
        try:
            self._missed = set()
            read = await run.io_bound(read_job_records, self.store)
            missed, self._missed = self._missed, None
            if read is None:  # the app is shutting down
                return None
            self.jobs, self.durations = read
            self._read_at = time.monotonic()
            if missed:
                self._keep(Change(self.store, frozenset(missed)))
            return self.jobs
        finally:
            self._reading = None

    def _follow(self, changed: Changed) -> None:
        names = changed.training_jobs
        if not names:
            return
        if self._missed is not None:
            self._missed.update(names)
        if self.jobs is None and not self.changed.callbacks:
            return  # nobody looks
        change = Change(self.store, names)
        self._keep(change)
        self.changed.emit(change)

    def _keep(self, change: Change) -> None:
        if self.jobs is None:
            return
        completed_before = {
            a.job_name
            for name in change.names
            for a in self.jobs.get(name, (None, []))[1]
            if a.status == COMPLETED
        }
        for job in change.jobs:
            self.jobs[job.name] = (job, change.latest.get(job.name, []))
        completed = {
            a.job_name for attempts in change.latest.values() for a in attempts if a.status == COMPLETED
        }
        if completed - completed_before:  # more history for the estimates, read beside the loop
            background_tasks.create(self._read_durations(), name='compilation durations')

    async def _read_durations(self) -> None:
        durations = await self.store.fetch(queries.jobs.completed_durations_by_target)
        if durations is not None:
            self.durations = durations


def read_job_records(store: Store) -> tuple[JobRecords, dict[str, list[float]]]:
    """Every training job with its latest attempts, and the compilation history (three queries)."""
    latest = store.read(queries.jobs.latest_attempts_by_training_job)
    jobs = {job.name: (job, latest.get(job.name, [])) for job in store.read(queries.jobs.training_jobs)}
    return jobs, store.read(queries.jobs.completed_durations_by_target)
