"""What the JSON API answers and takes: pydantic models, made from the store's records."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.clock import as_utc
from ..queries.fleet import Installed
from ..queries.jobs import AttemptSummary, JobSummary
from ..tables import CompilationAttempt, ComponentVersion, CoreDevice, InstalledComponent, TrainingJob

MAX_TARGETS = 50
MAX_LIMIT = 500


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


class ErrorBody(BaseModel):
    code: str = Field(
        description='A stable word to act on, e.g. token_invalid, not_allowed, unknown_training_job'
    )
    message: str = Field(description='What happened, for people')
    detail: list[dict[str, object]] | None = Field(default=None, description="pydantic's errors (422 only)")


class ErrorAnswer(BaseModel):
    error: ErrorBody


class TargetState(BaseModel):
    """A target's latest compilation attempt."""

    target_id: str
    target_label: str
    status: str = Field(description='Starting, In progress, Stopping, Stopped, Completed, Failed or Unknown')
    job_name: str = Field(description='The SageMaker compilation job')
    started_at: datetime | None
    ended_at: datetime | None
    failure_reason: str | None

    @classmethod
    def of(cls, attempt: AttemptSummary | CompilationAttempt) -> TargetState:
        return cls(
            target_id=attempt.target_id,
            target_label=attempt.target_label,
            status=str(attempt.status),
            job_name=attempt.job_name,
            started_at=_utc(attempt.started_at),
            ended_at=_utc(attempt.ended_at),
            failure_reason=attempt.failure_reason,
        )


class TrainingJobItem(BaseModel):
    name: str
    use_case: str = Field(description="The use case's place key (its name, or name/region)")
    status: str = Field(description='The training status: In progress, Completed, Failed, Stopping, Stopped')
    rollup: str = Field(description='Not compiled, Compiling, Compiled or Compilation failed')
    created_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    targets_compiled: int
    targets_total: int
    targets: list[TargetState] = Field(description="Each target's latest attempt, by target label")

    @classmethod
    def of(cls, job: JobSummary, latest: list[AttemptSummary]) -> TrainingJobItem:
        return cls(
            name=job.name,
            use_case=job.use_case,
            status=str(job.status),
            rollup=str(job.rollup),
            created_at=_utc(job.created_at),
            started_at=_utc(job.started_at),
            ended_at=_utc(job.ended_at),
            targets_compiled=job.targets_compiled,
            targets_total=job.targets_total,
            targets=[TargetState.of(a) for a in latest],
        )


class ListQuery(BaseModel):
    """The list page's filters (comma-separated or repeated, as in its URL), order and a page of it."""

    rollup: list[str] = Field(default=[], description='Not compiled, Compiling, Compiled, Compilation failed')
    status: list[str] = Field(default=[], description='Training status, e.g. Completed')
    target: list[str] = Field(default=[], description='Target id or label (any of them)')
    q: str = Field(default='', description='Words the name contains')
    use_case: list[str] = Field(
        default=[], alias='use-case', description='Use case names (every region of each; any of them)'
    )
    sort: Literal['name', 'use_case', 'status', 'created', 'training_time', 'rollup', 'compiled'] | None = (
        Field(default=None, description='A column to sort by; newest first (ties by name) when not given')
    )
    descending: bool = False
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0)


class TrainingJobList(BaseModel):
    items: list[TrainingJobItem]
    total: int = Field(description='Jobs matching the filters, on every page together')
    limit: int
    offset: int
    next_offset: int | None = Field(description='`offset` of the next page; null on the last one')


class AttemptOut(BaseModel):
    job_name: str
    target_id: str
    target_label: str
    attempt: int
    status: str
    failure_reason: str | None
    artifact: str | None = Field(description='S3 URI of the compiled model (Completed attempts)')
    framework: str | None
    origin: str = Field(description='manual, auto, or external (not started by the portal)')
    created_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    last_modified: datetime | None

    @classmethod
    def of(cls, attempt: CompilationAttempt) -> AttemptOut:
        return cls(
            job_name=attempt.job_name,
            target_id=attempt.target_id,
            target_label=attempt.target_label,
            attempt=attempt.attempt,
            status=str(attempt.status),
            failure_reason=attempt.failure_reason,
            artifact=attempt.artifact,
            framework=attempt.framework,
            origin=attempt.origin,
            created_at=_utc(attempt.created_at),
            started_at=_utc(attempt.started_at),
            ended_at=_utc(attempt.ended_at),
            last_modified=_utc(attempt.last_modified),
        )


