"""Small fixes for moto bugs that would make the demo and the tests lie about AWS.

Each patch is applied only while moto still shows the bug: `apply()` first runs moto's own code on a
tiny probe object and patches only when the probe misbehaves, so a fixed moto release is left alone.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker.exceptions import AWSValidationException
from moto.sagemaker.models import CompilationJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from . import sts_trust

COMPILATION_SUMMARY = 'compilation_summary_without_accelerator'
LIST_TRAINING_JOBS = 'list_training_jobs_filter_then_page'
UNTAGGED_COMPILATION_JOB = 'untagged_compilation_job_tags'
ASSUME_ROLE_TRUST = 'assume_role_checks_the_role_and_its_trust_policy'  # in sts_trust

_lock = threading.Lock()
_applied: list[str] = []
_originals: dict[str, Callable[..., Any]] = {
    COMPILATION_SUMMARY: CompilationJob.summary,
    LIST_TRAINING_JOBS: SageMakerModelBackend.list_training_jobs,
    'list_training_jobs_response': SageMakerResponse.list_training_jobs,
    UNTAGGED_COMPILATION_JOB: CompilationJob.__init__,
}


def apply() -> list[str]:
    """Patch what is still broken; returns the names of the patches in effect. Safe to call again."""
    with _lock:
        if COMPILATION_SUMMARY not in _applied and compilation_summary_is_broken():
            CompilationJob.summary = _compilation_summary  # type: ignore[method-assign]
            _applied.append(COMPILATION_SUMMARY)
        if LIST_TRAINING_JOBS not in _applied and (
            list_training_jobs_pages_before_filtering() or list_training_jobs_ignores_sort()
        ):
            SageMakerModelBackend.list_training_jobs = _list_training_jobs  # type: ignore[method-assign]
            SageMakerResponse.list_training_jobs = _list_training_jobs_response  # type: ignore[method-assign]
            _applied.append(LIST_TRAINING_JOBS)
        if UNTAGGED_COMPILATION_JOB not in _applied and untagged_compilation_job_keeps_none():
            CompilationJob.__init__ = _compilation_job_init  # type: ignore[method-assign]
            _applied.append(UNTAGGED_COMPILATION_JOB)
        if ASSUME_ROLE_TRUST not in _applied and sts_trust.assume_role_ignores_the_role():
            sts_trust.install()
            _applied.append(ASSUME_ROLE_TRUST)
        return list(_applied)


# ---- a. ListCompilationJobs: HTTP 500 for every TargetPlatform without an Accelerator --------------
# moto 5.2.5 CompilationJob.summary() reads OutputConfig.TargetPlatform['Accelerator'] unconditionally
# and raises KeyError for CPU targets; AWS simply omits CompilationTargetPlatformAccelerator.


def compilation_summary_is_broken(summary: Callable[..., Any] | None = None) -> bool:
    """Whether `summary` (moto's original by default) fails on a CPU TargetPlatform."""
    probe = SimpleNamespace(
        compilation_job_name='probe',
        arn='arn:probe',
        creation_time=None,
        compilation_start_time=None,
        compilation_end_time=None,
        last_modified_time=None,
        compilation_job_status='COMPLETED',
        output_config={
            'S3OutputLocation': 's3://probe/',
            'TargetPlatform': {'Os': 'LINUX', 'Arch': 'X86_64'},
        },
    )
    try:
        (summary or _originals[COMPILATION_SUMMARY])(probe)
    except KeyError:
        return True
    return False


def _compilation_summary(self: CompilationJob) -> dict[str, Any]:
    platform = self.output_config.get('TargetPlatform')
    if 'TargetDevice' in self.output_config or not isinstance(platform, dict) or 'Accelerator' in platform:
        unchanged: dict[str, Any] = _originals[COMPILATION_SUMMARY](self)
        return unchanged
    probe = copy.copy(self)
    probe.output_config = {**self.output_config, 'TargetPlatform': {**platform, 'Accelerator': None}}
    summary: dict[str, Any] = _originals[COMPILATION_SUMMARY](probe)
    summary.pop('CompilationTargetPlatformAccelerator', None)
    return summary


# ---- b. ListTrainingJobs: pages before filtering, ignores SortBy/SortOrder -------------------------
# moto 5.2.5 slices MaxResults jobs out of *all* jobs and filters that slice, so a LastModifiedTimeAfter
# query returns mostly empty pages and costs N/MaxResults calls; its response handler never passes
# SortBy/SortOrder to the backend. The fix filters, sorts, then pages; NextToken stays moto's
# stringified index (now into the filtered, sorted list) and the summaries keep moto's keys.

# carries SortBy/SortOrder from moto's response handler to the backend, whose call moto hard-codes
_requested_sort: ContextVar[tuple[str | None, str | None]] = ContextVar(
    'requested_sort', default=(None, None)
)


def _probe_job(name: str, modified: datetime) -> SimpleNamespace:
    return SimpleNamespace(
        training_job_name=name,
        arn=f'arn:{name}',
        creation_time=modified,
        training_end_time=modified,
        last_modified_time=modified,
        training_job_status='Completed',
    )


def list_training_jobs_pages_before_filtering(list_training_jobs: Callable[..., Any] | None = None) -> bool:
    """Whether `list_training_jobs` (moto's original by default) pages first and filters the page."""
    old, new = datetime(2020, 1, 1), datetime(2024, 1, 1)
    probe = SimpleNamespace(
        training_jobs={
            'old-1': _probe_job('old-1', old),
            'old-2': _probe_job('old-2', old),
            'new': _probe_job('new', new),
        }
    )
    page = (list_training_jobs or _originals[LIST_TRAINING_JOBS])(
        probe,
        next_token=None,
        max_results=1,
        creation_time_after=None,
        creation_time_before=None,
        last_modified_time_after=datetime(2023, 1, 1),
        last_modified_time_before=None,
        name_contains=None,
        status_equals=None,
    )
    return not page['TrainingJobSummaries'] and page.get('NextToken') is not None


def list_training_jobs_ignores_sort() -> bool:
    """Whether moto's ListTrainingJobs handler drops SortBy/SortOrder before reaching the backend."""
    seen: dict[str, Any] = {}

    def record(**kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs)
        return {'TrainingJobSummaries': [], 'NextToken': None}

    params = {'SortBy': 'Name', 'SortOrder': 'Descending'}
    probe = SimpleNamespace(
        _get_param=lambda name, if_none=None: params.get(name, if_none),
        _get_int_param=lambda name, if_none=None: if_none,
        sagemaker_backend=SimpleNamespace(list_training_jobs=record),
    )
    _originals['list_training_jobs_response'](probe)
    return (seen.get('sort_by'), seen.get('sort_order')) != ('Name', 'Descending')


def _list_training_jobs_response(self: SageMakerResponse) -> Any:
    token = _requested_sort.set((self._get_param('SortBy'), self._get_param('SortOrder')))
    try:
        return _originals['list_training_jobs_response'](self)
    finally:
        _requested_sort.reset(token)


_SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    'CreationTime': lambda job: job.creation_time,
    'Name': lambda job: job.training_job_name,
    'Status': lambda job: job.training_job_status,
}


