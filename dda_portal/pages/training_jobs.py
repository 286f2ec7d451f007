"""`/`: every training job with its training status and compilation rollup, for an operator's overview.

Filters (rollup chips with counts, training status, target, name) live in the URL query. Filtering, sorting
and paging happen here in Python (QTable's server mode): the browser gets only the page it shows, so a live
update costs every open tab one page of rows instead of all of them (see bench/list_page.py). Hovering a
rollup shows each target's latest state. Live changes keep filters, sort and page, highlight the changed row
for a moment and announce finished or failed compilations.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from nicegui import Event, background_tasks, run, ui

from .. import queries
from ..domain.changes import Changed
from ..domain.filters import ROLLUPS, TRAINING_STATUSES, ListedJob, ListFilter, rollup_counts
from ..domain.problems import AwsProblem
from ..domain.progress import estimate_remaining
from ..domain.status import CompilationStatus, Rollup
from ..services.actions import Actions
from ..store import Store
from ..tables import CompilationAttempt, TrainingJob
from .layout import frame
from .widgets import elapsed, format_duration, format_time, look_of, status_cell, status_fields

ROWS_PER_PAGE = 50
ROWS_PER_PAGE_OPTIONS = (25, 50, 100)  # no "All": a page is what goes over the wire
HIGHLIGHT_SECONDS = 3.0  # how long a row whose rollup changed stays highlighted
READ_AGAIN_SECONDS = 300.0  # a page opened later reads all jobs again (changes keep them current meanwhile)
TICK_SECONDS = 30.0  # running durations and estimates in the tooltips move on this often
REASON_CHARS = 200  # of a failure reason's first line, in the tooltip
MAX_TOASTS = 3  # per live update; more finished compilations are summed up in one more toast
HIGHLIGHT_CLASSES = 'row-changed bg-yellow-2'
FINISHED = (Rollup.COMPILED.value, Rollup.FAILED.value)  # rollups announced with a toast
COMPLETED = CompilationStatus.COMPLETED.value
FAILED = CompilationStatus.FAILED.value

COLUMNS: list[dict[str, Any]] = [
    {'name': 'name', 'label': 'Training job', 'field': 'name', 'align': 'left', 'sortable': True},
    {'name': 'status', 'label': 'Training status', 'field': 'status', 'align': 'left', 'sortable': True},
    {'name': 'created', 'label': 'Created', 'field': 'created', 'align': 'left', 'sortable': True},
    {
        'name': 'training_time',
        'label': 'Training time',
        'field': 'training_time',
        'align': 'left',
        'sortable': True,
    },
    {'name': 'rollup', 'label': 'Compilation', 'field': 'rollup', 'align': 'left', 'sortable': True},
    {
        'name': 'compiled',
        'label': 'Targets',
        'field': 'compiled',
        'align': 'left',
        'sortable': True,
    },
]

NAME_CELL = r"""
<q-td :props="props">
  <a class="text-primary" :href="'/training-jobs/' + encodeURIComponent(props.row.name)"
    >{{ props.row.name }}</a>
