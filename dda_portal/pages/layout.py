"""The frame every page shares: header, navigation, data freshness and `Refresh now`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from nicegui import ui

from ..auth import person_badge
from ..domain.problems import Problem
from ..domain.refresh import LABELS
from ..queries.freshness import Freshness
from ..services.actions import Actions
from ..store import Store
from ..tables import SyncPart
from .feeds import settled
from .first_run import FirstRunPanel, help_for
from .problems import notify_problem
from .tables import format_time
from .use_cases import PlaceView
from .widgets import ago

NAVIGATION = [
    ('Training jobs', '/'),
    ('Components', '/components'),
    ('Devices', '/devices'),
    ('Fleet', '/fleet'),
    ('Alerts', '/alerts'),
]


@contextmanager
def frame(title: str, store: Store, actions: Actions) -> Iterator[None]:
    ui.page_title(f'{title} · DDA Portal')
    with ui.header().classes('items-center justify-between bg-primary'):
        with ui.row().classes('items-center gap-4'):
            ui.link('DDA Portal', '/').classes('text-lg font-bold text-white no-underline')
            for label, target in NAVIGATION:
                ui.link(label, target).classes('text-white')
        with ui.row().classes('items-center gap-2'):
            person_badge(actions.gate)
            updated = ui.label().classes('text-sm text-white').mark('last-updated')

            async def refresh_now() -> None:
                button.props('loading')
                problem: Problem | None = None
                try:
                    try:
                        await actions.refresh_now()
                    except Problem as failed:  # names the failed parts, if parts failed
                        problem = failed
                    with contextlib.suppress(TimeoutError):
                        await settled()  # the toast comes with what changed, not before it
                finally:
                    button.props(remove='loading')
                if problem:
                    notify_problem(problem, 'Refresh failed')
                else:
                    ui.notify('Refreshed from AWS', type='positive')

            button = ui.button('Refresh now', icon='refresh', on_click=refresh_now).props(
                'flat dense color=white no-caps'
            )
    banner = ui.row().classes('w-full items-center gap-2 bg-orange-1 text-orange-10 p-3 rounded')
    with banner:
        ui.icon('cloud_off', size='sm').props('aria-hidden=true')
        banner_text = ui.label().mark('stale-banner')
    # screen readers hear a failure once when it starts or changes, not each "… ago" tick of the banner
    announcer = (
        ui.label()
        .classes('sr-only')
        .props('role=alert data-testid=refresh-announcer')
        .mark('refresh-announcer')
    )
    first_start = FirstRunPanel(refresh_now)  # what to set, instead of the banner over an empty page

    places = PlaceView.of(actions)  # a failing place shows only to people who may see it, named

    def show_freshness() -> None:
        freshness = store.freshness()
        show_time(updated, freshness.last_success, 'Last updated ', 'Not refreshed from AWS yet')
        first_start.show(help_for(freshness))
        content.set_visibility(not first_start.visible)
        text, said = banner_texts(freshness, actions.sync.parts, places, first_start.visible)
        banner.set_visibility(bool(text))
        if text:
            show_text(banner_text, text, stale_times(freshness, actions.sync.parts, places))
        if said != announcer.text:
            announcer.set_text(said)

    content = ui.column().classes('w-full max-w-screen-xl mx-auto p-4 gap-4')
    show_freshness()
    store.changed.subscribe(show_freshness)  # at once after each refresh, good or failed
    ui.timer(1.0, show_freshness)  # and "… ago" keeps counting
    with content:
        yield


def show_time(label: ui.label, value: datetime | None, prefix: str, without: str) -> None:
    """`prefix` "3 seconds ago", the exact UTC time on hover (or `without`, when there is no time): the
    frame's words, said again every second on the server."""
    show_text(label, f'{prefix}{ago(value)}' if value else without, format_time(value) if value else '')


def show_text(label: ui.label, text: str, exact: str) -> None:
    """Words with "… ago" in them, and the exact times behind them as the tooltip (sent when they change)."""
    if label.text != text:
        label.set_text(text)
    if label.props.get('title', '') != exact:
        label.props['title'] = exact
        label.update()


