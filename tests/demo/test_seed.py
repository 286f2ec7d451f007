"""The demo seed, read back the way the portal reads AWS: boto3 calls, then the portal's own sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.common import (
    COMPILATION_LOG_GROUP,
    DEMO_TARGETS,
    NEO_FAILURES,
    TRAINING_LOG_GROUP,
    backend,
    split_s3,
)
from dda_portal.demo.seed import DemoInventory
from dda_portal.domain import linking
from dda_portal.domain.clock import utcnow
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import build
from dda_portal.store import Store

ALL_STATUSES = {'STARTING', 'INPROGRESS', 'STOPPING', 'STOPPED', 'COMPLETED', 'FAILED'}


def client(service: str) -> Any:
    return boto3.client(service, region_name='us-east-1')


def compilation_summaries() -> list[dict[str, Any]]:
    pages = (
        client('sagemaker').get_paginator('list_compilation_jobs').paginate(PaginationConfig={'PageSize': 7})
    )
    return [s for page in pages for s in page['CompilationJobSummaries']]


def log_messages(group: str, stream: str) -> list[str]:
    events = client('logs').get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)[
        'events'
    ]
    return [e['message'] for e in sorted(events, key=lambda e: e['timestamp'])]


def test_compilation_jobs_cover_every_status_and_target(inventory: DemoInventory) -> None:
    sagemaker = client('sagemaker')
    catalog = TargetCatalog.load()
    summaries = compilation_summaries()
    described = {
        s['CompilationJobName']: sagemaker.describe_compilation_job(
            CompilationJobName=s['CompilationJobName']
        )
        for s in summaries
    }

    assert {s['CompilationJobStatus'] for s in summaries} == ALL_STATUSES
    assert {n: d['CompilationJobStatus'] for n, d in described.items()} == inventory.compilation_jobs
    assert {catalog.recognise(d['OutputConfig']).id for d in described.values()} == set(DEMO_TARGETS)
    for name, job in described.items():
        assert catalog.recognise(job['OutputConfig']).id == inventory.compilation_targets[name]
        assert job['InputConfig']['Framework'] == 'PYTORCH'
        assert job['InputConfig']['DataInputConfig'] == '{"input0":[1,3,224,224]}'
        status = job['CompilationJobStatus']
        assert ('CompilationStartTime' in job) == (status != 'STARTING')
        assert ('CompilationEndTime' in job) == (status in ('COMPLETED', 'FAILED', 'STOPPED'))
        assert bool(job.get('FailureReason')) == (status == 'FAILED')
        assert job['CreationTime'] <= job['LastModifiedTime'] <= datetime.now(UTC)
    failures = {d['FailureReason'] for d in described.values() if d['CompilationJobStatus'] == 'FAILED'}
    assert failures == set(NEO_FAILURES)


def test_tags_and_links(inventory: DemoInventory) -> None:
    sagemaker = client('sagemaker')

    def tags(name: str) -> dict[str, str]:
        arn = sagemaker.describe_compilation_job(CompilationJobName=name)['CompilationJobArn']
        return {t['Key']: t['Value'] for t in sagemaker.list_tags(ResourceArn=arn)['Tags']}

    untagged = {inventory.linked_by_name_only, inventory.linked_by_s3_uri_only}
    assert all(untagged)
    for name, owner in inventory.compilation_owners.items():
        expected = (
            {}
            if name in untagged
            else {
                linking.TAG_TRAINING_JOB: owner,
                linking.TAG_TARGET: inventory.compilation_targets[name],
                linking.TAG_ORIGIN: 'auto',
            }
        )
        assert tags(name) == expected
    owner = inventory.compilation_owners[inventory.linked_by_s3_uri_only]
    by_uri = sagemaker.describe_compilation_job(CompilationJobName=inventory.linked_by_s3_uri_only)
    assert not inventory.linked_by_s3_uri_only.startswith(owner)
    assert (
        by_uri['InputConfig']['S3Uri'] == backend().training_jobs[owner].model_artifacts['S3ModelArtifacts']
    )
    owner = inventory.compilation_owners[inventory.linked_by_name_only]
    by_name = sagemaker.describe_compilation_job(CompilationJobName=inventory.linked_by_name_only)
    assert inventory.linked_by_name_only.startswith(f'{owner}-')
    assert f'/{owner}/output/' not in by_name['InputConfig']['S3Uri']


def test_training_jobs(inventory: DemoInventory) -> None:
    sagemaker = client('sagemaker')
    summaries = sagemaker.list_training_jobs(MaxResults=100)['TrainingJobSummaries']
    described = {
        s['TrainingJobName']: sagemaker.describe_training_job(TrainingJobName=s['TrainingJobName'])
        for s in summaries
    }

    assert {n: d['TrainingJobStatus'] for n, d in described.items()} == inventory.training_jobs
    assert 8 <= len(described) <= 12
    assert all(len(name) <= 63 and name.startswith('dda-') for name in described)
    assert {d['ResourceConfig']['InstanceType'] for d in described.values()} == {
        'ml.g4dn.xlarge',
        'ml.p3.2xlarge',
        'ml.m5.xlarge',
    }
    created = [d['CreationTime'] for d in described.values()]
    assert max(created) - min(created) > timedelta(days=5)
    assert min(created) > datetime.now(UTC) - timedelta(days=8)
    for job in described.values():
        if job['TrainingJobStatus'] == 'Completed':
            assert job['BillableTimeInSeconds'] == job['TrainingTimeInSeconds'] > 0
            assert job['TrainingStartTime'] < job['TrainingEndTime'] <= job['LastModifiedTime']
        else:
            assert 'BillableTimeInSeconds' not in job
    running = described[inventory.in_progress_training_job]
    assert running['TrainingJobStatus'] == 'InProgress' and 'TrainingEndTime' not in running
    failed = described[inventory.failed_training_job]
    assert failed['FailureReason'].startswith('CapacityError')
    assert inventory.not_compiled not in inventory.compilation_owners.values()
    # moto's time filters compare naive datetimes: the seed must never leave an aware one behind
    jobs: list[Any] = [*backend().training_jobs.values(), *backend().compilation_jobs.values()]
    for job in jobs:
        assert job.creation_time.tzinfo is None and job.last_modified_time.tzinfo is None


def test_artifacts_in_s3(inventory: DemoInventory) -> None:
    s3 = client('s3')
    sagemaker = client('sagemaker')
    keys = {o['Key'] for o in s3.list_objects_v2(Bucket=inventory.bucket)['Contents']}
    assert keys == set(inventory.s3_keys)
    for name, status in inventory.training_jobs.items():
        artifact = sagemaker.describe_training_job(TrainingJobName=name)['ModelArtifacts']['S3ModelArtifacts']
        assert (split_s3(artifact)[1] in keys) == (status == 'Completed')
    for name, status in inventory.compilation_jobs.items():
        job = sagemaker.describe_compilation_job(CompilationJobName=name)
        if status == 'COMPLETED':
            bucket, key = split_s3(job['ModelArtifacts']['S3ModelArtifacts'])
            body = s3.get_object(Bucket=bucket, Key=key)['Body'].read()
            assert body[:2] == b'\x1f\x8b'  # a real gzip file
        assert split_s3(job['InputConfig']['S3Uri'])[1] in keys


def test_logs(inventory: DemoInventory) -> None:
    logs = client('logs')
    training_streams = [
        s['logStreamName'] for s in logs.describe_log_streams(logGroupName=TRAINING_LOG_GROUP)['logStreams']
    ]
    owners = {stream.split('/')[0] for stream in training_streams}
    assert owners == set(inventory.training_jobs) - {inventory.without_logs}
    for stream in training_streams:
        assert stream.split('/')[1].startswith('algo-1-')
        lines = log_messages(TRAINING_LOG_GROUP, stream)
        assert 20 <= len(lines) <= 60, stream
        if inventory.training_jobs[stream.split('/')[0]] == 'Completed':
            assert lines[-1].endswith('Reporting training SUCCESS')

    sagemaker = client('sagemaker')
    for name, status in inventory.compilation_jobs.items():
        streams = [
            s['logStreamName']
            for s in logs.describe_log_streams(
                logGroupName=COMPILATION_LOG_GROUP, logStreamNamePrefix=f'{name}/'
            )['logStreams']
        ]
        if status == 'STARTING':
            assert streams == []
            continue
        assert f'{name}/model-info-extraction' in streams
        if status == 'FAILED':
            reason = sagemaker.describe_compilation_job(CompilationJobName=name)['FailureReason']
            last = max(
                (
                    e
                    for s in streams
                    for e in logs.get_log_events(logGroupName=COMPILATION_LOG_GROUP, logStreamName=s)[
                        'events'
                    ]
                ),
                key=lambda e: e['timestamp'],
            )
            assert last['message'] == reason
        if status == 'COMPLETED':
            assert (
                log_messages(COMPILATION_LOG_GROUP, f'{name}/compilation')[-1]
                == 'Compilation completed successfully'
            )


@pytest.fixture
def synced(inventory: DemoInventory, tmp_path: Path) -> Store:
    url = f'sqlite:///{tmp_path / "portal.db"}'
    store = Store(url)
    build(
        Settings(database_url=url, sync_enabled=False, greengrass_enabled=False),
        store,
        AwsClients(),
        TargetCatalog.load(),
    ).sync.pull_and_apply(utcnow())
    return store


def test_the_portal_sync_sees_the_intended_picture(inventory: DemoInventory, synced: Store) -> None:
    rollups = {job.name: job.rollup for job in synced.read(queries.jobs.training_jobs)}

    assert set(rollups) == set(inventory.training_jobs)
    assert rollups[inventory.fully_compiled] == 'Compiled'
    assert rollups[inventory.not_compiled] == 'Not compiled'
    assert rollups[inventory.compiling] == 'Compiling'
    assert rollups[inventory.compilation_failed] == 'Compilation failed'
    assert synced.read(queries.jobs.training_job, inventory.fully_compiled).targets_compiled == 4  # type: ignore[union-attr]

    failed, completed = inventory.retried
    owner = inventory.compilation_owners[failed]
    history = [
        (a.job_name, a.attempt, a.status)
        for a in synced.read(queries.jobs.attempts_for, owner)
        if a.target_id == 'jetson-xavier'
    ]
    assert history == [(failed, 1, 'Failed'), (completed, 2, 'Completed')]

    attempts = {
        a.job_name: a for job in inventory.training_jobs for a in synced.read(queries.jobs.attempts_for, job)
    }
    assert set(attempts) == set(inventory.compilation_jobs)
    for name, attempt in attempts.items():
        assert attempt.training_job_name == inventory.compilation_owners[name]
        assert attempt.target_id == inventory.compilation_targets[name]
    assert attempts[inventory.linked_by_name_only].origin == 'external'
    assert attempts[inventory.linked_by_s3_uri_only].origin == 'external'


def test_the_compiling_job_also_has_a_failed_target(inventory: DemoInventory) -> None:
    """What the README's Compilation-tab picture shows: one job with a running and a failed target."""
    mine = {
        inventory.compilation_targets[name]: status
        for name, status in inventory.compilation_jobs.items()
        if inventory.compilation_owners[name] == inventory.compiling
    }
    assert 'FAILED' in mine.values() and {'STARTING', 'INPROGRESS'} & set(mine.values()), mine
