"""`/training-jobs/{name}`: Overview, Logs and Compilation tabs of one training job, updated live."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nicegui import ui

from ..actions import Actions
from ..aws.clients import AwsProblem
from ..domain.status import CompilationStatus
from ..store import CompilationAttempt, Store, TrainingJob
from .layout import frame
from .widgets import elapsed, format_duration, format_time, status_badge, status_cell, status_fields

TABS = {'overview': 'Overview', 'logs': 'Logs', 'compilation': 'Compilation'}

COMPILATION_COLUMNS: list[dict[str, Any]] = [
    {'name': 'target', 'label': 'Target', 'field': 'target', 'align': 'left', 'sortable': True},
    {'name': 'status', 'label': 'Status', 'field': 'status', 'align': 'left', 'sortable': True},
    {'name': 'attempt', 'label': 'Attempt', 'field': 'attempt', 'align': 'left'},
    {'name': 'started', 'label': 'Started', 'field': 'started', 'align': 'left', 'sortable': True},
    {'name': 'duration', 'label': 'Duration', 'field': 'duration', 'align': 'left'},
    {'name': 'artifact', 'label': 'Artifact', 'field': 'artifact', 'align': 'left'},
    {'name': 'reason', 'label': 'Failure reason', 'field': 'reason', 'align': 'left',
     'style': 'white-space: pre-wrap; word-break: break-word; min-width: 16rem'},
]

LOG_COLUMNS: list[dict[str, Any]] = [
    {'name': 'time', 'label': 'Time', 'field': 'time', 'align': 'left', 'style': 'white-space: nowrap'},
    {'name': 'stream', 'label': 'Stream', 'field': 'stream', 'align': 'left'},
    {'name': 'message', 'label': 'Message', 'field': 'message', 'align': 'left',
     'style': 'white-space: pre-wrap; word-break: break-word; font-family: monospace'},
]

ARTIFACT_CELL = r'''
<q-td :props="props">
  <span v-if="props.row.artifact" class="font-mono text-xs break-all">{{ props.row.artifact }}</span>
  <span v-else class="text-grey-7">—</span>
</q-td>'''


def compilation_row(attempt: CompilationAttempt) -> dict[str, Any]:
    status = CompilationStatus(attempt.status)
    return {
        'job_name': attempt.job_name,
        'target': attempt.target_label,
        'target_id': attempt.target_id,
        **status_fields('status', attempt.status),
        'attempt': attempt.attempt,
        'started': format_time(attempt.started_at or attempt.created_at),
        'duration': format_duration(elapsed(attempt.started_at, attempt.ended_at))
        if attempt.started_at else 'waiting to start',
        'running': status.is_active,
        'artifact': attempt.artifact if status is CompilationStatus.COMPLETED else '',
        'reason': attempt.failure_reason or '' if status is CompilationStatus.FAILED else '',
    }


def _overview_facts(job: TrainingJob) -> list[tuple[str, str]]:
    return [
        ('Status', job.status + (f' ({job.secondary_status})' if job.secondary_status else '')),
        ('Created', format_time(job.created_at)),
        ('Training started', format_time(job.started_at)),
        ('Training ended', format_time(job.ended_at)),
        ('Training time', format_duration(elapsed(job.started_at, job.ended_at))),
        ('Billable time', format_duration(job.billable_seconds) if job.billable_seconds is not None
         else 'not reported by SageMaker'),
        ('Instance', f'{job.instance_type or "—"} × {job.instance_count or 1}'),
        ('Model artifact', job.model_artifact or '— (written when training completes)'),
        ('Output location', job.output_prefix or '—'),
        ('ARN', job.arn or '—'),
        ('Compilation', f'{job.rollup} — {job.targets_compiled}/{job.targets_total} compiled'),
    ]


def register(store: Store, actions: Actions) -> None:
    @ui.page('/training-jobs/{name}')
    def training_job_page(name: str, tab: str = 'overview') -> None:
        job = store.training_job(name)
        if job is None:
            ui.status_code(404)
            with frame('Not found', store, actions):
                ui.label('Training job not found').classes('text-2xl font-bold')
                ui.label(f'The portal knows no training job named “{name}”.').mark('not-found')
                ui.link('Back to all training jobs', '/')
            return
        _TrainingJobView(store, actions, job, tab if tab in TABS else 'overview')


class _TrainingJobView:
    def __init__(self, store: Store, actions: Actions, job: TrainingJob, tab: str) -> None:
        self.store = store
        self.actions = actions
        self.job = job
        self.logs_loaded = False
        with frame(job.name, store, actions):
            with ui.row().classes('items-center gap-4'):
                ui.link('Training jobs', '/').classes('text-primary')
                ui.icon('chevron_right').props('aria-hidden=true')
                ui.label(job.name).classes('text-2xl font-bold break-all').mark('job-name')
            self.header()
            with ui.tabs(on_change=self.on_tab) as self.tabs:
                for key, label in TABS.items():
                    ui.tab(key, label=label)
            with ui.tab_panels(self.tabs, value=tab).classes('w-full'):
                with ui.tab_panel('overview'):
                    self.overview()
                with ui.tab_panel('logs'):
                    self.build_logs()
                with ui.tab_panel('compilation'):
                    self.build_compilation()
            self.tabs.value = tab
        store.changed.subscribe(self.on_change)
        ui.timer(1.0, self.tick)
        if tab == 'logs':
            ui.timer(0, self.load_logs, once=True)

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
        self.logs_message = ui.label('Open this tab to load the logs.').mark('logs-message')
        self.logs_table = ui.table(columns=LOG_COLUMNS, rows=[], row_key='id',
                                   pagination={'rowsPerPage': 100}).classes('w-full') \
            .props('flat bordered dense wrap-cells').mark('logs-table')
        self.logs_table.set_visibility(False)

    async def load_logs(self) -> None:
        self.logs_loaded = True
        self.logs_message.set_text('Loading logs…')
        result = await self.actions.training_logs(self.job.name)
        if isinstance(result, AwsProblem):
            self.logs_message.set_text(f'Could not read the logs — {result.code}: {result.message}')
            self.logs_table.set_visibility(False)
            return
        if not result.events:
            self.logs_message.set_text(result.missing or f'No log events for {self.job.name}.')
            self.logs_table.set_visibility(False)
            return
        self.logs_message.set_text(f'{len(result.events)} log events' +
                                   (' (the first ones only)' if result.truncated else ''))
        self.logs_table.update_rows([
            {'id': i, 'time': format_time(e.timestamp), 'stream': e.stream, 'message': e.message}
            for i, e in enumerate(result.events)
        ])
        self.logs_table.set_visibility(True)

    def build_compilation(self) -> None:
        ui.label('One row per target: its latest compilation attempt.').classes('text-grey-8')
        self.compilation_table = ui.table(
            columns=COMPILATION_COLUMNS, rows=self.compilation_rows(), row_key='target_id',
        ).classes('w-full').props('flat bordered wrap-cells') \
            .props('no-data-label="No compilation jobs for this training job yet."') \
            .mark('compilation-table')
        self.compilation_table.add_slot('body-cell-status', status_cell('status'))
        self.compilation_table.add_slot('body-cell-artifact', ARTIFACT_CELL)

    def compilation_rows(self) -> list[dict[str, Any]]:
        attempts = sorted(self.store.latest_attempts(self.job.name), key=lambda a: a.target_label)
        self.attempts = {a.target_id: a for a in attempts}
        return [compilation_row(a) for a in attempts]

    def on_tab(self) -> None:
        tab = str(self.tabs.value)
        ui.navigate.history.replace(f'/training-jobs/{quote(self.job.name)}?tab={tab}')
        if tab == 'logs' and not self.logs_loaded:
            ui.timer(0, self.load_logs, once=True)

    def on_change(self, changed: frozenset[str]) -> None:
        if self.job.name not in changed:
            return
        job = self.store.training_job(self.job.name)
        if job is None:
            return
        self.job = job
        self.header.refresh()
        self.overview.refresh()
        self.compilation_table.update_rows(self.compilation_rows())

    def tick(self) -> None:
        """Durations of running attempts count up every second."""
        if any(CompilationStatus(a.status).is_active and a.started_at for a in self.attempts.values()):
            self.compilation_table.update_rows([compilation_row(a) for a in self.attempts.values()])
