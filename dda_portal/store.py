"""The system of record: SQLModel tables in SQLite (WAL), the queries pages need, and `changed`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nicegui import Event
from sqlalchemy import Index, func, text
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from . import migrations
from .domain import linking
from .domain.attempts import StartDecision, may_start
from .domain.greengrass import TAG_COMPILATION_JOB
from .domain.refresh import SAGEMAKER
from .domain.status import ACTIVE_COMPILATION, CompilationStatus, Rollup, compiled_count, rollup_for

log = logging.getLogger(__name__)

KEEP_SYNC_CYCLES = 2000
# in the enum's order: the index's WHERE clause is the same text in every process (and in the baseline)
LIVE_STATUSES_SQL = ', '.join(
    f"'{s.value}'" for s in CompilationStatus if s in ACTIVE_COMPILATION or s is CompilationStatus.COMPLETED
)
HEALTH_PROBE_BUSY_MS = 1000
DEFAULT_BUSY_MS = 30_000


def utcnow() -> datetime:
    """Aware UTC, the one time representation the store keeps."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Any timestamp (AWS gives aware local ones) as aware UTC; naive ones are taken as UTC."""
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


class TrainingJob(SQLModel, table=True):
    __tablename__ = 'training_job'

    name: str = Field(primary_key=True)
    arn: str = ''
    status: str = Field(index=True)
    secondary_status: str | None = None
    failure_reason: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    last_modified: datetime
    instance_type: str | None = None
    instance_count: int | None = None
    model_artifact: str | None = Field(default=None, index=True)
    output_prefix: str | None = Field(default=None, index=True)
    billable_seconds: int | None = None
    training_seconds: int | None = None
    first_seen_at: datetime = Field(default_factory=utcnow)
    first_seen_status: str = ''
    # derived from the attempts on every write, so the list page needs no join
    rollup: str = Field(default=Rollup.NOT_COMPILED.value, index=True)
    targets_compiled: int = 0
    targets_total: int = 0
    auto_compiled_at: datetime | None = None