class ComponentOut(BaseModel):
    arn: str
    use_case: str = Field(description="The use case's place key (its name, or name/region)")
    component_name: str
    component_version: str
    state: str
    message: str | None
    created_at: datetime | None
    training_job_name: str | None
    compilation_job_name: str | None
    target_id: str | None
    architecture: str | None
    devices: list[str] = Field(description='Core devices running this version, by name')

    @classmethod
    def of(cls, version: ComponentVersion, devices: list[str]) -> ComponentOut:
        return cls(
            arn=version.arn,
            use_case=version.use_case,
            component_name=version.component_name,
            component_version=version.component_version,
            state=str(version.state),
            message=version.message,
            created_at=_utc(version.created_at),
            training_job_name=version.training_job_name,
            compilation_job_name=version.compilation_job_name,
            target_id=version.target_id,
            architecture=version.architecture,
            devices=devices,
        )


class RunningOut(BaseModel):
    component_name: str
    component_version: str
    lifecycle_state: str | None


class DeviceOut(BaseModel):
    thing_name: str
    use_case: str = Field(description="The use case's place key (its name, or name/region)")
    status: str | None = Field(description='HEALTHY or UNHEALTHY, as Greengrass reports it')
    architecture: str | None
    platform: str | None
    last_status_update: datetime | None
    components: list[RunningOut]

    @classmethod
    def of(cls, device: CoreDevice, running: list[Installed] | list[InstalledComponent]) -> DeviceOut:
        return cls(
            thing_name=device.thing_name,
            use_case=device.use_case,
            status=device.status,
            architecture=device.architecture,
            platform=device.platform,
            last_status_update=_utc(device.last_status_update),
            components=[
                RunningOut(
                    component_name=r.component_name,
                    component_version=r.component_version,
                    lifecycle_state=r.lifecycle_state,
                )
                for r in running
            ],
        )


class TrainingJobDetail(TrainingJobItem):
    failure_reason: str | None
    model_artifact: str | None
    attempts: list[AttemptOut] = Field(description='Every attempt, by target id and attempt number')
    components: list[ComponentOut] = Field(description='Component versions packaged from it, newest first')
    devices: list[DeviceOut] = Field(description='The devices running those versions (only those versions)')

    @classmethod
    def detail(
        cls,
        job: TrainingJob,
        latest: list[CompilationAttempt],
        attempts: list[AttemptOut],
        components: list[ComponentOut],
        devices: list[DeviceOut],
    ) -> TrainingJobDetail:
        return cls(
            name=job.name,
            use_case=job.use_case,
            status=str(job.status),
            rollup=str(job.rollup),
            created_at=_utc(job.created_at),
            started_at=_utc(job.started_at),
            ended_at=_utc(job.ended_at),
            targets_compiled=job.targets_compiled,
            targets_total=job.targets_total,
            targets=[TargetState.of(a) for a in latest],
            failure_reason=job.failure_reason,
            model_artifact=job.model_artifact,
            attempts=attempts,
            components=components,
            devices=devices,
        )


class ComponentList(BaseModel):
    items: list[ComponentOut]
    total: int


class DeviceList(BaseModel):
    items: list[DeviceOut]
    total: int


class CompileRequest(BaseModel):
    """Targets to compile for; without framework, framework version or input shape, the training job's
    compile defaults are used (its `dda-portal:*` tags, else the portal's settings), as in the dialog."""

    model_config = ConfigDict(extra='forbid')

    targets: list[str] = Field(
        min_length=1, max_length=MAX_TARGETS, description='Target ids of the catalogue'
    )
    framework: str | None = Field(default=None, examples=['PYTORCH'])
    framework_version: str | None = Field(default=None, examples=['2.0'])
    input_shape: str | list[int] | dict[str, list[int]] | None = Field(
        default=None,
        description='[1, 3, 224, 224] or {"input0": [1, 3, 224, 224]}',
        examples=[[1, 3, 224, 224]],
    )


class Refusal(BaseModel):
    code: str = Field(
        description='already_compiling, already_compiled, state_unknown, training_not_completed, '
        'unknown_target, not_configured, aws_refused'
    )
    message: str
    aws_code: str | None = Field(default=None, description="AWS's error code, when AWS refused")
    retry_later: bool = Field(description='Only "not now" (AWS throttled or failing): asking again may work')


class StartedOut(BaseModel):
    target_id: str
    job_name: str
    attempt: int
    status: str


class CompileAnswer(BaseModel):
    training_job: str
    started: list[StartedOut]
    refused: dict[str, Refusal] = Field(description='Target id → why it did not start')
    error: ErrorBody | None = Field(default=None, description='Set (with status 409) when nothing started')
