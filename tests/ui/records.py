"""Store records for page tests, written through the same `Store.apply` the refresh uses."""

from __future__ import annotations

from datetime import timedelta

from nicegui import app

from dda_portal.domain.changes import Changed
from dda_portal.domain.clock import utcnow
from dda_portal.domain.status import CompilationStatus
from dda_portal.pages.feeds import settled
from dda_portal.queries.refresh import CompilationJobFacts, CycleResult, TrainingJobFacts
from dda_portal.store import Store

LABELS = {'jetson-xavier': 'NVIDIA Jetson Xavier', 'x86_64-cpu': 'x86_64 CPU', 'arm64-cpu': 'ARM64 CPU'}


def store() -> Store:
    return app.state.portal.store


def training(name: str, status: str = 'Completed', minutes_ago: int = 60) -> TrainingJobFacts:
    created = utcnow() - timedelta(minutes=minutes_ago)
    return TrainingJobFacts(
        name=name,
        arn=f'arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}',
        status=status,
        secondary_status=None,
        failure_reason=None,
        created_at=created,
        started_at=created,
        ended_at=created + timedelta(minutes=20) if status == 'Completed' else None,
        last_modified=created,
        instance_type='ml.g4dn.xlarge',
        instance_count=1,
        model_artifact=f's3://dda-models/out/{name}/output/model.tar.gz',
        output_prefix=f's3://dda-models/out/{name}/',
        billable_seconds=1200,
        training_seconds=1200,
    )


def compilation(
    training_job: str,
    target: str,
    status: CompilationStatus,
    reason: str | None = None,
    attempt_suffix: int = 1,
    started_minutes_ago: int = 10,
) -> CompilationJobFacts:
    name = f'{training_job}-{target.replace("_", "-")}-{attempt_suffix}'
    started = utcnow() - timedelta(minutes=started_minutes_ago)
    final = status in (CompilationStatus.COMPLETED, CompilationStatus.FAILED, CompilationStatus.STOPPED)
    return CompilationJobFacts(
        name=name,
        arn=f'arn:aws:sagemaker:us-east-1:123456789012:compilation-job/{name}',
        status=status,
        failure_reason=reason,
        created_at=started - timedelta(seconds=30 - attempt_suffix),
        started_at=None if status is CompilationStatus.STARTING else started,
        ended_at=started + timedelta(minutes=4) if final else None,
        last_modified=utcnow(),
        artifact=f's3://dda-models/compiled/{name}/' if status is CompilationStatus.COMPLETED else None,
        input_uri=f's3://dda-models/out/{training_job}/output/model.tar.gz',
        framework='PYTORCH',
        max_runtime_seconds=900,
        target_id=target,
        target_label=LABELS[target],
        tags={'dda-portal:training-job': training_job, 'dda-portal:target': target},
    )


async def write(*facts: TrainingJobFacts | CompilationJobFacts) -> Changed:
    """Commit like a refresh cycle does, tell the open pages as the refresh does, and wait until the pages'
    feeds have read the change and handed it to the tabs."""
    cycle = CycleResult(
        started_at=utcnow(),
        aws_calls=0,
        training_jobs=[f for f in facts if isinstance(f, TrainingJobFacts)],
        compilation_jobs=[f for f in facts if isinstance(f, CompilationJobFacts)],
    )
    changed = store().apply(cycle)
    store().changed.emit(changed.placed(store().place))  # as the refresh of this place tells the pages
    await settled()
    return changed
