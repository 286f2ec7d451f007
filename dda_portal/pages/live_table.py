"""A table that follows a feed row by row: a change sends the rows it touched, never the whole table."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from nicegui import ui


class LiveTable(ui.table, component='live_table.js', esm={'dda-clock': 'clock'}):
    """`ui.table` plus `patch_rows`: the server's rows change in place without resending the table's props,
    and the browser gets only the changed rows (sorting, paging and scroll stay as the user left them)."""

    _index: dict[Any, int] | None = None  # row key → position in the rows, kept by patch_rows
    _indexed: list[dict[str, Any]] | None = None  # the rows list the index is of

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # QTable reports its pagination whenever the user pages or sorts; keeping it must not send the whole
        # table back to the browser that just reported it (2 MB for 5,000 devices)
        for listener in self._event_listeners.values():
            if listener.type == 'update:pagination' and listener.handler is not None:
                listener.handler = self._quietly(listener.handler)

    def add_cell(self, column: str, template: str) -> LiveTable:
        """Show the column's cells with a Vue template (`props.row`, `props.value` …, like a `body-cell-…`
        slot), compiled once in the browser for every cell and update instead of once per cell per render."""
        self._props.setdefault('cells', {})[f'body-cell-{column}'] = template
        self.update()
        return self

    def _quietly(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        def keep(event: Any) -> Any:  # NiceGUI passes the event only to handlers with a parameter for it
            with self._props.suspend_updates():
                return handler(event)

        return keep

    def patch_rows(self, changed: list[dict[str, Any]], removed: Iterable[Any] = ()) -> None:
        """Replace rows with the same key (or add them) and drop the rows whose key is in `removed`.

        The rows change through the plain list's methods: NiceGUI's observable list would rescan every row
        for each one replaced (and wrap each new row), which costs milliseconds per row in a table of
        thousands. Rows are replaced, never changed in place, so nothing needs observing."""
        key = self.row_key
        gone = set(removed)
        if not changed and not gone:
            return
        rows = self._props['rows']
        index = self._row_index(rows)
        for row in changed:
            i = index.get(row[key])
            if i is not None and rows[i][key] != row[key]:  # the rows were changed elsewhere
                self._index = None
                index = self._row_index(rows)
                i = index.get(row[key])
            if i is None:
                index[row[key]] = len(rows)
                list.append(rows, row)
            else:
                list.__setitem__(rows, i, row)
        if gone:
            list.__setitem__(rows, slice(None), [row for row in rows if row[key] not in gone])
            self._index = None
        self.run_method('patchRows', changed, key, sorted(gone, key=str))

    def show_rows(self, rows: list[dict[str, Any]]) -> None:
        """Show these rows, in this order: the browser gets only the rows that changed and the keys of those
        that are gone; only new rows that do not belong at the end (a new attempt of an earlier target)
        resend the table, since a patch can only append them."""
        key = self.row_key
        shown = {row[key]: row for row in self.rows}
        keys = [row[key] for row in rows]
        wanted = set(keys)
        kept = [k for k in shown if k in wanted]
        if keys[: len(kept)] != kept:
            self.update_rows(rows)
            return
        removed = [k for k in shown if k not in wanted]
        self.patch_rows([row for row in rows if shown.get(row[key]) != row], removed)

    def _row_index(self, rows: list[dict[str, Any]]) -> dict[Any, int]:
        """The position of each row by key; built again when the rows were replaced or changed elsewhere."""
        index = self._index
        if index is None or self._indexed is not rows or len(index) != len(rows):
            key = self.row_key
            index = self._index = {row[key]: i for i, row in enumerate(rows)}
            self._indexed = rows
        return index
