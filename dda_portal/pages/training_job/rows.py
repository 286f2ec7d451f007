"""What one training job's page shows as text: its overview facts, and the compilation and history tables."""

from __future__ import annotations

from typing import Any

from ...domain.guidance import GuidanceBook
from ...domain.progress import estimate_remaining
from ...domain.status import CompilationStatus
from ...tables import CompilationAttempt, TrainingJob
from ..tables import Moment, column, short_cell, status_fields, time_fields
from ..widgets import elapsed, format_duration

# columns that matter first; long values are shortened (the whole one a hover or a copy away) and a failure
# reason opens in full under its status, so that the table fits a 1024 px wide window
COMPILATION_COLUMNS: list[dict[str, Any]] = [
    column('target', 'Target', sortable=True),
    column('status', 'Status', sortable=True),
    column('started', 'Started', sortable=True),
    column('duration', 'Duration', style='white-space: nowrap'),
    column('artifact', 'Artifact'),
    column('component', 'Component'),
    column('actions', '', field='job_name', align='right'),
]

TARGET_CELL = r"""
<td v-bind="td">
  <div>{{ props.row.target }}</div>
  <div class="text-xs text-grey-8">attempt {{ props.row.attempt }}</div>
</td>"""

# a failure reason in three lines at most, `Show all` opens it in full (it wraps, never widens the table)
REASON_PART = r"""
  <div v-if="props.row.reason" class="reason q-mt-xs" :data-reason="props.row.job_name">
    <div :class="open ? 'reason-text' : 'reason-text line-clamp-3'">{{ props.row.reason }}</div>
    <q-btn v-if="props.row.reason.length > 90" flat dense no-caps size="sm" color="primary"
           :icon="open ? 'expand_less' : 'expand_more'" :label="open ? 'Show less' : 'Show all'"
           :aria-expanded="open ? 'true' : 'false'" @click="open = !open"/>
  </div>"""

STATUS_REASON_CELL = (
    r"""
<td v-bind="td">
  <span class="inline-flex items-center gap-1 whitespace-nowrap" :data-status="props.row.status">
    <i v-bind="icon(props.row.status_color, 'sm')">{{ props.row.status_icon }}</i>
    <span>{{ props.row.status }}</span>
  </span>"""
    + REASON_PART
    + r"""
  <div v-if="props.row.cause" class="text-primary text-sm q-mt-xs reason">
    <i v-bind="icon('', 'xs')">lightbulb</i> Likely cause: {{ props.row.cause }} — see Details
  </div>
</td>"""
)

ACTIONS_CELL = r"""
<td v-bind="td">
  <div class="column items-end gap-0">
    <q-btn flat dense no-caps icon="info" label="Details" @click="() => $parent.$emit('details', props.row)"/>
    <q-btn v-if="props.row.can_retry" flat dense no-caps icon="replay" label="Retry" color="primary"
           @click="() => $parent.$emit('retry', props.row)"/>
    <q-btn v-if="props.row.can_stop" flat dense no-caps icon="stop" label="Stop" color="negative"
           @click="() => $parent.$emit('stop', props.row)"/>
  </div>
</td>"""

DURATION_CELL = r"""
<td v-bind="td" class="whitespace-nowrap">
  <div>{{ props.row.duration }}</div>
  <template v-if="props.row.running">
    <q-linear-progress v-if="props.row.progress !== null" :value="props.row.progress" rounded size="6px"
                       class="q-mt-xs" style="min-width: 6rem" aria-label="estimated progress"/>
    <q-linear-progress v-else indeterminate rounded size="6px" class="q-mt-xs" style="min-width: 6rem"
                       aria-label="running"/>
    <div class="text-xs text-grey-8">{{ props.row.estimate }}</div>
  </template>
</td>"""

COMPONENT_CELL = r"""
<td v-bind="td">
  <div v-if="props.row.component" class="narrow">
    <span class="break-all">{{ props.row.component }}</span>
    <span class="inline-flex items-center gap-1 whitespace-nowrap q-ml-xs">
      <i v-bind="icon(props.row.component_state_color, 'xs')">{{ props.row.component_state_icon }}</i>
      <span class="text-xs">{{ props.row.component_state }}</span>
    </span>
  </div>
  <q-btn v-else-if="props.row.can_package" flat dense no-caps icon="inventory_2" label="Package"
         color="primary" @click="() => $parent.$emit('package', props.row)"/>
  <span v-else class="text-grey-7">—</span>
</td>"""

