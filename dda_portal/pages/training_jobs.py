"""`/`: every training job with its training status and compilation rollup, updated live."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ..actions import Actions
from ..store import Store, TrainingJob
from .layout import frame
from .widgets import elapsed, format_duration, format_time, status_cell, status_fields

COLUMNS: list[dict[str, Any]] = [
    {'name': 'name', 'label': 'Training job', 'field': 'name', 'align': 'left', 'sortable': True},
    {'name': 'status', 'label': 'Training status', 'field': 'status', 'align': 'left', 'sortable': True},
    {'name': 'created', 'label': 'Created', 'field': 'created', 'align': 'left', 'sortable': True},
    {'name': 'training_time', 'label': 'Training time', 'field': 'training_time', 'align': 'left'},
    {'name': 'rollup', 'label': 'Compilation', 'field': 'rollup', 'align': 'left', 'sortable': True},
    {
        'name': 'compiled',
        'label': 'Targets',
        'field': 'compiled',
        'align': 'left',
        'sortable': True,
        ':sort': '(a, b, rowA, rowB) => rowA.compiled_n - rowB.compiled_n || rowA.targets_m - rowB.targets_m',
    },
]

NAME_CELL = r"""
<q-td :props="props">
  <a class="text-primary" :href="'/training-jobs/' + encodeURIComponent(props.row.name)"
    >{{ props.row.name }}</a>
</q-td>"""


def training_job_row(job: TrainingJob) -> dict[str, Any]:
    return {
        'name': job.name,
        **status_fields('status', job.status),
        'created': format_time(job.created_at),
        'training_time': format_duration(elapsed(job.started_at, job.ended_at))
        if job.ended_at
        else ('running' if job.started_at else '—'),
        **status_fields('rollup', job.rollup),
        'compiled': f'{job.targets_compiled}/{job.targets_total} compiled',
        'compiled_n': job.targets_compiled,
        'targets_m': job.targets_total,
    }


def register(store: Store, actions: Actions) -> None:
    @ui.page('/')
    def training_jobs_page() -> None:
        with frame('Training jobs', store, actions):
            ui.label('Training jobs').classes('text-2xl font-bold')
            rows = {job.name: training_job_row(job) for job in store.training_jobs()}
            table = (
                ui.table(
                    columns=COLUMNS,
                    rows=list(rows.values()),
                    row_key='name',
                    pagination={'rowsPerPage': 50, 'sortBy': 'created', 'descending': True},
                )
                .classes('w-full')
                .props('flat bordered wrap-cells')
                .props(
                    'no-data-label="No training jobs found yet. The portal refreshes from SageMaker '
                    'every few seconds; check the banner above if nothing arrives."'
                )
                .mark('training-jobs')
            )
            table.add_slot('body-cell-name', NAME_CELL)
            table.add_slot('body-cell-status', status_cell('status'))
            table.add_slot('body-cell-rollup', status_cell('rollup'))

            def on_change(changed: frozenset[str]) -> None:
                if not changed:
                    return
                for job in store.training_jobs_named(changed):
                    rows[job.name] = training_job_row(job)
                ordered = sorted(rows.values(), key=lambda row: row['created'], reverse=True)
                table.update_rows(ordered)

            store.changed.subscribe(on_change)
