"""The frame every page shares: header, navigation, data freshness and `Refresh now`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from ..actions import Actions
from ..auth import person_badge
from ..store import Store
from .widgets import ago, format_time

NAVIGATION = [('Training jobs', '/'), ('Components', '/components'), ('Devices', '/devices')]


@contextmanager
def frame(title: str, store: Store, actions: Actions) -> Iterator[None]:
    ui.page_title(f'{title} · DDA Portal')
    ui.colors(primary='#1f4e79')
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
                try:
                    problem = await actions.refresh_now()
                finally:
                    button.props(remove='loading')
                if problem:
                    ui.notify(
                        f'Refresh failed — {problem.code}: {problem.message}',
                        type='negative',
                        multi_line=True,
                        close_button='Close',
                    )
                else:
                    ui.notify('Refreshed from AWS', type='positive')

            button = ui.button('Refresh now', icon='refresh', on_click=refresh_now).props(
                'flat dense color=white no-caps'
            )
    banner = ui.row().classes('w-full items-center gap-2 bg-orange-1 text-orange-10 p-3 rounded')
    with banner:
        ui.icon('cloud_off', size='sm').props('aria-hidden=true')
        banner_text = ui.label().mark('stale-banner')

    def show_freshness() -> None:
        freshness = store.freshness()
        updated.set_text(
            f'Last updated {ago(freshness.last_success)}'
            if freshness.last_success
            else 'Not refreshed from AWS yet'
        )
        failure = freshness.last_failure
        banner.set_visibility(failure is not None)
        if failure is not None:
            shown = (
                f'Showing data from {ago(freshness.last_success)}.'
                if freshness.last_success
                else 'No data from AWS yet.'
            )
            banner_text.set_text(
                f'AWS refresh failed at {format_time(failure.finished_at)} — {failure.error_code}: '
                f'{failure.error_message}. {shown}'
            )

    show_freshness()
    store.changed.subscribe(show_freshness)  # at once after each refresh, good or failed
    ui.timer(1.0, show_freshness)  # and "… ago" keeps counting
    with ui.column().classes('w-full max-w-screen-xl mx-auto p-4 gap-4'):
        yield
