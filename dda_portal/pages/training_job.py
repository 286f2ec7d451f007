"""`/training-jobs/{name}`: Overview, Logs and Compilation tabs of one training job, updated live."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nicegui import ui

from .. import queries
from ..domain.attempts import FRAMEWORKS, MAX_SHAPE_TEXT, InvalidInput, may_start, parse_input_shape
from ..domain.changes import Changed
from ..domain.clock import utcnow
from ..domain.greengrass import device_health, missing_architectures
from ..domain.guidance import GuidanceBook
from ..domain.problems import AwsProblem
from ..domain.progress import estimate_remaining
from ..domain.status import CompilationStatus, TrainingStatus
from ..domain.targets import TargetCatalog
from ..services.actions import Actions
from ..store import Store
from ..tables import CompilationAttempt, TrainingJob
from .attempt_details import AttemptDetails
from .layout import frame
from .widgets import (
    LogView,
    ago,
    elapsed,
    format_duration,
    format_time,
    status_badge,
    status_cell,
    status_fields,
)

TABS = {'overview': 'Overview', 'logs': 'Logs', 'compilation': 'Compilation', 'components': 'Components'}

COMPILATION_COLUMNS: list[dict[str, Any]] = [
    {
        'name': 'target',
        'label': 'Target',
        'field': 'target',
        'align': 'left',
        'sortable': True,
        'style': 'white-space: nowrap',
    },
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left', 'sortable': True},
    {'name': 'attempt', 'label': 'Attempt', 'field': 'attempt', 'align': 'left'},
    {'name': 'started', 'label': 'Started', 'field': 'started', 'align': 'left', 'sortable': True},
    {
        'name': 'duration',
        'label': 'Duration',
        'field': 'duration',
        'align': 'left',
        'style': 'white-space: nowrap',
    },
    # S3 URIs and component names break anywhere; a minimum width keeps them readable, not a letter a line
    {
        'name': 'artifact',
        'label': 'Artifact',
        'field': 'artifact',
        'align': 'left',
        'style': 'min-width: 16rem',
    },
    {
        'name': 'component',
        'label': 'Component',
        'field': 'component',
        'align': 'left',
        'style': 'min-width: 14rem',
    },
    {
        'name': 'reason',
        'label': 'Failure reason',
        'field': 'reason',
        'align': 'left',
        'style': 'white-space: pre-wrap; word-break: break-word; min-width: 16rem',
    },
    {'name': 'actions', 'label': '', 'field': 'job_name', 'align': 'right'},
]

ACTIONS_CELL = r"""
<q-td :props="props" class="whitespace-nowrap">
  <q-btn flat dense no-caps icon="info" label="Details" @click="() => $parent.$emit('details', props.row)"/>
  <q-btn v-if="props.row.can_retry" flat dense no-caps icon="replay" label="Retry" color="primary"
         @click="() => $parent.$emit('retry', props.row)"/>
  <q-btn v-if="props.row.can_stop" flat dense no-caps icon="stop" label="Stop" color="negative"
         @click="() => $parent.$emit('stop', props.row)"/>
</q-td>"""

DURATION_CELL = r"""
<q-td :props="props" class="whitespace-nowrap">
  <div>{{ props.row.duration }}</div>
  <template v-if="props.row.running">
    <q-linear-progress v-if="props.row.progress !== null" :value="props.row.progress" rounded size="6px"
                       class="q-mt-xs" style="min-width: 6rem" aria-label="estimated progress"/>
    <q-linear-progress v-else indeterminate rounded size="6px" class="q-mt-xs" style="min-width: 6rem"
                       aria-label="running"/>
    <div class="text-xs text-grey-8">{{ props.row.estimate }}</div>
  </template>
</q-td>"""

REASON_CELL = r"""
<q-td :props="props" style="white-space: pre-wrap; word-break: break-word; min-width: 16rem">
  <div>{{ props.row.reason }}</div>
  <div v-if="props.row.cause" class="text-primary text-sm q-mt-xs">
    <q-icon name="lightbulb" size="xs" aria-hidden="true"/> Likely cause: {{ props.row.cause }} — see Details
  </div>
