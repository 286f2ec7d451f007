"""`/fleet`: the compatibility matrix. Rows are component versions (training job × target), columns core
devices; each cell says Running, Deployed (not yet running), Compatible, Incompatible or Unknown
(domain/compat.py), with the reason.

A fleet may have thousands of devices: the grid shows one page of versions and one page of devices at a time
("Versions 1–50 of 200 · Devices 1–25 of 5,000"), filtered by training job, target, thing group and device
name, all kept in the URL. Every open tab follows one shared feed (matrix_feed.py) and redraws only when its
page changed.
"""

from __future__ import annotations

from collections.abc import Iterable

from nicegui import ui
from starlette.requests import Request

from ...domain.filters import MatrixFilter
from ...domain.targets import TargetCatalog
from ...services.actions import Actions
from ...store import Store
from ..feeds import EVERY_KEY
from ..layout import frame
from ..use_cases import PlaceView
from ..widgets import filter_select, filter_text
from .matrix_feed import MatrixFacts, MatrixFeed
from .matrix_page import MatrixPage, build_page, legend, runtime_needs

HEADER_CELL = r"""
<q-th :props="props" :title="props.col.facts ? props.col.label + ' · ' + props.col.facts : undefined">
  <div :class="props.col.facts === undefined ? '' : 'matrix-head'">{{ props.col.label }}</div>
  <div v-if="props.col.facts" class="matrix-head matrix-facts text-xs text-grey-7">{{ props.col.facts }}</div>
</q-th>"""

BODY_CELL = r"""
<q-td :props="props">
  <div v-if="props.col.name === 'release'" class="matrix-release">
    <div class="font-mono text-xs">{{ props.row.component }} {{ props.row.version }}</div>
    <a v-if="props.row.job" class="text-primary text-sm" :href="props.row.job_link">{{ props.row.job }}</a>
    <span v-else class="text-grey-7 text-sm">not linked</span>
    <span class="text-grey-8 text-sm"> · {{ props.row.target }}</span>
    <span v-if="props.row.place" class="text-grey-8 text-sm"> · {{ props.row.place }}</span>
  </div>
  <span v-else class="matrix-fit text-xs" :data-fit="props.value.w">
    <q-icon :name="props.value.i" :color="props.value.c" size="xs" aria-hidden="true"></q-icon>
    <span class="matrix-word">{{ props.value.w }}</span>
    <span class="matrix-short" aria-hidden="true">{{ props.value.s }}</span>
    <span v-if="props.value.r" class="sr-only">: {{ props.value.r }}</span>
    <q-tooltip max-width="24rem"
      >{{ props.value.w }}{{ props.value.r ? ': ' + props.value.r : '' }}</q-tooltip>
  </span>
</q-td>"""


