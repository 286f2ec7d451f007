"""`/devices`: the Greengrass core devices, their health, and the model components they run."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nicegui import ui

from ... import queries
from ...domain.clock import utcnow
from ...domain.greengrass import device_health
from ...services.actions import Actions
from ...store import Store
from ...tables import CoreDevice, InstalledComponent
from ..layout import frame
from ..tables import column, live_table, status_cell, status_fields
from ..widgets import ago, format_time

DEVICE_COLUMNS: list[dict[str, Any]] = [
    column('device', 'Core device', sortable=True),
    column('health', 'Health', sortable=True),
    column('architecture', 'Architecture', sortable=True),
    column('reported', 'Last report'),
    column('models', 'Model components', style='white-space: pre-wrap'),
]

REPORTED_CELL = r"""
<q-td :props="props">
  <span>{{ props.row.reported }}</span>
  <q-badge v-if="props.row.stale" color="orange-2" text-color="orange-10" class="q-ml-xs">stale</q-badge>
</q-td>"""


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


def register(store: Store, actions: Actions) -> None:
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

            live_table(
                store,
                DEVICE_COLUMNS,
                rows,
                'device',
                'devices-table',
                'No core devices reported yet.',
                {'health': status_cell('health'), 'reported': REPORTED_CELL},
            )
