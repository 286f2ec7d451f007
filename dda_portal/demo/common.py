"""What the seed and the simulator share: names, clients, moto's backend, clocks, logs, artifacts."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends

from .accounts import client_in

ACCOUNT_ID = '123456789012'  # moto's default account, the one the 'testing' credentials map to
BUCKET = 'dda-demo-models'
DATASET_BUCKET = 'dda-demo-datasets'
ROLE_ARN = f'arn:aws:iam::{ACCOUNT_ID}:role/dda-demo-sagemaker-execution'
TRAINING_OUTPUT = f's3://{BUCKET}/training-output'
NEO_OUTPUT = f's3://{BUCKET}/neo-output'
TRAINING_LOG_GROUP = '/aws/sagemaker/TrainingJobs'
COMPILATION_LOG_GROUP = '/aws/sagemaker/CompilationJobs'
EXTRACTION_STREAM = 'model-info-extraction'
COMPILATION_STREAM = 'compilation'
DATA_INPUT_CONFIG = '{"input0":[1,3,224,224]}'
# the targets the demo's jobs are compiled for (the seed's plan and the simulator's new jobs); the catalogue's
# other targets (Jetson Orin, Nano, TX2) are offered in the compile dialog like any other
DEMO_TARGETS = ('jetson-xavier', 'x86_64-cpu', 'x86_64-cuda', 'arm64-cpu')

# Failure messages SageMaker Neo gives for PyTorch models, verbatim.
NEO_UNTAR = (
    'ClientError: InputConfiguration: Unable to untar input model. Please confirm the model is a tar.gz file'
)
NEO_INPUT_SHAPE = (
    'ClientError: InputConfiguration: Invalid PyTorch model or input-shape mismatch. '
    'Make sure that inputs are lexically ordered and of the correct dimensionality.'
)
NEO_CONSTANTS_PKL = (
    'ClientError: InputConfiguration: Framework cannot load PyTorch model. [enforce fail at '
    'inline_container.cc:222] . file not found: archive/constants.pkl'
)
NEO_UNFLATTEN = (
    "ClientError: OperatorNotImplemented: The following operators are not implemented: {'aten::unflatten'}"
)
NEO_FAILURES = (NEO_UNTAR, NEO_INPUT_SHAPE, NEO_CONSTANTS_PKL, NEO_UNFLATTEN)


@dataclass(frozen=True)
class DemoPlace:
    """Where the seed writes: an account, a region (None: AWS_DEFAULT_REGION), its bucket and execution role.
    The home account's by default; another use case's inside `at_place`."""

    account_id: str = ACCOUNT_ID
    region: str | None = None
    bucket: str = BUCKET
    role_arn: str = ROLE_ARN


HOME_PLACE = DemoPlace()
_place: ContextVar[DemoPlace] = ContextVar('demo_place', default=HOME_PLACE)


@contextmanager
def at_place(place: DemoPlace) -> Iterator[DemoPlace]:
    """`client`, `region`, `backend` and the bucket names below speak of `place` within the block."""
    token = _place.set(place)
    try:
        yield place
    finally:
        _place.reset(token)


def region() -> str:
    return _place.get().region or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1'


def client(service: str) -> Any:
    """A plain boto3 client for whatever endpoint the environment names (moto's server or mock_aws), acting
    in the current place's account and region."""
    account = _place.get().account_id
    if account != ACCOUNT_ID:
        return client_in(service, account, region())
    return boto3.session.Session().client(service, region_name=region())


def backend() -> SageMakerModelBackend:
    return sagemaker_backends[_place.get().account_id][region()]


def bucket() -> str:
    return _place.get().bucket


def training_output() -> str:
    return f's3://{bucket()}/training-output'


def neo_output() -> str:
    return f's3://{bucket()}/neo-output'


def role_arn() -> str:
    return _place.get().role_arn


def naive_utc(value: datetime | None = None) -> datetime:
    """moto keeps naive UTC datetimes with millisecond precision on the wire; so do we."""
    value = value or datetime.now(UTC)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def stable_int(text: str) -> int:
    """A hash that is the same in every process (Python's own hash() is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], 'big')


def stream_name(job: str, suffix: str) -> str:
    return f'{job}/{suffix}'


def epoch_millis(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp() * 1000)


def tarball(members: dict[str, bytes]) -> bytes:
    """A small but genuine model.tar.gz."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode='wb', mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode='w') as tar,
    ):
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def model_tarball(training_job: str) -> bytes:
    weights = random.Random(training_job).randbytes(2048)
    manifest = json.dumps(
        {'training_job': training_job, 'classes': ['good', 'anomaly'], 'input': [1, 3, 224, 224]}
    )
    return tarball({'model.pth': weights, 'manifest.json': manifest.encode()})


