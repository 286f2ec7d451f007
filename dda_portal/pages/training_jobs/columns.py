"""The training jobs table: its columns, cell templates and rows, each target's latest state included."""

from __future__ import annotations

from typing import Any

from ...domain.places import object_key, place_label
from ...domain.progress import estimate_remaining
from ...domain.status import CompilationStatus
from ...queries.jobs import AttemptSummary, JobSummary
from ..links import job_link
from ..tables import column, look_of, status_cell, status_fields, time_fields
from ..widgets import elapsed, format_duration

REASON_CHARS = 200  # of a failure reason's first line, in the tooltip

COLUMNS: list[dict[str, Any]] = [
    column('name', 'Training job', sortable=True),
    column('status', 'Training status', sortable=True),
    column('created', 'Created', sortable=True),
    column('training_time', 'Training time', sortable=True),
    column('rollup', 'Compilation', sortable=True),
    column('compiled', 'Targets', sortable=True),
]

USE_CASE_COLUMN = column('use_case', 'Use case', sortable=True)  # shown with more than one place


def columns(several_places: bool) -> list[dict[str, Any]]:
    """The table's columns: the use case's after the name when the person sees several places."""
    return [COLUMNS[0], USE_CASE_COLUMN, *COLUMNS[1:]] if several_places else COLUMNS


NAME_CELL = r"""
<td v-bind="td">
  <a class="text-primary" :href="props.row.link">{{ props.row.name }}</a>
</td>"""

# each target's latest state, as text only (names and failure reasons come from AWS); the icons come from
# the one table of looks, so rows need not carry them
TARGETS_TOOLTIP = r"""
  <q-tooltip class="text-body2" anchor="bottom left" self="top left" max-width="36rem">
    <div v-if="props.row.targets.length === 0">No compilation job for this training job yet.</div>
    <div v-for="target in props.row.targets" :key="target.label" class="q-py-xs">
      <div class="row items-center no-wrap q-gutter-x-xs">
        <q-icon :name="ICONS[target.state]" size="xs" aria-hidden="true"/>
        <span class="text-weight-bold">{{ target.label }}:</span>
        <span>{{ target.state }}</span>
        <span>· {{ target.duration }}</span>
        <span v-if="target.estimate">· {{ target.estimate }}</span>
      </div>
      <div v-if="target.reason" class="q-pl-lg" style="white-space: normal">{{ target.reason }}</div>
    </div>
  </q-tooltip>"""


def rollup_cell() -> str:
    """The shared status cell for the rollup, with the per-target tooltip inside it."""
    # a JS object literal in a double-quoted attribute: our own words and icon names, no quotes in them
    icons = ', '.join(f"'{status.value}': '{look_of(status.value).icon}'" for status in CompilationStatus)
    tooltip = TARGETS_TOOLTIP.replace('ICONS', '{' + icons + '}')
    cell, closing, rest = status_cell('rollup').rpartition('</td>')
    return cell + tooltip + '\n' + closing + rest


def training_job_row(
    job: JobSummary, latest: list[AttemptSummary], durations: dict[str, list[float]]
) -> dict[str, Any]:
    """One table row: what the cells and the tooltip show (plain values and text)."""
    return {
        'key': object_key(job.use_case, job.name),
        'name': job.name,
        'use_case': place_label(job.use_case),
        'link': job_link(job.name, job.use_case),
        **status_fields('status', job.status),
        **time_fields('created', job.created_at),
        'training_time': format_duration(elapsed(job.started_at, job.ended_at))
        if job.ended_at
        else ('running' if job.started_at else '—'),
        **status_fields('rollup', job.rollup),
        'compiled': f'{job.targets_compiled}/{job.targets_total} compiled',
        'targets': [target_detail(attempt, durations) for attempt in latest],
        'highlight': False,
    }


def target_detail(attempt: AttemptSummary, durations: dict[str, list[float]]) -> dict[str, str]:
    """A target's latest attempt in the tooltip: label, state, duration, and an estimate or reason if any."""
    status = compilation_status(attempt.status)
    estimate = ''
    if attempt.started_at is None:
        duration = 'waiting to start' if status.is_active else '—'
    elif status.is_active:
        running = elapsed(attempt.started_at, None) or 0.0
        duration = f'running for {format_duration(running)}'
        if status is not CompilationStatus.STOPPING:
            guess = estimate_remaining(running, durations.get(attempt.target_id, []))
            estimate = guess.text if guess.has_estimate else ''
    else:
        duration = format_duration(elapsed(attempt.started_at, attempt.ended_at or attempt.last_modified))
    reason = ''
    if status is CompilationStatus.FAILED:
        reason = first_line(attempt.failure_reason or 'SageMaker gave no failure reason.')
    detail = {'label': attempt.target_label, 'state': status.value, 'duration': duration}
    if estimate:
        detail['estimate'] = estimate
    if reason:
        detail['reason'] = reason
    return detail  # only what is shown: 2,000 rows of it go to every open list


def first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), '')
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + '…'


def compilation_status(word: str) -> CompilationStatus:
    try:
        return CompilationStatus(word)
    except ValueError:
        return CompilationStatus.UNKNOWN
