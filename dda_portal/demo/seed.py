"""Demo data: training jobs, compilation jobs in every state, artifacts and logs of a defect-detection team.

Everything is created through boto3 against whatever endpoint the environment names; states and times
that moto cannot reach through the API (it creates every job finished) are then set on its backend objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..domain import linking
from ..domain.naming import compilation_job_name
from ..domain.targets import TargetCatalog
from .common import (
    COMPILATION_LOG_GROUP,
    DATA_INPUT_CONFIG,
    DATASET_BUCKET,
    DEMO_TARGETS,
    NEO_CONSTANTS_PKL,
    NEO_INPUT_SHAPE,
    NEO_UNFLATTEN,
    NEO_UNTAR,
    TRAINING_LOG_GROUP,
    LogWriter,
    backend,
    bucket,
    client,
    compiled_artifact_uri,
    compiled_tarball,
    epoch_lines,
    epoch_millis,
    final_metrics,
    model_tarball,
    naive_utc,
    neo_begin,
    neo_end,
    neo_output,
    neo_stop,
    region,
    role_arn,
    split_s3,
    stream_name,
    training_epilogue,
    training_output,
    training_preamble,
    write_neo_lines,
)

CAPACITY_ERROR = (
    'CapacityError: Unable to provision requested ML compute capacity. '
    'Please retry using a different ML instance type.'
)


@dataclass(frozen=True)
class _Compile:
    target: str
    status: str
    failure: str | None = None
    attempt: int = 1
    delay: timedelta = timedelta(minutes=1)  # after the training job ended
    duration: timedelta = timedelta(minutes=5)  # compilation start to end
    name: str | None = None  # jobs made by other tools have their own names and no tags
    tagged: bool = True
    input_uri: str | None = None  # defaults to the training job's model artifact
    stop_requested_before_now: timedelta = timedelta(seconds=20)
    ends_as: str | None = None  # for active jobs: how the simulator finishes them (a status or a failure)


@dataclass(frozen=True)
class _Train:
    use_case: str
    age: timedelta
    instance_type: str
    duration: timedelta
    epochs: int
    status: str = 'Completed'
    failure: str | None = None
    logs: bool = True
    compilations: tuple[_Compile, ...] = ()


def _h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


_PLAN: tuple[_Train, ...] = (
    _Train(
        'bottle-cap-defects',
        _h(164),
        'ml.g4dn.xlarge',
        _m(52),
        20,
        compilations=(
            _Compile('jetson-xavier', 'COMPLETED', duration=_m(7.5)),
            _Compile('x86_64-cpu', 'COMPLETED', duration=_m(3.2)),
            _Compile('x86_64-cuda', 'COMPLETED', duration=_m(6.1)),
            _Compile('arm64-cpu', 'COMPLETED', duration=_m(4.4)),
        ),
    ),
    _Train(
        'pcb-solder-joints',
        _h(142),
        'ml.p3.2xlarge',
        _m(38),
        24,
        compilations=(
            _Compile('jetson-xavier', 'FAILED', NEO_UNTAR, duration=_m(0.8)),
            _Compile('x86_64-cpu', 'COMPLETED', duration=_m(3.6)),
            _Compile('jetson-xavier', 'COMPLETED', attempt=2, delay=_h(3.2), duration=_m(8.3)),
        ),
    ),
    _Train(
        'label-misprint',
        _h(123),
        'ml.p3.2xlarge',
        _m(6),
        30,
        status='Failed',
        failure=CAPACITY_ERROR,
        logs=False,
    ),
    _Train(
        'weld-seam-cracks',
        _h(102),
        'ml.g4dn.xlarge',
        _m(71),
        28,
        compilations=(
            _Compile('jetson-xavier', 'COMPLETED', duration=_m(9.0)),
            _Compile('x86_64-cuda', 'STOPPED', duration=_m(2.5)),
            _Compile('arm64-cpu', 'FAILED', NEO_UNFLATTEN, duration=_m(2.9)),
        ),
    ),
    _Train(
        'glass-vial-cracks',
        _h(81),
        'ml.p3.2xlarge',
        _m(44),
        18,
        compilations=(
            _Compile('jetson-xavier', 'COMPLETED', duration=_m(7.9)),
            # exported by a notebook and compiled by hand: linked only because its name starts with the job's
            _Compile(
                'x86_64-cuda',
                'COMPLETED',
                delay=_h(20),
                duration=_m(6.6),
                name='{training_job}-trt-export',
                tagged=False,
                input_uri='s3://{bucket}/exports/{training_job}/model-traced.tar.gz',
            ),
        ),
    ),
    _Train(
        'metal-surface-scratches',
        _h(59),
        'ml.g4dn.xlarge',
        _m(57),
        22,
        compilations=(
            _Compile('x86_64-cpu', 'COMPLETED', duration=_m(3.1)),
            _Compile('jetson-xavier', 'FAILED', NEO_INPUT_SHAPE, duration=_m(1.4)),
            # started from the SageMaker console: linked only by its input, the training job's model artifact
            _Compile(
                'arm64-cpu',
                'COMPLETED',
                delay=_h(5),
                duration=_m(4.0),
                name='neo-metal-scratches-arm64-{day}',
                tagged=False,
            ),
        ),
    ),
    _Train('textile-weave-defects', _h(39), 'ml.g4dn.xlarge', _m(66), 26),
    _Train(
        'tablet-coating-defects',
        _h(9),
        'ml.m5.xlarge',
        _m(118),
        12,
        compilations=(
            _Compile('jetson-xavier', 'FAILED', NEO_CONSTANTS_PKL, duration=_m(0.9)),
            _Compile('x86_64-cpu', 'COMPLETED', duration=_m(3.4)),
        ),
    ),
    # the one compiling right now (training finished eight minutes ago), one target already failed
    _Train(
        'connector-pin-bends',
        _m(47),
        'ml.g4dn.xlarge',
        _m(36),
        16,
        compilations=(
            _Compile('jetson-xavier', 'INPROGRESS', duration=_m(6), ends_as='COMPLETED'),
            _Compile('x86_64-cpu', 'FAILED', NEO_INPUT_SHAPE, duration=_m(1.2)),
            _Compile('x86_64-cuda', 'STARTING', delay=_m(6.5), ends_as='COMPLETED'),
            _Compile('arm64-cpu', 'STOPPING', duration=_m(6)),
        ),
    ),
    _Train('bottle-cap-defects', _m(55), 'ml.p3.2xlarge', _h(1.5), 25, status='InProgress'),
)

# the second use case's jobs (another account and region): two of them named like the first's, all finished
# (the simulator moves the first use case only)
LINE_2_PLAN: tuple[_Train, ...] = (
    _PLAN[0],  # the same training job name as the first use case's, in another account
    _Train(
        'pcb-solder-joints',  # named like line-1's too, with other compilations
        _h(142),
        'ml.g4dn.xlarge',
        _m(64),
        28,
        compilations=(
            _Compile('x86_64-cpu', 'COMPLETED', duration=_m(3.3)),
            _Compile('arm64-cpu', 'COMPLETED', duration=_m(4.1)),
        ),
    ),
    _Train(
        'cable-insulation-nicks',
        _h(70),
        'ml.g4dn.xlarge',
        _m(49),
        20,
        compilations=(
            _Compile('x86_64-cpu', 'COMPLETED', duration=_m(3.5)),
            _Compile('jetson-xavier', 'FAILED', NEO_INPUT_SHAPE, duration=_m(1.2)),
        ),
    ),
    _Train('gasket-seal-gaps', _h(20), 'ml.m5.xlarge', _m(95), 14),
)


@dataclass
class DemoInventory:
    """What the seed created, by name, for tests and for the demo's own bookkeeping."""

    seeded_at: datetime
    bucket: str
    training_jobs: dict[str, str] = field(default_factory=dict)  # name -> TrainingJobStatus
    compilation_jobs: dict[str, str] = field(default_factory=dict)  # name -> CompilationJobStatus
    compilation_targets: dict[str, str] = field(default_factory=dict)  # name -> catalogue target id
    compilation_owners: dict[str, str] = field(default_factory=dict)  # name -> training job
    s3_keys: list[str] = field(default_factory=list)
    log_streams: dict[str, list[str]] = field(default_factory=dict)  # log group -> streams
    fully_compiled: str = ''
    not_compiled: str = ''
    compiling: str = ''
    compilation_failed: str = ''
    in_progress_training_job: str = ''
    failed_training_job: str = ''
    without_logs: str = ''
    # how the simulator should finish some active jobs: (status, failure reason)
    planned_outcomes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    retried: tuple[str, str] = ('', '')  # (failed attempt 1, completed attempt 2) of one target
    linked_by_name_only: str = ''
    linked_by_s3_uri_only: str = ''