def compiled_tarball(compilation_job: str) -> bytes:
    noise = random.Random(compilation_job)
    return tarball(
        {
            'compiled.so': noise.randbytes(1536),
            'compiled.params': noise.randbytes(1024),
            'compiled_model.json': json.dumps({'compilation_job': compilation_job}).encode(),
        }
    )


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix('s3://').partition('/')
    return bucket, key


def compiled_artifact_uri(output_config: dict[str, Any], input_uri: str) -> str:
    """Where Neo writes its result: <S3OutputLocation>/<input model name>-<target>.tar.gz."""
    device = output_config.get('TargetDevice')
    platform = output_config.get('TargetPlatform') or {}
    suffix = device or '_'.join(str(platform[k]) for k in ('Os', 'Arch', 'Accelerator') if platform.get(k))
    stem = input_uri.rstrip('/').rsplit('/', 1)[-1].removesuffix('.tar.gz') or 'model'
    return f'{output_config["S3OutputLocation"].rstrip("/")}/{stem}-{suffix}.tar.gz'


def target_label(output_config: dict[str, Any]) -> str:
    platform = output_config.get('TargetPlatform') or {}
    return output_config.get('TargetDevice') or '/'.join(
        str(platform[k]) for k in ('Os', 'Arch', 'Accelerator') if platform.get(k)
    )


class LogWriter:
    """Appends events to CloudWatch Logs streams, creating groups and streams on first use."""

    def __init__(self, logs: Any) -> None:
        self.logs = logs
        self._known: set[tuple[str, str | None]] = set()

    def _ensure(self, group: str, stream: str | None) -> None:
        if (group, stream) in self._known:
            return
        try:
            if stream is None:
                self.logs.create_log_group(logGroupName=group)
            else:
                self._ensure(group, None)
                self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') != 'ResourceAlreadyExistsException':
                raise
        self._known.add((group, stream))

    def ensure_group(self, group: str) -> None:
        self._ensure(group, None)

    def write(self, group: str, stream: str, events: Sequence[tuple[datetime, str]]) -> None:
        if not events:
            return
        self._ensure(group, stream)
        ordered = sorted(events, key=lambda event: event[0])
        self.logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{'timestamp': epoch_millis(at), 'message': message} for at, message in ordered],
        )

    def streams(self, group: str, prefix: str) -> list[str]:
        try:
            pages = self.logs.get_paginator('describe_log_streams').paginate(
                logGroupName=group, logStreamNamePrefix=prefix
            )
            return [s['logStreamName'] for page in pages for s in page.get('logStreams', [])]
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
                return []
            raise


def spread(start: datetime, end: datetime, lines: Iterable[str]) -> list[tuple[datetime, str]]:
    """Give lines evenly spaced timestamps between start and end (inclusive)."""
    lines = list(lines)
    if len(lines) < 2:
        return [(start, line) for line in lines]
    step = (end - start) / (len(lines) - 1)
    return [(start + step * index, line) for index, line in enumerate(lines)]


# ---- what the jobs write to their logs ---------------------------------------------------------------


def _toolkit(at: datetime, message: str, source: str = 'sagemaker-training-toolkit') -> str:
    return f'{at:%Y-%m-%d %H:%M:%S},{at.microsecond // 1000:03d} {source} INFO     {message}'


_GPUS = {'ml.g4dn': 'cuda (Tesla T4, 15.1 GiB)', 'ml.p3': 'cuda (Tesla V100-SXM2-16GB, 15.8 GiB)'}


