"""The list page's CSV: the rows shown, one state / duration / failure reason column triple per target."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from ...domain.places import place_label
from ...domain.status import CompilationStatus
from ..widgets import elapsed
from .columns import compilation_status
from .feed import Entry


def csv_text(entries: list[Entry], *, with_use_case: bool = False) -> str:
    """The rows as CSV, one state / duration / failure reason column triple per target; the use case after
    the name when the reader sees several."""
    targets = sorted({(a.target_label, a.target_id) for entry in entries for a in entry.latest})
    header = [
        'Training job',
        'Training status',
        'Created (UTC)',
        'Training time (s)',
        'Compilation',
        'Targets compiled',
        'Targets with attempts',
    ]
    if with_use_case:
        header.insert(1, 'Use case')
    for label, _ in targets:
        header += [f'{label}: state', f'{label}: duration (s)', f'{label}: failure reason']
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\r\n')
    writer.writerow([_cell(h) for h in header])
    for entry in entries:
        job = entry.job
        training = elapsed(job.started_at, job.ended_at) if job.ended_at else None
        cells: list[object] = [
            job.name,
            job.status,
            _iso(job.created_at),
            round(training) if training is not None else '',
            job.rollup,
            job.targets_compiled,
            job.targets_total,
        ]
        if with_use_case:
            cells.insert(1, place_label(job.use_case))
        by_target = {a.target_id: a for a in entry.latest}
        for _, target_id in targets:
            attempt = by_target.get(target_id)
            if attempt is None:
                cells += ['', '', '']
                continue
            status = compilation_status(attempt.status)
            end = attempt.ended_at or (None if status.is_active else attempt.last_modified)
            seconds = elapsed(attempt.started_at, end)
            reason = attempt.failure_reason or '' if status is CompilationStatus.FAILED else ''
            cells += [status.value, round(seconds) if seconds is not None else '', reason]
        writer.writerow([_cell(c) for c in cells])
    return buffer.getvalue()


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec='seconds') if value else ''


def _cell(value: object) -> object:
    """Text a spreadsheet would run as a formula starts with a quote instead (AWS text ends up here)."""
    if isinstance(value, str) and value[:1] in ('=', '+', '-', '@', '\t', '\r'):
        return "'" + value
    return value
