"""The training job page's dialogs: compile for more targets, confirm a stop, and one attempt's details."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ...domain.attempts import (
    FRAMEWORKS,
    MAX_SHAPE_TEXT,
    CompileInputs,
    InvalidInput,
    may_start,
    parse_input_shape,
)
from ...domain.guidance import GuidanceBook
from ...domain.problems import Problem
from ...domain.status import CompilationStatus
from ...domain.targets import Target, TargetCatalog
from ...services.actions import Actions
from ...services.compiler import StartOutcome
from ...tables import CompilationAttempt, TrainingJob
from ..problems import problem_text, reported
from ..widgets import named_dialog
from .attempt_details import AttemptDetails


class CompileDialog:
    """`Compile for more targets`: each target with whether it may start, the advanced inputs, and Start."""

    def __init__(
        self,
        container: ui.element,
        actions: Actions,
        catalog: TargetCatalog,
        job: TrainingJob,
        defaults: CompileInputs | Problem,
        latest_attempts: list[CompilationAttempt],
        fleet: dict[str, int],
        use_case: str,
    ) -> None:
        """`latest_attempts`: each target's latest attempt; `fleet`: the number of devices per architecture
        (both read off the event loop when the dialog opens)."""
        self.actions = actions
        self.catalog = catalog
        self.job = job
        self.use_case = use_case
        note = ''
        if isinstance(defaults, Problem):
            note = (
                f"Could not read the training job's tags ({problem_text(defaults)}); "
                'showing the configured defaults.'
            )
            defaults = actions.place(use_case).compiler.configured_defaults()
        latest = {a.target_id: a for a in latest_attempts}
        with (
            container,
            named_dialog(f'Compile {job.name} for more targets') as self.dialog,
            ui.card().classes('w-full max-w-2xl').mark('compile-dialog'),
        ):
            ui.label(f'Compile {job.name} for more targets').classes('text-lg font-bold break-all')
            self.choices: dict[str, ui.checkbox] = {}
            for target in catalog.values():
                self.target_choice(target, latest.get(target.id), fleet)
            with ui.expansion('Advanced', icon='tune').classes('w-full'):
                self.framework = (
                    ui.select(list(FRAMEWORKS), value=defaults.framework, label='Framework')
                    .classes('w-full')
                    .mark('framework')
                )
                self.version = (
                    ui.input('Framework version', value=defaults.framework_version)
                    .props(f'maxlength={MAX_SHAPE_TEXT}')
                    .classes('w-full')
                    .mark('framework-version')
                )
                self.shape = (
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
            self.problems = ui.column().classes('gap-1 text-negative').mark('compile-problems')
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Cancel', on_click=self.dialog.close).props('flat no-caps')
                self.start = (
                    ui.button('Start compilation', icon='play_arrow', on_click=self.submit)
                    .props('no-caps')
                    .mark('start-compilation')
                )
        self.dialog.on('hide', self.dialog.delete)
        self.dialog.open()

    def target_choice(
        self, target: Target, attempt: CompilationAttempt | None, fleet: dict[str, int]
    ) -> None:
        """A target's checkbox and badges, and why it may not start or which attempt it would start."""
        decision = may_start(
            self.job.status,
            CompilationStatus(attempt.status) if attempt else None,
            attempt.attempt if attempt else 0,
        )
        with ui.row().classes('w-full items-start no-wrap gap-2'):
            choice = ui.checkbox(target.display_name).mark(f'target-{target.id}')
            self.choices[target.id] = choice
            with ui.column().classes('gap-0 pt-2'):
                with ui.row().classes('items-center gap-2'):
                    if fleet.get(target.greengrass_architecture):
                        ui.badge(
                            f'{fleet[target.greengrass_architecture]} fleet device(s) need it',
                            color='orange-10',
                        ).props('outline').mark(f'fleet-needs-{target.id}')
                    if target.recommended:
                        ui.badge('Recommended', color='green-9').props('outline')
                    ui.label(target.description).classes('text-sm text-grey-8')
                if not decision.allowed:
                    choice.disable()
                    ui.label(decision.reason).classes('text-sm text-orange-10')
                elif decision.attempt > 1:
                    ui.label(f'{decision.reason} This starts attempt {decision.attempt}.').classes(
                        'text-sm text-grey-8'
                    )

    async def submit(self) -> None:
        selected = [target_id for target_id, choice in self.choices.items() if choice.value]
        self.problems.clear()
        if not selected:
            with self.problems:
                ui.label('Select at least one target.')
            return
        self.start.props('loading')
        try:
            outcome = await self.actions.start_compilation(
                self.job.name,
                selected,
                str(self.framework.value or ''),
                str(self.version.value or ''),
                str(self.shape.value or ''),
                use_case=self.use_case,
            )
        except Problem as problem:  # the whole request: the person, the inputs, the portal
            outcome = StartOutcome(refused=dict.fromkeys(selected, problem))
        finally:
            self.start.props(remove='loading')
        if outcome.started:
            ui.notify(
                f'Started {len(outcome.started)} compilation job(s): {", ".join(outcome.started)}',
                type='positive',
                multi_line=True,
            )
        if not outcome.refused:
            self.dialog.close()
            return
        with self.problems:
            for target_id, refused in outcome.refused.items():
                name = self.catalog.display_name(target_id)
                ui.label(f'{name}: {problem_text(refused)}').classes('break-all')


def _shape_problem(value: str | None) -> str | None:
    try:
        parse_input_shape(value or '')
    except InvalidInput as error:
        return str(error)
    return None


class StopDialog:
    """Asks before SageMaker stops a compilation job (a row of the compilation table)."""

    def __init__(
        self,
        container: ui.element,
        actions: Actions,
        row: dict[str, Any],
        training_job: str,
        use_case: str,
    ) -> None:
        self.actions = actions
        self.training_job = training_job
        self.use_case = use_case
        self.job_name = job_name = str(row.get('job_name', ''))
        stopping = f'Stop the compilation for {row.get("target", "")}?'
        with container, named_dialog(stopping) as self.dialog, ui.card().mark('stop-dialog'):
            ui.label(stopping).classes('text-lg font-bold')
            ui.label(f'SageMaker stops {job_name}. A stopped attempt can be started again later.').classes(
                'break-all'
            )
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Keep running', on_click=self.dialog.close).props('flat no-caps')
                ui.button('Stop compilation', icon='stop', color='negative', on_click=self.stop).props(
                    'no-caps'
                ).mark('confirm-stop')
        self.dialog.on('hide', self.dialog.delete)
        self.dialog.open()

    async def stop(self) -> None:
        job_name = self.job_name
        with reported(f'SageMaker did not stop {job_name}'):
            try:
                await self.actions.stop_compilation(job_name, self.training_job, use_case=self.use_case)
            finally:
                self.dialog.close()
            ui.notify(f'Stopping {job_name}', type='info')


class AttemptDialog:
    """One compilation attempt in full, in a dialog of its own."""

    def __init__(
        self,
        container: ui.element,
        attempt: CompilationAttempt,
        actions: Actions,
        guidance: GuidanceBook,
        use_case: str,
    ) -> None:
        with (
            container,
            named_dialog(f'Compilation attempt for {attempt.target_id}') as dialog,
            ui.card().classes('w-full max-w-4xl').mark('attempt-dialog'),
        ):
            AttemptDetails(attempt, actions, guidance, use_case)
            with ui.row().classes('w-full justify-end'):
                ui.button('Close', on_click=dialog.close).props('flat no-caps')
        dialog.on('hide', dialog.delete)
        dialog.open()