class CompilationAttempt(SQLModel, table=True):
    __tablename__ = 'compilation_attempt'
    # never two live attempts the portal started for one (training job, target): a second click, tab or
    # colleague loses here even if it got past the checks before
    __table_args__ = (
        Index(
            'one_live_attempt_per_target',
            'training_job_name',
            'target_id',
            unique=True,
            sqlite_where=text(f'reserved AND status IN ({LIVE_STATUSES_SQL})'),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_name: str = Field(unique=True)
    arn: str = ''
    training_job_name: str | None = Field(default=None, index=True)
    target_id: str = Field(index=True)
    target_label: str
    attempt: int = 1
    status: str
    failure_reason: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    last_modified: datetime
    artifact: str | None = None
    input_uri: str | None = None
    framework: str | None = None
    max_runtime_seconds: int | None = None
    origin: str = 'external'
    reserved: bool = False  # started by this portal (covered by the one-live-attempt constraint)
    in_aws: bool = True


class ComponentVersion(SQLModel, table=True):
    """A Greengrass v2 component version, linked to the compilation attempt it packages when known."""

    __tablename__ = 'component_version'
    # one package per attempt made by this portal, however many clicks or restarts
    __table_args__ = (
        Index(
            'one_package_per_attempt',
            'compilation_job_name',
            unique=True,
            sqlite_where=text("origin = 'portal'"),
        ),
    )

    arn: str = Field(primary_key=True)
    component_name: str = Field(index=True)
    component_version: str
    state: str
    message: str | None = None
    errors: str | None = None  # JSON object: artifact URI → reason
    created_at: datetime | None = None
    compilation_job_name: str | None = Field(default=None, index=True)
    training_job_name: str | None = Field(default=None, index=True)
    target_id: str | None = None
    architecture: str | None = None
    artifact_uri: str | None = None
    origin: str = 'external'


class CoreDevice(SQLModel, table=True):
    __tablename__ = 'core_device'

    thing_name: str = Field(primary_key=True)
    status: str | None = None
    architecture: str | None = None
    platform: str | None = None
    last_status_update: datetime | None = None
    refreshed_at: datetime


class InstalledComponent(SQLModel, table=True):
    __tablename__ = 'installed_component'

    id: int | None = Field(default=None, primary_key=True)
    thing_name: str = Field(index=True)
    component_name: str = Field(index=True)
    component_version: str
    lifecycle_state: str | None = None
    last_status_change: datetime | None = None
    last_reported: datetime | None = None


class SyncCycle(SQLModel, table=True):
    __tablename__ = 'sync_cycle'

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    finished_at: datetime
    ok: bool
    aws_calls: int = 0
    changed_training_jobs: int = 0
    error_code: str | None = None
    error_message: str | None = None


class SyncState(SQLModel, table=True):
    __tablename__ = 'sync_state'

    key: str = Field(primary_key=True)
    value: datetime


class SyncFollowUp(SQLModel, table=True):
    """A training job whose changes a refresh committed and has not finished acting on yet (automatic
    compilation and packaging): kept in the same transaction as the changes, so a restart loses none."""

    __tablename__ = 'sync_follow_up'

    training_job_name: str = Field(primary_key=True)
    queued_at: datetime


class SyncPart(SQLModel, table=True):
    """How each part of the refresh (SageMaker, Greengrass components, devices) last went: its last
    success, and its failure since then (cleared by its next success)."""

    __tablename__ = 'sync_part'

    part: str = Field(primary_key=True)
    last_success: datetime | None = None
    failed_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_call: str | None = None  # the AWS operation that failed, when known


class HealthProbe(SQLModel, table=True):
    """One row /readyz rewrites: proof that the database file takes writes."""

    __tablename__ = 'health_probe'

    id: int | None = Field(default=None, primary_key=True)
    checked_at: datetime


@dataclass
class TrainingJobFacts:
    """One training job as described by SageMaker, already in the portal's words."""

    name: str
    arn: str
    status: str
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
    started_at: datetime
    aws_calls: int
    training_jobs: list[TrainingJobFacts] = field(default_factory=list)
    compilation_jobs: list[CompilationJobFacts] = field(default_factory=list)
    gone_compilation_jobs: list[str] = field(default_factory=list)
    watermarks: dict[str, datetime] = field(default_factory=dict)
    component_versions: list[ComponentVersion] = field(default_factory=list)
    component_tags: dict[str, dict[str, str]] = field(default_factory=dict)  # version ARN → tags
    devices: list[CoreDevice] | None = None  # a full inventory when the device refresh was due
    installed: list[InstalledComponent] = field(default_factory=list)


@dataclass(frozen=True)
class Freshness:
    """How old the data on screen is, and whether the last refresh (or a part of it) failed."""

    last_success: datetime | None  # SageMaker's part: the training and compilation jobs shown
    last_failure: SyncCycle | None
    parts: dict[str, SyncPart] = field(default_factory=dict)
    last_full_refresh: datetime | None = None  # the last refresh in which every part succeeded


class _SessionLookup(linking.TrainingJobLookup):
    def __init__(self, session: Session) -> None:
        self.session = session

    def training_job_exists(self, name: str) -> bool:
        return self.session.get(TrainingJob, name) is not None

    def training_job_by_model_artifact(self, s3_uri: str) -> str | None:
        query = select(TrainingJob.name).where(TrainingJob.model_artifact == s3_uri)
        return self.session.exec(query).first()

    def training_job_by_output_prefix(self, s3_prefix: str) -> str | None:
        query = select(TrainingJob.name).where(TrainingJob.output_prefix == s3_prefix)
        return self.session.exec(query).first()


class Store:
    def __init__(self, database_url: str) -> None:
        """Open the store, upgrading its schema first (migrations.upgrade: backup, one transaction).

        Raises migrations.UnusableDatabase (a SystemExit: one line, no traceback) for a database newer than
        this code or a file that is not a readable SQLite database; that file is left untouched.
        """
        if database_url.startswith('sqlite:///'):
            Path(database_url.removeprefix('sqlite:///')).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(
            database_url, connect_args={'check_same_thread': False, 'timeout': DEFAULT_BUSY_MS / 1000}
        )
        self.database_file = migrations.sqlite_file(database_url)
        if self.engine.dialect.name == 'sqlite':
            sa_event.listen(self.engine, 'connect', _sqlite_pragmas)
        self.upgraded = migrations.upgrade(self.engine)
        # fired on NiceGUI's loop after each commit, with the names of the training jobs that changed
        self.changed: Event[frozenset[str]] = Event()
        self._freshness = self._read_freshness()
        self._reservations = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    # ---- queries the pages need -------------------------------------------------------------

    def training_jobs(self) -> list[TrainingJob]:
        with self.session() as session:
            return list(session.exec(select(TrainingJob).order_by(col(TrainingJob.created_at).desc())))

    def training_jobs_named(self, names: Iterable[str]) -> list[TrainingJob]:
        names = list(names)
        if not names:
            return []
        with self.session() as session:
            return list(session.exec(select(TrainingJob).where(col(TrainingJob.name).in_(names))))

    def training_job(self, name: str) -> TrainingJob | None:
        with self.session() as session:
            return session.get(TrainingJob, name)

    def attempts_for(self, training_job: str) -> list[CompilationAttempt]:
        """Every attempt of the training job, oldest first."""
        with self.session() as session:
            query = (
                select(CompilationAttempt)
                .where(CompilationAttempt.training_job_name == training_job)
                .order_by(col(CompilationAttempt.target_id), col(CompilationAttempt.attempt))
            )
            return list(session.exec(query))

    def latest_attempts(self, training_job: str) -> list[CompilationAttempt]:
        """The latest attempt of each target of the training job."""
        latest: dict[str, CompilationAttempt] = {}
        for attempt in self.attempts_for(training_job):
            latest[attempt.target_id] = attempt
        return list(latest.values())

    def freshness(self) -> Freshness:
        """Kept in memory (pages ask every second); rewritten after each recorded cycle."""
        return self._freshness

    def _read_freshness(self) -> Freshness:
        with self.session() as session:
            last_ok = session.exec(
                select(func.max(SyncCycle.finished_at)).where(col(SyncCycle.ok).is_(True))
            ).first()
            last = session.exec(select(SyncCycle).order_by(col(SyncCycle.id).desc()).limit(1)).first()
            parts = {row.part: row for row in session.exec(select(SyncPart))}
        full = last_ok
        sagemaker = parts.get(SAGEMAKER)
        if sagemaker is not None and sagemaker.last_success is not None:
            last_ok = sagemaker.last_success  # the data on screen is as old as SageMaker's part
        failure = last if last and not last.ok else None
        return Freshness(last_success=last_ok, last_failure=failure, parts=parts, last_full_refresh=full)

    def last_cycles(self, limit: int = 10) -> list[SyncCycle]:
        with self.session() as session:
            return list(session.exec(select(SyncCycle).order_by(col(SyncCycle.id).desc()).limit(limit)))

    # ---- Greengrass ---------------------------------------------------------------------------

    def components(self, training_job: str | None = None) -> list[ComponentVersion]:
        """Component versions (of one training job, or all), newest first."""
        with self.session() as session:
            query = select(ComponentVersion).order_by(col(ComponentVersion.created_at).desc())
            if training_job is not None:
                query = query.where(ComponentVersion.training_job_name == training_job)
            return list(session.exec(query))

    def component_for_attempt(self, job_name: str) -> ComponentVersion | None:
        with self.session() as session:
            query = select(ComponentVersion).where(ComponentVersion.compilation_job_name == job_name)
            return session.exec(query).first()

    def reserve_component(self, pending: ComponentVersion) -> bool:
        """Hold the attempt's one package before Greengrass is asked; False when it exists already."""
        with self.session() as session:
            session.add(pending)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    def settle_component(self, pending_arn: str, created: ComponentVersion | None) -> None:
        """Replace the reservation by what Greengrass created, or drop it when Greengrass refused."""
        with self.session() as session, session.begin():
            pending = session.get(ComponentVersion, pending_arn)
            if pending is not None:
                session.delete(pending)
                session.flush()
            if created is not None:
                session.merge(created)

    def unsettled_component_arns(self) -> list[str]:
        """Versions Greengrass is still working on (Requested, Initiated)."""
        with self.session() as session:
            query = select(ComponentVersion.arn).where(
                col(ComponentVersion.state).in_(['Requested', 'Initiated'])
            )
            return list(session.exec(query))

    def devices(self) -> list[CoreDevice]:
        with self.session() as session:
            return list(session.exec(select(CoreDevice).order_by(col(CoreDevice.thing_name))))

    def installations(self) -> list[InstalledComponent]:
        with self.session() as session:
            return list(session.exec(select(InstalledComponent).order_by(col(InstalledComponent.thing_name))))

    # ---- what the sync needs -----------------------------------------------------------------

    def watermark(self, key: str) -> datetime | None:
        with self.session() as session:
            state = session.get(SyncState, key)
            return state.value if state else None

    def follow_ups(self) -> frozenset[str]:
        """Training jobs with committed changes the refresh has not finished acting on."""
        with self.session() as session:
            return frozenset(session.exec(select(SyncFollowUp.training_job_name)))

    def forget_follow_ups(self, names: Iterable[str]) -> None:
        """The refresh acted on these."""
        names = sorted(names)
        if not names:
            return
        with self.session() as session, session.begin():
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                for row in session.exec(
                    select(SyncFollowUp).where(col(SyncFollowUp.training_job_name).in_(chunk))
                ):
                    session.delete(row)

    def known_modification_times(
        self, table: type[TrainingJob] | type[CompilationAttempt], names: Sequence[str]
    ) -> dict[str, datetime]:
        """LastModifiedTime the store holds for these jobs (absent when unknown)."""
        key = TrainingJob.name if table is TrainingJob else CompilationAttempt.job_name
        result: dict[str, datetime] = {}
        with self.session() as session:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                query = select(key, table.last_modified).where(col(key).in_(chunk))  # type: ignore[call-overload]
                result.update({name: modified for name, modified in session.exec(query)})
        return result

    def apply(self, cycle: CycleResult) -> frozenset[str]:
        """Write one successful refresh in one transaction, recorded as a cycle; returns the training jobs
        that changed."""
        with self.session() as session, session.begin():
            changed = self._write(session, cycle)
            session.add(
                SyncCycle(
                    started_at=cycle.started_at,
                    finished_at=utcnow(),
                    ok=True,
                    aws_calls=cycle.aws_calls,
                    changed_training_jobs=len(changed),
                )
            )
            self._prune_cycles(session)
        self._freshness = self._read_freshness()
        return frozenset(changed)

    def apply_part(self, part: str, cycle: CycleResult) -> frozenset[str]:
        """Write what one part of a refresh read and that part's success (its failure cleared), in one
        transaction; returns the training jobs that changed."""
        with self.session() as session, session.begin():
            changed = self._write(session, cycle)
            row = session.get(SyncPart, part) or SyncPart(part=part)
            row.last_success = utcnow()
            row.failed_at = row.error_code = row.error_message = row.error_call = None
            session.add(row)
        self._freshness = self._read_freshness()
        return frozenset(changed)

    def record_part_failure(self, part: str, failed_at: datetime, code: str, message: str, call: str) -> None:
        """A part that failed writes nothing but this; its last good data and last success stay."""
        with self.session() as session, session.begin():
            row = session.get(SyncPart, part) or SyncPart(part=part)
            row.failed_at, row.error_code, row.error_message = failed_at, code, message
            row.error_call = call or None
            session.add(row)
        self._freshness = self._read_freshness()

    def record_cycle(
        self,
        started_at: datetime,
        aws_calls: int,
        changed_training_jobs: int,
        error: tuple[str, str] | None = None,
    ) -> None:
        """One row per refresh: ok when every part (and the acting on it) succeeded, else the first error."""
        with self.session() as session, session.begin():
            session.add(
                SyncCycle(
                    started_at=started_at,
                    finished_at=utcnow(),
                    ok=error is None,
                    aws_calls=aws_calls,
                    changed_training_jobs=changed_training_jobs,
                    error_code=error[0] if error else None,
                    error_message=error[1] if error else None,
                )
            )
            self._prune_cycles(session)
        self._freshness = self._read_freshness()

    def _write(self, session: Session, cycle: CycleResult) -> set[str]:
        """Everything a refresh (or a part of it) read; the training jobs that changed."""
        changed: set[str] = set()
        for facts in cycle.training_jobs:
            changed.add(facts.name)
            self._upsert_training_job(session, facts)
        session.flush()
        lookup = _SessionLookup(session)
        for job in sorted(cycle.compilation_jobs, key=lambda j: j.created_at):
            owner = self._upsert_attempt(session, job, lookup)
            if owner:
                changed.add(owner)
        if cycle.training_jobs:
            changed |= self._link_orphans(session, lookup)
        for name in cycle.gone_compilation_jobs:
            attempt = session.exec(
                select(CompilationAttempt).where(CompilationAttempt.job_name == name)
            ).first()
            if attempt and attempt.in_aws:
                attempt.in_aws = False
                if attempt.training_job_name:
                    changed.add(attempt.training_job_name)
        session.flush()
        for name in changed:
            self._recompute_rollup(session, name)
        for version in cycle.component_versions:
            changed |= self._upsert_component(session, version, cycle.component_tags.get(version.arn, {}))
        if cycle.devices is not None:
            changed |= self._replace_inventory(session, cycle.devices, cycle.installed)
        for name in changed:
            session.merge(SyncFollowUp(training_job_name=name, queued_at=cycle.started_at))
        for key, value in cycle.watermarks.items():
            session.merge(SyncState(key=key, value=value))
        return changed

    def write_problem(self) -> str | None:
        """None when the database takes a write now (one short transaction on health_probe), else why not.

        Waits at most HEALTH_PROBE_BUSY_MS for another writer's lock; blocking, so call it off the event loop.
        """
        sqlite = self.engine.dialect.name == 'sqlite'
        upsert = text(
            'INSERT INTO health_probe (id, checked_at) VALUES (1, :now) '
            'ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at'
        )
        try:
            with self.engine.connect() as connection:
                if sqlite:
                    connection.exec_driver_sql(f'PRAGMA busy_timeout = {HEALTH_PROBE_BUSY_MS}')
                    connection.commit()
                try:
                    if sqlite:  # the write lock now, not at commit
                        connection.exec_driver_sql('BEGIN IMMEDIATE')
                    connection.execute(upsert, {'now': utcnow().replace(tzinfo=None)})
                    connection.commit()
                finally:
                    connection.rollback()
                    if sqlite:
                        connection.exec_driver_sql(f'PRAGMA busy_timeout = {DEFAULT_BUSY_MS}')
                        connection.commit()
        except SQLAlchemyError as error:
            return _reason(error)
        return None

    # ---- attempts the portal starts ----------------------------------------------------------

    def attempt(self, job_name: str) -> CompilationAttempt | None:
        with self.session() as session:
            return _by_name(session, job_name)

    def latest_attempt(self, training_job: str, target_id: str) -> CompilationAttempt | None:
        with self.session() as session:
            return _latest(session, training_job, target_id)

    def reserve_attempt(
        self,
        training_job: str,
        target_id: str,
        target_label: str,
        name_for: Callable[[int], str],
        origin: str,
    ) -> CompilationAttempt | StartDecision:
        """Write the new attempt as Starting before AWS is asked, or say why it may not start.

        The check and the insert happen under one lock and in one transaction; the unique index turns away
        a concurrent writer from another process.
        """
        with self._reservations, self.session() as session:
            job = session.get(TrainingJob, training_job)
            if job is None:
                return StartDecision(False, f'The portal knows no training job {training_job!r}.')
            latest = _latest(session, training_job, target_id)
            decision = may_start(
                job.status,
                CompilationStatus(latest.status) if latest else None,
                latest.attempt if latest else 0,
            )
            if not decision.allowed:
                return decision
            now = utcnow()
            attempt = CompilationAttempt(
                job_name=name_for(decision.attempt),
                training_job_name=training_job,
                target_id=target_id,
                target_label=target_label,
                attempt=decision.attempt,
                status=CompilationStatus.STARTING.value,
                created_at=now,
                last_modified=now,
                origin=origin,
                reserved=True,
                input_uri=job.model_artifact,
            )
            session.add(attempt)
            try:
                session.flush()
                self._recompute_rollup(session, training_job)
                session.commit()
            except IntegrityError:
                session.rollback()
                return StartDecision(False, 'Another request started this target a moment ago.')
            return attempt

    def confirm_attempt(self, job_name: str, arn: str, framework: str, max_runtime_seconds: int) -> None:
        """AWS accepted the job: keep its ARN (the sync fills in the rest)."""
        with self.session() as session, session.begin():
            attempt = _by_name(session, job_name)
            if attempt is not None:
                attempt.arn, attempt.framework = arn, framework
                attempt.max_runtime_seconds = max_runtime_seconds

    def release_attempt(self, job_name: str) -> None:
        """AWS refused the job: nothing of it stays."""
        with self.session() as session, session.begin():
            attempt = _by_name(session, job_name)
            if attempt is not None and not attempt.arn:
                session.delete(attempt)
                session.flush()
                if attempt.training_job_name:
                    self._recompute_rollup(session, attempt.training_job_name)

    def set_attempt_status(
        self, job_name: str, status: CompilationStatus, reason: str | None = None
    ) -> str | None:
        """A status the portal knows before the next refresh (e.g. Stopping); the training job's name."""
        with self.session() as session, session.begin():
            attempt = _by_name(session, job_name)
            if attempt is None:
                return None
            attempt.status = status.value
            if reason is not None:
                attempt.failure_reason = reason
            attempt.last_modified = utcnow()
            if attempt.training_job_name:
                session.flush()
                self._recompute_rollup(session, attempt.training_job_name)
            return attempt.training_job_name

    def unconfirmed_attempts(self, older_than: datetime) -> list[CompilationAttempt]:
        """Attempts reserved but never confirmed by AWS (the portal stopped in between)."""
        with self.session() as session:
            query = select(CompilationAttempt).where(
                col(CompilationAttempt.reserved).is_(True),
                CompilationAttempt.arn == '',
                CompilationAttempt.status == CompilationStatus.STARTING.value,
                col(CompilationAttempt.created_at) < older_than,
            )
            return list(session.exec(query))

    def claim_auto_compile(self, training_job: str) -> bool:
        """True once per training job, ever: it newly reached Completed while the portal watched."""
        with self._reservations, self.session() as session, session.begin():
            job = session.get(TrainingJob, training_job)
            if (
                job is None
                or job.auto_compiled_at is not None
                or job.status != 'Completed'
                or job.first_seen_status == 'Completed'
            ):
                return False
            job.auto_compiled_at = utcnow()
            return True

    def auto_compile_candidates(self, names: Iterable[str]) -> list[str]:
        return [
            job.name
            for job in self.training_jobs_named(names)
            if job.status == 'Completed'
            and job.first_seen_status != 'Completed'
            and job.auto_compiled_at is None
        ]

    # ---- internals ---------------------------------------------------------------------------

    @staticmethod
    def _upsert_training_job(session: Session, facts: TrainingJobFacts) -> None:
        row = session.get(TrainingJob, facts.name)
        values: dict[str, Any] = {k: getattr(facts, k) for k in facts.__dataclass_fields__}
        if row is None:
            session.add(TrainingJob(**values, first_seen_status=facts.status))
        else:
            for key, value in values.items():
                setattr(row, key, value)

    @staticmethod
    def _upsert_attempt(
        session: Session, job: CompilationJobFacts, lookup: linking.TrainingJobLookup
    ) -> str | None:
        row = session.exec(select(CompilationAttempt).where(CompilationAttempt.job_name == job.name)).first()
        values: dict[str, Any] = {
            'arn': job.arn,
            'status': job.status.value,
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
            for key, value in values.items():
                setattr(row, key, value)
            return row.training_job_name
        owner = linking.owner_of(job.name, job.tags, job.input_uri, lookup)
        origin = job.tags.get(linking.TAG_ORIGIN, 'external')
        row = CompilationAttempt(
            job_name=job.name,
            training_job_name=owner,
            target_id=job.target_id,
            target_label=job.target_label,
            origin=origin,
            **values,
        )
        if owner:
            row.attempt = _next_attempt_number(session, owner, job.target_id)
        session.add(row)
        session.flush()
        return owner

    @staticmethod
    def _upsert_component(session: Session, version: ComponentVersion, tags: dict[str, str]) -> set[str]:
        row = session.get(ComponentVersion, version.arn)
        if row is None:
            attempt = _attempt_for_component(session, tags, version.artifact_uri)
            if attempt is not None:
                version.compilation_job_name = attempt.job_name
                version.training_job_name = attempt.training_job_name
                version.target_id = attempt.target_id
            session.add(version)
            return {version.training_job_name} if version.training_job_name else set()
        row.state, row.message, row.errors = version.state, version.message, version.errors
        return {row.training_job_name} if row.training_job_name else set()

    @staticmethod
    def _replace_inventory(
        session: Session, devices: list[CoreDevice], installed: list[InstalledComponent]
    ) -> set[str]:
        """The fleet as Greengrass reports it now; training jobs whose components run there changed."""
        for old in session.exec(select(InstalledComponent)):
            session.delete(old)
        for device in devices:
            session.merge(device)
        session.add_all(installed)
        session.flush()
        names = {(i.component_name, i.component_version) for i in installed}
        owners = session.exec(
            select(
                ComponentVersion.training_job_name,
                ComponentVersion.component_name,
                ComponentVersion.component_version,
            )
        )
        return {owner for owner, name, version in owners if owner and (name, version) in names}

    @staticmethod
    def _link_orphans(session: Session, lookup: linking.TrainingJobLookup) -> set[str]:
        """Compilation jobs seen before their training job get linked once it arrives."""
        changed: set[str] = set()
        orphans = session.exec(
            select(CompilationAttempt)
            .where(col(CompilationAttempt.training_job_name).is_(None))
            .order_by(col(CompilationAttempt.created_at))
        )
        for orphan in list(orphans):
            owner = linking.owner_of(orphan.job_name, {}, orphan.input_uri, lookup)
            if owner:
                orphan.training_job_name = owner
                orphan.attempt = _next_attempt_number(session, owner, orphan.target_id)
                session.flush()
                changed.add(owner)
        return changed

    @staticmethod
    def _recompute_rollup(session: Session, training_job: str) -> None:
        row = session.get(TrainingJob, training_job)
        if row is None:
            return
        latest: dict[str, CompilationStatus] = {}
        query = (
            select(CompilationAttempt.target_id, CompilationAttempt.status)
            .where(CompilationAttempt.training_job_name == training_job)
            .order_by(col(CompilationAttempt.attempt))
        )
        for target_id, status in session.exec(query):
            latest[target_id] = CompilationStatus(status)
        row.rollup = rollup_for(latest.values()).value
        count = compiled_count(latest.values())
        row.targets_compiled, row.targets_total = count.compiled, count.total

    @staticmethod
    def _prune_cycles(session: Session) -> None:
        newest = session.exec(select(func.max(SyncCycle.id))).first() or 0
        if newest > KEEP_SYNC_CYCLES and newest % 100 == 0:
            for old in session.exec(select(SyncCycle).where(col(SyncCycle.id) <= newest - KEEP_SYNC_CYCLES)):
                session.delete(old)

    # ---- the training-jobs list --------------------------------------------------------------

    def latest_attempts_by_training_job(
        self, training_jobs: Iterable[str] | None = None
    ) -> dict[str, list[CompilationAttempt]]:
        """The latest attempt of each target, for many training jobs at once (all of them when None).

        One query (per 500 names when names are given); each job's attempts are ordered by target label.
        """
        chunks: list[list[str] | None] = [None]
        if training_jobs is not None:
            names = sorted(set(training_jobs))
            chunks = [names[start : start + 500] for start in range(0, len(names), 500)]
        attempt = CompilationAttempt
        result: dict[str, list[CompilationAttempt]] = {}
        with self.session() as session:
            for chunk in chunks:
                newest_first = func.row_number().over(
                    partition_by=(col(attempt.training_job_name), col(attempt.target_id)),
                    order_by=(col(attempt.attempt).desc(), col(attempt.id).desc()),
                )
                ranked = select(attempt.id, newest_first.label('rank')).where(
                    col(attempt.training_job_name).is_not(None)
                )
                if chunk is not None:
                    ranked = ranked.where(col(attempt.training_job_name).in_(chunk))
                latest = ranked.subquery()
                query = (
                    select(attempt)
                    .join(latest, col(attempt.id) == latest.c.id)
                    .where(latest.c.rank == 1)
                    .order_by(col(attempt.target_label), col(attempt.target_id))
                )
                for row in session.exec(query):
                    result.setdefault(row.training_job_name or '', []).append(row)
        return result

    def completed_durations_by_target(self, newest_per_target: int = 200) -> dict[str, list[float]]:
        """Seconds from start to end of the Completed attempts of each target id (the newest ones first)."""
        attempt = CompilationAttempt
        query = (
            select(attempt.target_id, attempt.started_at, attempt.ended_at)
            .where(
                attempt.status == CompilationStatus.COMPLETED.value,
                col(attempt.started_at).is_not(None),
                col(attempt.ended_at).is_not(None),
            )
            .order_by(col(attempt.ended_at).desc())
        )
        result: dict[str, list[float]] = {}
        with self.session() as session:
            for target_id, started, ended in session.exec(query):
                durations = result.setdefault(target_id, [])
                if len(durations) < newest_per_target and started and ended:
                    durations.append((as_utc(ended) - as_utc(started)).total_seconds())  # type: ignore[operator]
        return result


def _latest(session: Session, training_job: str, target_id: str) -> CompilationAttempt | None:
    query = (
        select(CompilationAttempt)
        .where(
            CompilationAttempt.training_job_name == training_job, CompilationAttempt.target_id == target_id
        )
        .order_by(col(CompilationAttempt.attempt).desc())
        .limit(1)
    )
    return session.exec(query).first()


def _attempt_for_component(
    session: Session, tags: dict[str, str], artifact_uri: str | None
) -> CompilationAttempt | None:
    """A component belongs to the attempt its tag names, else to the attempt whose compiled model it ships."""
    tagged = tags.get(TAG_COMPILATION_JOB)
    if tagged and (attempt := _by_name(session, tagged)) is not None:
        return attempt
    if artifact_uri:
        query = select(CompilationAttempt).where(CompilationAttempt.artifact == artifact_uri)
        return session.exec(query).first()
    return None


def _by_name(session: Session, job_name: str) -> CompilationAttempt | None:
    return session.exec(select(CompilationAttempt).where(CompilationAttempt.job_name == job_name)).first()


def _next_attempt_number(session: Session, training_job: str, target_id: str) -> int:
    query = select(func.max(CompilationAttempt.attempt)).where(
        CompilationAttempt.training_job_name == training_job, CompilationAttempt.target_id == target_id
    )
    return (session.exec(query).first() or 0) + 1


def _reason(error: SQLAlchemyError) -> str:
    """The database's own words (e.g. 'database is locked'), without SQL or parameters."""
    original = getattr(error, 'orig', None)
    return str(original) if original is not None else type(error).__name__


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    # FULL: a commit is on disk when it returns, also across a power cut (see README, Durability)
    cursor.execute('PRAGMA synchronous=FULL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.close()
