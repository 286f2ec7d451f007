"""The one place where raw AWS status strings become the portal's statuses."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .compat import Fit

log = logging.getLogger(__name__)


class CompilationStatus(StrEnum):
    STARTING = 'Starting'
    IN_PROGRESS = 'In progress'
    STOPPING = 'Stopping'
    STOPPED = 'Stopped'
    COMPLETED = 'Completed'
    FAILED = 'Failed'
    UNKNOWN = 'Unknown'

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_COMPILATION

    @property
    def is_final(self) -> bool:
        return self in (CompilationStatus.STOPPED, CompilationStatus.COMPLETED, CompilationStatus.FAILED)


ACTIVE_COMPILATION = frozenset(
    {CompilationStatus.STARTING, CompilationStatus.IN_PROGRESS, CompilationStatus.STOPPING}
)


class TrainingStatus(StrEnum):
    IN_PROGRESS = 'In progress'
    COMPLETED = 'Completed'
    FAILED = 'Failed'
    STOPPING = 'Stopping'
    STOPPED = 'Stopped'
    UNKNOWN = 'Unknown'


class Rollup(StrEnum):
    NOT_COMPILED = 'Not compiled'
    COMPILING = 'Compiling'
    COMPILED = 'Compiled'
    FAILED = 'Compilation failed'


# SageMaker's documented CompilationJobStatus values (DescribeCompilationJob / ListCompilationJobs).
_COMPILATION_FROM_AWS = {
    'STARTING': CompilationStatus.STARTING,
    'INPROGRESS': CompilationStatus.IN_PROGRESS,
    'STOPPING': CompilationStatus.STOPPING,
    'STOPPED': CompilationStatus.STOPPED,
    'COMPLETED': CompilationStatus.COMPLETED,
    'FAILED': CompilationStatus.FAILED,
}

# SageMaker's documented TrainingJobStatus values.
_TRAINING_FROM_AWS = {
    'InProgress': TrainingStatus.IN_PROGRESS,
    'Completed': TrainingStatus.COMPLETED,
    'Failed': TrainingStatus.FAILED,
    'Stopping': TrainingStatus.STOPPING,
    'Stopped': TrainingStatus.STOPPED,
}

_logged_unknown: set[str] = set()


def _log_unknown_once(kind: str, raw: object) -> None:
    key = f'{kind}:{raw!r}'
    if key not in _logged_unknown:
        _logged_unknown.add(key)
        log.warning('Unknown %s status from AWS: %r (shown as Unknown)', kind, raw)


def compilation_status_from_aws(raw: object) -> CompilationStatus:
    """Map SageMaker's CompilationJobStatus to the portal's status; anything unexpected is Unknown."""
    status = _COMPILATION_FROM_AWS.get(raw) if isinstance(raw, str) else None
    if status is None:
        _log_unknown_once('compilation', raw)
        return CompilationStatus.UNKNOWN
    return status


def training_status_from_aws(raw: object) -> TrainingStatus:
    """Map SageMaker's TrainingJobStatus to the portal's status; anything unexpected is Unknown."""
    status = _TRAINING_FROM_AWS.get(raw) if isinstance(raw, str) else None
    if status is None:
        _log_unknown_once('training', raw)
        return TrainingStatus.UNKNOWN
    return status


def rollup_for(latest_per_target: Iterable[CompilationStatus]) -> Rollup:
    """The training job's compilation state from the latest attempt of each of its targets."""
    statuses = list(latest_per_target)
    if any(s.is_active for s in statuses):
        return Rollup.COMPILING
    if CompilationStatus.FAILED in statuses:
        return Rollup.FAILED
    if statuses and all(s is CompilationStatus.COMPLETED for s in statuses):
        return Rollup.COMPILED
    return Rollup.NOT_COMPILED


@dataclass(frozen=True)
class CompiledCount:
    compiled: int
    total: int

    def __str__(self) -> str:
        return f'{self.compiled}/{self.total} compiled'


def compiled_count(latest_per_target: Iterable[CompilationStatus]) -> CompiledCount:
    """n targets whose latest attempt completed, out of m targets with any attempt."""
    statuses = list(latest_per_target)
    return CompiledCount(sum(s is CompilationStatus.COMPLETED for s in statuses), len(statuses))


@dataclass(frozen=True)
class Look:
    """How a state is shown: always an icon and a word, colour only as a third cue (keyed by the word)."""

    icon: str
    color: str


LOOKS: dict[str, Look] = {
    CompilationStatus.STARTING: Look('schedule', 'blue-grey'),
    CompilationStatus.IN_PROGRESS: Look('autorenew', 'primary'),
    CompilationStatus.STOPPING: Look('pause_circle', 'orange'),
    CompilationStatus.STOPPED: Look('stop_circle', 'grey'),
    CompilationStatus.COMPLETED: Look('check_circle', 'positive'),
    CompilationStatus.FAILED: Look('error', 'negative'),
    CompilationStatus.UNKNOWN: Look('help', 'grey'),
    TrainingStatus.IN_PROGRESS: Look('autorenew', 'primary'),
    TrainingStatus.COMPLETED: Look('check_circle', 'positive'),
    TrainingStatus.FAILED: Look('error', 'negative'),
    TrainingStatus.STOPPING: Look('pause_circle', 'orange'),
    TrainingStatus.STOPPED: Look('stop_circle', 'grey'),
    TrainingStatus.UNKNOWN: Look('help', 'grey'),
    Rollup.NOT_COMPILED: Look('radio_button_unchecked', 'grey'),
    Rollup.COMPILING: Look('autorenew', 'primary'),
    Rollup.COMPILED: Look('check_circle', 'positive'),
    Rollup.FAILED: Look('error', 'negative'),
    # Greengrass component versions and core devices
    'Requested': Look('schedule', 'blue-grey'),
    'Initiated': Look('autorenew', 'primary'),
    'Deployable': Look('inventory_2', 'positive'),
    'Deprecated': Look('block', 'grey'),
    'Healthy': Look('check_circle', 'positive'),
    'Unhealthy': Look('report', 'negative'),
    # alerts
    'Waiting': Look('schedule', 'blue-grey'),
    'Sent': Look('check_circle', 'positive'),
    'Undeliverable': Look('error', 'negative'),
    # the compatibility matrix's cells (domain/compat.py); 'Unknown' is the help icon above
    Fit.RUNNING: Look('play_circle', 'positive'),
    Fit.DEPLOYED: Look('downloading', 'blue-grey'),
    Fit.COMPATIBLE: Look('check_circle_outline', 'primary'),
    Fit.INCOMPATIBLE: Look('block', 'negative'),
    Fit.ELSEWHERE: Look('remove', 'grey'),
    # deployments and each device's execution of one (domain/deploy.py's words)
    'Queued': Look('schedule', 'blue-grey'),
    'Succeeded': Look('check_circle', 'positive'),
    'Timed out': Look('timer_off', 'negative'),
    'Rejected': Look('block', 'negative'),
    'Canceled': Look('cancel', 'grey'),
    'Not reported': Look('hourglass_empty', 'grey'),
    'Active': Look('autorenew', 'primary'),
    'Inactive': Look('history', 'grey'),
    # pre-flight findings
    'Blocks': Look('block', 'negative'),
    'Warns': Look('warning', 'orange'),
}
