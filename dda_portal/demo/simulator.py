"""Moves the demo's jobs along the way AWS would, one deterministic step at a time.

moto creates every job finished; the simulator walks compilation jobs STARTING → INPROGRESS →
COMPLETED/FAILED, STOPPING → STOPPED, finishes the training job that is still running and now and then
starts a compilation for a target a training job lacks. Every change moves the job's LastModifiedTime
forward (naive UTC, strictly increasing) because the portal's incremental refresh relies on it.

Given a Greengrass backend, each step also moves its component versions one state on (REQUESTED →
INITIATED → DEPLOYABLE/FAILED) and rolls model components that have been DEPLOYABLE for `install_delay`
out to a device of their architecture.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.responses import SageMakerResponse

from ..domain import linking
from ..domain.naming import compilation_job_name
from ..domain.targets import TargetCatalog
from .common import (
    BUCKET,
    DATA_INPUT_CONFIG,
    DEMO_TARGETS,
    NEO_FAILURES,
    NEO_OUTPUT,
    ROLE_ARN,
    TRAINING_LOG_GROUP,
    LogWriter,
    backend,
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
    neo_stop,
    split_s3,
    stable_int,
    stream_name,
    training_epilogue,
    write_neo_lines,
)
from .greengrass import GreengrassBackend, step_fleet

log = logging.getLogger(__name__)


def install_delay_for(step_seconds: float) -> timedelta:
    """How long a model component stays DEPLOYABLE before it is rolled out: about two steps.

    One and a half steps of wall-clock time: the second step after the version became DEPLOYABLE installs it,
    even when the scheduler runs a step a little early.
    """
    return timedelta(seconds=1.5 * step_seconds)


DEFAULT_INSTALL_DELAY = install_delay_for(8.0)  # the portal's default demo_step_seconds


class _BackendLookup(linking.TrainingJobLookup):
    """The portal's linking rules, answered from moto's training jobs."""

    def __init__(self, training_jobs: dict[str, Any]) -> None:
        self.names = set(training_jobs)
        self.by_artifact = {j.model_artifacts['S3ModelArtifacts']: n for n, j in training_jobs.items()}
        self.by_prefix = {
            linking.output_prefix(j.output_data_config['S3OutputPath'], n): n
            for n, j in training_jobs.items()
        }

    def training_job_exists(self, name: str) -> bool:
        return name in self.names

    def training_job_by_model_artifact(self, s3_uri: str) -> str | None:
        return self.by_artifact.get(s3_uri)

    def training_job_by_output_prefix(self, s3_prefix: str) -> str | None:
        return self.by_prefix.get(s3_prefix)


class DemoSimulator:
    """Call `step()` at the pace you like (tests call it directly; the demo every `demo_step_seconds`).

    `greengrass`: a Greengrass backend whose component versions and fleet to move along too, rolling a
    DEPLOYABLE model component out `install_delay` after it became so (`install_delay_for` the step pace).
    """

    def __init__(
        self,
        catalog: TargetCatalog | None = None,
        *,
        max_in_progress_steps: int = 3,
        training_steps: int = 5,
        new_job_every: int = 3,
        failure_one_in: int = 5,
        planned_outcomes: Mapping[str, tuple[str, str | None]] | None = None,
        greengrass: GreengrassBackend | None = None,
        install_delay: timedelta = DEFAULT_INSTALL_DELAY,
    ) -> None:
        self.catalog = catalog or TargetCatalog.load()
        self.greengrass = greengrass
        self.install_delay = install_delay
        self.planned_outcomes = dict(planned_outcomes or {})
        self.max_in_progress_steps = max(1, max_in_progress_steps)
        self.training_steps = max(1, training_steps)
        self.new_job_every = max(1, new_job_every)
        self.failure_one_in = max(2, failure_one_in)
        self.steps = 0
        self._sagemaker = client('sagemaker')
        self._s3 = client('s3')
        self._logs = LogWriter(client('logs'))
        self._step_lock = threading.Lock()  # one step at a time
        # held briefly and never across an AWS call: moto's server thread takes it in the hooks below
        self._clock_lock = threading.Lock()
        self._last = self._latest_modification()
        self._in_progress_since: dict[str, int] = {}
        self._training_seen: dict[str, int] = {}
        self._epochs_logged: dict[str, int] = {}
        self._last_log: dict[str, datetime | None] = {}
        self._training_streams: dict[str, str] = {}
        self._finished_training: set[str] = set()
        self._stop_requested: dict[str, datetime] = {}

    # ---- the clock ---------------------------------------------------------------------------------

    @staticmethod
    def _latest_modification() -> datetime:
        jobs: list[Any] = [*backend().training_jobs.values(), *backend().compilation_jobs.values()]
        return max((j.last_modified_time for j in jobs), default=datetime(2000, 1, 1))

    def _next_time(self, job: Any, now: datetime | None) -> datetime:
        """A LastModifiedTime later than every one handed out before and than the job's own.

        Callers change the job's other fields first and assign this one last: a refresh that reads the new
        LastModifiedTime must also read the new state, or it would never look at the job again.
        """
        job_modified: datetime = job.last_modified_time
        with self._clock_lock:
            at = max(
                naive_utc(now),
                self._last + timedelta(milliseconds=1),
                job_modified + timedelta(milliseconds=1),
            )
            self._last = at
        return at

    # ---- emulating what moto lacks, for jobs the portal creates during the demo -----------------------

    def intercept_new_compilation_jobs(self) -> None:
        """Jobs created through the API start at STARTING, as on AWS, instead of moto's instant COMPLETED."""
        sagemaker = backend()
        original = sagemaker.create_compilation_job
        if getattr(original, 'demo_simulator', None) is self:
            return

        def create_compilation_job(*args: Any, **kwargs: Any) -> str:
            arn = original(*args, **kwargs)
            self._make_starting(sagemaker.compilation_jobs[kwargs['compilation_job_name']], None)
            return arn

        create_compilation_job.demo_simulator = self  # type: ignore[attr-defined]
        sagemaker.create_compilation_job = create_compilation_job  # type: ignore[method-assign]

    def install_stop_compilation_job(self) -> None:
        """moto has no StopCompilationJob; this one moves an active job to STOPPING for `step` to finish."""
        existing = getattr(SageMakerResponse, 'stop_compilation_job', None)
        if existing is not None and getattr(existing, 'demo_simulator', None) is None:
            return  # moto implements it by now
        simulator = self

        def stop_compilation_job(response: SageMakerResponse) -> ActionResult:
            name = response._get_param('CompilationJobName')
            job = response.sagemaker_backend.compilation_jobs.get(name)
            if job is None:
                raise ResourceNotFound(message=f"Could not find compilation job '{name}'.")
            if job.compilation_job_status not in ('STARTING', 'INPROGRESS'):
                raise ValidationError(
                    message=f'Compilation job {name} is {job.compilation_job_status} and cannot be stopped.'
                )
            at = simulator._next_time(job, None)
            job.compilation_job_status = 'STOPPING'
            job.last_modified_time = simulator._stop_requested[name] = at
            return ActionResult({})

        stop_compilation_job.demo_simulator = self  # type: ignore[attr-defined]
        SageMakerResponse.stop_compilation_job = stop_compilation_job  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        """Undo `install_stop_compilation_job` (the create interception goes with moto's reset)."""
        if getattr(getattr(SageMakerResponse, 'stop_compilation_job', None), 'demo_simulator', None) is self:
            del SageMakerResponse.stop_compilation_job  # type: ignore[attr-defined]

    # ---- one step ------------------------------------------------------------------------------------

    def step(self, now: datetime | None = None) -> list[str]:
        """Advance every job, and every Greengrass component version, one notch; returns what changed."""
        with self._step_lock:
            self.steps += 1
            changes: list[str] = []
            try:
                changes += self._step_sagemaker(now)
                if self.greengrass is not None:
                    changes += step_fleet(self.greengrass, now, install_delay=self.install_delay)
            finally:  # what did change is logged even when a later part of the step fails
                for change in changes:
                    log.info('Demo: %s', change)
            return changes

    def _step_sagemaker(self, now: datetime | None) -> list[str]:
        """Compilation jobs stop, finish and begin; the running training job advances; a new job starts."""
        changes = self._step_compilations(now)
        for training in list(backend().training_jobs.values()):
            if training.training_job_status == 'InProgress':
                change = self._advance_training(training, now)
                if change:
                    changes.append(change)
        if self.steps % self.new_job_every == 0:
            started = self._start_missing_target(now)
            if started:
                changes.append(started)
        return changes

    def _step_compilations(self, now: datetime | None) -> list[str]:
        """Stopping jobs stop, running ones due to end finish, starting ones begin (in that order)."""
        changes: list[str] = []
        jobs = list(backend().compilation_jobs.values())
        for job in jobs:
            if job.compilation_job_status == 'STOPPING':
                changes.append(self._stopped(job, now))
        for job in jobs:
            if job.compilation_job_status == 'INPROGRESS':
                since = self._in_progress_since.setdefault(job.compilation_job_name, self.steps - 1)
                if self.steps - since >= self._steps_in_progress(job.compilation_job_name):
                    changes.append(self._finish(job, now))
        for job in jobs:
            if job.compilation_job_status == 'STARTING':
                changes.append(self._begin(job, now))
        return changes

    def _steps_in_progress(self, name: str) -> int:
        return 1 + stable_int(f'{name}:duration') % self.max_in_progress_steps

    def outcome(self, name: str) -> tuple[str, str | None]:
        """How a compilation job ends: as planned, else mostly COMPLETED, sometimes FAILED in Neo's words."""
        if name in self.planned_outcomes:
            return self.planned_outcomes[name]
        value = stable_int(name)
        if value % self.failure_one_in == 0:
            return 'FAILED', NEO_FAILURES[(value // self.failure_one_in) % len(NEO_FAILURES)]
        return 'COMPLETED', None

    def _make_starting(self, job: Any, now: datetime | None) -> None:
        at = self._next_time(job, now)
        job.compilation_job_status = 'STARTING'
        job.compilation_start_time = job.compilation_end_time = None
        job.failure_reason = ''
        job.creation_time = job.last_modified_time = at

    def _begin(self, job: Any, now: datetime | None) -> str:
        at = self._next_time(job, now)
        job.compilation_job_status = 'INPROGRESS'
        job.compilation_start_time = job.last_modified_time = at
        self._in_progress_since[job.compilation_job_name] = self.steps
        # lines stamped after `at` would sit in the future of the job's own timestamps
        write_neo_lines(
            self._logs, job.compilation_job_name, neo_begin(_input_uri(job), at, timedelta(milliseconds=1))
        )
        return f'{job.compilation_job_name}: STARTING → INPROGRESS'

    def _finish(self, job: Any, now: datetime | None) -> str:
        name = job.compilation_job_name
        status, failure = self.outcome(name)
        artifact = None
        if status == 'COMPLETED':
            artifact = compiled_artifact_uri(job.output_config, _input_uri(job))
            bucket, key = split_s3(artifact)
            self._s3.put_object(Bucket=bucket, Key=key, Body=compiled_tarball(name))
            job.model_artifacts = {'S3ModelArtifacts': artifact}
        at = self._next_time(job, now)
        job.compilation_job_status = status
        job.failure_reason = failure or ''
        job.compilation_end_time = job.last_modified_time = at
        self._in_progress_since.pop(name, None)
        started = job.compilation_start_time or at
        write_neo_lines(self._logs, name, neo_end(status, failure, job.output_config, artifact, started, at))
        return f'{name}: INPROGRESS → {status}' + (f' ({failure})' if failure else '')

    def _stopped(self, job: Any, now: datetime | None) -> str:
        name = job.compilation_job_name
        at = self._next_time(job, now)
        job.compilation_job_status = 'STOPPED'
        job.compilation_end_time = job.last_modified_time = at
        self._in_progress_since.pop(name, None)
        requested = self._stop_requested.pop(name, None)
        lines = neo_stop(requested, at) if requested else neo_stop(at, at)[1:]
        write_neo_lines(self._logs, name, lines)
        return f'{name}: STOPPING → STOPPED'

    # ---- the running training job --------------------------------------------------------------------

    def _advance_training(self, job: Any, now: datetime | None) -> str | None:
        name = job.training_job_name
        first_seen = self._training_seen.setdefault(name, self.steps - 1)
        epochs = int((job.hyper_parameters or {}).get('epochs', 20))
        stream = self._training_stream(job)
        if name not in self._epochs_logged:
            self._epochs_logged[name], self._last_log[name] = self._logged_so_far(stream)
        logged = self._epochs_logged[name]
        steps_left = self.training_steps - (self.steps - first_seen)
        if steps_left > 0:
            upto = min(epochs, logged + math.ceil((epochs - logged) / (steps_left + 1)))
            events = self._epoch_events(name, range(logged + 1, upto + 1), epochs, naive_utc(now))
            self._logs.write(TRAINING_LOG_GROUP, stream, events)
            self._epochs_logged[name] = upto
            return None
        end = self._next_time(job, now)
        events = self._epoch_events(name, range(logged + 1, epochs + 1), epochs, end - timedelta(seconds=45))
        events += training_epilogue(name, epochs, end, after=self._last_log.get(name))
        self._logs.write(TRAINING_LOG_GROUP, stream, events)
        self._epochs_logged[name] = epochs
        artifact = job.model_artifacts['S3ModelArtifacts']
        bucket, key = split_s3(artifact)
        self._s3.put_object(Bucket=bucket, Key=key, Body=model_tarball(name))
        seconds = int((end - (job.training_start_time or job.creation_time)).total_seconds())
        job.training_job_status = job.secondary_status = 'Completed'
        job.training_end_time = end
        job.training_time_in_seconds = job.billable_time_in_seconds = seconds
        job.final_metric_data_list = final_metrics(name, epochs, end)
        transitions = [dict(t) for t in job.secondary_status_transitions or []]
        if transitions and 'EndTime' not in transitions[-1]:
            transitions[-1]['EndTime'] = end - timedelta(seconds=30)
        transitions += [
            {
                'Status': 'Uploading',
                'StartTime': end - timedelta(seconds=30),
                'EndTime': end,
                'StatusMessage': 'Uploading generated training model',
            },
            {
                'Status': 'Completed',
                'StartTime': end,
                'EndTime': end,
                'StatusMessage': 'Training job completed',
            },
        ]
        job.secondary_status_transitions = transitions
        job.last_modified_time = end
        self._finished_training.add(name)
        return f'{name}: training InProgress → Completed'

    def _training_stream(self, job: Any) -> str:
        name = job.training_job_name
        if name not in self._training_streams:
            existing = sorted(self._logs.streams(TRAINING_LOG_GROUP, f'{name}/'))
            start = job.training_start_time or job.creation_time
            self._training_streams[name] = (
                existing[0] if existing else stream_name(name, f'algo-1-{epoch_millis(start) // 1000}')
            )
        return self._training_streams[name]

    def _epoch_events(
        self, name: str, numbers: range, epochs: int, around: datetime
    ) -> list[tuple[datetime, str]]:
        """Epoch lines one second apart, ending near `around` but never before the job's last line."""
        floor = self._last_log.get(name)
        start = around - timedelta(seconds=len(numbers))
        if floor is not None:
            start = max(start, floor + timedelta(milliseconds=1))
        events = [
            e
            for index, epoch in enumerate(numbers)
            for e in epoch_lines(name, epoch, epochs, start + timedelta(seconds=index))
        ]
        if events:
            self._last_log[name] = events[-1][0]
        return events

    def _logged_so_far(self, stream: str) -> tuple[int, datetime | None]:
        """How many epochs the stream already shows, and the time of its last line."""
        try:
            page = self._logs.logs.get_log_events(
                logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, startFromHead=True
            )
        except ClientError:
            return 0, None
        events = page.get('events', [])
        last = max((e['timestamp'] for e in events), default=None)
        epochs = sum(1 for event in events if event.get('message', '').startswith('Epoch '))
        return epochs, (datetime.fromtimestamp(last / 1000, UTC).replace(tzinfo=None) if last else None)

    # ---- new compilation jobs --------------------------------------------------------------------------

    def _start_missing_target(self, now: datetime | None) -> str | None:
        """Compile a completed training job for a catalogue target it has no job for yet (newest first).

        Training jobs that were never compiled are left alone, so the demo keeps showing "Not compiled",
        unless the simulator itself just finished their training.
        """
        sagemaker = backend()
        training_jobs = dict(sagemaker.training_jobs)
        lookup = _BackendLookup(training_jobs)
        targets_of: dict[str, set[str]] = {}
        for job in list(sagemaker.compilation_jobs.values()):
            tags = {t['Key']: t['Value'] for t in job.tags or []}
            owner = linking.owner_of(job.compilation_job_name, tags, _input_uri(job), lookup)
            if owner:
                targets_of.setdefault(owner, set()).add(self._target_of(job, tags))
        candidates = sorted(
            (
                j
                for n, j in training_jobs.items()
                if j.training_job_status == 'Completed' and (n in targets_of or n in self._finished_training)
            ),
            key=lambda j: j.creation_time,
            reverse=True,
        )
        for training in candidates:
            name = training.training_job_name
            missing = [t for t in self.catalog if t in DEMO_TARGETS and t not in targets_of.get(name, set())]
            if missing:
                return self._create(training, missing[0], now)
        return None

    def _target_of(self, job: Any, tags: dict[str, str]) -> str:
        tagged = tags.get(linking.TAG_TARGET)
        if tagged is not None and tagged in self.catalog:
            return tagged
        return self.catalog.recognise(job.output_config).id

    def _create(self, training: Any, target_id: str, now: datetime | None) -> str | None:
        existing = backend().compilation_jobs
        attempt = 1
        while compilation_job_name(training.training_job_name, target_id, attempt) in existing:
            attempt += 1
        name = compilation_job_name(training.training_job_name, target_id, attempt)
        try:
            self._sagemaker.create_compilation_job(
                CompilationJobName=name,
                RoleArn=ROLE_ARN,
                InputConfig={
                    'S3Uri': training.model_artifacts['S3ModelArtifacts'],
                    'Framework': 'PYTORCH',
                    'FrameworkVersion': '2.0',
                    'DataInputConfig': DATA_INPUT_CONFIG,
                },
                OutputConfig=self.catalog[target_id].output_config(f'{NEO_OUTPUT}/{name}/'),
                StoppingCondition={'MaxRuntimeInSeconds': 900},
                Tags=[
                    {'Key': linking.TAG_TRAINING_JOB, 'Value': training.training_job_name},
                    {'Key': linking.TAG_TARGET, 'Value': target_id},
                    {'Key': linking.TAG_ORIGIN, 'Value': 'auto'},
                ],
            )
        except ClientError as error:  # the portal created the same job a moment ago
            log.info('Demo simulator could not start %s: %s', name, error)
            return None
        job = backend().compilation_jobs[name]
        if job.compilation_job_status != 'STARTING':
            self._make_starting(job, now)
        return f'{name}: created (STARTING) for {self.catalog.display_name(target_id)}'


def _input_uri(job: Any) -> str:
    return (job.input_config or {}).get('S3Uri') or f's3://{BUCKET}/'
