"""One training job's page: its header and the Overview, Logs, Compilation and Components tabs, kept live."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from nicegui import ui

from ...domain.attempts import CompileInputs
from ...domain.filters import MatrixFilter
from ...domain.guidance import GuidanceBook
from ...domain.places import object_key, use_case_name
from ...domain.problems import Problem
from ...domain.status import TrainingStatus
from ...domain.targets import TargetCatalog
from ...queries import job_page
from ...queries.job_page import JobSnapshot
from ...services.actions import Actions
from ...store import Store
from ..deployments import RolloutPanel, components_key, deploy_button
from ..feeds import Durations
from ..layout import frame
from ..links import job_link
from ..live_table import LiveTable
from ..problems import notify_problem, reported
from ..tables import Moment, status_cell, time_cell
from ..use_cases import PlaceView, place_badge
from ..widgets import LogView, TimeLabel, status_badge, time_label
from . import sections
from .dialogs import AttemptDialog, CompileDialog, StopDialog
from .rows import (
    ACTIONS_CELL,
    ARTIFACT_CELL,
    COMPILATION_COLUMNS,
    COMPONENT_CELL,
    DETAILS_CELL,
    DURATION_CELL,
    HISTORY_COLUMNS,
    HISTORY_REASON_CELL,
    STATUS_REASON_CELL,
    TARGET_CELL,
)

TABS = {'overview': 'Overview', 'logs': 'Logs', 'compilation': 'Compilation', 'components': 'Components'}


class TrainingJobView:
    """The page of one training job, open in one tab, and how it follows its feed: each delivery refreshes
    only the parts whose values changed and sends the tables only the rows that changed."""

    def __init__(
        self,
        store: Store,
        actions: Actions,
        catalog: TargetCatalog,
        guidance: GuidanceBook,
        durations: Durations,
        snapshot: JobSnapshot,
        tab: str,
        places: PlaceView,
    ) -> None:
        """`places`: the use cases as the person sees them."""
        self.store = store
        self.actions = actions
        self.catalog = catalog
        self.guidance = guidance
        self.snapshot = snapshot
        self.job = job = snapshot.job
        self.use_case = use_case = job.use_case  # its place key: actions are judged by the role in it
        self.places = places
        self.console = places.console(use_case)  # links in the job's region
        self.logs_loaded = False
        # buttons that change AWS are hidden from Operators of the use case (Actions refuses them anyway)
        self.locked = actions.refusal('compile, retry, stop or package', use_case)
        packaging = actions.without_greengrass(use_case) is None
        self.compilation = sections.CompilationRows(guidance, durations, bool(self.locked), packaging)
        self.shown_header = sections.header(job)
        self.shown_overview = sections.overview(job)
        self.shown_bar = self.compile_bar_values()
        self.shown_cards = sections.component_cards(snapshot, catalog)
        with frame(job.name, store, actions):
            self.dialogs = ui.element('div')  # dialogs live here, outside sections that refresh
            with ui.row().classes('items-center gap-4'):
                ui.link('Training jobs', '/').classes('text-primary')
                ui.icon('chevron_right').props('aria-hidden=true')
                ui.label(job.name).classes('text-2xl font-bold break-all').mark('job-name')
                place_badge(places, use_case)
            self.header()
            with ui.tabs(on_change=self.on_tab).props('no-caps align=left') as self.tabs:
                for key, label in TABS.items():
                    ui.tab(key, label=label)
            with ui.tab_panels(self.tabs, value=tab).classes('w-full'):
                with ui.tab_panel('overview'):
                    self.overview()
                with ui.tab_panel('logs'):
                    self.build_logs()
                with ui.tab_panel('compilation'):
                    self.build_compilation()
                with ui.tab_panel('components'):
                    self.components()
                    self.rollouts()
            self.tabs.value = tab
        ui.timer(1.0, self.tick)
        if tab == 'logs':
            self.open_logs()  # setting the tabs' value above may have done so already

    # ---- following the feed ---------------------------------------------------------------------------

    def on_delivery(self, _keys: frozenset[str], pages: dict[str, JobSnapshot]) -> None:
        snapshot = pages.get(object_key(self.use_case, self.job.name))
        if snapshot is not None:  # a job the store no longer knows keeps its last page
            self.show(snapshot)

    def show(self, snapshot: JobSnapshot) -> None:
        """Refresh what changed since the last snapshot; nothing is sent when nothing shown changed."""
        self.snapshot = snapshot
        self.job = job = snapshot.job
        if (header := sections.header(job)) != self.shown_header:
            self.shown_header = header
            self.show_header()
        if (overview := sections.overview(job)) != self.shown_overview:
            before, self.shown_overview = self.shown_overview, overview
            same_facts = [label for label, _ in before.facts] == [label for label, _ in overview.facts]
            if same_facts and before.failure_reason == overview.failure_reason:  # words change in place
                for value_label, (_, value) in zip(self.fact_values, overview.facts, strict=True):
                    if isinstance(value, Moment):
                        cast(TimeLabel, value_label).show(value.at)  # same labels: the same kinds of fact
                    elif value_label.text != value:
                        value_label.set_text(value)
            else:
                self.overview.refresh()
        if (bar := self.compile_bar_values()) != self.shown_bar:
            self.shown_bar = bar
            self.compile_bar.refresh()
        if (cards := sections.component_cards(snapshot, self.catalog)) != self.shown_cards:
            self.shown_cards = cards
            self.components.refresh()
        self.compilation_table.show_rows(self.compilation.take(snapshot))
        self.history_table.show_rows(sections.history_rows(snapshot))

    def tick(self) -> None:
        """Durations of running attempts count up every second (only their rows are sent)."""
        running = self.compilation.running()
        if running:
            shown = {row['target_id']: row for row in self.compilation_table.rows}
            self.compilation_table.patch_rows([row for row in running if shown.get(row['target_id']) != row])

    # ---- header and overview ----------------------------------------------------------------------------

    def header(self) -> None:
        """Built once; a change updates its words in place (rebuilding it in 30 tabs cost ~100 ms)."""
        header = self.shown_header
        with ui.row().classes('items-center gap-6'):
            with ui.row().classes('items-center gap-2').mark('training-status'):
                ui.label('Training:').classes('text-grey-8')
                self.status_badge = status_badge(header.status)
            with ui.row().classes('items-center gap-2').mark('rollup'):
                ui.label('Compilation:').classes('text-grey-8')
                self.rollup_badge = status_badge(header.rollup)
                self.compiled_label = ui.label(header.compiled)

    def show_header(self) -> None:
        header = self.shown_header
        self.status_badge.show(header.status)
        self.rollup_badge.show(header.rollup)
        if self.compiled_label.text != header.compiled:
            self.compiled_label.set_text(header.compiled)

    @ui.refreshable_method
    def overview(self) -> None:
        overview = self.shown_overview
        self.fact_values: list[ui.label | TimeLabel] = []
        with ui.grid(columns='auto 1fr').classes('gap-x-6 gap-y-2 items-baseline'):
            for label, value in overview.facts:
                ui.label(label).classes('text-grey-8')
                shown = time_label(value.at) if isinstance(value, Moment) else ui.label(value)
                self.fact_values.append(shown.classes('break-all'))
        ui.link(
            f'Open in the SageMaker console{self.places.where(self.use_case)}',
            self.console.training_job(self.job.name),
            new_tab=True,
        ).mark('console-link')
        if overview.failure_reason:
            with ui.card().classes('w-full bg-red-1'):
                with ui.row().classes('items-center gap-2'):
                    ui.icon('error', color='negative').props('aria-hidden=true')
                    ui.label('Training failure reason').classes('font-bold')
                ui.label(overview.failure_reason).classes('whitespace-pre-wrap break-all')

    # ---- logs -------------------------------------------------------------------------------------------

    def build_logs(self) -> None:
        with ui.row().classes('items-center gap-2'):
            ui.label('CloudWatch Logs: /aws/sagemaker/TrainingJobs').classes('text-grey-8')
            ui.button('Reload logs', icon='refresh', on_click=self.load_logs).props('flat dense no-caps')
        self.log_view = LogView('logs-table', 100, 'Open this tab to load the logs.')

    def open_logs(self) -> None:
        """Read the logs the first time the tab opens (seen twice when the page opens on the tab)."""
        if not self.logs_loaded:
            self.logs_loaded = True  # at once, not when the read starts: one read per page
            ui.timer(0, self.load_logs, once=True)

    async def load_logs(self) -> None:
        self.log_view.message.set_text('Loading logs…')
        await self.log_view.load(self.actions.training_logs(self.job.name, use_case=self.use_case))

    # ---- compilation ------------------------------------------------------------------------------------

    def build_compilation(self) -> None:
        self.compile_bar()
        ui.label('One row per target: its latest compilation attempt.').classes('text-grey-8')
        self.compilation_table = table = (
            LiveTable(
                columns=COMPILATION_COLUMNS,
                rows=self.compilation.take(self.snapshot),
                row_key='target_id',
            )
            .classes('w-full compact-cells')
            .props('flat bordered wrap-cells')
            .props('no-data-label="No compilation jobs for this training job yet."')
            .props('data-testid=compilation-table')
            .mark('compilation-table')
        )
        table.add_cell('target', TARGET_CELL)
        table.add_cell('status', STATUS_REASON_CELL)
        table.add_cell('started', time_cell('started'))
        table.add_cell('artifact', ARTIFACT_CELL)
        table.add_cell('duration', DURATION_CELL)
        table.add_cell('component', COMPONENT_CELL)
        table.on('package', lambda e: self.package(str(e.args.get('job_name', ''))))
        table.add_cell('actions', ACTIONS_CELL)
        table.on('stop', lambda e: self.confirm_stop(e.args))
        table.on('retry', lambda e: self.retry(e.args))
        table.on('download', lambda e: self.download(str(e.args.get('job_name', ''))))
        table.on('details', lambda e: self.show_details(str(e.args.get('job_name', ''))))
        with (
            ui.expansion('All attempts, failed and stopped ones included', icon='history')
            .classes('w-full')
            .props('default-opened')
        ):
            self.history_table = history = (
                LiveTable(
                    columns=HISTORY_COLUMNS,
                    rows=sections.history_rows(self.snapshot),
                    row_key='job_name',
                    pagination={'rowsPerPage': 20},
                )
                .classes('w-full compact-cells')
                .props('flat bordered dense wrap-cells')
                .props('no-data-label="No attempts yet."')
                .props('data-testid=history-table')
                .mark('history-table')
            )
            history.add_cell('status', status_cell('status'))
            for name in ('created', 'started', 'ended'):
                history.add_cell(name, time_cell(name))
            history.add_cell('reason', HISTORY_REASON_CELL)
            history.add_cell('details', DETAILS_CELL)
            history.on('details', lambda e: self.show_details(str(e.args.get('job_name', ''))))

    def compile_bar_values(self) -> sections.CompileBar:
        blocked = self.actions.place(self.use_case).compiler.setup_problem()  # the use case's own settings
        if self.job.status != TrainingStatus.COMPLETED:
            blocked = f'Only a Completed training job can be compiled; this one is {self.job.status}.'
        return sections.compile_bar(self.snapshot, self.catalog, self.locked or blocked)

    @ui.refreshable_method
    def compile_bar(self) -> None:
        bar = self.shown_bar
        if bar.fleet_note:
            with ui.row().classes('items-center gap-1 text-orange-10'):
                ui.icon('devices_other', size='sm').props('aria-hidden=true')
                ui.label(bar.fleet_note).mark('fleet-note')
        with ui.row().classes('items-center gap-3'):
            button = (
                ui.button('Compile for more targets', icon='memory', on_click=self.open_compile_dialog)
                .props('no-caps')
                .mark('compile-button')
            )
            if bar.blocked:
                button.disable()
                with ui.row().classes('items-center gap-1 text-grey-8'):
                    ui.icon('info', size='sm').props('aria-hidden=true')
                    ui.label(bar.blocked).mark('compile-blocked')

    async def open_compile_dialog(self) -> None:
        async def tags() -> CompileInputs | Problem:  # the dialog opens with the configured ones instead
            try:
                return await self.actions.compile_defaults(self.job.name, use_case=self.use_case)
            except Problem as problem:
                return problem

        defaults, (latest, fleet) = await asyncio.gather(
            tags(), self.store.fetch(job_page.compile_choices, self.job.name)
        )
        CompileDialog(
            self.dialogs, self.actions, self.catalog, self.job, defaults, latest, fleet, self.use_case
        )

    def show_details(self, job_name: str) -> None:
        attempt = next((a for a in self.snapshot.attempts if a.job_name == job_name), None)
        if attempt is None:
            ui.notify('That attempt is no longer known.', type='warning')
            return
        AttemptDialog(self.dialogs, attempt, self.actions, self.guidance, self.use_case)

    def confirm_stop(self, row: dict[str, Any]) -> None:
        StopDialog(self.dialogs, self.actions, row, self.job.name, self.use_case)

    async def download(self, job_name: str) -> None:
        """The compiled model through a presigned URL made at this moment (never stored in the page)."""
        with reported('Cannot download'):
            ui.download.from_url(
                await self.actions.artifact_download_url(job_name, self.job.name, use_case=self.use_case)
            )

    async def package(self, job_name: str) -> None:
        with reported('Not packaged'):
            await self.actions.package(job_name, self.job.name, use_case=self.use_case)
            ui.notify(f'Packaging {job_name} as a Greengrass component', type='positive')

    async def retry(self, row: dict[str, Any]) -> None:
        target_id = str(row.get('target_id', ''))
        name = self.catalog.display_name(target_id)
        with reported(name):
            outcome = await self.actions.retry_compilation(self.job.name, target_id, use_case=self.use_case)
            if outcome.started:
                ui.notify(f'Started {", ".join(outcome.started)}', type='positive')
            for target, problem in outcome.refused.items():
                notify_problem(problem, self.catalog.display_name(target))

    # ---- components -------------------------------------------------------------------------------------

    @ui.refreshable_method
    def components(self) -> None:
        """Greengrass component versions packaged from this job's compiled models, and where they run."""
        ui.link('Where can they run? Compatibility matrix', self.matrix_filter().url()).classes(
            'text-primary'
        ).mark('matrix-link')
        if not self.shown_cards:
            ui.label(
                'No Greengrass component has been packaged from this training job yet; use Package on a '
                'completed target of the Compilation tab.'
            ).classes('text-grey-8').mark('no-components')
        for card in self.shown_cards:
            with ui.card().classes('w-full').mark('component-card'):
                with ui.row().classes('items-center gap-3'):
                    ui.label(card.title).classes('font-bold break-all')
                    status_badge(card.state)
                    ui.label(card.target).classes('text-grey-8')
                with ui.row().classes('items-center gap-1'):
                    ui.label(card.arn).classes('font-mono text-xs break-all')
                    ui.button(
                        icon='content_copy', on_click=lambda arn=card.arn: ui.clipboard.write(arn)
                    ).props('flat dense round size=sm aria-label="Copy ARN"')
                    ui.link('AWS console', self.console.component(card.arn), new_tab=True)
                time_label(card.created, 'Created ', f' from {card.source}')
                if card.problem:
                    ui.label(card.problem).classes('text-negative whitespace-pre-wrap break-all').mark(
                        'packaging-error'
                    )
                if not card.devices:
                    ui.label('Not installed on any core device.').classes('text-grey-8')
                for words, reported, more in card.devices:
                    time_label(reported, words, more).mark('component-device')
                if card.state == 'Deployable':
                    deploy_button(
                        self.store,
                        self.actions,
                        self.use_case,
                        [card.title.rsplit(' ', 1)[0]],
                        card.title,
                        explain=False,
                    )

    def matrix_filter(self) -> MatrixFilter:
        """The matrix of this job's component versions (of its use case, when there are several)."""
        use_cases = frozenset({use_case_name(self.use_case)}) if self.places.several else frozenset()
        return MatrixFilter(jobs=frozenset({self.job.name}), use_cases=use_cases)

    def rollouts(self) -> None:
        """The deployments of this job's components, each device's state live; Deploy… and Roll back."""
        names = sorted({v.component_name for v in self.snapshot.components})
        if names:
            with ui.row().classes('items-center gap-3 pt-2'):
                ui.label('Deployments').classes('text-lg font-bold')
                deploy_button(self.store, self.actions, self.use_case, names)
            RolloutPanel(self.store, self.actions, components_key(names, self.use_case), self.use_case)

    def on_tab(self) -> None:
        tab = str(self.tabs.value)
        ui.navigate.history.replace(job_link(self.job.name, self.use_case, tab))
        if tab == 'logs':
            self.open_logs()