HISTORY_COLUMNS: list[dict[str, Any]] = [
    column('target', 'Target'),
    column('attempt', 'Attempt'),
    column('status', 'Status'),
    column('created', 'Created'),
    column('started', 'Started'),
    column('ended', 'Ended'),
    column('duration', 'Duration', style='white-space: nowrap'),
    column('reason', 'Failure reason'),
    column('details', '', field='job_name', align='right'),
]

HISTORY_REASON_CELL = '\n<td v-bind="td">' + REASON_PART + '\n</td>'

DETAILS_CELL = r"""
<td v-bind="td">
  <q-btn flat dense no-caps icon="info" label="Details" @click="() => $parent.$emit('details', props.row)"/>
</td>"""

ARTIFACT_CELL = short_cell(
    'artifact',
    'S3 URI',
    r"""
    <q-btn flat dense no-caps size="sm" icon="download" label="Download" color="primary"
           @click="() => $parent.$emit('download', props.row)"/>""",
)


def compilation_row(
    attempt: CompilationAttempt, guidance: GuidanceBook, durations: dict[str, list[float]]
) -> dict[str, Any]:
    status = CompilationStatus(attempt.status)
    running = status is CompilationStatus.IN_PROGRESS and attempt.started_at is not None
    spent = elapsed(attempt.started_at, attempt.ended_at) or 0.0
    # SageMaker reports no progress: earlier completed attempts of the target tell how long it usually takes
    estimate = estimate_remaining(spent, durations.get(attempt.target_id, [])) if running else None
    return {
        'job_name': attempt.job_name,
        'target': attempt.target_label,
        'target_id': attempt.target_id,
        **status_fields('status', attempt.status),
        'attempt': attempt.attempt,
        **time_fields('started', attempt.started_at or attempt.created_at),
        'duration': format_duration(elapsed(attempt.started_at, attempt.ended_at))
        if attempt.started_at
        else 'waiting to start',
        'running': running,
        'can_stop': status in (CompilationStatus.STARTING, CompilationStatus.IN_PROGRESS)
        and bool(attempt.arn),
        'can_retry': status in (CompilationStatus.FAILED, CompilationStatus.STOPPED),
        'artifact': attempt.artifact if status is CompilationStatus.COMPLETED else '',
        'reason': attempt.failure_reason or '' if status is CompilationStatus.FAILED else '',
        'cause': guidance.for_failure(attempt.failure_reason).title
        if status is CompilationStatus.FAILED
        else '',
        'estimate': estimate.text if estimate else '',
        'progress': estimate.fraction if estimate else None,
    }


def history_row(attempt: CompilationAttempt) -> dict[str, Any]:
    return {
        'job_name': attempt.job_name,
        'target': attempt.target_label,
        'attempt': attempt.attempt,
        **status_fields('status', attempt.status),
        **time_fields('created', attempt.created_at),
        **time_fields('started', attempt.started_at),
        **time_fields('ended', attempt.ended_at),
        'duration': format_duration(elapsed(attempt.started_at, attempt.ended_at))
        if attempt.started_at
        else '—',
        'reason': attempt.failure_reason or '' if attempt.status == CompilationStatus.FAILED else '',
    }


def overview_facts(job: TrainingJob) -> list[tuple[str, str | Moment]]:
    return [
        (
            'Status',
            job.status
            + (
                f' ({job.secondary_status})'
                if job.secondary_status and job.secondary_status != job.status
                else ''
            ),
        ),
        ('Created', Moment(job.created_at)),
        ('Training started', Moment(job.started_at)),
        ('Training ended', Moment(job.ended_at)),
        ('Training time', format_duration(elapsed(job.started_at, job.ended_at))),
        (
            'Billable time',
            format_duration(job.billable_seconds)
            if job.billable_seconds is not None
            else 'not reported by SageMaker',
        ),
        ('Instance', f'{job.instance_type or "—"} × {job.instance_count or 1}'),
        ('Model artifact', job.model_artifact or '— (written when training completes)'),
        ('Output location', job.output_prefix or '—'),
        ('ARN', job.arn or '—'),
        ('Compilation', f'{job.rollup} — {job.targets_compiled}/{job.targets_total} compiled'),
    ]
