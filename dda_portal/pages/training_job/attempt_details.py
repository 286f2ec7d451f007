"""One compilation attempt in full: failure, guidance, timings, sizes and its CloudWatch logs."""

from __future__ import annotations

import humanize
from nicegui import ui

from ...domain.attempts import timings
from ...domain.clock import utcnow
from ...domain.guidance import GuidanceBook
from ...domain.problems import Problem
from ...domain.status import CompilationStatus
from ...services.actions import Actions
from ...tables import CompilationAttempt
from ..problems import problem_text, reported
from ..use_cases import PlaceView
from ..widgets import LogView, format_duration, status_badge, time_label

ORIGINS = {
    'manual': 'started from the portal',
    'auto': 'started automatically by the portal',
    'external': 'started outside the portal',
}


def size_text(size: int | None) -> str:
    return humanize.naturalsize(size, binary=True) if size is not None else 'no object at that location'


class AttemptDetails:
    """Built inside a dialog; loads sizes and logs in the background so the dialog opens at once."""

    def __init__(
        self, attempt: CompilationAttempt, actions: Actions, guidance: GuidanceBook, use_case: str
    ) -> None:
        self.attempt = attempt
        self.use_case = use_case
        self.actions = actions
        status = CompilationStatus(attempt.status)
        with ui.row().classes('items-center gap-3'):
            ui.label(f'{attempt.target_label} — attempt {attempt.attempt}').classes('text-lg font-bold')
            status_badge(attempt.status)
        with ui.row().classes('items-center gap-1'):
            ui.label(attempt.job_name).classes('font-mono text-sm break-all').mark('attempt-job-name')
            ui.button(icon='content_copy', on_click=lambda: ui.clipboard.write(attempt.job_name)).props(
                'flat dense round size=sm aria-label="Copy job name"'
            )
        places = PlaceView.of(actions)
        ui.link(
            f'Open in the SageMaker console{places.where(use_case)}',
            places.console(use_case).compilation_job(attempt.job_name),
            new_tab=True,
        )
        if not attempt.in_aws:
            ui.label('SageMaker no longer returns this job; the portal keeps its history.').classes(
                'text-orange-10'
            )
        if status is CompilationStatus.FAILED:
            self.failure(guidance)
        self.facts()
        ui.separator()
        self.logs()

    def failure(self, guidance: GuidanceBook) -> None:
        reason = self.attempt.failure_reason or 'SageMaker gave no failure reason.'
        with ui.card().classes('w-full bg-red-1').mark('failure-reason'):
            with ui.row().classes('w-full items-center justify-between'):
                with ui.row().classes('items-center gap-2'):
                    ui.icon('error', color='negative').props('aria-hidden=true')
                    time_label(
                        self.attempt.ended_at or self.attempt.last_modified,
                        'Failed ',
                        f' (attempt {self.attempt.attempt})',
                    ).classes('font-bold')
                ui.button('Copy', icon='content_copy', on_click=lambda: ui.clipboard.write(reason)).props(
                    'flat dense no-caps'
                )
            ui.label(reason).classes('whitespace-pre-wrap break-all font-mono text-sm select-all')
        advice = guidance.for_failure(self.attempt.failure_reason)
        with ui.card().classes('w-full bg-blue-1').mark('guidance'):
            with ui.row().classes('items-center gap-2'):
                ui.icon('lightbulb', color='primary').props('aria-hidden=true')
                ui.label(f'Likely cause: {advice.title}' if advice.matched else advice.title).classes(
                    'font-bold'
                )
            ui.label(advice.cause)
            with ui.element('ol').classes('list-decimal pl-6'):
                for step in advice.steps:
                    with ui.element('li'):
                        ui.label(step)
            ui.link('AWS documentation', advice.docs, new_tab=True)

    def facts(self) -> None:
        attempt = self.attempt
        spent = timings(
            attempt.created_at, attempt.started_at, attempt.ended_at, utcnow(), attempt.max_runtime_seconds
        )
        budget = (
            f'{spent.budget_share:.0%} of {format_duration(attempt.max_runtime_seconds)}'
            if spent.budget_share is not None
            else '—'
        )
        with ui.grid(columns='auto 1fr').classes('gap-x-6 gap-y-1 items-baseline').mark('attempt-facts'):
            for label, when in [
                ('Created', attempt.created_at),
                ('Compilation started', attempt.started_at),
                ('Ended', attempt.ended_at),
            ]:
                ui.label(label).classes('text-grey-8')
                time_label(when)
            ui.label('Queued').classes('text-grey-8')
            ui.label(format_duration(spent.queued))
            ui.label('Compile time').classes('text-grey-8')
            self.compile_time = ui.label().mark('compile-time')
            ui.label('Runtime budget used').classes('text-grey-8')
            self.budget = ui.label(budget)
            for label, value in [
                ('Framework', attempt.framework or '—'),
                ('Origin', ORIGINS.get(attempt.origin, attempt.origin)),
                ('Input model', attempt.input_uri or '—'),
                ('Compiled artifact', attempt.artifact or '—'),
            ]:
                ui.label(label).classes('text-grey-8')
                ui.label(value).classes('break-all')
            ui.label('Input model size').classes('text-grey-8')
            self.input_size = ui.label('…').mark('input-size')
            ui.label('Compiled artifact size').classes('text-grey-8')
            self.artifact_size = ui.label('…' if attempt.artifact else '—').mark('artifact-size')
        self.tick()
        if CompilationStatus(attempt.status).is_active:
            ui.timer(1.0, self.tick)  # compile time and budget count up while it runs
        ui.timer(0, self.load_sizes, once=True)

    def tick(self) -> None:
        attempt = self.attempt
        spent = timings(
            attempt.created_at, attempt.started_at, attempt.ended_at, utcnow(), attempt.max_runtime_seconds
        )
        self.compile_time.set_text(format_duration(spent.compiling) if spent.compiling is not None else '—')
        if spent.budget_share is not None:
            self.budget.set_text(
                f'{spent.budget_share:.0%} of {format_duration(attempt.max_runtime_seconds)}'
            )

    async def load_sizes(self) -> None:
        uris = [u for u in (self.attempt.input_uri, self.attempt.artifact) if u]
        try:
            sizes = await self.actions.object_sizes(uris, use_case=self.use_case)
        except Problem as problem:
            self.input_size.set_text(problem_text(problem, 'unknown'))
            self.artifact_size.set_text(problem_text(problem, 'unknown') if self.attempt.artifact else '—')
            return
        if self.attempt.input_uri:
            self.input_size.set_text(size_text(sizes.get(self.attempt.input_uri)))
        if self.attempt.artifact:
            self.artifact_size.set_text(size_text(sizes.get(self.attempt.artifact)))

    def logs(self) -> None:
        with ui.row().classes('w-full items-center justify-between'):
            ui.label('Compilation logs (/aws/sagemaker/CompilationJobs)').classes('font-bold')
            ui.button('Download log', icon='download', on_click=self.download).props('flat no-caps').mark(
                'download-log'
            )
        self.log_view = LogView('compilation-logs', 50, 'Loading logs…')
        ui.timer(0, self.load_logs, once=True)

    async def load_logs(self) -> None:
        await self.log_view.load(
            self.actions.compilation_logs(self.attempt.job_name, use_case=self.use_case),
            truncated_note=' (the first ones; the download has them all)',
        )

    async def download(self) -> None:
        with reported('Could not read the logs'):
            text = await self.actions.compilation_log_file(self.attempt.job_name, use_case=self.use_case)
            ui.download.content(
                text.encode(), f'{self.attempt.job_name}.log', media_type='text/plain; charset=utf-8'
            )
