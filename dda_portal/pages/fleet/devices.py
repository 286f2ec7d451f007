"""`/devices`: the Greengrass core devices, their health, and the model components they run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from nicegui import ui
from sqlmodel import Session

from ... import queries
from ...domain.clock import as_utc, utcnow
from ...domain.compat import DeviceFacts
from ...domain.greengrass import STALE_AFTER, device_health
from ...queries.fleet import Installed
from ...queries.matrix import parse_attributes
from ...services.actions import Actions
from ...store import Store
from ...tables import CoreDevice
from ...use_cases import DEFAULT_USE_CASE
from ..deployments import RolloutPanel, thing_key
from ..feeds import Feed
from ..layout import frame
from ..tables import FeedTable, Rows, all_rows, column, format_time, status_cell, status_fields
from ..widgets import ago
from .matrix import device_summary

DEVICE_COLUMNS: list[dict[str, Any]] = [
    column('device', 'Core device', sortable=True),
    column('health', 'Health', sortable=True),
    column('architecture', 'Architecture', sortable=True),
    column('platform', 'Platform (Greengrass and IoT thing)'),
    column('reported', 'Last report'),
    column('models', 'Model components', style='white-space: pre-wrap'),
]

# "… ago" and the stale badge follow the browser's clock (live_table.js), so a device that stops reporting
# turns stale in an open page without any change to its row
REPORTED_CELL = (
    r"""
<td v-bind="td">
  <span v-if="props.row.reported_ms === null">{{ props.row.reported }}</span>
  <span v-else :title="props.row.reported_at" :data-time="props.row.reported_at"
    >{{ ago(props.row.reported_ms) }}</span>
  <q-badge v-if="olderThan(props.row.reported_ms, STALE_MS)" color="orange-2" text-color="orange-10"
           class="q-ml-xs">stale</q-badge>
</td>"""
).replace('STALE_MS', str(int(STALE_AFTER.total_seconds() * 1000)))


DEVICE_CELL = r"""
<td v-bind="td">
  <a class="text-primary" :href="'/devices/' + encodeURIComponent(props.row.device)"
    >{{ props.row.device }}</a>
</td>"""


def device_row(
    device: CoreDevice, installed: Iterable[Installed], now: datetime | None = None
) -> dict[str, Any]:
    """One device's row; its "ago" text and stale badge are as of `now` (when the row is built)."""
    health = device_health(device.status, device.last_status_update, now or utcnow())
    models = [
        f'{i.component_name} {i.component_version} ({(i.lifecycle_state or "unknown").lower()})'
        for i in installed
        if not i.component_name.startswith('aws.')
    ]
    return {
        'device': device.thing_name,
        **status_fields('health', health.word),
        'architecture': device.architecture or '—',
        'platform': device_summary(
            DeviceFacts(device.platform, device.architecture, parse_attributes(device.thing_attributes))
        ),
        'reported': f'{ago(device.last_status_update)} ({format_time(device.last_status_update)})',
        'reported_at': format_time(device.last_status_update),
        'reported_ms': _epoch_ms(device.last_status_update),
        'stale': health.stale,  # as of `now` (the page shows it by the browser's clock)
        'models': '\n'.join(models) or 'none',
    }


def _epoch_ms(value: datetime | None) -> int | None:
    moment = as_utc(value)
    return int(moment.timestamp() * 1000) if moment else None


def device_rows(session: Session, names: Iterable[str] | None = None) -> Rows:
    """The rows of these devices (all of them when None), by name, read and built in a store thread."""
    found, installed = queries.fleet.fleet_devices(session, names)
    now = utcnow()
    return {d.thing_name: device_row(d, installed.get(d.thing_name, ()), now) for d in found}


def register(store: Store, actions: Actions) -> None:
    # every open /devices tab follows this one feed: a change is read once, for the devices it touched
    feed: Feed[str, Rows] = Feed(
        store, 'devices', lambda changed: changed.devices, device_rows, all_rows(device_rows)
    )

    @ui.page('/devices/{thing}', response_timeout=30)
    async def device_page(thing: str) -> None:
        rows = await store.fetch(device_rows, [thing])
        with frame(thing, store, actions):
            with ui.row().classes('items-center gap-4'):
                ui.link('Devices', '/devices').classes('text-primary')
                ui.icon('chevron_right').props('aria-hidden=true')
                ui.label(thing).classes('text-2xl font-bold break-all').mark('device-name')
            row = rows.get(thing)
            if row is None:
                ui.label(f'The portal knows no core device named “{thing}”.').mark('not-found')
                return
            ui.label(f'{row["health"]} · {row["architecture"]} · last report {row["reported"]}')
            ui.label(row['models']).classes('whitespace-pre-wrap')
            ui.label('Deployments').classes('text-lg font-bold')
            RolloutPanel(store, actions, thing_key(thing), DEFAULT_USE_CASE)

    @ui.page('/devices', response_timeout=30)
    async def devices_page() -> None:
        table = FeedTable(feed)  # follows before the first read: no change is lost in between
        rows = await store.fetch(device_rows)
        with frame('Devices', store, actions):
            ui.label('Core devices').classes('text-2xl font-bold')
            ui.label(
                'Greengrass reports device status at least once a day; older reports are marked stale.'
            ).classes('text-grey-8')
            table.show(
                rows,
                DEVICE_COLUMNS,
                'device',
                'devices-table',
                'No core devices reported yet.',
                {'health': status_cell('health'), 'reported': REPORTED_CELL, 'device': DEVICE_CELL},
            )
