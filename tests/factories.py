"""Creating SageMaker objects in moto the way AWS would have them (used by several test modules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
from moto.sagemaker.models import sagemaker_backends

from dda_portal.domain.targets import TargetCatalog

ACCOUNT = '123456789012'
REGION = 'us-east-1'
ROLE = f'arn:aws:iam::{ACCOUNT}:role/dda-compile'
CATALOG = TargetCatalog.load()


@cache
def sagemaker() -> Any:
    """One client for all tests (moto's mock intercepts it whenever a mock is active)."""
    return boto3.client('sagemaker', region_name=REGION)


def backend() -> Any:
    return sagemaker_backends[ACCOUNT][REGION]


def naive_utc(when: datetime | None = None) -> datetime:
    """moto keeps naive UTC datetimes; an aware one would break its time filters."""
    return (when or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)


def create_training_job(name: str, status: str = 'Completed', output: str = 's3://dda-models/out') -> None:
    sagemaker().create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={'TrainingImage': 'dda/train:1', 'TrainingInputMode': 'File'},
        RoleArn=ROLE,
        OutputDataConfig={'S3OutputPath': output},
        ResourceConfig={'InstanceType': 'ml.g4dn.xlarge', 'InstanceCount': 1, 'VolumeSizeInGB': 30},
        StoppingCondition={'MaxRuntimeInSeconds': 7200},
    )
    if status != 'Completed':
        job = backend().training_jobs[name]
        job.training_job_status = status
        job.training_end_time = None


def create_compilation_job(
    name: str,
    training_job: str,
    target_id: str,
    status: str = 'COMPLETED',
    failure_reason: str = '',
    tags: dict[str, str] | None = None,
    input_uri: str | None = None,
) -> None:
    model = input_uri or f's3://dda-models/out/{training_job}/output/model.tar.gz'
    kwargs: dict[str, Any] = {}
    if tags:
        kwargs['Tags'] = [{'Key': k, 'Value': v} for k, v in tags.items()]
    sagemaker().create_compilation_job(
        CompilationJobName=name,
        RoleArn=ROLE,
        InputConfig={'S3Uri': model, 'DataInputConfig': '{"input0":[1,3,224,224]}', 'Framework': 'PYTORCH'},
        OutputConfig=CATALOG[target_id].output_config(f's3://dda-models/compiled/{name}/'),
        StoppingCondition={'MaxRuntimeInSeconds': 900},
        **kwargs,
    )
    if status != 'COMPLETED' or failure_reason:
        set_compilation_status(name, status, failure_reason)


def set_compilation_status(name: str, status: str, failure_reason: str = '') -> None:
    """Move a compilation job like SageMaker would, LastModifiedTime included."""
    job = backend().compilation_jobs[name]
    job.compilation_job_status = status
    job.failure_reason = failure_reason
    if status in ('STARTING',):
        job.compilation_start_time = None
    if status not in ('COMPLETED', 'FAILED', 'STOPPED'):
        job.compilation_end_time = None
    else:
        job.compilation_end_time = naive_utc()
    job.last_modified_time = naive_utc() + timedelta(milliseconds=1)


def set_training_status(name: str, status: str) -> None:
    job = backend().training_jobs[name]
    job.training_job_status = status
    job.last_modified_time = naive_utc() + timedelta(milliseconds=1)


# a scenario the fault tests share: what changes in AWS while the portal cannot see it
UNTAR = (
    'ClientError: InputConfiguration: Unable to untar input model. Please confirm the model is a tar.gz file'
)
DENIED = (
    'User: arn:aws:sts::123456789012:assumed-role/dda-portal/i-0abc is not authorized to perform: '
    'sagemaker:DescribeCompilationJob because no identity-based policy allows the '
    'sagemaker:DescribeCompilationJob action'
)


def seed_glass_cracks() -> None:
    create_training_job('glass-cracks', status='InProgress')
    create_compilation_job('glass-cracks-x86-64-cpu-1', 'glass-cracks', 'x86_64-cpu', 'INPROGRESS')


def change_everything_meanwhile() -> None:
    """The compilation fails with UNTAR, training completes and a new training job arrives."""
    set_compilation_status('glass-cracks-x86-64-cpu-1', 'FAILED', UNTAR)
    set_training_status('glass-cracks', 'Completed')
    create_training_job('new-arrival')