def banner_texts(
    freshness: Freshness, parts: tuple[str, ...], places: PlaceView, first_run: bool
) -> tuple[str, str]:
    """What the banner says (nothing over the first-run page) and what screen readers are told."""
    text = '' if first_run else stale_text(freshness, parts, places)
    return text, announcement(freshness, parts, places, first_run=first_run)


def failing(
    freshness: Freshness, parts: tuple[str, ...], places: PlaceView | None
) -> list[tuple[str, SyncPart]]:
    """Each failing part (with its place's label first when the person sees several places) of the places
    the person may see (`places`; None: every part as summed up)."""
    if places is None or not freshness.places:
        found = [freshness.parts.get(part) for part in parts]
        return [('', row) for row in found if row is not None and row.failed_at is not None]
    rows: list[tuple[str, SyncPart]] = []
    for place in sorted(set(freshness.places) & places.seen):
        prefix = f'{places.label(place)} · ' if places.several else ''
        found = [freshness.places[place].get(part) for part in parts]
        rows += [(prefix, row) for row in found if row is not None and row.failed_at is not None]
    return rows


def announcement(
    freshness: Freshness, parts: tuple[str, ...], places: PlaceView | None = None, *, first_run: bool = False
) -> str:
    """What screen readers are told of the banner (or, `first_run`, of the page explaining what to set):
    which parts fail with which code; empty when none."""
    failed = [
        f'{prefix}{LABELS.get(row.part, row.part)}: {row.error_code}'
        for prefix, row in failing(freshness, parts, places)
    ]
    if not failed and freshness.last_failure is not None:
        failed = [f'AWS refresh: {freshness.last_failure.error_code}']
    return (
        f'Refresh from AWS failed ({", ".join(failed)}); '
        f'{"the page says what to set" if first_run else "the banner at the top says more"}.'
        if failed
        else ''
    )


def stale_text(freshness: Freshness, parts: tuple[str, ...], places: PlaceView | None = None) -> str:
    """What the banner says: each failed part with AWS's code, message and call and the age of its data
    (the other parts updated as usual), of the places the person may see; empty when nothing failed."""
    lines = []
    for prefix, row in failing(freshness, parts, places):
        part = row.part
        call = f' (in {row.error_call})' if row.error_call else ''
        # a part that never succeeded on its own shows what its place's last refresh of every part brought
        since = row.last_success or freshness.full_refreshes.get(row.use_case)
        shown = f'data from {ago(since)}' if since else 'no data from AWS yet'
        lines.append(
            f'{prefix}{LABELS.get(part, part)}: {row.error_code}: {row.error_message}{call} — failed '
            f'{ago(row.failed_at)}, {shown}.'
        )
    failure = freshness.last_failure
    if not lines and failure is not None:  # the refresh read every part but failed acting on it
        shown = f'Showing data from {ago(freshness.last_success)}.' if freshness.last_success else ''
        lines.append(
            f'AWS refresh failed {ago(failure.finished_at)} — {failure.error_code}: '
            f'{failure.error_message}. {shown}'.strip()
        )
    return ' '.join(lines)


def stale_times(freshness: Freshness, parts: tuple[str, ...], places: PlaceView | None = None) -> str:
    """The exact UTC times behind the banner's "… ago" (its tooltip), in the banner's order."""
    times = []
    for prefix, row in failing(freshness, parts, places):
        since = row.last_success or freshness.full_refreshes.get(row.use_case)
        data = f', data from {format_time(since)}' if since else ''
        times.append(f'{prefix}{LABELS.get(row.part, row.part)} failed at {format_time(row.failed_at)}{data}')
    failure = freshness.last_failure
    if not times and failure is not None:
        data = f', data from {format_time(freshness.last_success)}' if freshness.last_success else ''
        times.append(f'AWS refresh failed at {format_time(failure.finished_at)}{data}')
    return '; '.join(times)
