"""What the tables share: column specs, the status cell and its fields, and tables a feed keeps current."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from ..domain.status import LOOKS, Look
from .feeds import EVERY_KEY, Feed
from .live_table import LiveTable

_NO_LOOK = Look('help', 'grey')


def look_of(word: str) -> Look:
    return LOOKS.get(word, _NO_LOOK)


def column(
    name: str,
    label: str,
    *,
    field: str | None = None,
    align: str = 'left',
    sortable: bool = False,
    style: str | None = None,
) -> dict[str, Any]:
    """A QTable column: its field is its name unless told otherwise."""
    spec: dict[str, Any] = {'name': name, 'label': label, 'field': field or name, 'align': align}
    if sortable:
        spec['sortable'] = True
    if style:
        spec['style'] = style
    return spec


def status_cell(field: str) -> str:
    """Quasar body-cell template showing `row[field]` with its icon (`row[field + '_icon']`, `_color`)."""
    return rf"""
<td v-bind="td">
  <span class="inline-flex items-center gap-1 whitespace-nowrap" :data-status="props.row.{field}">
    <i v-bind="icon(props.row.{field}_color, 'sm')">{{{{ props.row.{field}_icon }}}}</i>
    <span>{{{{ props.row.{field} }}}}</span>
  </span>
</td>"""


def format_time(value: datetime | None) -> str:
    """The exact time, in UTC (what a time's tooltip says)."""
    return value.strftime('%Y-%m-%d %H:%M:%S UTC') if value else '—'


@dataclass(frozen=True)
class Moment:
    """A time among a page's plain facts: shown "… ago", the exact UTC time on hover (widgets.time_label)."""

    at: datetime | None


def epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def time_fields(field: str, value: datetime | None) -> dict[str, Any]:
    """A time for `time_cell`: `row[field]` the exact UTC time (sorts as it reads), `row[field + '_ms']` the
    moment the browser counts "… ago" from."""
    return {field: format_time(value), f'{field}_ms': epoch_ms(value)}


def time_cell(field: str) -> str:
    """Quasar body-cell template: how long ago `row[field + '_ms']` was ("3 hours ago", by the browser's
    clock), the exact UTC time `row[field]` on hover; '—' without a time. How every table shows a time."""
    return rf"""
<td v-bind="td" class="whitespace-nowrap">
  <span v-if="props.row.{field}_ms === null || props.row.{field}_ms === undefined">—</span>
  <span v-else :title="props.row.{field}" :data-time="props.row.{field}"
    >{{{{ ago(props.row.{field}_ms) }}}}</span>
</td>"""


def short_cell(field: str, what: str, extra: str = '') -> str:
    """Quasar body-cell template for a long value (S3 URI, ARN, name) `row[field]`: shortened in the middle,
    the whole value as its tooltip (text) and a copy button; `extra` (a template) goes under it."""
    return rf"""
<td v-bind="td">
  <template v-if="props.row.{field}">
    <div class="row items-center no-wrap">
      <span class="font-mono text-xs whitespace-nowrap" :title="props.row.{field}"
        >{{{{ short(props.row.{field}) }}}}</span>
      <q-btn flat dense round size="sm" :icon="copied ? 'check' : 'content_copy'"
             aria-label="Copy {what}" :title="'Copy ' + props.row.{field}" @click="copy(props.row.{field})"/>
    </div>{extra}
  </template>
  <span v-else class="text-grey-7">—</span>
</td>"""


def status_fields(field: str, word: str) -> dict[str, str]:
    look = look_of(word)
    return {field: word, f'{field}_icon': look.icon, f'{field}_color': look.color}


Rows = dict[Any, dict[str, Any]]  # a feed's rows by key; a key it read without a row is gone


def all_rows(
    read: Callable[[Session, frozenset[Any] | None], Rows],
) -> Callable[[Session], tuple[frozenset[Any], Rows]]:
    """A feed's `read_all` from its `read` of rows by key (None: all of them)."""

    def every(session: Session) -> tuple[frozenset[Any], Rows]:
        rows = read(session, None)
        return frozenset(rows), rows

    return every


class FeedTable:
    """One tab's table of every key of a feed whose data are rows by key: a delivery sends the browser only
    the rows that differ from those it shows and removes those that are gone (nothing when nothing differs).

    It follows the feed when made, before the page reads its first rows, so that no change is lost; what
    arrives before the table exists is applied right after it is made.
    """

    def __init__(self, feed: Feed[Any, Rows], keep: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """`keep`: which rows this tab shows (the use cases its person may see and chose); None: all."""
        self.keep = keep or (lambda _row: True)
        self.table: LiveTable | None = None
        self.shown: Rows = {}
        self._early: list[tuple[frozenset[Any], Rows]] = []
        feed.follow(EVERY_KEY, self.take)

    def show(
        self,
        rows: Rows,
        columns: list[dict[str, Any]],
        row_key: str,
        marker: str,
        no_data: str,
        slots: dict[str, str],
    ) -> LiveTable:
        """The table of these rows (50 a page), current with every later delivery."""
        rows = {key: row for key, row in rows.items() if self.keep(row)}
        self.shown = dict(rows)
        self.table = (
            LiveTable(
                columns=columns, rows=list(rows.values()), row_key=row_key, pagination={'rowsPerPage': 50}
            )
            .classes('w-full')
            .props(f'flat bordered wrap-cells data-testid={marker}')
            .props(f'no-data-label="{no_data}"')
            .mark(marker)
        )
        for name, template in slots.items():
            self.table.add_cell(name, template)
        early, self._early = self._early, []
        for keys, data in early:
            self.take(keys, data)
        return self.table

    def take(self, keys: frozenset[Any], rows: Rows) -> None:
        """A delivery of the feed: `keys` were read, `rows` holds those that exist."""
        if self.table is None:
            self._early.append((keys, rows))
            return
        changed: list[dict[str, Any]] = []
        removed: list[Any] = []
        for key in keys:
            row = rows.get(key)
            if row is not None and not self.keep(row):
                row = None
            if row is None:
                if self.shown.pop(key, None) is not None:
                    removed.append(key)
            elif self.shown.get(key) != row:
                self.shown[key] = row
                changed.append(row)
        self.table.patch_rows(changed, removed)
