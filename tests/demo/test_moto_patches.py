"""The demo's moto fixes, exercised through the real boto3 client against moto in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.sagemaker.models import CompilationJob, SageMakerModelBackend, sagemaker_backends
from moto.sts.responses import TokenResponse

from dda_portal.demo import moto_patches, sts_trust
from dda_portal.domain.targets import TargetCatalog

pytestmark = pytest.mark.usefixtures('moto_aws')

ROLE = 'arn:aws:iam::123456789012:role/test'


def sagemaker() -> Any:
    return boto3.client('sagemaker', region_name='us-east-1')


def backend() -> SageMakerModelBackend:
    return sagemaker_backends['123456789012']['us-east-1']


def count_calls(client: Any, operation: str) -> list[str]:
    calls: list[str] = []
    client.meta.events.register(f'before-call.sagemaker.{operation}', lambda **_: calls.append(operation))
    return calls


def create_training_job(client: Any, name: str) -> None:
    client.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={'TrainingImage': 'image', 'TrainingInputMode': 'File'},
        RoleArn=ROLE,
        OutputDataConfig={'S3OutputPath': 's3://bucket/out'},
        ResourceConfig={'InstanceType': 'ml.m5.xlarge', 'InstanceCount': 1, 'VolumeSizeInGB': 10},
        StoppingCondition={'MaxRuntimeInSeconds': 3600},
    )


def create_compilation_job(client: Any, name: str, target_id: str, tags: list[dict[str, str]] | None) -> None:
    kwargs: dict[str, Any] = {'Tags': tags} if tags is not None else {}
    client.create_compilation_job(
        CompilationJobName=name,
        RoleArn=ROLE,
        InputConfig={
            'S3Uri': 's3://bucket/out/tj/output/model.tar.gz',
            'Framework': 'PYTORCH',
            'DataInputConfig': '{"input0":[1,3,224,224]}',
        },
        OutputConfig=TargetCatalog.load()[target_id].output_config(f's3://bucket/neo/{name}/'),
        StoppingCondition={'MaxRuntimeInSeconds': 900},
        **kwargs,
    )


def test_apply_patches_what_moto_5_2_5_breaks_and_is_idempotent() -> None:
    # moto is pinned to 5.2.5, whose originals still show each bug
    assert moto_patches.compilation_summary_is_broken()
    assert moto_patches.list_training_jobs_pages_before_filtering()
    assert moto_patches.list_training_jobs_ignores_sort()
    assert moto_patches.untagged_compilation_job_keeps_none()
    assert sts_trust.assume_role_ignores_the_role()

    first = moto_patches.apply()
    patched = (CompilationJob.summary, SageMakerModelBackend.list_training_jobs, CompilationJob.__init__)
    second = moto_patches.apply()

    assert (
        first
        == second
        == [
            moto_patches.COMPILATION_SUMMARY,
            moto_patches.LIST_TRAINING_JOBS,
            moto_patches.UNTAGGED_COMPILATION_JOB,
            moto_patches.ASSUME_ROLE_TRUST,
        ]
    )
    assert (
        CompilationJob.summary,
        SageMakerModelBackend.list_training_jobs,
        CompilationJob.__init__,
    ) == patched
    # the same probes pass against the patched code
    assert not moto_patches.compilation_summary_is_broken(CompilationJob.summary)
    assert not moto_patches.list_training_jobs_pages_before_filtering(
        SageMakerModelBackend.list_training_jobs
    )
    assert not moto_patches.untagged_compilation_job_keeps_none(CompilationJob.__init__)
    assert not sts_trust.assume_role_ignores_the_role(TokenResponse.assume_role)


def test_list_compilation_jobs_with_cpu_target_platform() -> None:
    client = sagemaker()
    create_compilation_job(client, 'tj-x86-64-cpu-1', 'x86_64-cpu', [{'Key': 'k', 'Value': 'v'}])
    create_compilation_job(client, 'tj-jetson-xavier-1', 'jetson-xavier', [{'Key': 'k', 'Value': 'v'}])

    pages = client.get_paginator('list_compilation_jobs').paginate()
    summaries = {s['CompilationJobName']: s for page in pages for s in page['CompilationJobSummaries']}

    cpu = summaries['tj-x86-64-cpu-1']
    assert (cpu['CompilationTargetPlatformOs'], cpu['CompilationTargetPlatformArch']) == ('LINUX', 'X86_64')
    assert 'CompilationTargetPlatformAccelerator' not in cpu
    assert summaries['tj-jetson-xavier-1']['CompilationTargetPlatformAccelerator'] == 'NVIDIA'


def test_untagged_compilation_job_lists_and_takes_tags() -> None:
    client = sagemaker()
    create_compilation_job(client, 'made-elsewhere', 'arm64-cpu', tags=None)
    arn = client.describe_compilation_job(CompilationJobName='made-elsewhere')['CompilationJobArn']

    assert client.list_tags(ResourceArn=arn)['Tags'] == []
    client.add_tags(ResourceArn=arn, Tags=[{'Key': 'team', 'Value': 'vision'}])
    assert client.list_tags(ResourceArn=arn)['Tags'] == [{'Key': 'team', 'Value': 'vision'}]


def test_incremental_list_training_jobs_costs_one_call_for_few_changes() -> None:
    client = sagemaker()
    for index in range(250):
        create_training_job(client, f'tj-{index:03d}')
    now = datetime.now(UTC).replace(tzinfo=None)
    for index, job in enumerate(backend().training_jobs.values()):
        job.creation_time = now - timedelta(days=10, minutes=index)
        job.last_modified_time = now - timedelta(days=9)
    recent = ['tj-007', 'tj-123', 'tj-249']
    for offset, name in enumerate(recent):
        backend().training_jobs[name].last_modified_time = now - timedelta(minutes=offset + 1)
    calls = count_calls(client, 'ListTrainingJobs')

    pages = client.get_paginator('list_training_jobs').paginate(
        LastModifiedTimeAfter=now.replace(tzinfo=UTC) - timedelta(hours=1),
        SortBy='CreationTime',
        SortOrder='Descending',
        PaginationConfig={'PageSize': 100},
    )
    names = [s['TrainingJobName'] for page in pages for s in page['TrainingJobSummaries']]

    assert names == recent  # creation times decrease with the index, so descending is ascending by name
    assert len(calls) == 1


def test_list_training_jobs_pages_the_filtered_sorted_list() -> None:
    client = sagemaker()
    for name in ('delta', 'alpha', 'echo', 'charlie', 'bravo', 'skip-me'):
        create_training_job(client, name)
    start = datetime(2026, 1, 1)
    for index, job in enumerate(backend().training_jobs.values()):
        job.creation_time = job.last_modified_time = start + timedelta(hours=index)
    backend().training_jobs['charlie'].training_job_status = 'Failed'
    backend().training_jobs['skip-me'].last_modified_time = start - timedelta(days=1)
    after = start.replace(tzinfo=UTC) - timedelta(hours=1)

    first = client.list_training_jobs(
        LastModifiedTimeAfter=after, SortBy='Name', SortOrder='Descending', MaxResults=2
    )
    second = client.list_training_jobs(
        LastModifiedTimeAfter=after,
        SortBy='Name',
        SortOrder='Descending',
        MaxResults=2,
        NextToken=first['NextToken'],
    )
    third = client.list_training_jobs(
        LastModifiedTimeAfter=after,
        SortBy='Name',
        SortOrder='Descending',
        MaxResults=2,
        NextToken=second['NextToken'],
    )

    assert [[s['TrainingJobName'] for s in p['TrainingJobSummaries']] for p in (first, second, third)] == [
        ['echo', 'delta'],
        ['charlie', 'bravo'],
        ['alpha'],
    ]
    assert (first['NextToken'], second['NextToken'], third.get('NextToken')) == ('2', '4', None)
    assert set(first['TrainingJobSummaries'][0]) == {
        'TrainingJobName',
        'TrainingJobArn',
        'CreationTime',
        'TrainingEndTime',
        'LastModifiedTime',
        'TrainingJobStatus',
    }
    by_creation = client.list_training_jobs(SortBy='CreationTime', SortOrder='Descending')
    assert [s['TrainingJobName'] for s in by_creation['TrainingJobSummaries']] == [
        'skip-me',
        'bravo',
        'charlie',
        'echo',
        'alpha',
        'delta',
    ]
    by_status = client.list_training_jobs(SortBy='Status', SortOrder='Ascending', StatusEquals='Completed')
    assert 'charlie' not in [s['TrainingJobName'] for s in by_status['TrainingJobSummaries']]
    by_status = client.list_training_jobs(SortBy='Status')
    assert by_status['TrainingJobSummaries'][0]['TrainingJobName'] == 'alpha'  # Completed < Failed, then name
    assert by_status['TrainingJobSummaries'][-1]['TrainingJobName'] == 'charlie'
    with pytest.raises(ClientError) as error:
        client.list_training_jobs(NextToken='99')
    assert error.value.response['Error']['Code'] == 'ValidationException'