def training_preamble(
    job: str, instance_type: str, epochs: int, start: datetime
) -> list[tuple[datetime, str]]:
    device = next((gpu for prefix, gpu in _GPUS.items() if instance_type.startswith(prefix)), 'cpu (4 vCPUs)')
    rng = random.Random(job)
    train, validation = rng.randint(2400, 6200), rng.randint(500, 1400)
    at = [start + timedelta(seconds=s) for s in (0, 0.4, 0.9, 1.3, 2.1, 9.8, 12.4, 14.0, 14.6, 15.1)]
    return [
        (at[0], 'bash: cannot set terminal process group (-1): Inappropriate ioctl for device'),
        (at[1], 'bash: no job control in this shell'),
        (at[2], _toolkit(at[2], 'Imported framework sagemaker_pytorch_container.training')),
        (at[3], _toolkit(at[3], 'No Neurons detected (normal if no neurons installed)')),
        (at[4], _toolkit(at[4], 'Invoking user script', 'sagemaker_pytorch_container.training')),
        (at[5], _toolkit(at[5], 'Installing dependencies from requirements.txt')),
        (at[6], f'Loaded {train} training and {validation} validation images (classes: good, anomaly)'),
        (at[7], f'Using device: {device}'),
        (at[8], 'Backbone resnet50 (ImageNet weights), input 3x224x224, batch size 32, lr 0.0005'),
        (at[9], f'Starting training for {epochs} epochs'),
    ]


def _metrics(job: str, epoch: int, epochs: int) -> tuple[float, float, float, float, float]:
    """train loss, validation loss, accuracy, F1 and seconds of one epoch: improving, with some noise."""
    rng = random.Random(f'{job}:{epoch}')
    progress = epoch / epochs
    train_loss = 0.69 * (1 - 0.85 * progress) + rng.uniform(-0.02, 0.02)
    val_loss = train_loss + 0.04 + rng.uniform(-0.015, 0.03)
    accuracy = 0.55 + 0.42 * progress**0.6 + rng.uniform(-0.01, 0.01)
    f1 = accuracy - 0.03 + rng.uniform(-0.01, 0.01)
    return train_loss, val_loss, accuracy, f1, rng.uniform(38, 95)


def best_epoch(job: str, epochs: int) -> tuple[int, float, float]:
    """(epoch, F1, accuracy) of the epoch with the best validation F1."""
    scored = [(_metrics(job, epoch, epochs)[3], epoch) for epoch in range(1, epochs + 1)]
    f1, epoch = max(scored)
    return epoch, f1, _metrics(job, epoch, epochs)[2]


def epoch_lines(job: str, epoch: int, epochs: int, at: datetime) -> list[tuple[datetime, str]]:
    train_loss, val_loss, accuracy, f1, seconds = _metrics(job, epoch, epochs)
    lines = [
        (
            at,
            f'Epoch {epoch}/{epochs} - train_loss: {train_loss:.4f} - val_loss: {val_loss:.4f} - '
            f'val_accuracy: {accuracy:.4f} - val_f1: {f1:.4f} - {seconds:.1f}s',
        )
    ]
    best_so_far = max(_metrics(job, e, epochs)[3] for e in range(1, epoch + 1))
    if f1 == best_so_far and (epoch % 3 == 0 or epoch == epochs):
        lines.append(
            (
                at + timedelta(milliseconds=300),
                f'Best model so far (val_f1={f1:.4f}), checkpoint saved to /opt/ml/checkpoints/best.pt',
            )
        )
    return lines


def final_metrics(job: str, epochs: int, at: datetime) -> list[dict[str, Any]]:
    """DescribeTrainingJob's FinalMetricDataList for a finished job."""
    _, f1, accuracy = best_epoch(job, epochs)
    return [
        {'MetricName': 'validation:f1', 'Value': round(f1, 4), 'Timestamp': at},
        {'MetricName': 'validation:accuracy', 'Value': round(accuracy, 4), 'Timestamp': at},
        {'MetricName': 'train:loss', 'Value': round(_metrics(job, epochs, epochs)[0], 4), 'Timestamp': at},
    ]


