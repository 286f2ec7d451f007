"""`/devices`: the Greengrass core devices, their health, and the model components they run."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from nicegui import ui
from sqlmodel import Session

from ... import queries
from ...domain.clock import as_utc, utcnow
from ...domain.compat import DeviceFacts
from ...domain.filters import USE_CASE
from ...domain.greengrass import STALE_AFTER, device_health
from ...domain.places import DEFAULT_PLACE, by_place, object_key
from ...queries.fleet import Installed
from ...queries.matrix import parse_attributes
from ...services.actions import Actions
from ...store import Store
from ...tables import CoreDevice
from ..deployments import RolloutPanel, thing_key
from ..feeds import Feed
from ..layout import frame
from ..links import device_link
from ..tables import FeedTable, Rows, all_rows, column, format_time, status_cell, status_fields
from ..use_cases import (
    PlaceView,
    chosen_use_cases,
    place_badge,
    place_fields,
    row_keeper,
    use_case_filter,
    with_use_case_column,
)
from ..widgets import ago, time_label
from .matrix_page import device_summary

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
  <a class="text-primary" :href="props.row.link">{{ props.row.device }}</a>
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
        'key': object_key(device.use_case, device.thing_name),
        'device': device.thing_name,
        'link': device_link(device.thing_name, device.use_case),
        **place_fields(device.use_case),
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


def device_reader(places: Collection[str]) -> Callable[[Session, Iterable[str] | None], Rows]:
    """How the rows of devices are read (in a store thread): each place on its own, since thing names
    repeat across accounts."""

    def device_rows(session: Session, keys: Iterable[str] | None = None) -> Rows:
        """The rows of these devices (object keys; all of them when None), by object key."""
        now = utcnow()
        rows: Rows = {}
        asked: dict[str, Iterable[str] | None] = dict.fromkeys(places) if keys is None else {**by_place(keys)}
        for place, names in asked.items():
            found, installed = queries.fleet.fleet_devices(session, names, [place])
            for device in found:
                key = object_key(device.use_case, device.thing_name)
                rows[key] = device_row(device, installed.get(device.thing_name, ()), now)
        return rows

    return device_rows


def register(store: Store, actions: Actions) -> None:
    # every open /devices tab follows this one feed: a change is read once, for the devices it touched
    places = list(actions.gate.places)
    device_rows = device_reader(places)
    feed: Feed[str, Rows] = Feed(
        store,
        'devices',
        lambda changed: changed.devices,
        device_rows,
        all_rows(device_rows),
    )

    @ui.page('/devices/{thing}', response_timeout=30)
    async def device_page(request: Request, thing: str) -> None:
        view = PlaceView.of(actions)
        place = request.query_params.get(USE_CASE)
        if place is None:  # the only place the person may see with a device of that name, else the default
            found = await store.fetch(queries.fleet.devices, [thing], view.seen)
            places = sorted({device.use_case for device in found})
            place = places[0] if len(places) == 1 else DEFAULT_PLACE
        key = object_key(place, thing)
        rows = await store.fetch(device_rows, [key]) if view.may_see(place) else {}
        with frame(thing, store, actions):
            with ui.row().classes('items-center gap-4'):
                ui.link('Devices', '/devices').classes('text-primary')
                ui.icon('chevron_right').props('aria-hidden=true')
                ui.label(thing).classes('text-2xl font-bold break-all').mark('device-name')
                place_badge(view, place)
            row = rows.get(key)
            if row is None:
                ui.label(f'The portal knows no core device named “{thing}”.').mark('not-found')
                return
            reported = row['reported_ms']
            time_label(
                datetime.fromtimestamp(reported / 1000, UTC) if reported is not None else None,
                f'{row["health"]} · {row["architecture"]} · last report ',
            )
            ui.label(row['models']).classes('whitespace-pre-wrap')
            ui.label('Deployments').classes('text-lg font-bold')
            RolloutPanel(store, actions, thing_key(thing, place), place)

    @ui.page('/devices', response_timeout=30)
    async def devices_page(request: Request) -> None:
        view = PlaceView.of(actions)
        chosen = chosen_use_cases(view, request.query_params.multi_items())
        # follows before the first read: no change is lost in between
        table = FeedTable(feed, row_keeper(view, chosen))
        rows = await store.fetch(device_rows, None)
        with frame('Devices', store, actions):
            ui.label('Core devices').classes('text-2xl font-bold')
            ui.label(
                'Greengrass reports device status at least once a day; older reports are marked stale.'
            ).classes('text-grey-8')
            use_case_filter(view, chosen, '/devices')
            table.show(
                rows,
                with_use_case_column(DEVICE_COLUMNS, view),
                'key',
                'devices-table',
                'No core devices reported yet.',
                {'health': status_cell('health'), 'reported': REPORTED_CELL, 'device': DEVICE_CELL},
            )
