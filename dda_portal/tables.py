"""The store's tables (SQLModel): one class per table, statuses typed as the domain's enums.

Schema changes go through a migration in `migrations/versions/` (a test compares these classes with them).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from .domain.alerts import AlertState, place_of_key
from .domain.clock import utcnow
from .domain.greengrass import ComponentState
from .domain.status import ACTIVE_COMPILATION, CompilationStatus, Rollup, TrainingStatus
from .use_cases import DEFAULT_USE_CASE

# in the enum's order: the index's WHERE clause is the same text in every process (and in the baseline)
LIVE_STATUSES_SQL = ', '.join(
    f"'{s.value}'" for s in CompilationStatus if s in ACTIVE_COMPILATION or s is CompilationStatus.COMPLETED
)


class StoredEnum(TypeDecorator[StrEnum]):
    """A StrEnum kept as its word (VARCHAR, as the baseline made it); a word this code does not know reads as
    the enum's UNKNOWN member, so an old or hand-edited row never breaks a page."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        if value is None:
            return None
        try:
            return self.enum(value)
        except ValueError:
            return self.enum['UNKNOWN']

    @property
    def python_type(self) -> type[StrEnum]:
        return self.enum


def place_key(*, primary_key: bool = True) -> Any:
    """The place (use_cases.Place.key: a use case, with its region when it has several) an AWS object was
    read from: the first column of its key, so names may repeat across accounts and regions without mixing.
    Rows written before use cases existed belong to the default one."""
    return Field(
        default=DEFAULT_USE_CASE,
        primary_key=primary_key,
        index=not primary_key,
        sa_column_kwargs={'server_default': DEFAULT_USE_CASE},
    )


class TrainingJob(SQLModel, table=True):
    __tablename__ = 'training_job'

    use_case: str = place_key()
    name: str = Field(primary_key=True)
    arn: str = ''
    status: TrainingStatus = Field(sa_type=StoredEnum(TrainingStatus), index=True)
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
    first_seen_status: TrainingStatus = Field(
        default=TrainingStatus.UNKNOWN, sa_type=StoredEnum(TrainingStatus)
    )
    # derived from the attempts on every write, so the list page needs no join
    rollup: Rollup = Field(default=Rollup.NOT_COMPILED, sa_type=StoredEnum(Rollup), index=True)
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
            'use_case',
            'training_job_name',
            'target_id',
            unique=True,
            sqlite_where=text(f'reserved AND status IN ({LIVE_STATUSES_SQL})'),
            postgresql_where=text(f'reserved AND status IN ({LIVE_STATUSES_SQL})'),
        ),
        UniqueConstraint('use_case', 'job_name', name='one_attempt_per_job_name'),
    )

    id: int | None = Field(default=None, primary_key=True)
    use_case: str = place_key(primary_key=False)
    job_name: str
    arn: str = ''
    training_job_name: str | None = Field(default=None, index=True)
    target_id: str = Field(index=True)
    target_label: str
    attempt: int = 1
    status: CompilationStatus = Field(sa_type=StoredEnum(CompilationStatus))
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
            'use_case',
            'compilation_job_name',
            unique=True,
            sqlite_where=text("origin = 'portal'"),
            postgresql_where=text("origin = 'portal'"),
        ),
    )

    use_case: str = place_key()
    arn: str = Field(primary_key=True)
    component_name: str = Field(index=True)
    component_version: str
    state: ComponentState = Field(sa_type=StoredEnum(ComponentState))
    message: str | None = None
    errors: str | None = None  # JSON object: artifact URI → reason
    created_at: datetime | None = None
    compilation_job_name: str | None = Field(default=None, index=True)
    training_job_name: str | None = Field(default=None, index=True)
    target_id: str | None = None
    architecture: str | None = None
    artifact_uri: str | None = None
    origin: str = 'external'
    # the recipe's Manifests[].Platform, in order, as a JSON list (None: the recipe was not read yet)
    platforms: str | None = None


class CoreDevice(SQLModel, table=True):
    __tablename__ = 'core_device'

    use_case: str = place_key()
    thing_name: str = Field(primary_key=True)
    status: str | None = None
    architecture: str | None = None
    platform: str | None = None
    last_status_update: datetime | None = None
    refreshed_at: datetime
    # the IoT thing's attributes as a JSON object (accelerator, jetpack, cuda…; None: not read), and the
    # device's last status update when they were read (read again once the device reports anew)
    thing_attributes: str | None = None
    thing_read_for: datetime | None = None


class InstalledComponent(SQLModel, table=True):
    __tablename__ = 'installed_component'

    id: int | None = Field(default=None, primary_key=True)
    use_case: str = place_key(primary_key=False)
    thing_name: str = Field(index=True)
    component_name: str = Field(index=True)
    component_version: str
    lifecycle_state: str | None = None
    last_status_change: datetime | None = None
    last_reported: datetime | None = None


