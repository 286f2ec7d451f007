"""What a refresh writes (one transaction per part) and its bookkeeping: cycles, parts, watermarks,
follow-ups, and the freshness every page shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..domain import linking
from ..domain.changes import Changed
from ..domain.clock import utcnow
from ..domain.refresh import COMPONENTS, DEVICES, SAGEMAKER
from ..domain.status import CompilationStatus, TrainingStatus
from ..tables import (
    CompilationAttempt,
    ComponentVersion,
    CoreDevice,
    InstalledComponent,
    SyncCycle,
    SyncFollowUp,
    SyncPart,
    SyncState,
    TrainingJob,
)
from . import alerts
from .attempts import recompute_rollup
from .deployments import RolloutFacts, write_rollouts
from .fleet import upsert_component
from .inventory import replace_inventory
from .jobs import CHUNK, attempt, next_attempt_number
from .matrix import record_platforms
from .places import here, place_of

KEEP_SYNC_CYCLES = 2000


@dataclass
class TrainingJobFacts:
    """One training job as described by SageMaker, already in the portal's words."""

    name: str
    arn: str
    status: TrainingStatus
    secondary_status: str | None
    failure_reason: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    last_modified: datetime
    instance_type: str | None
    instance_count: int | None
    model_artifact: str | None
    output_prefix: str | None
    billable_seconds: int | None
    training_seconds: int | None


@dataclass
class CompilationJobFacts:
    """One compilation job as described by SageMaker, with its target recognised."""

    name: str
    arn: str
    status: CompilationStatus
    failure_reason: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    last_modified: datetime
    artifact: str | None
    input_uri: str | None
    framework: str | None
    max_runtime_seconds: int | None
    target_id: str
    target_label: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class CycleResult:
    """What one refresh (or one part of it) read from AWS, to be written in one transaction."""

    started_at: datetime
    aws_calls: int
    training_jobs: list[TrainingJobFacts] = field(default_factory=list)
    compilation_jobs: list[CompilationJobFacts] = field(default_factory=list)
    gone_compilation_jobs: list[str] = field(default_factory=list)
    watermarks: dict[str, datetime] = field(default_factory=dict)
    component_versions: list[ComponentVersion] = field(default_factory=list)
    component_tags: dict[str, dict[str, str]] = field(default_factory=dict)  # version ARN → tags
    # recipe platforms (JSON) of versions stored before their recipe was read (once per version)
    component_platforms: dict[str, str] = field(default_factory=dict)
    devices: list[CoreDevice] | None = None  # a full inventory when the device refresh was due
    partial_inventory: bool = False  # `devices` are only those a followed rollout targets
    installed: list[InstalledComponent] = field(default_factory=list)
    rollouts: RolloutFacts | None = None  # deployments, devices' executions, thing groups (devices part)


class _SessionLookup(linking.TrainingJobLookup):
    def __init__(self, session: Session) -> None:
        self.session = session

    def training_job_exists(self, name: str) -> bool:
        return self.session.get(TrainingJob, (place_of(self.session), name)) is not None

    def training_job_by_model_artifact(self, s3_uri: str) -> str | None:
        query = select(TrainingJob.name).where(
            here(TrainingJob.use_case, self.session), TrainingJob.model_artifact == s3_uri
        )
        return self.session.exec(query).first()

    def training_job_by_output_prefix(self, s3_prefix: str) -> str | None:
        query = select(TrainingJob.name).where(
            here(TrainingJob.use_case, self.session), TrainingJob.output_prefix == s3_prefix
        )
        return self.session.exec(query).first()


def write_cycle(session: Session, cycle: CycleResult) -> Changed:
    """Everything a refresh (or a part of it) read; what changed. Changed training jobs are queued as
    follow-ups in the same transaction (the refresh acts on them: automatic compilation and packaging)."""
    # a part's first success is the history loaded at first start: it records no alert
    with alerts.quiet(session, _first_success(session, SAGEMAKER)):
        changed = Changed(training_jobs=frozenset(_write_sagemaker(session, cycle)))
    with alerts.quiet(session, _first_success(session, COMPONENTS)):
        for version in cycle.component_versions:
            changed |= upsert_component(session, version, cycle.component_tags.get(version.arn, {}))
    changed |= record_platforms(session, cycle.component_platforms)
    if cycle.devices is not None:
        with alerts.quiet(session, _first_success(session, DEVICES)):
            changed |= replace_inventory(
                session, cycle.devices, cycle.installed, partial=cycle.partial_inventory
            )
    if cycle.rollouts is not None:
        changed |= write_rollouts(session, cycle.rollouts, cycle.started_at)
    place = place_of(session)
    for name in changed.training_jobs:
        session.merge(SyncFollowUp(use_case=place, training_job_name=name, queued_at=cycle.started_at))
    for key, value in cycle.watermarks.items():
        session.merge(SyncState(use_case=place, key=key, value=value))
    return changed


def _write_sagemaker(session: Session, cycle: CycleResult) -> set[str]:
    """The training and compilation jobs a refresh read, their rollups recomputed; the training jobs that
    changed."""
    jobs: set[str] = set()
    for facts in cycle.training_jobs:
        jobs.add(facts.name)
        _upsert_training_job(session, facts)
    session.flush()
    lookup = _SessionLookup(session)
    completed: set[str] = set()  # training jobs with an attempt that completed now
    for job in sorted(cycle.compilation_jobs, key=lambda j: j.created_at):
        if owner := _upsert_attempt(session, job, lookup, completed):
            jobs.add(owner)
    if cycle.training_jobs:
        jobs |= _link_orphans(session, lookup)
    for name in cycle.gone_compilation_jobs:
        found = attempt(session, name)
        if found and found.in_aws:
            found.in_aws = False
            if found.training_job_name:
                jobs.add(found.training_job_name)
    session.flush()
    for name in jobs:
        recompute_rollup(session, name)
    alerts.compiled_everywhere(session, completed)
    return jobs


