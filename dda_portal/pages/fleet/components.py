"""`/components`: every Greengrass component version the portal knows, and the devices running it."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

from fastapi import Request
from nicegui import ui
from sqlmodel import Session

from ... import queries
from ...domain.console import ConsoleLinks
from ...services.actions import Actions
from ...store import Store
from ...tables import ComponentVersion
from ..deployments import deploy_button
from ..feeds import Feed
from ..layout import frame
from ..links import job_link
from ..tables import FeedTable, Rows, all_rows, column, status_cell, status_fields, time_cell, time_fields
from ..use_cases import (
    PlaceView,
    chosen_use_cases,
    console_of,
    place_fields,
    row_keeper,
    use_case_filter,
    with_use_case_column,
)

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
  <a v-if="props.row.training_job" class="text-primary" :href="props.row.job_link"
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
    """`links`: console links in the version's region."""
    job = version.training_job_name or ''
    return {
        'arn': version.arn,
        **place_fields(version.use_case),
        'job_link': job_link(job, version.use_case, 'components'),
        'component': version.component_name,
        'version': version.component_version,
        **status_fields('state', version.state),
        **time_fields('created', version.created_at),
        'training_job': job,
        'target': target_labels.get(version.target_id or '', version.target_id or '—'),
        'devices': ', '.join(running_on) or '—',
        'console': links.component(version.arn),
    }


def component_rows(
    places: Collection[str], links: Callable[[str], ConsoleLinks], target_labels: dict[str, str]
) -> Callable[..., Rows]:
    """How the rows of component versions are read and built (in a store thread), each place on its own
    (a name and version may repeat across accounts); `links`: a place's console links."""

    def rows(session: Session, arns: Iterable[str] | None = None) -> Rows:
        """The rows of these component versions (all of them, newest first, when None), by ARN."""
        found: Rows = {}
        for place in places:
            versions, running = queries.fleet.fleet_components(session, arns, [place])
            for v in versions:
                release = (v.component_name, v.component_version)
                found[v.arn] = component_row(v, running.get(release, []), links(place), target_labels)
        if len(places) > 1 and arns is None:  # newest first across places, as one place reads them
            return dict(sorted(found.items(), key=lambda item: item[1]['created_ms'] or 0, reverse=True))
        return found

    return rows


def register(store: Store, actions: Actions, target_labels: dict[str, str]) -> None:
    places = list(actions.gate.places)
    read = component_rows(places, console_of(actions), target_labels)
    # every open /components tab follows this one feed: a change is read once, for the versions it touched
    feed: Feed[str, Rows] = Feed(
        store, 'components', lambda changed: changed.components, read, all_rows(read)
    )

    @ui.page('/components', response_timeout=30)
    async def components_page(request: Request) -> None:
        view = PlaceView.of(actions)
        chosen = chosen_use_cases(view, request.query_params.multi_items())
        # follows before the first read: no change is lost in between
        table = FeedTable(feed, row_keeper(view, chosen))
        rows = await store.fetch(read)
        with frame('Components', store, actions):
            ui.label('Greengrass components').classes('text-2xl font-bold')
            ui.label(
                'Every component version the portal knows, with the compiled model it packages.'
            ).classes('text-grey-8')
            with ui.row().classes('items-center gap-3'):
                use_case_filter(view, chosen, '/components')
                # one Deploy… per place with Greengrass: versions and targets of one account
                for place in sorted(p for p in view.seen if not actions.without_greengrass(p)):
                    label = view.label(place) if view.several else None
                    deploy_button(store, actions, place, None, label=label)
            table.show(
                rows,
                with_use_case_column(COMPONENT_COLUMNS, view),
                'arn',
                'components-table',
                'No Greengrass components yet.',
                {'state': status_cell('state'), 'created': time_cell('created'), **COMPONENT_CELLS},
            )
