"""What the tables share: column specs, the status cell and its fields, and tables a feed keeps current."""

from __future__ import annotations

from collections.abc import Callable
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

    def __init__(self, feed: Feed[Any, Rows]) -> None:
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
            if row is None:
                if self.shown.pop(key, None) is not None:
                    removed.append(key)
            elif self.shown.get(key) != row:
                self.shown[key] = row
                changed.append(row)
        self.table.patch_rows(changed, removed)
