"""A table that follows a feed row by row: a change sends the rows it touched, never the whole table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nicegui import ui


class LiveTable(ui.table, component='live_table.js'):
    """`ui.table` plus `patch_rows`: the server's rows change in place without resending the table's props,
    and the browser gets only the changed rows (sorting, paging and scroll stay as the user left them)."""

    def patch_rows(self, changed: list[dict[str, Any]], removed: Iterable[Any] = ()) -> None:
        """Replace rows with the same key (or add them) and drop the rows whose key is in `removed`."""
        key = self.row_key
        gone = set(removed)
        if not changed and not gone:
            return
        with self._props.suspend_updates():
            rows = self._props['rows']
            index = {row[key]: i for i, row in enumerate(rows)}
            for row in changed:
                i = index.get(row[key])
                if i is None:
                    rows.append(row)
                else:
                    rows[i] = row
            if gone:
                rows[:] = [row for row in rows if row[key] not in gone]
        self.run_method('patchRows', changed, key, sorted(gone, key=str))