def training_epilogue(
    job: str, epochs: int, end: datetime, after: datetime | None = None
) -> list[tuple[datetime, str]]:
    """The last lines of a successful job, ending at `end` (or just after `after` when that is later)."""
    epoch, f1, _ = best_epoch(job, epochs)
    at = [end - timedelta(seconds=s) for s in (40, 31, 6, 5, 1)]
    if after is not None and at[0] <= after:
        at = [after + timedelta(milliseconds=index + 1) for index in range(len(at))]
    return [
        (at[0], f'Training finished: best val_f1={f1:.4f} at epoch {epoch}'),
        (at[1], 'Exporting TorchScript model (input0: [1, 3, 224, 224]) to /opt/ml/model/model.pth'),
        (at[2], _toolkit(at[2], 'Waiting for the process to finish and give a return code.')),
        (at[3], _toolkit(at[3], 'Done waiting for a return code. Received 0 from exiting process.')),
        (at[4], _toolkit(at[4], 'Reporting training SUCCESS')),
    ]


def neo_begin(
    input_uri: str, at: datetime, spacing: timedelta = timedelta(seconds=3)
) -> list[tuple[str, datetime, str]]:
    """What a compilation job logs when it starts: fetching and unpacking the model."""
    return [
        (EXTRACTION_STREAM, at, f'Downloading model artifacts from {input_uri}'),
        (EXTRACTION_STREAM, at + spacing, f'Extracting {input_uri.rsplit("/", 1)[-1]}'),
    ]


def neo_end(
    status: str,
    failure: str | None,
    output_config: dict[str, Any],
    artifact: str | None,
    start: datetime,
    end: datetime,
) -> list[tuple[str, datetime, str]]:
    """What a compilation job logs when it finishes (COMPLETED or FAILED)."""
    if status == 'FAILED' and failure and 'InputConfiguration' in failure:
        return [
            (EXTRACTION_STREAM, end - timedelta(seconds=2), 'Model info extraction failed'),
            (EXTRACTION_STREAM, end, failure),
        ]
    label = target_label(output_config)
    lines = [
        (EXTRACTION_STREAM, 'Framework PYTORCH 2.0, DataInputConfig {"input0": [1, 3, 224, 224]}'),
        (EXTRACTION_STREAM, 'Model info extraction completed'),
        (
            COMPILATION_STREAM,
            f'Compiling for {label}'
            + (
                f' with compiler options {output_config["CompilerOptions"]}'
                if output_config.get('CompilerOptions')
                else ''
            ),
        ),
        (COMPILATION_STREAM, 'Loading TorchScript model and converting it to Relay IR'),
    ]
    if status == 'FAILED':
        lines.append((COMPILATION_STREAM, failure or 'ClientError: compilation failed'))
    else:
        if 'NVIDIA' in label or 'jetson' in label:
            lines.append(
                (COMPILATION_STREAM, 'Partitioning the graph for TensorRT: 97 of 101 operators offloaded')
            )
        lines += [
            (COMPILATION_STREAM, 'Building the runtime module (opt_level=3)'),
            (COMPILATION_STREAM, f'Uploading the compiled model to {artifact}'),
            (COMPILATION_STREAM, 'Compilation completed successfully'),
        ]
    texts = [text for _, text in lines]
    first = max(end - timedelta(seconds=10 * len(lines)), start + timedelta(seconds=5))
    if first < end:
        timed = spread(first, end, texts)
    else:  # a job that ran for seconds flushes its log just after it ends
        timed = [(end + timedelta(milliseconds=index + 1), text) for index, text in enumerate(texts)]
    return [(stream, at, text) for (stream, _), (at, text) in zip(lines, timed, strict=True)]


def neo_stop(requested: datetime, stopped: datetime | None) -> list[tuple[str, datetime, str]]:
    lines = [
        (COMPILATION_STREAM, requested, 'Received a StopCompilationJob request; terminating compilation')
    ]
    if stopped is not None:
        lines.append((COMPILATION_STREAM, stopped, 'Compilation stopped'))
    return lines


def write_neo_lines(writer: LogWriter, job: str, lines: Sequence[tuple[str, datetime, str]]) -> None:
    for suffix in (EXTRACTION_STREAM, COMPILATION_STREAM):
        events = [(at, text) for stream, at, text in lines if stream == suffix]
        writer.write(COMPILATION_LOG_GROUP, stream_name(job, suffix), events)