def seed(now: datetime | None = None, plan: tuple[_Train, ...] = _PLAN) -> DemoInventory:
    """Create the demo's AWS objects (the first use case's `plan` by default) in the current place
    (common.at_place); `now` (default: the current time) anchors every timestamp.

    CloudWatch Logs (and moto) drop events older than 14 days or over 2 hours ahead of the real clock,
    so a `now` far from the current time gives jobs without logs.
    """
    seeding = _Seeding(naive_utc(now))
    for job in plan:
        seeding.training_job(job)
    return seeding.inventory


class _Seeding:
    """One seeding of the account: the clients it writes with and the inventory of what it made."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.catalog = TargetCatalog.load()
        self.sagemaker, self.s3 = client('sagemaker'), client('s3')
        self.logs = LogWriter(client('logs'))
        self.inventory = DemoInventory(seeded_at=now, bucket=bucket())
        _create_bucket(self.s3, bucket())
        self.logs.ensure_group(TRAINING_LOG_GROUP)
        self.logs.ensure_group(COMPILATION_LOG_GROUP)

    def put(self, uri: str, body: bytes) -> None:
        bucket, key = split_s3(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType='application/x-gzip')
        self.inventory.s3_keys.append(key)

    def training_job(self, plan: _Train) -> None:
        """One training job of the plan, its model, logs and compilation jobs."""
        now, inventory = self.now, self.inventory
        created = now - plan.age
        name = f'dda-{plan.use_case}-{created:%Y-%m-%d-%H%M}'
        job = _create_training_job(self.sagemaker, name, plan)
        started = created + timedelta(minutes=2, seconds=40)
        ended = started + plan.duration if plan.status != 'InProgress' else None
        _set_training_state(job, plan, created, started, ended, now)
        inventory.training_jobs[name] = plan.status
        artifact = job.model_artifacts['S3ModelArtifacts']
        if plan.status == 'Completed':
            self.put(artifact, model_tarball(name))
        if plan.logs:
            stream = stream_name(name, f'algo-1-{epoch_millis(started) // 1000}')
            self.logs.write(TRAINING_LOG_GROUP, stream, _training_events(name, plan, started, ended, now))
            inventory.log_streams.setdefault(TRAINING_LOG_GROUP, []).append(stream)
        if plan.status == 'Failed':
            inventory.failed_training_job = name
            inventory.without_logs = name if not plan.logs else inventory.without_logs
        if plan.status == 'InProgress':
            inventory.in_progress_training_job = name
        if plan.status == 'Completed' and not plan.compilations:
            inventory.not_compiled = name
        for spec in plan.compilations:
            if ended is None:
                raise ValueError(f'{name}: only finished training jobs can have compilation jobs')
            self.compilation_job(name, created, ended, artifact, spec)
        _note_rollup(inventory, name, plan, len(DEMO_TARGETS))

    def compilation_job(
        self, name: str, created: datetime, ended: datetime, artifact: str, spec: _Compile
    ) -> None:
        """One compilation job of training job `name` (which ended at `ended`), its model and logs."""
        target = self.catalog[spec.target]
        job_name = (spec.name or compilation_job_name(name, spec.target, spec.attempt)).format(
            training_job=name, day=f'{created:%m%d}'
        )
        input_uri = (spec.input_uri or artifact).format(training_job=name, bucket=bucket())
        if input_uri != artifact:
            self.put(input_uri, model_tarball(f'{name}-export'))
        output_config = target.output_config(f'{neo_output()}/{job_name}/')
        tags = (
            [
                {'Key': linking.TAG_TRAINING_JOB, 'Value': name},
                {'Key': linking.TAG_TARGET, 'Value': spec.target},
                {'Key': linking.TAG_ORIGIN, 'Value': 'auto'},
            ]
            if spec.tagged
            else []
        )
        self.sagemaker.create_compilation_job(
            CompilationJobName=job_name,
            RoleArn=role_arn(),
            InputConfig={
                'S3Uri': input_uri,
                'DataInputConfig': DATA_INPUT_CONFIG,
                'Framework': 'PYTORCH',
                'FrameworkVersion': '2.0',
            },
            OutputConfig=output_config,
            StoppingCondition={'MaxRuntimeInSeconds': 900},
            **({'Tags': tags} if tags else {}),  # tools other than the portal often tag nothing
        )
        artifact_uri = _set_compilation_state(
            job_name, spec, ended, self.now, output_config, input_uri, self.logs
        )
        if artifact_uri:
            self.put(artifact_uri, compiled_tarball(job_name))
        self._note_compilation(name, job_name, spec)

    def _note_compilation(self, name: str, job_name: str, spec: _Compile) -> None:
        inventory = self.inventory
        if spec.status != 'STARTING':
            inventory.log_streams.setdefault(COMPILATION_LOG_GROUP, []).extend(
                self.logs.streams(COMPILATION_LOG_GROUP, f'{job_name}/')
            )
        inventory.compilation_jobs[job_name] = spec.status
        inventory.compilation_targets[job_name] = spec.target
        inventory.compilation_owners[job_name] = name
        if spec.ends_as:
            failed = spec.ends_as != 'COMPLETED'
            inventory.planned_outcomes[job_name] = ('FAILED', spec.ends_as) if failed else ('COMPLETED', None)
        if spec.name and spec.input_uri:
            inventory.linked_by_name_only = job_name
        elif spec.name:
            inventory.linked_by_s3_uri_only = job_name


def _note_rollup(inventory: DemoInventory, name: str, plan: _Train, targets: int) -> None:
    latest = {spec.target: spec for spec in sorted(plan.compilations, key=lambda s: s.attempt)}
    statuses = {spec.status for spec in latest.values()}
    if statuses == {'COMPLETED'} and len(latest) == targets:
        inventory.fully_compiled = inventory.fully_compiled or name
    elif statuses & {'STARTING', 'INPROGRESS', 'STOPPING'}:
        inventory.compiling = inventory.compiling or name
    elif 'FAILED' in statuses and not inventory.compilation_failed:
        inventory.compilation_failed = name
    retried = [s for s in plan.compilations if s.attempt > 1]
    for second in retried:
        first = next(
            s for s in plan.compilations if s.target == second.target and s.attempt == second.attempt - 1
        )
        inventory.retried = (
            compilation_job_name(name, first.target, first.attempt),
            compilation_job_name(name, second.target, second.attempt),
        )


def _create_bucket(s3: Any, bucket: str) -> None:
    if region() == 'us-east-1':
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={'LocationConstraint': region()})


def _create_training_job(sagemaker: Any, name: str, plan: _Train) -> Any:
    gpu = not plan.instance_type.startswith('ml.m5')
    image = f'763104351884.dkr.ecr.{region()}.amazonaws.com/pytorch-training:2.0.1-' + (
        'gpu-py310-cu118-ubuntu20.04-sagemaker' if gpu else 'cpu-py310-ubuntu20.04-sagemaker'
    )
    channels = [
        {
            'ChannelName': channel,
            'DataSource': {
                'S3DataSource': {
                    'S3DataType': 'S3Prefix',
                    'S3Uri': f's3://{DATASET_BUCKET}/{plan.use_case}/{channel}/',
                    'S3DataDistributionType': 'FullyReplicated',
                }
            },
            'ContentType': 'application/x-image',
            'InputMode': 'File',
        }
        for channel in ('train', 'validation')
    ]
    sagemaker.create_training_job(
        TrainingJobName=name,
        HyperParameters={
            'epochs': str(plan.epochs),
            'learning-rate': '0.0005',
            'batch-size': '32',
            'image-size': '224',
            'backbone': 'resnet50',
        },
        AlgorithmSpecification={'TrainingImage': image, 'TrainingInputMode': 'File'},
        RoleArn=role_arn(),
        InputDataConfig=channels,
        OutputDataConfig={'S3OutputPath': training_output()},
        ResourceConfig={'InstanceType': plan.instance_type, 'InstanceCount': 1, 'VolumeSizeInGB': 50},
        StoppingCondition={'MaxRuntimeInSeconds': 6 * 3600},
        Tags=[{'Key': 'project', 'Value': 'defect-detection'}, {'Key': 'use-case', 'Value': plan.use_case}],
    )
    return backend().training_jobs[name]


def _set_training_state(
    job: Any, plan: _Train, created: datetime, started: datetime, ended: datetime | None, now: datetime
) -> None:
    job.creation_time = created
    job.training_job_status = plan.status
    job.algorithm_specification['MetricDefinitions'] = [
        {'Name': 'validation:f1', 'Regex': 'val_f1: ([0-9.]+)'},
        {'Name': 'validation:accuracy', 'Regex': 'val_accuracy: ([0-9.]+)'},
        {'Name': 'train:loss', 'Regex': 'train_loss: ([0-9.]+)'},
    ]
    starting = {
        'Status': 'Starting',
        'StartTime': created,
        'EndTime': started,
        'StatusMessage': 'Preparing the instances for training',
    }
    if plan.status == 'Failed':
        # the instances never came up: no training time, nothing billed
        job.training_start_time = None
        job.training_end_time = job.last_modified_time = created + plan.duration
        job.secondary_status = 'Failed'
        job.failure_reason = plan.failure
        job.secondary_status_transitions = [
            {
                **starting,
                'EndTime': job.training_end_time,
                'StatusMessage': 'Preparing the instances for training',
            },
            {
                'Status': 'Failed',
                'StartTime': job.training_end_time,
                'EndTime': job.training_end_time,
                'StatusMessage': plan.failure,
            },
        ]
        job.final_metric_data_list = []
        return
    job.training_start_time = started
    downloading = {
        'Status': 'Downloading',
        'StartTime': started,
        'EndTime': started + timedelta(minutes=1),
        'StatusMessage': 'Downloading input data',
    }
    training = {
        'Status': 'Training',
        'StartTime': started + timedelta(minutes=1),
        'StatusMessage': 'Training image download completed. Training in progress.',
    }
    if ended is None:
        job.training_end_time = None
        job.secondary_status = 'Training'
        job.last_modified_time = started + timedelta(minutes=1)
        job.secondary_status_transitions = [starting, downloading, training]
        job.final_metric_data_list = []
        return
    seconds = int((ended - started).total_seconds())
    job.training_end_time = ended
    job.last_modified_time = min(ended + timedelta(seconds=4), now)
    job.secondary_status = 'Completed'
    job.training_time_in_seconds = seconds
    job.billable_time_in_seconds = seconds
    job.secondary_status_transitions = [
        starting,
        downloading,
        {**training, 'EndTime': ended - timedelta(seconds=30)},
        {
            'Status': 'Uploading',
            'StartTime': ended - timedelta(seconds=30),
            'EndTime': ended,
            'StatusMessage': 'Uploading generated training model',
        },
        {
            'Status': 'Completed',
            'StartTime': ended,
            'EndTime': ended,
            'StatusMessage': 'Training job completed',
        },
    ]
    job.final_metric_data_list = final_metrics(job.training_job_name, plan.epochs, ended)


def _training_events(
    name: str, plan: _Train, started: datetime, ended: datetime | None, now: datetime
) -> list[tuple[datetime, str]]:
    events = training_preamble(name, plan.instance_type, plan.epochs, started + timedelta(minutes=1))
    first_epoch_at = events[-1][0] + timedelta(seconds=20)
    finish = ended or started + plan.duration
    per_epoch = (finish - timedelta(seconds=60) - first_epoch_at) / plan.epochs
    for epoch in range(1, plan.epochs + 1):
        at = first_epoch_at + per_epoch * (epoch - 1)
        if at >= now - timedelta(seconds=1):
            break
        events += epoch_lines(name, epoch, plan.epochs, at)
    if ended is not None:
        events += training_epilogue(name, plan.epochs, ended)
    return events


def _set_compilation_state(
    job_name: str,
    spec: _Compile,
    training_ended: datetime,
    now: datetime,
    output_config: dict[str, Any],
    input_uri: str,
    logs: LogWriter,
) -> str | None:
    """Give the job its status and times; returns the compiled artifact's URI when it completed."""
    job: Any = backend().compilation_jobs[job_name]
    created = training_ended + spec.delay
    started = created + timedelta(seconds=35)
    ended = started + spec.duration
    job.creation_time = created
    job.compilation_job_status = spec.status
    job.failure_reason = spec.failure or ''
    job.compilation_start_time = None if spec.status == 'STARTING' else started
    job.compilation_end_time = ended if spec.status in ('COMPLETED', 'FAILED', 'STOPPED') else None
    modified = {
        'STARTING': created,
        'INPROGRESS': started,
        'STOPPING': now - spec.stop_requested_before_now,
    }.get(spec.status, ended)
    job.last_modified_time = min(modified, now - timedelta(seconds=1))
    artifact = None
    lines = neo_begin(input_uri, started) if spec.status != 'STARTING' else []
    if spec.status == 'COMPLETED':
        artifact = compiled_artifact_uri(output_config, input_uri)
        job.model_artifacts = {'S3ModelArtifacts': artifact}
    if spec.status in ('COMPLETED', 'FAILED'):
        lines += neo_end(spec.status, spec.failure, output_config, artifact, started, ended)
    elif spec.status == 'STOPPING':
        lines += neo_stop(job.last_modified_time, None)
    elif spec.status == 'STOPPED':
        lines += neo_stop(ended - timedelta(seconds=25), ended)
    write_neo_lines(logs, job_name, lines)
    return artifact