</q-td>"""

# each target's latest state, as text only (names and failure reasons come from AWS); the icons come from
# the one table of looks, so rows need not carry them
TARGETS_TOOLTIP = r"""
  <q-tooltip class="text-body2" anchor="bottom left" self="top left" max-width="36rem">
    <div v-if="props.row.targets.length === 0">No compilation job for this training job yet.</div>
    <div v-for="target in props.row.targets" :key="target.label" class="q-py-xs">
      <div class="row items-center no-wrap q-gutter-x-xs">
        <q-icon :name="ICONS[target.state]" size="xs" aria-hidden="true"/>
        <span class="text-weight-bold">{{ target.label }}:</span>
        <span>{{ target.state }}</span>
        <span>· {{ target.duration }}</span>
        <span v-if="target.estimate">· {{ target.estimate }}</span>
      </div>
      <div v-if="target.reason" class="q-pl-lg" style="white-space: normal">{{ target.reason }}</div>
    </div>
  </q-tooltip>"""


def rollup_cell() -> str:
    """The shared status cell for the rollup, with the per-target tooltip inside it."""
    # a JS object literal in a double-quoted attribute: our own words and icon names, no quotes in them
    icons = ', '.join(f"'{status.value}': '{look_of(status.value).icon}'" for status in CompilationStatus)
    tooltip = TARGETS_TOOLTIP.replace('ICONS', '{' + icons + '}')
    cell, closing, rest = status_cell('rollup').rpartition('</q-td>')
    return cell + tooltip + '\n' + closing + rest


def training_job_row(
    job: TrainingJob, latest: list[CompilationAttempt], durations: dict[str, list[float]]
) -> dict[str, Any]:
    """One table row: what the cells and the tooltip show (plain values and text)."""
    return {
        'name': job.name,
        **status_fields('status', job.status),
        'created': format_time(job.created_at),
        'training_time': format_duration(elapsed(job.started_at, job.ended_at))
        if job.ended_at
        else ('running' if job.started_at else '—'),
        **status_fields('rollup', job.rollup),
        'compiled': f'{job.targets_compiled}/{job.targets_total} compiled',
        'targets': [target_detail(attempt, durations) for attempt in latest],
        'highlight': False,
    }


def target_detail(attempt: CompilationAttempt, durations: dict[str, list[float]]) -> dict[str, str]:
    """A target's latest attempt in the tooltip: label, state, duration, and an estimate or reason if any."""
    status = _status(attempt.status)
    estimate = ''
    if attempt.started_at is None:
        duration = 'waiting to start' if status.is_active else '—'
    elif status.is_active:
        running = elapsed(attempt.started_at, None) or 0.0
        duration = f'running for {format_duration(running)}'
        if status is not CompilationStatus.STOPPING:
            guess = estimate_remaining(running, durations.get(attempt.target_id, []))
            estimate = guess.text if guess.has_estimate else ''
    else:
        duration = format_duration(elapsed(attempt.started_at, attempt.ended_at or attempt.last_modified))
    reason = ''
    if status is CompilationStatus.FAILED:
        reason = first_line(attempt.failure_reason or 'SageMaker gave no failure reason.')
    detail = {'label': attempt.target_label, 'state': status.value, 'duration': duration}
    if estimate:
        detail['estimate'] = estimate
    if reason:
        detail['reason'] = reason
    return detail  # only what is shown: 2,000 rows of it go to every open list


def first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), '')
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + '…'


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
    return any(_status(a.status).is_active for a in attempts)


# how each column sorts (the browser cannot: it has only one page); ties go by name
SORT_KEYS: dict[str, Callable[[Entry], Any]] = {
    'name': lambda e: e.job.name,
    'status': lambda e: e.job.status,
    'created': lambda e: e.job.created_at,
    'training_time': lambda e: _training_seconds(e.job),
    'rollup': lambda e: e.job.rollup,
    'compiled': lambda e: (e.job.targets_compiled, e.job.targets_total),
}


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