def _first_success(session: Session, part: str) -> bool:
    """True while this part of the refresh has never been written in the session's place (its first listing
    loads history)."""
    row = session.get(SyncPart, (place_of(session), part))
    return row is None or row.last_success is None


def _part(session: Session, part: str) -> SyncPart:
    place = place_of(session)
    return session.get(SyncPart, (place, part)) or SyncPart(use_case=place, part=part)


def mark_part_succeeded(session: Session, part: str) -> None:
    row = _part(session, part)
    row.last_success = utcnow()
    row.failed_at = row.error_code = row.error_message = row.error_call = None
    session.add(row)


def mark_part_failed(
    session: Session, part: str, failed_at: datetime, code: str, message: str, call: str
) -> None:
    """A part that failed writes nothing but this; its last good data and last success stay."""
    row = _part(session, part)
    row.failed_at, row.error_code, row.error_message = failed_at, code, message
    row.error_call = call or None
    session.add(row)


def add_cycle(
    session: Session,
    started_at: datetime,
    aws_calls: int,
    changed_training_jobs: int,
    error: tuple[str, str] | None = None,
) -> None:
    """One row per refresh: ok when every part (and the acting on it) succeeded, else the first error."""
    session.add(
        SyncCycle(
            use_case=place_of(session),
            started_at=started_at,
            finished_at=utcnow(),
            ok=error is None,
            aws_calls=aws_calls,
            changed_training_jobs=changed_training_jobs,
            error_code=error[0] if error else None,
            error_message=error[1] if error else None,
        )
    )
    newest = session.exec(select(func.max(SyncCycle.id))).first() or 0
    if newest > KEEP_SYNC_CYCLES and newest % 100 == 0:
        for old in session.exec(select(SyncCycle).where(col(SyncCycle.id) <= newest - KEEP_SYNC_CYCLES)):
            session.delete(old)


def watermark(session: Session, key: str) -> datetime | None:
    state = session.get(SyncState, (place_of(session), key))
    return state.value if state else None


def follow_ups(session: Session) -> frozenset[str]:
    """Training jobs of the session's place with committed changes the refresh has not finished acting on."""
    query = select(SyncFollowUp.training_job_name).where(here(SyncFollowUp.use_case, session))
    return frozenset(session.exec(query))


def forget_follow_ups(session: Session, names: Iterable[str]) -> None:
    """The refresh acted on these (write)."""
    ordered = sorted(names)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        query = select(SyncFollowUp).where(
            here(SyncFollowUp.use_case, session), col(SyncFollowUp.training_job_name).in_(chunk)
        )
        for row in session.exec(query):
            session.delete(row)


def _upsert_training_job(session: Session, facts: TrainingJobFacts) -> None:
    place = place_of(session)
    row = session.get(TrainingJob, (place, facts.name))
    values: dict[str, Any] = {k: getattr(facts, k) for k in facts.__dataclass_fields__}
    if row is None:
        session.add(TrainingJob(**values, use_case=place, first_seen_status=facts.status))
    else:
        for key, value in values.items():
            setattr(row, key, value)


def _upsert_attempt(
    session: Session, job: CompilationJobFacts, lookup: linking.TrainingJobLookup, completed: set[str]
) -> str | None:
    """The attempt as SageMaker describes it (its alert recorded when it failed now); its training job's name
    (added to `completed` when the attempt completed now)."""
    row = attempt(session, job.name)
    values: dict[str, Any] = {
        'arn': job.arn,
        'status': job.status,
        'failure_reason': job.failure_reason or None,
        'created_at': job.created_at,
        'started_at': job.started_at,
        'ended_at': job.ended_at,
        'last_modified': job.last_modified,
        'artifact': job.artifact,
        'input_uri': job.input_uri,
        'framework': job.framework,
        'max_runtime_seconds': job.max_runtime_seconds,
        'in_aws': True,
    }
    if row is not None:
        before = row.status
        for key, value in values.items():
            setattr(row, key, value)
        if alerts.attempt_moved(session, row, before) and row.training_job_name:
            completed.add(row.training_job_name)
        return row.training_job_name
    owner = linking.owner_of(job.name, job.tags, job.input_uri, lookup)
    row = CompilationAttempt(
        use_case=place_of(session),
        job_name=job.name,
        training_job_name=owner,
        target_id=job.target_id,
        target_label=job.target_label,
        origin=job.tags.get(linking.TAG_ORIGIN, 'external'),
        **values,
    )
    if owner:
        row.attempt = next_attempt_number(session, owner, job.target_id)
    session.add(row)
    session.flush()
    if alerts.attempt_moved(session, row, None) and owner:
        completed.add(owner)
    return owner


def _link_orphans(session: Session, lookup: linking.TrainingJobLookup) -> set[str]:
    """Compilation jobs seen before their training job get linked once it arrives."""
    changed: set[str] = set()
    orphans = session.exec(
        select(CompilationAttempt)
        .where(
            here(CompilationAttempt.use_case, session), col(CompilationAttempt.training_job_name).is_(None)
        )
        .order_by(col(CompilationAttempt.created_at))
    )
    for orphan in list(orphans):
        owner = linking.owner_of(orphan.job_name, {}, orphan.input_uri, lookup)
        if owner:
            orphan.training_job_name = owner
            orphan.attempt = next_attempt_number(session, owner, orphan.target_id)
            session.flush()
            changed.add(owner)
    return changed