class SyncCycle(SQLModel, table=True):
    __tablename__ = 'sync_cycle'

    id: int | None = Field(default=None, primary_key=True)
    use_case: str = place_key(primary_key=False)  # the place this refresh read
    started_at: datetime
    finished_at: datetime
    ok: bool
    aws_calls: int = 0
    changed_training_jobs: int = 0
    error_code: str | None = None
    error_message: str | None = None


class SyncState(SQLModel, table=True):
    __tablename__ = 'sync_state'

    use_case: str = place_key()
    key: str = Field(primary_key=True)
    value: datetime


class SyncFollowUp(SQLModel, table=True):
    """A training job whose changes a refresh committed and has not finished acting on yet (automatic
    compilation and packaging): kept in the same transaction as the changes, so a restart loses none."""

    __tablename__ = 'sync_follow_up'

    use_case: str = place_key()
    training_job_name: str = Field(primary_key=True)
    queued_at: datetime


class SyncPart(SQLModel, table=True):
    """How each part of the refresh (SageMaker, Greengrass components, devices) last went: its last
    success, and its failure since then (cleared by its next success)."""

    __tablename__ = 'sync_part'

    use_case: str = place_key()
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


class SignIn(SQLModel, table=True):
    """A browser signed in with a password: every replica honours it until it ends (sign-out deletes the row)
    or expires (12 h after `since`). The session id itself is never stored, only its SHA-256."""

    __tablename__ = 'sign_in'

    session_hash: str = Field(primary_key=True)
    name: str
    since: datetime = Field(index=True)


class ApiToken(SQLModel, table=True):
    """A token a pipeline reads the JSON API with, by name: only the SHA-256 of the token is stored (whoever
    reads the database cannot call the API with what they find there). Revoking keeps the row, so the name
    and its history stay listed."""

    __tablename__ = 'api_token'

    name: str = Field(primary_key=True)
    role: str  # domain.access.Role's word
    token_hash: str = Field(unique=True)
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class Alert(SQLModel, table=True):
    """The alerts outbox: one row per transition worth telling (recorded in the transaction of the change that
    caused it; `key` is unique, so a transition read again, a restart or a second replica adds no second
    row), sent after commit by the leader and tried again with a growing delay when the channel fails."""

    __tablename__ = 'alert'

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime = Field(default_factory=utcnow, index=True)
    state: AlertState = Field(default=AlertState.WAITING, sa_type=StoredEnum(AlertState), index=True)
    attempts: int = 0
    next_try_at: datetime = Field(default_factory=utcnow)
    claimed_until: datetime | None = None  # a sender is sending it (another leaves it alone until then)
    delivered_to: str = ''  # the channels that took it (short hashes of their URLs): never sent there again
    sent_at: datetime | None = None
    last_error: str | None = None

    @property
    def use_case(self) -> str:
        """The place of the object the alert is about (its key names it; the default one otherwise)."""
        return place_of_key(self.key, DEFAULT_USE_CASE)


class Deployment(SQLModel, table=True):
    """A Greengrass v2 deployment (one revision for one target: a thing or a thing group)."""

    __tablename__ = 'deployment'

    use_case: str = place_key()
    deployment_id: str = Field(primary_key=True)
    target_arn: str = Field(index=True)
    revision_id: str = ''
    name: str = ''
    status: str = ''  # ACTIVE, COMPLETED, CANCELED, FAILED, INACTIVE
    is_latest: bool = True
    components: str = '{}'  # JSON object: component name → version
    created_at: datetime | None = None
    origin: str = 'external'  # 'portal' when this portal created it
    created_by: str | None = None
    settled: bool = False  # every targeted device reported a final state (or the rollout ended)


class EffectiveDeployment(SQLModel, table=True):
    """One core device's execution of a deployment (ListEffectiveDeployments)."""

    __tablename__ = 'effective_deployment'

    use_case: str = place_key()
    thing_name: str = Field(primary_key=True)
    deployment_id: str = Field(primary_key=True)
    target_arn: str = ''
    status: str = ''  # QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT, REJECTED, CANCELED, COMPLETED
    reason: str | None = None
    error_types: str | None = None  # comma-separated statusDetails.errorTypes
    updated_at: datetime | None = None


class ThingGroupMember(SQLModel, table=True):
    """A thing in an IoT thing group (a group with no members has one row with an empty thing name)."""

    __tablename__ = 'thing_group_member'

    use_case: str = place_key()
    group_name: str = Field(primary_key=True)
    thing_name: str = Field(primary_key=True)
    group_arn: str = ''
