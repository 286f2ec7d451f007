"""`/components`: every Greengrass component version the portal knows, and the devices running it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nicegui import ui

from ... import queries
from ...domain.console import ConsoleLinks
from ...services.actions import Actions
from ...store import Store
from ...tables import ComponentVersion
from ..layout import frame
from ..tables import column, live_table, status_cell, status_fields
from ..widgets import format_time

COMPONENT_COLUMNS: list[dict[str, Any]] = [
    column('component', 'Component', sortable=True),
    column('version', 'Version'),
    column('state', 'State', sortable=True),
    column('created', 'Created', sortable=True),
    column('training_job', 'Training job', sortable=True),
    column('target', 'Target'),
    column('devices', 'Devices'),
    column('arn', 'ARN'),
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

            live_table(
                store,
                COMPONENT_COLUMNS,
                rows,
                'arn',
                'components-table',
                'No Greengrass components yet.',
                {'state': status_cell('state'), **COMPONENT_CELLS},
            )
