"""`/components`: every Greengrass component version the portal knows, and the devices running it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from nicegui import ui
from sqlmodel import Session

from ... import queries
from ...domain.console import ConsoleLinks
from ...services.actions import Actions
from ...store import Store
from ...tables import ComponentVersion
from ...use_cases import DEFAULT_USE_CASE
from ..deployments import deploy_button
from ..feeds import Feed
from ..layout import frame
from ..tables import FeedTable, Rows, all_rows, column, status_cell, status_fields, time_cell, time_fields

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
<td v-bind="td">
  <a v-if="props.row.training_job" class="text-primary"
     :href="'/training-jobs/' + encodeURIComponent(props.row.training_job) + '?tab=components'"
    >{{ props.row.training_job }}</a>
  <span v-else class="text-grey-7">not linked</span>
</td>""",
    'arn': r"""
<td v-bind="td">
  <span class="font-mono text-xs break-all">{{ props.row.arn }}</span>
  <a :href="props.row.console" target="_blank" rel="noopener" class="q-ml-xs text-primary">console</a>
</td>""",
}


def component_row(
    version: ComponentVersion, running_on: list[str], links: ConsoleLinks, target_labels: dict[str, str]
) -> dict[str, Any]:
    return {
        'arn': version.arn,
        'component': version.component_name,
        'version': version.component_version,
        **status_fields('state', version.state),
        **time_fields('created', version.created_at),
        'training_job': version.training_job_name or '',
        'target': target_labels.get(version.target_id or '', version.target_id or '—'),
        'devices': ', '.join(running_on) or '—',
        'console': links.component(version.arn),
    }


def component_rows(links: ConsoleLinks, target_labels: dict[str, str]) -> Callable[..., Rows]:
    """How the rows of component versions are read and built (in a store thread)."""

    def rows(session: Session, arns: Iterable[str] | None = None) -> Rows:
        """The rows of these component versions (all of them, newest first, when None), by ARN."""
        versions, running = queries.fleet.fleet_components(session, arns)
        return {
            v.arn: component_row(
                v, running.get((v.component_name, v.component_version), []), links, target_labels
            )
            for v in versions
        }

    return rows


def register(store: Store, actions: Actions, target_labels: dict[str, str]) -> None:
    read = component_rows(actions.console, target_labels)
    # every open /components tab follows this one feed: a change is read once, for the versions it touched
    feed: Feed[str, Rows] = Feed(
        store, 'components', lambda changed: changed.components, read, all_rows(read)
    )

    @ui.page('/components', response_timeout=30)
    async def components_page() -> None:
        table = FeedTable(feed)  # follows before the first read: no change is lost in between
        rows = await store.fetch(read)
        with frame('Components', store, actions):
            ui.label('Greengrass components').classes('text-2xl font-bold')
            ui.label(
                'Every component version the portal knows, with the compiled model it packages.'
            ).classes('text-grey-8')
            with ui.row().classes('items-center gap-3'):
                deploy_button(store, actions, DEFAULT_USE_CASE, None)
            table.show(
                rows,
                COMPONENT_COLUMNS,
                'arn',
                'components-table',
                'No Greengrass components yet.',
                {'state': status_cell('state'), 'created': time_cell('created'), **COMPONENT_CELLS},
            )
