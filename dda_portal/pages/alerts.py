"""`/alerts`: the recent alerts and how each went (sent, waiting to be tried again, undeliverable with the
error), and where alerts go (channels named without their secrets, rules). Follows its feed: live."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from sqlmodel import Session

from .. import queries
from ..config import Settings, channel_name
from ..domain.alerts import AlertState
from ..services.actions import Actions
from ..store import Store
from ..tables import Alert
from .feeds import Feed
from .layout import frame
from .live_table import LiveTable
from .tables import Rows, column, status_cell, status_fields, time_cell, time_fields
from .use_cases import PlaceView, place_fields, row_keeper, with_use_case_column

ALERTS = 'alerts'  # the feed's one key: the outbox
SHOWN = 200

ALERT_COLUMNS: list[dict[str, Any]] = [
    column('number', '#', sortable=True),
    column('created', 'Recorded'),
    column('title', 'Alert', style='white-space: pre-wrap'),
    column('state', 'State'),
    column('detail', 'Delivery', style='white-space: pre-wrap'),
]


# the delivery's words, then its time as every time is shown ("… ago", the exact UTC time on hover)
DELIVERY_CELL = r"""
<td v-bind="td">{{ props.row.detail }}<span v-if="props.row.when_ms !== null"
  :title="props.row.when" :data-time="props.row.when">{{ ago(props.row.when_ms) }}</span></td>"""


def alert_row(alert: Alert) -> dict[str, Any]:
    when = None
    if alert.state == AlertState.SENT:
        detail, when = 'Sent ', alert.sent_at
    elif alert.state == AlertState.UNDELIVERABLE:
        detail = f'Undeliverable after {alert.attempts} tries: {alert.last_error or "no error given"}'
    elif alert.attempts:
        detail = f'Try {alert.attempts} failed: {alert.last_error or "no error given"}\nNext try '
        when = alert.next_try_at
    else:
        detail = 'Not sent yet'
    return {
        'number': alert.id,
        **place_fields(alert.use_case),
        **time_fields('created', alert.created_at),
        'title': f'{alert.title}\n{alert.link}',
        **status_fields('state', str(alert.state)),
        'detail': detail,
        **time_fields('when', when),
    }


def alert_rows(session: Session, _keys: frozenset[str] = frozenset()) -> Rows:
    return {alert.id: alert_row(alert) for alert in queries.alerts.recent(session, SHOWN)}


class AlertsTable:
    """One tab's table: it follows the feed before the first read (nothing is lost in between); each
    delivery sends only the rows that differ."""

    def __init__(self, feed: Feed[str, Rows], places: PlaceView) -> None:
        """`places`: only alerts of the use cases the person may see are shown."""
        self.places = places
        self.keep = row_keeper(places, frozenset())
        self.table: LiveTable | None = None
        self.shown: Rows = {}
        self._early: list[Rows] = []
        feed.follow(ALERTS, self.take)

    def show(self, rows: Rows) -> None:
        self.shown = {key: row for key, row in rows.items() if self.keep(row)}
        self.table = (
            LiveTable(
                columns=with_use_case_column(ALERT_COLUMNS, self.places),
                rows=list(self.shown.values()),
                row_key='number',
                pagination={'rowsPerPage': 50, 'sortBy': 'number', 'descending': True},
            )
            .classes('w-full')
            .props('flat bordered wrap-cells data-testid=alerts-table no-data-label="No alerts yet."')
            .mark('alerts-table')
        )
        self.table.add_cell('state', status_cell('state'))
        self.table.add_cell('created', time_cell('created'))
        self.table.add_cell('detail', DELIVERY_CELL)
        for early in self._early:
            self.take(frozenset({ALERTS}), early)
        self._early = []

    def take(self, _keys: frozenset[str], rows: Rows) -> None:
        if self.table is None:
            self._early.append(rows)
            return
        rows = {key: row for key, row in rows.items() if self.keep(row)}
        changed = [row for key, row in rows.items() if self.shown.get(key) != row]
        removed = [key for key in self.shown if key not in rows]
        for key in removed:
            del self.shown[key]
        self.shown.update({row['number']: row for row in changed})
        self.table.patch_rows(changed, removed)


def settings_summary(settings: Settings) -> str:
    channels = settings.alert_channels
    if not channels:
        return 'No alert channel is set (DDA_ALERT_URLS): no alert is recorded or sent.'
    names = ', '.join(channel_name(url) for url in channels)
    count = f'{len(channels)} channel{"s" if len(channels) != 1 else ""}'
    return (
        f'Alerts go to {count}: {names}. Rules: {", ".join(sorted(settings.alert_kinds)) or "none"}. '
        f'Links point to {settings.public_base_url}.'
    )


def register(store: Store, actions: Actions, settings: Settings) -> None:
    feed: Feed[str, Rows] = Feed(
        store, 'alerts', lambda changed: frozenset({ALERTS}) if changed.alerts else frozenset(), alert_rows
    )

    @ui.page('/alerts', response_timeout=30)
    async def alerts_page() -> None:
        table = AlertsTable(feed, PlaceView.of(actions))
        rows = await store.fetch(alert_rows)
        with frame('Alerts', store, actions):
            ui.label('Alerts').classes('text-2xl font-bold')
            ui.label(settings_summary(settings)).classes('text-grey-8').mark('alert-settings')
            table.show(rows)
