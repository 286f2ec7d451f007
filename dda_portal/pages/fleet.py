"""`/components` and `/devices`: every component version the portal knows, and the devices running them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nicegui import ui

from .. import queries
from ..domain.clock import utcnow
from ..domain.console import ConsoleLinks
from ..domain.greengrass import device_health
from ..services.actions import Actions
from ..store import Store
from ..tables import ComponentVersion, CoreDevice, InstalledComponent
from .layout import frame
from .widgets import ago, format_time, status_cell, status_fields

COMPONENT_COLUMNS: list[dict[str, Any]] = [
    {'name': 'component', 'label': 'Component', 'field': 'component', 'align': 'left', 'sortable': True},
    {'name': 'version', 'label': 'Version', 'field': 'version', 'align': 'left'},
    {'name': 'state', 'label': 'State', 'field': 'state', 'align': 'left', 'sortable': True},
    {'name': 'created', 'label': 'Created', 'field': 'created', 'align': 'left', 'sortable': True},
    {
        'name': 'training_job',
        'label': 'Training job',
        'field': 'training_job',
        'align': 'left',
        'sortable': True,
    },
    {'name': 'target', 'label': 'Target', 'field': 'target', 'align': 'left'},
    {'name': 'devices', 'label': 'Devices', 'field': 'devices', 'align': 'left'},
    {'name': 'arn', 'label': 'ARN', 'field': 'arn', 'align': 'left'},
]

COMPONENT_CELLS = {
    'training_job': r"""
<q-td :props="props">
  <a v-if="props.row.training_job" class="text-primary"
     :href="'/training-jobs/' + encodeURIComponent(props.row.training_job) + '?tab=components'"
    >{{ props.row.training_job }}</a>
  <span v-else class="text-grey-7">not linked</span>
</q-td>""",
    'arn': r"""
<q-td :props="props">
  <span class="font-mono text-xs break-all">{{ props.row.arn }}</span>
  <a :href="props.row.console" target="_blank" rel="noopener" class="q-ml-xs text-primary">console</a>
</q-td>""",
}

DEVICE_COLUMNS: list[dict[str, Any]] = [
    {'name': 'device', 'label': 'Core device', 'field': 'device', 'align': 'left', 'sortable': True},
    {'name': 'health', 'label': 'Health', 'field': 'health', 'align': 'left', 'sortable': True},
    {
        'name': 'architecture',
        'label': 'Architecture',
        'field': 'architecture',
        'align': 'left',
        'sortable': True,
    },
    {'name': 'reported', 'label': 'Last report', 'field': 'reported', 'align': 'left'},
    {
        'name': 'models',
        'label': 'Model components',
        'field': 'models',
        'align': 'left',
        'style': 'white-space: pre-wrap',
    },
]

REPORTED_CELL = r"""
<q-td :props="props">
  <span>{{ props.row.reported }}</span>
  <q-badge v-if="props.row.stale" color="orange-2" text-color="orange-10" class="q-ml-xs">stale</q-badge>
</q-td>"""


def component_row(
    version: ComponentVersion, running_on: list[str], links: ConsoleLinks, target_labels: dict[str, str]
) -> dict[str, Any]:
    return {
        'arn': version.arn,
        'component': version.component_name,
        'version': version.component_version,
        **status_fields('state', version.state),
        'created': format_time(version.created_at),
        'training_job': version.training_job_name or '',
        'target': target_labels.get(version.target_id or '', version.target_id or '—'),
        'devices': ', '.join(running_on) or '—',
        'console': links.component(version.arn),
    }


def device_row(device: CoreDevice, installed: list[InstalledComponent]) -> dict[str, Any]:
    health = device_health(device.status, device.last_status_update, utcnow())
    models = [
        f'{i.component_name} {i.component_version} ({(i.lifecycle_state or "unknown").lower()})'
        for i in installed
        if not i.component_name.startswith('aws.')
    ]
    return {
        'device': device.thing_name,
        **status_fields('health', health.word),
        'architecture': device.architecture or '—',
        'reported': f'{ago(device.last_status_update)} ({format_time(device.last_status_update)})',
        'stale': health.stale,
        'models': '\n'.join(models) or 'none',
    }


def running_devices(store: Store) -> dict[tuple[str, str], list[str]]:
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in store.read(queries.fleet.installations):
        where[(item.component_name, item.component_version)].append(item.thing_name)
    return where


def register(store: Store, actions: Actions, target_labels: dict[str, str]) -> None:
    @ui.page('/components')
    def components_page() -> None:
        with frame('Components', store, actions):
            ui.label('Greengrass components').classes('text-2xl font-bold')
            ui.label(
                'Every component version the portal knows, with the compiled model it packages.'
            ).classes('text-grey-8')

            def rows() -> list[dict[str, Any]]:
                where = running_devices(store)
                return [
                    component_row(
                        c, where[(c.component_name, c.component_version)], actions.console, target_labels
                    )
                    for c in store.read(queries.fleet.components)
                ]

            table = (
                ui.table(
                    columns=COMPONENT_COLUMNS, rows=rows(), row_key='arn', pagination={'rowsPerPage': 50}
                )
                .classes('w-full')
                .props('flat bordered wrap-cells data-testid=components-table')
                .props('no-data-label="No Greengrass components yet."')
                .mark('components-table')
            )
            table.add_slot('body-cell-state', status_cell('state'))
            for name, template in COMPONENT_CELLS.items():
                table.add_slot(f'body-cell-{name}', template)
            store.changed.subscribe(lambda: table.update_rows(rows()))

    @ui.page('/devices')
    def devices_page() -> None:
        with frame('Devices', store, actions):
            ui.label('Core devices').classes('text-2xl font-bold')
            ui.label(
                'Greengrass reports device status at least once a day; older reports are marked stale.'
            ).classes('text-grey-8')

            def rows() -> list[dict[str, Any]]:
                by_device: dict[str, list[InstalledComponent]] = defaultdict(list)
                for item in store.read(queries.fleet.installations):
                    by_device[item.thing_name].append(item)
                return [device_row(d, by_device[d.thing_name]) for d in store.read(queries.fleet.devices)]

            table = (
                ui.table(
                    columns=DEVICE_COLUMNS, rows=rows(), row_key='device', pagination={'rowsPerPage': 50}
                )
                .classes('w-full')
                .props('flat bordered wrap-cells data-testid=devices-table')
                .props('no-data-label="No core devices reported yet."')
                .mark('devices-table')
            )
            table.add_slot('body-cell-health', status_cell('health'))
            table.add_slot('body-cell-reported', REPORTED_CELL)
            store.changed.subscribe(lambda: table.update_rows(rows()))
