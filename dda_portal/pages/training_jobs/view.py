"""The filter bar and the table of one open `/` page: filters, sort and page kept, live changes shown."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from nicegui import ui

from ...domain.filters import ROLLUPS, TRAINING_STATUSES, ListFilter
from ...domain.status import CompilationStatus, Rollup
from ..live_table import LiveTable
from ..problems import reported
from ..tables import look_of, status_cell, time_cell
from ..use_cases import PlaceView
from ..widgets import filter_select, filter_text
from .columns import NAME_CELL, columns, rollup_cell
from .export import csv_text
from .feed import SORT_KEYS, Change, Entry, ListFeed

ROWS_PER_PAGE = 50
ROWS_PER_PAGE_OPTIONS = (25, 50, 100)  # no "All": a page is what goes over the wire
HIGHLIGHT_SECONDS = 3.0  # how long a row whose rollup changed stays highlighted
TICK_SECONDS = 30.0  # running durations and estimates in the tooltips move on this often
MAX_TOASTS = 3  # per live update; more finished compilations are summed up in one more toast
HIGHLIGHT_CLASSES = 'row-changed bg-yellow-2'
FINISHED = (Rollup.COMPILED.value, Rollup.FAILED.value)  # rollups announced with a toast
FAILED = CompilationStatus.FAILED.value


class TrainingJobsList:
    """The filter bar and the table of one open `/` page, and how they follow the store.

    Filters (rollup chips with counts, training status, target, name) live in the URL query. Filtering,
    sorting and paging happen here in Python (QTable's server mode): the browser gets only the page it shows,
    so a live update costs every open tab one page of rows instead of all of them (see bench/list_page.py).
    Hovering a rollup shows each target's latest state. Live changes keep filters, sort and page, highlight
    the changed row for a moment and announce finished or failed compilations.
    """

    def __init__(
        self,
        feed: ListFeed,
        query: Iterable[tuple[str, str]],
        check_signed_in: Callable[[], Awaitable[None]] | None = None,
        places: PlaceView | None = None,
    ) -> None:
        """`places`: the use cases the person may see (None: every job, no use case column)."""
        self.feed = feed
        self.places = places
        self.several = places is not None and places.several
        # the CSV is a read like any other: the person is checked when it runs (raises NotAllowed)
        self.check_signed_in = check_signed_in or _anyone
        self.highlight_until: dict[str, float] = {}
        self.filter = ListFilter.from_query(query, feed.targets, places.names if places else ())
        self.url = self.filter.url()
        self.pagination: dict[str, Any] = {
            'sortBy': 'created',
            'descending': True,
            'page': 1,
            'rowsPerPage': ROWS_PER_PAGE,
            'rowsNumber': 0,
        }
        self.sent: dict[str, dict[str, Any]] = {}  # the rows the browser has, by name, in the page's order
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
            self.status_select = filter_select(
                list(TRAINING_STATUSES),
                [s for s in TRAINING_STATUSES if s in self.filter.statuses],
                'Training status',
                lambda e: self.set_filter(self.filter.replace(statuses=e.value or [])),
                'status-filter',
            )
            self.target_select = filter_select(
                self.target_options(),
                sorted(self.filter.targets),
                'Target',
                lambda e: self.set_filter(self.filter.replace(targets=e.value or [])),
                'target-filter',
            )
            self.use_case_select: ui.select | None = None
            if self.places is not None and self.several:
                self.use_case_select = filter_select(
                    self.places.names,
                    sorted(self.filter.use_cases),
                    'Use case',
                    lambda e: self.set_filter(self.filter.replace(use_cases=e.value or [])),
                    'use-case-filter',
                )
            self.search = filter_text(
                'Search by name',
                self.filter.text,
                lambda e: self.set_filter(self.filter.replace(text=e.value or '')),
                'name-filter',
                width='min-w-64',
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
            LiveTable(columns=columns(self.several), rows=[], row_key='key', pagination=self.pagination)
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
        self.table.add_cell('name', NAME_CELL)
        self.table.add_cell('status', status_cell('status'))
        self.table.add_cell('created', time_cell('created'))
        self.table.add_cell('rollup', rollup_cell())
        # QTable's server mode: sorting and paging ask us (`request`) instead of working on the rows
        self.table.on('request', lambda e: self.turn_to(e.args.get('pagination')), ['pagination'])
        self.show(reorder=True)

    # ---- what is shown ------------------------------------------------------------------------

    @property
    def seen(self) -> ListFilter:
        """The filter within what the person may see: the chosen use cases, else every one they may see."""
        if self.places is None or self.filter.use_cases:
            return self.filter
        return self.filter.replace(use_cases=self.places.names)

    @property
    def ordered(self) -> list[str]:
        """The keys of the matching jobs in the table's order (shared with pages on the same view)."""
        sort_by = self.pagination.get('sortBy')
        return self.feed.ordered(self.seen, sort_by, bool(self.pagination.get('descending')) or not sort_by)

    def show(self, *, reorder: bool = True) -> None:
        """Bring the page of rows, the chip counts and the filter controls up to date, sending only what
        differs from what the browser has: changed rows alone when the page's jobs stay in place."""
        ordered = self.ordered
        rows_per_page = self.pagination['rowsPerPage']
        last_page = max(1, -(-len(ordered) // rows_per_page))
        page = min(self.pagination['page'], last_page)
        pagination = {**self.pagination, 'page': page, 'rowsNumber': len(ordered)}
        start = (page - 1) * rows_per_page
        rows = {name: self.row_of(name) for name in ordered[start : start + rows_per_page]}
        self.pagination = pagination
        if pagination != self.table.pagination or list(rows) != list(self.sent):
            self.table.pagination = pagination
            self.table.update_rows(list(rows.values()))  # one page: what the browser shows
        else:
            sent = self.sent  # rows are shared dicts, rebuilt only when their job changes: `is` finds most
            self.table.patch_rows([row for name, row in rows.items() if row is not sent[name] != row])
        self.sent = rows
        self.show_counts()

    def show_counts(self) -> None:
        counts = self.feed.rollup_counts(self.seen)
        for rollup, chip in self.chips.items():
            text = f'{rollup} · {counts[rollup]}'
            if chip.text != text:
                chip.set_text(text)
            chosen = rollup in self.filter.rollups
            if chip.selected != chosen:
                chip.selected = chosen  # its selection handler sees an unchanged filter
            if chosen and 'outline' in chip.props:
                chip.props(remove='outline')
            elif not chosen and 'outline' not in chip.props:
                chip.props('outline')
        total = len(self.feed.entries or {}) if self.places is None else self.visible_total()
        shown = (
            f'{total:,} training jobs'
            if self.filter.is_empty
            else f'Showing {len(self.ordered):,} of {total:,} training jobs'
        )
        if self.shown.text != shown:
            self.shown.set_text(shown)
        self.clear_button.set_visibility(not self.filter.is_empty)

    def visible_total(self) -> int:
        """How many training jobs the person may see (a view shared by the pages of the same people)."""
        assert self.places is not None
        return len(self.feed.ordered(ListFilter(use_cases=frozenset(self.places.names)), None, True))

    def row_of(self, name: str) -> dict[str, Any]:
        row = self.feed.row_of((self.feed.entries or {})[name])
        return {**row, 'highlight': True} if name in self.highlight_until else row

    def on_page(self) -> set[str]:
        return set(self.sent)

    def target_options(self) -> dict[str, str]:
        return dict(sorted(self.feed.targets.items(), key=lambda item: (item[1], item[0])))

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
        if self.use_case_select is not None:
            self.use_case_select.set_value([])
        self.search.set_value('')

    async def download_csv(self) -> None:
        with reported('No CSV'):
            await self.check_signed_in()
            entries = self.feed.entries or {}
            rows = [entries[key] for key in self.ordered if key in entries]
            data = csv_text(rows, with_use_case=self.several).encode('utf-8')
            ui.download.content(data, 'training-jobs.csv', 'text/csv')

    # ---- the store changes ----------------------------------------------------------------------

    def on_change(self, change: Change) -> None:
        """The feed read a change once for all pages; this page shows what it touched."""
        now = time.monotonic()
        finished: list[Entry] = []
        for name, entry in change.entries.items():
            old = change.before.get(name)
            if old is None or old.job.rollup != entry.job.rollup:
                self.highlight_until[name] = now + HIGHLIGHT_SECONDS
            if old is not None and old.job.rollup != entry.job.rollup and entry.job.rollup in FINISHED:
                finished.append(entry)
        options = self.target_options()
        if options != self.target_select.options:
            self.target_select.set_options(options)
        self.show()
        self.announce(finished)
        if any(name in self.highlight_until for name in change.entries):
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
        ended = {name for name, until in self.highlight_until.items() if until <= now + 0.1}
        for name in ended:
            del self.highlight_until[name]
        if ended & self.on_page():
            self.show()

    def tick(self) -> None:
        """Running compilations' durations and estimates move on (no store query; rows shared by pages)."""
        entries = self.feed.entries or {}
        if any(entries[name].compiling for name in self.sent if name in entries):
            self.show()


def _slug(word: str) -> str:
    return word.lower().replace(' ', '-')


async def _anyone() -> None:
    """No check (a list made without the actions)."""
