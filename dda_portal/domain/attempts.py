"""May this compilation attempt start? And the inputs a compilation job is made from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from .problems import Invalid
from .status import ACTIVE_COMPILATION, CompilationStatus, TrainingStatus

# SageMaker Neo's InputConfig.Framework values.
FRAMEWORKS = ('PYTORCH', 'TENSORFLOW', 'KERAS', 'MXNET', 'ONNX', 'TFLITE', 'XGBOOST', 'DARKNET', 'SKLEARN')
_FRAMEWORK_VERSION = re.compile(r'^[0-9]\.[A-Za-z0-9.]{1,10}$')  # SageMaker's FrameworkVersion pattern
_ROLE_ARN = re.compile(r'^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$')
_S3_URI = re.compile(r'^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$')
MAX_SHAPE_TEXT = 1000


@dataclass(frozen=True)
class StartDecision:
    allowed: bool
    reason: str = ''
    attempt: int = 1  # the number the new attempt would get
    kind: str = ''  # why not, as a stable word (the JSON API's refusal codes)


def may_start(
    training_status: str, latest: CompilationStatus | None, latest_attempt: int = 0
) -> StartDecision:
    """At most one Starting/In progress/Stopping/Completed attempt per (training job, target)."""
    if training_status != TrainingStatus.COMPLETED:
        return StartDecision(
            False,
            f'The training job is {training_status}; only a Completed job can be compiled.',
            kind='training_not_completed',
        )
    if latest is None:
        return StartDecision(True, attempt=1)
    if latest in ACTIVE_COMPILATION:
        return StartDecision(
            False,
            f'Already compiling (attempt {latest_attempt} is {latest}).',
            latest_attempt,
            'already_compiling',
        )
    if latest is CompilationStatus.COMPLETED:
        return StartDecision(
            False, f'Already compiled (attempt {latest_attempt}).', latest_attempt, 'already_compiled'
        )
    if latest is CompilationStatus.UNKNOWN:
        return StartDecision(
            False,
            f'The state of attempt {latest_attempt} is unknown; refresh first.',
            latest_attempt,
            'state_unknown',
        )
    return StartDecision(True, f'Retry after attempt {latest_attempt} {latest.lower()}.', latest_attempt + 1)


def may_auto_compile(status: str, first_seen_status: str, auto_compiled_at: datetime | None) -> bool:
    """Automatic compilation happens once per training job, ever, and only for a job the portal saw reach
    Completed (one that was Completed when first seen is history, not news)."""
    return (
        status == TrainingStatus.COMPLETED
        and first_seen_status != TrainingStatus.COMPLETED
        and auto_compiled_at is None
    )


@dataclass(frozen=True)
class CompileInputs:
    """What a compilation job is made from, beyond the model and the target."""

    framework: str
    framework_version: str
    input_shape: str  # DataInputConfig as SageMaker takes it (a JSON object of input name → shape)


class InvalidInput(Invalid, ValueError):
    """A value the user typed that SageMaker would refuse; the message says which and why."""


def parse_input_shape(text: str) -> str:
    """`[1,3,224,224]` or `{"input0": [1,3,224,224]}` → DataInputConfig JSON; positive integers only."""
    text = text.strip()
    if not text:
        raise InvalidInput('Input shape is required, e.g. [1, 3, 224, 224].')
    if len(text) > MAX_SHAPE_TEXT:
        raise InvalidInput(f'Input shape is longer than {MAX_SHAPE_TEXT} characters.')
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidInput(
            'Input shape must be a list of positive integers, e.g. [1, 3, 224, 224].'
        ) from None
    shapes = value if isinstance(value, dict) else {'input0': value}
    if not shapes:
        raise InvalidInput('Input shape names no input.')
    for name, shape in shapes.items():
        if (
            not isinstance(shape, list)
            or not shape
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
        ):
            raise InvalidInput(
                f'Input shape of {name!r} must be a list of positive integers, e.g. [1, 3, 224, 224].'
            )
    return json.dumps(shapes, separators=(',', ':'))


def check_inputs(framework: str, framework_version: str, input_shape: str) -> CompileInputs:
    framework = framework.strip().upper()
    if framework not in FRAMEWORKS:
        raise InvalidInput(f'Framework must be one of {", ".join(FRAMEWORKS)}.')
    framework_version = framework_version.strip()
    if framework_version and not _FRAMEWORK_VERSION.match(framework_version):
        raise InvalidInput('Framework version looks like 1.8 or 2.0.1.')
    return CompileInputs(framework, framework_version, parse_input_shape(input_shape))


def is_role_arn(text: str) -> bool:
    return bool(_ROLE_ARN.match(text))


def is_s3_uri(text: str) -> bool:
    return bool(_S3_URI.match(text))


@dataclass(frozen=True)
class Timings:
    """Where an attempt's time went, in seconds; None where it does not apply (yet)."""

    queued: float | None  # created → compilation started
    compiling: float | None  # started → ended, or → now while running
    budget_share: float | None  # compiling / MaxRuntimeInSeconds


def timings(
    created: datetime,
    started: datetime | None,
    ended: datetime | None,
    now: datetime,
    max_runtime_seconds: int | None,
) -> Timings:
    queued = ((started or ended or now) - created).total_seconds() if created else None
    compiling = ((ended or now) - started).total_seconds() if started else None
    share = compiling / max_runtime_seconds if compiling is not None and max_runtime_seconds else None
    return Timings(
        max(queued, 0.0) if queued is not None else None,
        max(compiling, 0.0) if compiling is not None else None,
        share,
    )