class MatrixView:
    """One open `/fleet` tab: its filters (in the URL), its page of the grid, redrawn when the shared facts
    change what the page shows."""

    def __init__(
        self,
        feed: MatrixFeed,
        facts: MatrixFacts,
        query: Iterable[tuple[str, str]],
        catalog: TargetCatalog,
        places: PlaceView,
    ) -> None:
        self.feed, self.facts, self.places = feed, facts, places
        self.labels = {t.id: t.display_name for t in catalog.values()}
        self.needs = runtime_needs(catalog)
        self.filter = MatrixFilter.from_query(query, self.labels, places.names)
        self.page = self.build()
        self._build()

    def build(self) -> MatrixPage:
        return build_page(
            self.facts, self.filter, self.needs, self.labels, self.places.seen, self.places.several
        )

    def _build(self) -> None:
        with ui.row().classes('w-full items-center gap-2'):
            if self.places.several:
                filter_select(
                    self.places.names,
                    sorted(self.filter.use_cases),
                    'Use case',
                    lambda e: self.set_filter(self.filter.replace(use_cases=e.value or [])),
                    'use-case-filter',
                )
            self.job_select = filter_select(
                self.job_options(),
                sorted(self.filter.jobs),
                'Training job',
                lambda e: self.set_filter(self.filter.replace(jobs=e.value or [])),
                'matrix-job-filter',
                typing=True,
            )
            self.target_select = filter_select(
                dict(sorted(self.labels.items(), key=lambda item: item[1])),
                sorted(self.filter.targets),
                'Target',
                lambda e: self.set_filter(self.filter.replace(targets=e.value or [])),
                'matrix-target-filter',
            )
            self.group_select = filter_select(
                self.group_options(),
                sorted(self.filter.groups),
                'Thing group',
                lambda e: self.set_filter(self.filter.replace(groups=e.value or [])),
                'matrix-group-filter',
            )
            self.device_search = filter_text(
                'Device name',
                self.filter.device_text,
                lambda e: self.set_filter(self.filter.replace(device_text=e.value or '')),
                'matrix-device-filter',
            )
        with ui.row().classes('w-full items-center gap-2'):
            self.shown = ui.label().classes('text-sm text-grey-8').mark('matrix-shown')
            ui.space()
            self.pagers = {
                'version_page': self._pager('Versions', 'version_page'),
                'device_page': self._pager('Devices', 'device_page'),
            }
        self.legend = (
            ui.label(legend(self.places.several)).classes('text-sm text-grey-8').mark('matrix-legend')
        )
        self.table = (
            ui.table(columns=self.page.columns, rows=self.page.rows, row_key='arn', pagination=0)
            .classes('w-full')
            .props('flat bordered dense hide-pagination data-testid=matrix-table')
            .props(
                'no-data-label="No component versions to show: clear the filters, or wait for the refresh."'
            )
            .mark('matrix-table')
        )
        self.table.add_slot('header-cell', HEADER_CELL)
        self.table.add_slot('body-cell', BODY_CELL)
        self.show_compact()
        self.show_counts()

    def show_compact(self) -> None:
        """Short words and turned device headings when a page has more devices than fit whole words."""
        compact = self.page.compact
        if compact != ('matrix-compact' in self.table.classes):
            self.table.classes(
                add='matrix-compact' if compact else None, remove=None if compact else 'matrix-compact'
            )
        self.legend.set_visibility(compact)

    def _pager(self, noun: str, field: str) -> tuple[ui.button, ui.button]:
        with ui.row().classes('items-center gap-1'):
            ui.label(noun).classes('text-sm')
            back = ui.button(icon='chevron_left', on_click=lambda: self.turn(field, -1)).props(
                f'flat dense round aria-label="Previous {noun.lower()}"'
            )
            ahead = ui.button(icon='chevron_right', on_click=lambda: self.turn(field, 1)).props(
                f'flat dense round aria-label="Next {noun.lower()}"'
            )
        back.mark(f'matrix-{noun.lower()}-back')
        ahead.mark(f'matrix-{noun.lower()}-next')
        return back, ahead

    def job_options(self) -> list[str]:
        return sorted(
            {v.training_job for v in self.facts.versions.values() if v.training_job} | self.filter.jobs
        )

    def group_options(self) -> list[str]:
        return sorted({g for groups in self.facts.groups.values() for g in groups} | self.filter.groups)

    def turn(self, field: str, step: int) -> None:
        current = getattr(self.filter, field)
        self.set_filter(self.filter.replace(**{field: max(1, current + step)}))

    def set_filter(self, new: MatrixFilter) -> None:
        if new == self.filter:
            return
        self.filter = new
        self.redraw(force=True)
        ui.navigate.history.replace(new.url())

    def redraw(self, *, force: bool = False) -> None:
        """The page again from the shared facts; the browser gets it only when it differs."""
        page = self.build()
        if force or page.columns != self.page.columns or page.rows != self.page.rows:
            self.table.columns = page.columns
            self.table.rows = page.rows
            self.table.update()
        self.page = page
        self.show_compact()
        options = self.job_options()
        if options != self.job_select.options:
            self.job_select.set_options(options, value=sorted(self.filter.jobs))
        groups = self.group_options()
        if groups != self.group_select.options:
            self.group_select.set_options(groups, value=sorted(self.filter.groups))
        self.show_counts()

    def show_counts(self) -> None:
        page = self.page
        if self.shown.text != page.shown_text:
            self.shown.set_text(page.shown_text)
        for field, (first, count, matching) in {
            'version_page': (page.versions_first, len(page.rows), page.versions_matching),
            'device_page': (page.devices_first, len(page.columns) - 1, page.devices_matching),
        }.items():
            back, ahead = self.pagers[field]
            back.set_enabled(first > 0)
            ahead.set_enabled(first + count < matching)


def register(store: Store, actions: Actions, catalog: TargetCatalog) -> None:
    feed = MatrixFeed(store)

    @ui.page('/fleet', response_timeout=30)
    async def fleet_page(request: Request) -> None:
        views: list[MatrixView] = []

        # follows before the first read: a change that lands meanwhile redraws the page once it exists
        def redraw(keys: object, data: object) -> None:
            for view in views:
                view.redraw()

        feed.follow(EVERY_KEY, redraw)
        facts = await feed.current()
        with frame('Fleet', store, actions):
            ui.label('Compatibility matrix').classes('text-2xl font-bold')
            ui.label(
                "Which component version can run on which core device, from each recipe's platforms and "
                "each device's architecture, operating system and IoT thing attributes (accelerator, "
                'JetPack, CUDA).'
            ).classes('text-grey-8')
            if facts is None:
                ui.label(
                    'The matrix could not be read from the database; reload the page to try again.'
                ).classes('text-negative').mark('matrix-unavailable')
                return
            places = PlaceView.of(actions)
            views.append(MatrixView(feed, facts, request.query_params.multi_items(), catalog, places))