</q-td>"""

COMPONENT_CELL = r"""
<q-td :props="props">
  <div v-if="props.row.component" class="row items-center no-wrap q-gutter-xs">
    <span class="break-all">{{ props.row.component }}</span>
    <q-icon :name="props.row.component_state_icon" :color="props.row.component_state_color" size="xs"
            aria-hidden="true"/>
    <span class="text-xs">{{ props.row.component_state }}</span>
  </div>
  <q-btn v-else-if="props.row.can_package" flat dense no-caps icon="inventory_2" label="Package"
         color="primary" @click="() => $parent.$emit('package', props.row)"/>
  <span v-else class="text-grey-7">—</span>
</q-td>"""

HISTORY_COLUMNS: list[dict[str, Any]] = [
    {'name': 'target', 'label': 'Target', 'field': 'target', 'align': 'left', 'style': 'white-space: nowrap'},
    {'name': 'attempt', 'label': 'Attempt', 'field': 'attempt', 'align': 'left'},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left'},
    {'name': 'created', 'label': 'Created', 'field': 'created', 'align': 'left'},
    {'name': 'started', 'label': 'Started', 'field': 'started', 'align': 'left'},
    {'name': 'ended', 'label': 'Ended', 'field': 'ended', 'align': 'left'},
    {
        'name': 'duration',
        'label': 'Duration',
        'field': 'duration',
        'align': 'left',
        'style': 'white-space: nowrap',
    },
    {
        'name': 'reason',
        'label': 'Failure reason',
        'field': 'reason',
        'align': 'left',
        'style': 'white-space: pre-wrap; word-break: break-word; min-width: 16rem',
    },
    {'name': 'details', 'label': '', 'field': 'job_name', 'align': 'right'},
]

DETAILS_CELL = r"""
<q-td :props="props">
  <q-btn flat dense no-caps icon="info" label="Details" @click="() => $parent.$emit('details', props.row)"/>
</q-td>"""


ARTIFACT_CELL = r"""
<q-td :props="props">
  <div v-if="props.row.artifact" class="row items-center no-wrap q-gutter-xs">
    <span class="font-mono text-xs break-all">{{ props.row.artifact }}</span>
    <q-btn flat dense no-caps icon="download" label="Download" color="primary"
           @click="() => $parent.$emit('download', props.row)"/>
  </div>
  <span v-else class="text-grey-7">—</span>
