"""What the tables share: column specs, the status cell and its fields, and tables the store keeps current."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from ..domain.status import LOOKS, Look
from ..store import Store

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
<q-td :props="props">
  <span class="inline-flex items-center gap-1 whitespace-nowrap" :data-status="props.row.{field}">
    <q-icon :name="props.row.{field}_icon" :color="props.row.{field}_color" size="sm" aria-hidden="true"/>
    <span>{{{{ props.row.{field} }}}}</span>
  </span>
</q-td>"""


def status_fields(field: str, word: str) -> dict[str, str]:
    look = look_of(word)
    return {field: word, f'{field}_icon': look.icon, f'{field}_color': look.color}


def live_table(
    store: Store,
    columns: list[dict[str, Any]],
    rows: Callable[[], list[dict[str, Any]]],
    row_key: str,
    marker: str,
    no_data: str,
    slots: dict[str, str],
) -> ui.table:
    """A table of 50 rows a page, read again from the store after each of its changes."""
    table = (
        ui.table(columns=columns, rows=rows(), row_key=row_key, pagination={'rowsPerPage': 50})
        .classes('w-full')
        .props(f'flat bordered wrap-cells data-testid={marker}')
        .props(f'no-data-label="{no_data}"')
        .mark(marker)
    )
    for name, template in slots.items():
        table.add_slot(f'body-cell-{name}', template)
    store.changed.subscribe(lambda: table.update_rows(rows()))
    return table