def _list_training_jobs(  # noqa: PLR0913 (moto's own signature, which it replaces)
    self: SageMakerModelBackend,
    next_token: str | None,
    max_results: int | None,
    creation_time_after: datetime | None,
    creation_time_before: datetime | None,
    last_modified_time_after: datetime | None,
    last_modified_time_before: datetime | None,
    name_contains: str | None,
    status_equals: str | None,
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> dict[str, Any]:
    requested_by, requested_order = _requested_sort.get()
    sort_by = sort_by or requested_by or 'CreationTime'
    sort_order = sort_order or requested_order or 'Ascending'
    jobs = [
        job
        for job in self.training_jobs.values()
        if (name_contains is None or name_contains in job.training_job_name)
        and (creation_time_after is None or job.creation_time > creation_time_after)
        and (creation_time_before is None or job.creation_time < creation_time_before)
        and (last_modified_time_after is None or job.last_modified_time > last_modified_time_after)
        and (last_modified_time_before is None or job.last_modified_time < last_modified_time_before)
        and (status_equals is None or job.training_job_status == status_equals)
    ]
    key = _SORT_KEYS.get(sort_by, _SORT_KEYS['CreationTime'])
    jobs.sort(key=lambda job: (key(job), job.training_job_name), reverse=sort_order == 'Descending')
    start = 0
    if next_token:
        try:
            start = int(next_token)
        except ValueError:
            start = -1
        if not 0 <= start <= len(jobs):
            raise AWSValidationException('Invalid pagination token because "{0}".')
    end = start + max_results if max_results else len(jobs)
    return {
        'TrainingJobSummaries': [
            {
                'TrainingJobName': job.training_job_name,
                'TrainingJobArn': job.arn,
                'CreationTime': job.creation_time,
                'TrainingEndTime': job.training_end_time,
                'LastModifiedTime': job.last_modified_time,
                'TrainingJobStatus': job.training_job_status,
            }
            for job in jobs[start:end]
        ],
        'NextToken': str(end) if end < len(jobs) else None,
    }


# ---- c. ListTags/AddTags: HTTP 500 on a compilation job created without Tags ---------------------
# moto 5.2.5 CompilationJob keeps `tags=None` when CreateCompilationJob has no Tags, and ListTags then
# fails in its paginator (len(None)), AddTags in `None.extend`. AWS answers an empty tag list.


def untagged_compilation_job_keeps_none(init: Callable[..., Any] | None = None) -> bool:
    """Whether `init` (moto's original CompilationJob constructor by default) keeps Tags as None."""
    job: Any = CompilationJob.__new__(CompilationJob)
    (init or _originals[UNTAGGED_COMPILATION_JOB])(
        job,
        compilation_job_name='dda-portal-probe-untagged',
        role_arn='arn:aws:iam::000000000000:role/probe',
        region_name='us-east-1',
        account_id=DEFAULT_ACCOUNT_ID,
        output_config={'S3OutputLocation': 's3://probe/', 'TargetDevice': 'jetson_nano'},
        stopping_condition={},
        model_package_version_arn=None,
        input_config={'S3Uri': 's3://probe/model.tar.gz', 'Framework': 'PYTORCH'},
        vpc_config=None,
        tags=None,
    )
    return job.tags is None


def _compilation_job_init(self: CompilationJob, *args: Any, **kwargs: Any) -> None:
    _originals[UNTAGGED_COMPILATION_JOB](self, *args, **kwargs)
    if self.tags is None:
        self.tags = []
