"""Small reusable pieces: the one status badge, time and duration formatting, and the log view."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

import humanize
from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

from ..domain.clock import as_utc, utcnow
from ..domain.logs import LogRead
from ..domain.problems import Problem
from .problems import problem_text
from .tables import column, epoch_ms, format_time, look_of

CLOCK_SKEW = timedelta(seconds=5)  # a time this little ahead is "now" (clock/index.js SKEW_MS)


class StatusBadge(ui.row):
    """A state as icon + word (never colour alone); `show` changes it in place (no new elements)."""

    def __init__(self, word: str) -> None:
        super().__init__()
        self.classes('items-center gap-1 no-wrap')
        look = look_of(word)
        with self:
            self.icon = ui.icon(look.icon, color=look.color, size='sm').props('aria-hidden=true')
            self.word = ui.label(word)

    def show(self, word: str) -> None:
        if self.word.text == word:
            return
        look = look_of(word)
        self.icon.set_name(look.icon)
        self.icon.set_text_color(look.color)
        self.word.set_text(word)


def named_dialog(name: str) -> ui.dialog:
    """A dialog that screen readers announce by its name (axe: aria-dialog-name); Quasar keeps focus in it
    while it is open, closes it on Escape and gives focus back to the control that opened it."""
    dialog = ui.dialog()
    dialog.props['aria-label'] = name  # as an attribute, never parsed: the name may come from AWS
    return dialog


def status_badge(word: str) -> StatusBadge:
    """A state as icon + word (never colour alone)."""
    return StatusBadge(word)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return '—'
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f'{hours} h {minutes:02d} min'
    if minutes:
        return f'{minutes} min {secs:02d} s'
    return f'{secs} s'


def elapsed(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from start to end, or to now while still running."""
    if start is None:
        return None
    return ((end or utcnow()) - start).total_seconds()


def ago(value: datetime | None) -> str:
    if value is None:
        return 'never'
    ahead = value - utcnow()
    if timedelta(0) < ahead < CLOCK_SKEW:  # AWS's clock a little ahead of this one: not "… from now"
        return 'now'
    return humanize.naturaltime(-ahead)


class TimeLabel(TextElement, component='time_ago.js', esm={'dda-clock': 'clock'}):
    """A time outside tables, shown as tables show it (pages/tables.py `time_cell`): "3 hours ago" counted by
    the browser's clock (so a page left open stays right), the exact UTC time on hover (its `title`)."""

    def __init__(self, value: datetime | None, prefix: str = '', suffix: str = '') -> None:
        super().__init__(text='')
        self._props['prefix'] = prefix
        self._props['suffix'] = suffix
        self.value: datetime | None = None
        self.show(value)

    def show(self, value: datetime | None) -> None:
        """Show another time (nothing is sent when it is the same)."""
        if value == self.value and self.text:
            return
        self.value = value
        self._props['ms'] = epoch_ms(as_utc(value))
        self._props['exact'] = format_time(value)
        # the words as of now, for whoever reads the element on the server (the browser counts on its own)
        self.set_text(f'{self._props["prefix"]}{ago(value) if value else "—"}{self._props["suffix"]}')


def time_label(value: datetime | None, prefix: str = '', suffix: str = '') -> TimeLabel:
    """The one way to show a time outside a table: `prefix` "3 hours ago" `suffix`, exact UTC on hover."""
    return TimeLabel(value, prefix, suffix)


LOG_COLUMNS: list[dict[str, Any]] = [
    column('time', 'Time', style='white-space: nowrap'),
    column('stream', 'Stream'),
    column(
        'message', 'Message', style='white-space: pre-wrap; word-break: break-word; font-family: monospace'
    ),
]


class LogView:
    """A message line plus a paginated table of log events (text only); filled by `show`."""

    def __init__(self, marker: str, rows_per_page: int, initial: str) -> None:
        self.message = ui.label(initial).mark(f'{marker}-message')
        self.table = (
            ui.table(columns=LOG_COLUMNS, rows=[], row_key='id', pagination={'rowsPerPage': rows_per_page})
            .classes('w-full')
            .props('flat bordered dense wrap-cells data-log')  # a log's own exact times, as logs show them
            .mark(marker)
        )
        self.table.set_visibility(False)

    async def load(
        self, reading: Awaitable[LogRead], *, truncated_note: str = ' (the first ones only)'
    ) -> None:
        """Show what the read brings, or why there is nothing to show."""
        try:
            result = await reading
        except Problem as problem:
            self.message.set_text(problem_text(problem, 'Could not read the logs'))
            self.table.set_visibility(False)
            return
        self.show(result, truncated_note=truncated_note)

    def show(self, result: LogRead, *, truncated_note: str = ' (the first ones only)') -> None:
        if not result.events:
            self.message.set_text(result.missing or 'No log events yet.')
            self.table.set_visibility(False)
            return
        self.message.set_text(
            f'{len(result.events)} log events' + (truncated_note if result.truncated else '')
        )
        self.table.update_rows(
            [
                {'id': i, 'time': format_time(e.timestamp), 'stream': e.stream, 'message': e.message}
                for i, e in enumerate(result.events)
            ]
        )
        self.table.set_visibility(True)


def filter_select(
    options: Any, value: list[str], label: str, on_change: Any, marker: str, *, typing: bool = False
) -> ui.select:
    """One of a page's filters: several values as chips, cleared at once; `typing`: the options narrow as one
    types (long lists)."""
    props = 'use-chips clearable dense outlined options-dense' + (' use-input' if typing else '')
    chosen = ui.select(options, multiple=True, value=value, label=label, on_change=on_change)
    return chosen.props(props).classes('min-w-48').mark(marker)


def filter_text(
    placeholder: str, value: str, on_change: Any, marker: str, width: str = 'min-w-48'
) -> ui.input:
    """A page's text filter: applied 300 ms after the last key, at most 100 characters."""
    typed = ui.input(placeholder=placeholder, value=value, on_change=on_change)
    return typed.props('clearable dense outlined debounce=300 maxlength=100').classes(width).mark(marker)
