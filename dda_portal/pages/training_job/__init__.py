"""`/training-jobs/{name}`: Overview, Logs and Compilation tabs of one training job, updated live."""

from __future__ import annotations

from urllib.parse import quote

from nicegui import ui

from ... import queries
from ...domain.guidance import GuidanceBook
from ...domain.targets import TargetCatalog
from ...services.actions import Actions
from ...store import Store
from ..layout import frame
from .view import TABS, TrainingJobView


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
        TrainingJobView(store, actions, catalog, guidance, job, tab)