class TrainingJobsList:
    """The filter bar and the table of one open `/` page, and how they follow the store."""

    def __init__(
        self,
        feed: ListFeed,
        jobs: JobRecords,
        query: Iterable[tuple[str, str]],
        signed_out: Callable[[], AwsProblem | None] = lambda: None,
    ) -> None:
        self.feed = feed
        self.signed_out = signed_out  # the CSV is a read like any other: the person is checked when it runs
        self.entries: dict[str, Entry] = {}
        self.targets: dict[str, str] = {}  # every target some job has an attempt for: id → label
        self.highlight_until: dict[str, float] = {}
        for job, latest in jobs.values():
            self._keep(Entry(job, latest))
        self.filter = ListFilter.from_query(query, self.targets)
        self.url = self.filter.url()
        self.pagination: dict[str, Any] = {
            'sortBy': 'created',
            'descending': True,
            'page': 1,
            'rowsPerPage': ROWS_PER_PAGE,
            'rowsNumber': 0,
        }
        self.ordered: list[Entry] = []  # the matching entries in the table's order
        self._build()
        feed.changed.subscribe(self.on_change)
        ui.timer(TICK_SECONDS, self.tick)

    # ---- building -----------------------------------------------------------------------------

    def _build(self) -> None:
        with ui.row().classes('w-full items-center gap-2') as self.bar:
            self.chips: dict[str, ui.chip] = {}
            for rollup in ROLLUPS:
                self.chips[rollup] = ui.chip(
                    rollup,
                    icon=look_of(rollup).icon,
                    selectable=True,
                    selected=rollup in self.filter.rollups,
                    on_selection_change=lambda e, r=rollup: self.choose_rollup(r, bool(e.value)),
                ).mark('rollup-filter', f'rollup-filter-{_slug(rollup)}')
        with ui.row().classes('w-full items-center gap-2'):
            self.status_select = (
                ui.select(
                    list(TRAINING_STATUSES),
                    multiple=True,
                    value=[s for s in TRAINING_STATUSES if s in self.filter.statuses],
                    label='Training status',
                    on_change=lambda e: self.set_filter(self.filter.replace(statuses=e.value or [])),
                )
                .props('use-chips clearable dense outlined options-dense')
                .classes('min-w-48')
                .mark('status-filter')
            )
            self.target_select = (
                ui.select(
                    self.target_options(),
                    multiple=True,
                    value=sorted(self.filter.targets),
                    label='Target',
                    on_change=lambda e: self.set_filter(self.filter.replace(targets=e.value or [])),
                )
                .props('use-chips clearable dense outlined options-dense')
                .classes('min-w-48')
                .mark('target-filter')
            )
            self.search = (
                ui.input(
                    placeholder='Search by name',
                    value=self.filter.text,
                    on_change=lambda e: self.set_filter(self.filter.replace(text=e.value or '')),
                )
                .props('clearable dense outlined debounce=300 maxlength=100')
                .classes('min-w-64')
                .mark('name-filter')
            )
            self.clear_button = ui.button(
                'Clear filters', icon='filter_alt_off', on_click=self.clear_filters
            ).props('flat no-caps')
            ui.space()
            ui.button('Download CSV', icon='download', on_click=self.download_csv).props('flat no-caps').mark(
                'download-csv'
            )
        self.shown = ui.label().classes('text-sm text-grey-8').mark('shown-count')
        self.table = (
            ui.table(columns=COLUMNS, rows=[], row_key='name', pagination=self.pagination)
            .classes('w-full')
            .props('flat bordered wrap-cells')
            .props(f':rows-per-page-options="{list(ROWS_PER_PAGE_OPTIONS)}"')
            .props(f''':table-row-class-fn="row => row.highlight ? '{HIGHLIGHT_CLASSES}' : ''"''')
            .props(
                'no-data-label="No training jobs to show. The portal refreshes from SageMaker every few '
                'seconds; check the banner above if nothing arrives, or clear the filters."'
            )
            .mark('training-jobs')
        )
        self.table.add_slot('body-cell-name', NAME_CELL)
        self.table.add_slot('body-cell-status', status_cell('status'))
        self.table.add_slot('body-cell-rollup', rollup_cell())
        # QTable's server mode: sorting and paging ask us (`request`) instead of working on the rows
        self.table.on('request', lambda e: self.turn_to(e.args.get('pagination')), ['pagination'])
        self.show(reorder=True)

    def _keep(self, entry: Entry) -> Entry:
        self.entries[entry.job.name] = entry
        self.targets.update((a.target_id, a.target_label) for a in entry.latest)
        return entry

    # ---- what is shown ------------------------------------------------------------------------

    def show(self, *, reorder: bool) -> None:
        """Push the page of matching rows, chip counts and the filter controls' state (the table is kept)."""
        if reorder:
            self.ordered = self.sorted_matching()
        rows_per_page = self.pagination['rowsPerPage']
        last_page = max(1, -(-len(self.ordered) // rows_per_page))
        page = min(self.pagination['page'], last_page)
        self.pagination = {**self.pagination, 'page': page, 'rowsNumber': len(self.ordered)}
        start = (page - 1) * rows_per_page
        rows = [self.row_of(entry) for entry in self.ordered[start : start + rows_per_page]]
        self.table.pagination = self.pagination
        self.table.update_rows(rows)
        counts = rollup_counts((entry.listed for entry in self.entries.values()), self.filter)
        for rollup, chip in self.chips.items():
            chip.set_text(f'{rollup} · {counts[rollup]}')
            chosen = rollup in self.filter.rollups
            chip.selected = chosen  # its selection handler sees an unchanged filter
            if chosen and 'outline' in chip.props:
                chip.props(remove='outline')
            elif not chosen and 'outline' not in chip.props:
                chip.props('outline')
        total = len(self.entries)
        self.shown.set_text(
            f'{total:,} training jobs'
            if self.filter.is_empty
            else f'Showing {len(self.ordered):,} of {total:,} training jobs'
        )
        self.clear_button.set_visibility(not self.filter.is_empty)

    def sorted_matching(self) -> list[Entry]:
        matching = [entry for entry in self.entries.values() if self.filter.matches(entry.listed)]
        return sort_like_table(matching, self.pagination)

    def row_of(self, entry: Entry) -> dict[str, Any]:
        if entry.row is None:
            entry.row = training_job_row(entry.job, entry.latest, self.feed.durations)
            entry.row['highlight'] = entry.job.name in self.highlight_until
        return entry.row

    def on_page(self) -> set[str]:
        rows_per_page = self.pagination['rowsPerPage']
        start = (self.pagination['page'] - 1) * rows_per_page
        return {entry.job.name for entry in self.ordered[start : start + rows_per_page]}

    def target_options(self) -> dict[str, str]:
        return dict(sorted(self.targets.items(), key=lambda item: (item[1], item[0])))

    # ---- the user changes a filter, the sort or the page -----------------------------------------

    def choose_rollup(self, rollup: str, chosen: bool) -> None:
        rollups = self.filter.rollups | {rollup} if chosen else self.filter.rollups - {rollup}
        self.set_filter(self.filter.replace(rollups=rollups))

    def set_filter(self, new: ListFilter) -> None:
        if new == self.filter:
            return  # e.g. a control echoing a value the page itself set
        self.filter = new
        self.pagination['page'] = 1
        self.show(reorder=True)
        url = new.url()
        if url != self.url:
            self.url = url
            ui.navigate.history.replace(url)

    def turn_to(self, requested: Any) -> None:
        """The user sorted or paged (QTable's `request`); anything odd the browser sends is ignored."""
        if not isinstance(requested, dict):
            return
        sort_by = requested.get('sortBy')
        rows_per_page = requested.get('rowsPerPage')
        page = requested.get('page')
        self.pagination = {
            **self.pagination,
            'sortBy': sort_by if isinstance(sort_by, str) and sort_by in SORT_KEYS else None,
            'descending': requested.get('descending') is True,
            'rowsPerPage': rows_per_page if rows_per_page in ROWS_PER_PAGE_OPTIONS else ROWS_PER_PAGE,
            'page': page if isinstance(page, int) and page >= 1 else 1,
        }
        self.show(reorder=True)

    def clear_filters(self) -> None:
        self.set_filter(ListFilter())
        self.status_select.set_value([])
        self.target_select.set_value([])
        self.search.set_value('')

    def download_csv(self) -> None:
        if problem := self.signed_out():
            ui.notify(f'No CSV — {problem.message}', type='negative', close_button='Close')
            return
        data = csv_text(self.ordered).encode('utf-8')
        ui.download.content(data, 'training-jobs.csv', 'text/csv')

    # ---- the store changes ----------------------------------------------------------------------

    def on_change(self, change: Change) -> None:
        before = {name: self.entries[name] for name in change.names if name in self.entries}
        now = time.monotonic()
        finished: list[Entry] = []
        for job in change.jobs:
            old = before.get(job.name)
            if old is None or old.job.rollup != job.rollup:
                self.highlight_until[job.name] = now + HIGHLIGHT_SECONDS
            entry = self._keep(Entry(job, change.latest.get(job.name, [])))
            if old is not None and old.job.rollup != job.rollup and job.rollup in FINISHED:
                finished.append(entry)
        options = self.target_options()
        if options != self.target_select.options:
            self.target_select.set_options(options)
        self.show(reorder=True)
        self.announce(finished)
        if any(job.name in self.highlight_until for job in change.jobs):
            with self.bar:
                ui.timer(HIGHLIGHT_SECONDS, self.end_highlights, once=True)

    def announce(self, finished: list[Entry]) -> None:
        for entry in finished[:MAX_TOASTS]:
            job = entry.job
            if job.rollup == Rollup.COMPILED:
                message = (
                    f'Compilation finished: {job.name} ({job.targets_compiled}/{job.targets_total} compiled)'
                )
                ui.notify(message, type='positive')
            else:
                failed = ', '.join(a.target_label for a in entry.latest if a.status == FAILED)
                ui.notify(f'Compilation failed: {job.name} ({failed})', type='negative')
        if len(finished) > MAX_TOASTS:
            ui.notify(
                f'… and {len(finished) - MAX_TOASTS} more training jobs finished compiling', type='info'
            )

    def end_highlights(self) -> None:
        now = time.monotonic()
        ended = [name for name, until in self.highlight_until.items() if until <= now + 0.1]
        for name in ended:
            del self.highlight_until[name]
            if name in self.entries:
                self.entries[name].row = None
        if set(ended) & self.on_page():
            self.show(reorder=False)

    def tick(self) -> None:
        """Running compilations' durations and estimates move on (no store query)."""
        running = {name for name, entry in self.entries.items() if entry.compiling}
        for name in running:
            self.entries[name].row = None
        if running & self.on_page():
            self.show(reorder=False)


def sort_like_table(entries: list[Entry], pagination: dict[str, Any]) -> list[Entry]:
    """The entries in the table's order: its sort column (ties by name), newest first when unsorted."""
    by_name = sorted(entries, key=lambda e: e.job.name)
    key = SORT_KEYS.get(str(pagination.get('sortBy')))
    if key is None:
        return sorted(by_name, key=SORT_KEYS['created'], reverse=True)
    return sorted(by_name, key=key, reverse=bool(pagination.get('descending')))


def csv_text(entries: list[Entry]) -> str:
    """The rows as CSV, one state / duration / failure reason column triple per target."""
    targets = sorted({(a.target_label, a.target_id) for entry in entries for a in entry.latest})
    header = [
        'Training job',
        'Training status',
        'Created (UTC)',
        'Training time (s)',
        'Compilation',
        'Targets compiled',
        'Targets with attempts',
    ]
    for label, _ in targets:
        header += [f'{label}: state', f'{label}: duration (s)', f'{label}: failure reason']
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\r\n')
    writer.writerow([_cell(h) for h in header])
    for entry in entries:
        job = entry.job
        training = elapsed(job.started_at, job.ended_at) if job.ended_at else None
        cells: list[object] = [
            job.name,
            job.status,
            _iso(job.created_at),
            round(training) if training is not None else '',
            job.rollup,
            job.targets_compiled,
            job.targets_total,
        ]
        by_target = {a.target_id: a for a in entry.latest}
        for _, target_id in targets:
            attempt = by_target.get(target_id)
            if attempt is None:
                cells += ['', '', '']
                continue
            status = _status(attempt.status)
            end = attempt.ended_at or (None if status.is_active else attempt.last_modified)
            seconds = elapsed(attempt.started_at, end)
            reason = attempt.failure_reason or '' if status is CompilationStatus.FAILED else ''
            cells += [status.value, round(seconds) if seconds is not None else '', reason]
        writer.writerow([_cell(c) for c in cells])
    return buffer.getvalue()


def register(store: Store, actions: Actions) -> None:
    feed = ListFeed(store)

    # pages opened together right after a start wait for one read of every job: NiceGUI's 3 s default is short
    @ui.page('/', response_timeout=30)
    async def training_jobs_page(request: Request) -> None:
        # before any element exists, so that the response waits for the whole page (a worker thread reads
        # the jobs the first time; later pages share what the feed keeps)
        jobs = await feed.current()
        if jobs is None:  # the app is shutting down
            return
        with frame('Training jobs', store, actions):
            ui.label('Training jobs').classes('text-2xl font-bold')
            TrainingJobsList(feed, jobs, request.query_params.multi_items(), actions.signed_out)


def _status(word: str) -> CompilationStatus:
    try:
        return CompilationStatus(word)
    except ValueError:
        return CompilationStatus.UNKNOWN


def _training_seconds(job: TrainingJob) -> float:
    seconds = elapsed(job.started_at, job.ended_at)  # so far, while training runs
    return seconds if seconds is not None else -1.0


def _slug(word: str) -> str:
    return word.lower().replace(' ', '-')


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec='seconds') if value else ''


def _cell(value: object) -> object:
    """Text a spreadsheet would run as a formula starts with a quote instead (AWS text ends up here)."""
    if isinstance(value, str) and value[:1] in ('=', '+', '-', '@', '\t', '\r'):
        return "'" + value
    return value