</q-td>"""


def compilation_row(
    attempt: CompilationAttempt, guidance: GuidanceBook, durations: dict[str, list[float]]
) -> dict[str, Any]:
    status = CompilationStatus(attempt.status)
    running = status is CompilationStatus.IN_PROGRESS and attempt.started_at is not None
    spent = elapsed(attempt.started_at, attempt.ended_at) or 0.0
    # SageMaker reports no progress: earlier completed attempts of the target tell how long it usually takes
    estimate = estimate_remaining(spent, durations.get(attempt.target_id, [])) if running else None
    return {
        'job_name': attempt.job_name,
        'target': attempt.target_label,
        'target_id': attempt.target_id,
        **status_fields('status', attempt.status),
        'attempt': attempt.attempt,
        'started': format_time(attempt.started_at or attempt.created_at),
        'duration': format_duration(elapsed(attempt.started_at, attempt.ended_at))
        if attempt.started_at
        else 'waiting to start',
        'running': running,
        'can_stop': status in (CompilationStatus.STARTING, CompilationStatus.IN_PROGRESS)
        and bool(attempt.arn),
        'can_retry': status in (CompilationStatus.FAILED, CompilationStatus.STOPPED),
        'artifact': attempt.artifact if status is CompilationStatus.COMPLETED else '',
        'reason': attempt.failure_reason or '' if status is CompilationStatus.FAILED else '',
        'cause': guidance.for_failure(attempt.failure_reason).title
        if status is CompilationStatus.FAILED
        else '',
        'estimate': estimate.text if estimate else '',
        'progress': estimate.fraction if estimate else None,
    }


def history_row(attempt: CompilationAttempt) -> dict[str, Any]:
    return {
        'job_name': attempt.job_name,
        'target': attempt.target_label,
        'attempt': attempt.attempt,
        **status_fields('status', attempt.status),
        'created': format_time(attempt.created_at),
        'started': format_time(attempt.started_at),
        'ended': format_time(attempt.ended_at),
        'duration': format_duration(elapsed(attempt.started_at, attempt.ended_at))
        if attempt.started_at
        else '—',
        'reason': attempt.failure_reason or '' if attempt.status == CompilationStatus.FAILED else '',
    }


def _overview_facts(job: TrainingJob) -> list[tuple[str, str]]:
    return [
        (
            'Status',
            job.status
            + (
                f' ({job.secondary_status})'
                if job.secondary_status and job.secondary_status != job.status
                else ''
            ),
        ),
        ('Created', format_time(job.created_at)),
        ('Training started', format_time(job.started_at)),
        ('Training ended', format_time(job.ended_at)),
        ('Training time', format_duration(elapsed(job.started_at, job.ended_at))),
        (
            'Billable time',
            format_duration(job.billable_seconds)
            if job.billable_seconds is not None
            else 'not reported by SageMaker',
        ),
        ('Instance', f'{job.instance_type or "—"} × {job.instance_count or 1}'),
        ('Model artifact', job.model_artifact or '— (written when training completes)'),
        ('Output location', job.output_prefix or '—'),
        ('ARN', job.arn or '—'),
        ('Compilation', f'{job.rollup} — {job.targets_compiled}/{job.targets_total} compiled'),
    ]


def register(store: Store, actions: Actions, catalog: TargetCatalog, guidance: GuidanceBook) -> None:
    @ui.page('/training-jobs/{name}')
    def training_job_page(name: str, tab: str = 'overview') -> None:
        job = store.read(queries.jobs.training_job, name)
        if job is None:
            ui.status_code(404)
            with frame('Not found', store, actions):
                ui.label('Training job not found').classes('text-2xl font-bold')
                ui.label(f'The portal knows no training job named “{name}”.').mark('not-found')
                ui.link('Back to all training jobs', '/')
            return
        if tab not in TABS:
            ui.status_code(400)
            with frame('Unknown tab', store, actions):
                ui.label('Unknown tab').classes('text-2xl font-bold')
                ui.label(
                    f'There is no tab “{tab[:100]}”; a training job has {", ".join(TABS.values())}.'
                ).classes('break-all').mark('unknown-tab')
                ui.link(f'Open {job.name}', f'/training-jobs/{quote(job.name)}')
            return
        _TrainingJobView(store, actions, catalog, guidance, job, tab)


class _TrainingJobView:
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
            for label, value in _overview_facts(self.job):
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
        with (
            self.dialogs,
            ui.dialog() as dialog,
            ui.card().classes('w-full max-w-4xl').mark('attempt-dialog'),
        ):
            AttemptDetails(attempt, self.actions, self.guidance)
            with ui.row().classes('w-full justify-end'):
                ui.button('Close', on_click=dialog.close).props('flat no-caps')
        dialog.on('hide', dialog.delete)
        dialog.open()

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
        note = ''
        if isinstance(defaults, AwsProblem):
            note = f"Could not read the training job's tags ({defaults}); showing the configured defaults."
            defaults = self.actions.compiler.configured_defaults()
        latest = {a.target_id: a for a in self.store.read(queries.jobs.latest_attempts, self.job.name)}
        fleet: dict[str, int] = {}
        for device in self.store.read(queries.fleet.devices):
            fleet[device.architecture or ''] = fleet.get(device.architecture or '', 0) + 1
        with (
            self.dialogs,
            ui.dialog() as dialog,
            ui.card().classes('w-full max-w-2xl').mark('compile-dialog'),
        ):
            ui.label(f'Compile {self.job.name} for more targets').classes('text-lg font-bold break-all')
            choices: dict[str, ui.checkbox] = {}
            for target in self.catalog.values():
                attempt = latest.get(target.id)
                decision = may_start(
                    self.job.status,
                    CompilationStatus(attempt.status) if attempt else None,
                    attempt.attempt if attempt else 0,
                )
                with ui.row().classes('w-full items-start no-wrap gap-2'):
                    choice = ui.checkbox(target.display_name).mark(f'target-{target.id}')
                    choices[target.id] = choice
                    with ui.column().classes('gap-0 pt-2'):
                        with ui.row().classes('items-center gap-2'):
                            if fleet.get(target.greengrass_architecture):
                                ui.badge(
                                    f'{fleet[target.greengrass_architecture]} fleet device(s) need it',
                                    color='orange',
                                ).props('outline').mark(f'fleet-needs-{target.id}')
                            if target.recommended:
                                ui.badge('Recommended', color='positive').props('outline')
                            ui.label(target.description).classes('text-sm text-grey-8')
                        if not decision.allowed:
                            choice.disable()
                            ui.label(decision.reason).classes('text-sm text-orange-10')
                        elif decision.attempt > 1:
                            ui.label(f'{decision.reason} This starts attempt {decision.attempt}.').classes(
                                'text-sm text-grey-8'
                            )
            with ui.expansion('Advanced', icon='tune').classes('w-full'):
                framework = (
                    ui.select(list(FRAMEWORKS), value=defaults.framework, label='Framework')
                    .classes('w-full')
                    .mark('framework')
                )
                version = (
                    ui.input('Framework version', value=defaults.framework_version)
                    .props(f'maxlength={MAX_SHAPE_TEXT}')
                    .classes('w-full')
                    .mark('framework-version')
                )
                shape = (
                    ui.input(
                        'Input shape',
                        value=defaults.input_shape,
                        validation=lambda value: _shape_problem(value),
                    )
                    .props(f'maxlength={MAX_SHAPE_TEXT}')
                    .classes('w-full font-mono')
                    .mark('input-shape')
                )
            if note:
                ui.label(note).classes('text-sm text-orange-10')
            problems = ui.column().classes('gap-1 text-negative').mark('compile-problems')

            async def submit() -> None:
                selected = [target_id for target_id, choice in choices.items() if choice.value]
                problems.clear()
                if not selected:
                    with problems:
                        ui.label('Select at least one target.')
                    return
                start.props('loading')
                try:
                    outcome = await self.actions.start_compilation(
                        self.job.name,
                        selected,
                        str(framework.value or ''),
                        str(version.value or ''),
                        str(shape.value or ''),
                    )
                finally:
                    start.props(remove='loading')
                if outcome.started:
                    ui.notify(
                        f'Started {len(outcome.started)} compilation job(s): {", ".join(outcome.started)}',
                        type='positive',
                        multi_line=True,
                    )
                if not outcome.refused:
                    dialog.close()
                    return
                with problems:
                    for target_id, reason in outcome.refused.items():
                        ui.label(f'{self.catalog.display_name(target_id)}: {reason}').classes('break-all')

            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
                start = (
                    ui.button('Start compilation', icon='play_arrow', on_click=submit)
                    .props('no-caps')
                    .mark('start-compilation')
                )
        dialog.on('hide', dialog.delete)
        dialog.open()

    def confirm_stop(self, row: dict[str, Any]) -> None:
        job_name = str(row.get('job_name', ''))
        with self.dialogs, ui.dialog() as dialog, ui.card().mark('stop-dialog'):
            ui.label(f'Stop the compilation for {row.get("target", "")}?').classes('text-lg font-bold')
            ui.label(f'SageMaker stops {job_name}. A stopped attempt can be started again later.').classes(
                'break-all'
            )

            async def stop() -> None:
                problem = await self.actions.stop_compilation(job_name, self.job.name)
                dialog.close()
                if problem:
                    ui.notify(
                        f'SageMaker did not stop {job_name} — {problem}',
                        type='negative',
                        multi_line=True,
                        close_button='Close',
                    )
                else:
                    ui.notify(f'Stopping {job_name}', type='info')

            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Keep running', on_click=dialog.close).props('flat no-caps')
                ui.button('Stop compilation', icon='stop', color='negative', on_click=stop).props(
                    'no-caps'
                ).mark('confirm-stop')
        dialog.on('hide', dialog.delete)
        dialog.open()

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


def _shape_problem(value: str | None) -> str | None:
    try:
        parse_input_shape(value or '')
    except InvalidInput as error:
        return str(error)
    return None
