"""One training job's page: its header and the Overview, Logs, Compilation and Components tabs, kept live."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nicegui import ui

from ... import queries
from ...domain.changes import Changed
from ...domain.clock import utcnow
from ...domain.greengrass import device_health, missing_architectures
from ...domain.guidance import GuidanceBook
from ...domain.problems import AwsProblem
from ...domain.status import CompilationStatus, TrainingStatus
from ...domain.targets import TargetCatalog
from ...services.actions import Actions
from ...store import Store
from ...tables import CompilationAttempt, TrainingJob
from ..layout import frame
from ..tables import status_cell, status_fields
from ..widgets import LogView, ago, format_time, status_badge
from .dialogs import AttemptDialog, CompileDialog, StopDialog
from .rows import (
    ACTIONS_CELL,
    ARTIFACT_CELL,
    COMPILATION_COLUMNS,
    COMPONENT_CELL,
    DETAILS_CELL,
    DURATION_CELL,
    HISTORY_COLUMNS,
    REASON_CELL,
    compilation_row,
    history_row,
    overview_facts,
)

TABS = {'overview': 'Overview', 'logs': 'Logs', 'compilation': 'Compilation', 'components': 'Components'}


class TrainingJobView:
    """The page of one training job, open in one tab, and how it follows the store."""

    def __init__(
        self,
        store: Store,
        actions: Actions,
        catalog: TargetCatalog,
        guidance: GuidanceBook,
        job: TrainingJob,
        tab: str,
    ) -> None:
        self.store = store
        self.actions = actions
        self.catalog = catalog
        self.guidance = guidance
        self.job = job
        self.logs_loaded = False
        # buttons that change AWS are hidden from Operators (Actions refuses them anyway)
        self.locked = actions.refusal('compile, retry, stop or package')
        with frame(job.name, store, actions):
            self.dialogs = ui.element('div')  # dialogs live here, outside sections that refresh
            with ui.row().classes('items-center gap-4'):
                ui.link('Training jobs', '/').classes('text-primary')
                ui.icon('chevron_right').props('aria-hidden=true')
                ui.label(job.name).classes('text-2xl font-bold break-all').mark('job-name')
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
            self.tabs.value = tab
        store.changed.subscribe(self.on_change)
        ui.timer(1.0, self.tick)
        if tab == 'logs':
            self.open_logs()  # setting the tabs' value above may have done so already

    @ui.refreshable_method
    def header(self) -> None:
        with ui.row().classes('items-center gap-6'):
            with ui.row().classes('items-center gap-2').mark('training-status'):
                ui.label('Training:').classes('text-grey-8')
                status_badge(self.job.status)
            with ui.row().classes('items-center gap-2').mark('rollup'):
                ui.label('Compilation:').classes('text-grey-8')
                status_badge(self.job.rollup)
                ui.label(f'{self.job.targets_compiled}/{self.job.targets_total} compiled')

    @ui.refreshable_method
    def overview(self) -> None:
        with ui.grid(columns='auto 1fr').classes('gap-x-6 gap-y-2 items-baseline'):
            for label, value in overview_facts(self.job):
                ui.label(label).classes('text-grey-8')
                ui.label(value).classes('break-all')
        ui.link(
            'Open in the SageMaker console', self.actions.console.training_job(self.job.name), new_tab=True
        )
        if self.job.failure_reason:
            with ui.card().classes('w-full bg-red-1'):
                with ui.row().classes('items-center gap-2'):
                    ui.icon('error', color='negative').props('aria-hidden=true')
                    ui.label('Training failure reason').classes('font-bold')
                ui.label(self.job.failure_reason).classes('whitespace-pre-wrap break-all')

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
        self.log_view.show(await self.actions.training_logs(self.job.name))

    def build_compilation(self) -> None:
        self.compile_bar()
        ui.label('One row per target: its latest compilation attempt.').classes('text-grey-8')
        self.compilation_table = (
            ui.table(
                columns=COMPILATION_COLUMNS,
                rows=self.compilation_rows(),
                row_key='target_id',
            )
            .classes('w-full')
            .props('flat bordered wrap-cells')
            .props('no-data-label="No compilation jobs for this training job yet."')
            .props('data-testid=compilation-table')
            .mark('compilation-table')
        )
        self.compilation_table.add_slot('body-cell-status', status_cell('status'))
        self.compilation_table.add_slot('body-cell-artifact', ARTIFACT_CELL)
        self.compilation_table.add_slot('body-cell-reason', REASON_CELL)
        self.compilation_table.add_slot('body-cell-duration', DURATION_CELL)
        self.compilation_table.add_slot('body-cell-component', COMPONENT_CELL)
        self.compilation_table.on('package', lambda e: self.package(str(e.args.get('job_name', ''))))
        self.compilation_table.add_slot('body-cell-actions', ACTIONS_CELL)
        self.compilation_table.on('stop', lambda e: self.confirm_stop(e.args))
        self.compilation_table.on('retry', lambda e: self.retry(e.args))
        self.compilation_table.on('download', lambda e: self.download(str(e.args.get('job_name', ''))))
        self.compilation_table.on('details', lambda e: self.show_details(str(e.args.get('job_name', ''))))
        with (
            ui.expansion('All attempts, failed and stopped ones included', icon='history')
            .classes('w-full')
            .props('default-opened')
        ):
            self.history_table = (
                ui.table(
                    columns=HISTORY_COLUMNS,
                    rows=self.history_rows(),
                    row_key='job_name',
                    pagination={'rowsPerPage': 20},
                )
                .classes('w-full')
                .props('flat bordered dense wrap-cells')
                .props('no-data-label="No attempts yet."')
                .props('data-testid=history-table')
                .mark('history-table')
            )
            self.history_table.add_slot('body-cell-status', status_cell('status'))
            self.history_table.add_slot('body-cell-details', DETAILS_CELL)
            self.history_table.on('details', lambda e: self.show_details(str(e.args.get('job_name', ''))))

    def history_rows(self) -> list[dict[str, Any]]:
        attempts = sorted(
            self.store.read(queries.jobs.attempts_for, self.job.name),
            key=lambda a: (a.target_label, -a.attempt),
        )
        return [history_row(a) for a in attempts]

    def show_details(self, job_name: str) -> None:
        attempt = next(
            (a for a in self.store.read(queries.jobs.attempts_for, self.job.name) if a.job_name == job_name),
            None,
        )
        if attempt is None:
            ui.notify('That attempt is no longer known.', type='warning')
            return
        AttemptDialog(self.dialogs, attempt, self.actions, self.guidance)

    async def download(self, job_name: str) -> None:
        """The compiled model through a presigned URL made at this moment (never stored in the page)."""
        url = await self.actions.artifact_download_url(job_name, self.job.name)
        if isinstance(url, AwsProblem):
            ui.notify(f'Cannot download — {url}', type='negative', multi_line=True, close_button='Close')
            return
        ui.download.from_url(url)

    async def package(self, job_name: str) -> None:
        problem = await self.actions.package(job_name, self.job.name)
        if problem:
            ui.notify(f'Not packaged — {problem}', type='negative', multi_line=True, close_button='Close')
        else:
            ui.notify(f'Packaging {job_name} as a Greengrass component', type='positive')

    async def retry(self, row: dict[str, Any]) -> None:
        target_id = str(row.get('target_id', ''))
        outcome = await self.actions.retry_compilation(self.job.name, target_id)
        if outcome.started:
            ui.notify(f'Started {", ".join(outcome.started)}', type='positive')
        for target, reason in outcome.refused.items():
            ui.notify(
                f'{self.catalog.display_name(target)}: {reason}',
                type='negative',
                multi_line=True,
                close_button='Close',
            )

    @ui.refreshable_method
    def components(self) -> None:
        """Greengrass component versions packaged from this job's compiled models, and where they run."""
        devices = {d.thing_name: d for d in self.store.read(queries.fleet.devices)}
        where: dict[tuple[str, str], list[Any]] = {}
        for item in self.store.read(queries.fleet.installations):
            where.setdefault((item.component_name, item.component_version), []).append(item)
        versions = self.store.read(queries.fleet.components, self.job.name)
        if not versions:
            ui.label(
                'No Greengrass component has been packaged from this training job yet; use Package on a '
                'completed target of the Compilation tab.'
            ).classes('text-grey-8').mark('no-components')
        for version in versions:
            with ui.card().classes('w-full').mark('component-card'):
                with ui.row().classes('items-center gap-3'):
                    ui.label(f'{version.component_name} {version.component_version}').classes(
                        'font-bold break-all'
                    )
                    status_badge(version.state)
                    ui.label(self.catalog.display_name(version.target_id or '')).classes('text-grey-8')
                with ui.row().classes('items-center gap-1'):
                    ui.label(version.arn).classes('font-mono text-xs break-all')
                    ui.button(
                        icon='content_copy', on_click=lambda arn=version.arn: ui.clipboard.write(arn)
                    ).props('flat dense round size=sm aria-label="Copy ARN"')
                    ui.link('AWS console', self.actions.console.component(version.arn), new_tab=True)
                ui.label(
                    f'Created {format_time(version.created_at)} from {version.compilation_job_name or "—"}'
                )
                if version.message or version.errors:
                    ui.label(f'{version.message or ""} {version.errors or ""}'.strip()).classes(
                        'text-negative whitespace-pre-wrap break-all'
                    ).mark('packaging-error')
                running = where.get((version.component_name, version.component_version), [])
                if not running:
                    ui.label('Not installed on any core device.').classes('text-grey-8')
                for item in running:
                    device = devices.get(item.thing_name)
                    health = device_health(
                        device.status if device else None,
                        device.last_status_update if device else None,
                        utcnow(),
                    )
                    stale = ' — stale report' if health.stale else ''
                    ui.label(
                        f'{item.thing_name}: {(item.lifecycle_state or "unknown").lower()}, device '
                        f'{health.word.lower()}, reported {ago(item.last_reported)}{stale}'
                    ).mark('component-device')

    def fleet_note(self) -> str:
        """Fleet architectures that have no compiled model of this job yet."""
        compiled = [
            self.catalog[a.target_id].greengrass_architecture
            for a in self.store.read(queries.jobs.latest_attempts, self.job.name)
            if a.status == CompilationStatus.COMPLETED and a.target_id in self.catalog
        ]
        missing = missing_architectures(
            [d.architecture or '' for d in self.store.read(queries.fleet.devices)], compiled
        )
        return f'Fleet architectures with no compiled model yet: {", ".join(missing)}.' if missing else ''

    @ui.refreshable_method
    def compile_bar(self) -> None:
        blocked = self.actions.compiler.setup_problem()
        if self.job.status != TrainingStatus.COMPLETED:
            blocked = f'Only a Completed training job can be compiled; this one is {self.job.status}.'
        blocked = self.locked or blocked
        if note := self.fleet_note():
            with ui.row().classes('items-center gap-1 text-orange-10'):
                ui.icon('devices_other', size='sm').props('aria-hidden=true')
                ui.label(note).mark('fleet-note')
        with ui.row().classes('items-center gap-3'):
            button = (
                ui.button('Compile for more targets', icon='memory', on_click=self.open_compile_dialog)
                .props('no-caps')
                .mark('compile-button')
            )
            if blocked:
                button.disable()
                with ui.row().classes('items-center gap-1 text-grey-8'):
                    ui.icon('info', size='sm').props('aria-hidden=true')
                    ui.label(blocked).mark('compile-blocked')

    async def open_compile_dialog(self) -> None:
        defaults = await self.actions.compile_defaults(self.job.name)
        CompileDialog(self.dialogs, self.store, self.actions, self.catalog, self.job, defaults)

    def confirm_stop(self, row: dict[str, Any]) -> None:
        StopDialog(self.dialogs, self.actions, row, self.job.name)

    def compilation_rows(self) -> list[dict[str, Any]]:
        attempts = sorted(
            self.store.read(queries.jobs.latest_attempts, self.job.name), key=lambda a: a.target_label
        )
        self.attempts = {a.target_id: a for a in attempts}
        self.durations = self.store.read(queries.jobs.completed_durations_by_target)
        self.packages = {
            c.compilation_job_name: c for c in self.store.read(queries.fleet.components, self.job.name)
        }
        return [self.row_for(a) for a in attempts]

    def row_for(self, attempt: CompilationAttempt) -> dict[str, Any]:
        row = compilation_row(attempt, self.guidance, self.durations)
        package = self.packages.get(attempt.job_name)
        row['component'] = f'{package.component_name} {package.component_version}' if package else ''
        row.update(status_fields('component_state', package.state) if package else {'component_state': ''})
        row['can_package'] = package is None and bool(row['artifact'])
        if self.locked:
            row.update(can_package=False, can_retry=False, can_stop=False)
        return row

    def on_tab(self) -> None:
        tab = str(self.tabs.value)
        ui.navigate.history.replace(f'/training-jobs/{quote(self.job.name)}?tab={tab}')
        if tab == 'logs':
            self.open_logs()

    def on_change(self, changed: Changed) -> None:
        if self.job.name not in changed.training_jobs:
            return
        job = self.store.read(queries.jobs.training_job, self.job.name)
        if job is None:
            return
        self.job = job
        self.header.refresh()
        self.overview.refresh()
        self.compile_bar.refresh()
        self.components.refresh()
        self.compilation_table.update_rows(self.compilation_rows())
        self.history_table.update_rows(self.history_rows())

    def tick(self) -> None:
        """Durations of running attempts count up every second."""
        if any(CompilationStatus(a.status).is_active and a.started_at for a in self.attempts.values()):
            self.compilation_table.update_rows([self.row_for(a) for a in self.attempts.values()])
