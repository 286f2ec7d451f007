"""Compilation logs and artifact sizes against moto's CloudWatch Logs and S3."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from dda_portal.aws.artifacts import COMPILATION_LOG_GROUP, LogsGateway, S3Gateway
from dda_portal.aws.clients import AwsClients
from dda_portal.domain.logs import log_text
from dda_portal.domain.problems import AwsProblem, Invalid

JOB = 'bottle-caps-jetson-xavier-1'


def put_events(stream: str, count: int, start: datetime) -> None:
    logs = boto3.client('logs', region_name='us-east-1')
    with suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=COMPILATION_LOG_GROUP, logStreamName=stream)
    for first in range(0, count, 5000):
        batch = [
            {'timestamp': int((start + timedelta(milliseconds=i)).timestamp() * 1000), 'message': f'line {i}'}
            for i in range(first, min(count, first + 5000))
        ]
        logs.put_log_events(logGroupName=COMPILATION_LOG_GROUP, logStreamName=stream, logEvents=batch)


@pytest.mark.usefixtures('aws')
def test_missing_log_group_is_a_clear_message_not_an_error() -> None:
    read = LogsGateway(AwsClients()).job_events(COMPILATION_LOG_GROUP, JOB)
    assert read.events == []
    assert read.missing == 'The log group /aws/sagemaker/CompilationJobs does not exist yet.'


@pytest.mark.usefixtures('aws')
def test_missing_stream_is_a_clear_message() -> None:
    boto3.client('logs', region_name='us-east-1').create_log_group(logGroupName=COMPILATION_LOG_GROUP)
    read = LogsGateway(AwsClients()).job_events(COMPILATION_LOG_GROUP, JOB)
    assert read.missing == f'No log streams for {JOB} in /aws/sagemaker/CompilationJobs yet.'


@pytest.mark.usefixtures('aws')
def test_download_has_every_event_of_every_page_and_stream() -> None:
    boto3.client('logs', region_name='us-east-1').create_log_group(logGroupName=COMPILATION_LOG_GROUP)
    start = datetime.now(UTC) - timedelta(hours=1)
    put_events(f'{JOB}/model-info-extraction', 3, start)
    put_events(f'{JOB}/compilation', 12_000, start + timedelta(seconds=1))  # more than one GetLogEvents page
    put_events('bottle-caps-jetson-xavier-10/compilation', 5, start)  # another job sharing the prefix text
    clients = AwsClients()
    gateway = LogsGateway(clients)

    read = gateway.job_events(COMPILATION_LOG_GROUP, JOB, None)

    assert len(read.events) == 12_003
    assert (
        clients.counter.by_operation['GetLogEvents'] >= 3
    )  # two pages for the long stream, one for the short
    text = log_text(read)
    assert text.count('\n') == 12_003
    assert '\tbottle-caps-jetson-xavier-1/compilation\tline 11999\n' in text
    assert 'xavier-10/' not in text
    assert read.events == sorted(read.events, key=lambda e: e.timestamp)


@pytest.mark.usefixtures('aws')
def test_page_view_is_capped_and_says_so() -> None:
    boto3.client('logs', region_name='us-east-1').create_log_group(logGroupName=COMPILATION_LOG_GROUP)
    put_events(f'{JOB}/compilation', 120, datetime.now(UTC) - timedelta(minutes=5))
    read = LogsGateway(AwsClients()).job_events(COMPILATION_LOG_GROUP, JOB, 100)
    assert len(read.events) == 100
    assert read.truncated


@pytest.mark.usefixtures('aws')
def test_object_sizes_from_s3_head_object() -> None:
    s3 = boto3.client('s3', region_name='us-east-1')
    s3.create_bucket(Bucket='dda-models')
    s3.put_object(Bucket='dda-models', Key='out/job/output/model.tar.gz', Body=b'x' * 12345)
    gateway = S3Gateway(AwsClients())
    assert gateway.object_size('s3://dda-models/out/job/output/model.tar.gz') == 12345
    assert gateway.object_size('s3://dda-models/out/job/output/missing.tar.gz') is None
    assert gateway.object_size('s3://dda-models/compiled/') is None  # a folder, not an object


@pytest.mark.usefixtures('aws')
async def test_download_link_is_presigned_at_click_and_serves_the_compiled_model(database_url: str) -> None:
    import requests

    from dda_portal.config import Settings
    from dda_portal.domain.clock import utcnow
    from dda_portal.domain.targets import TargetCatalog
    from dda_portal.services import build
    from dda_portal.store import Store
    from tests.factories import backend, create_compilation_job, create_training_job

    s3 = boto3.client('s3', region_name='us-east-1')
    s3.create_bucket(Bucket='dda-models')
    model = bytes(range(256)) * 40
    create_training_job('bottle-caps')
    create_compilation_job(JOB, 'bottle-caps', 'jetson-xavier')
    create_compilation_job('bottle-caps-arm64-cpu-1', 'bottle-caps', 'arm64-cpu')  # folder only, no archive
    artifact = f's3://dda-models/compiled/{JOB}/model-LINUX_ARM64_NVIDIA.tar.gz'
    backend().compilation_jobs[JOB].model_artifacts = {'S3ModelArtifacts': artifact}
    s3.put_object(Bucket='dda-models', Key=artifact.removeprefix('s3://dda-models/'), Body=model)
    settings = Settings(database_url=database_url, sync_enabled=False)
    store, clients, catalog = Store(database_url), AwsClients(), TargetCatalog.load()
    services = build(settings, store, clients, catalog)
    services.sync.pull_and_apply(utcnow())
    actions = services.actions

    url = await actions.artifact_download_url(JOB, 'bottle-caps')

    assert isinstance(url, str) and 'X-Amz-Expires=300' in url and 'X-Amz-Signature=' in url
    assert requests.get(url, timeout=10).content == model
    with pytest.raises(AwsProblem) as missing:
        await actions.artifact_download_url('bottle-caps-arm64-cpu-1', 'bottle-caps')
    assert missing.value.code == 'NoSuchKey'
    with pytest.raises(Invalid, match='no-such-job is not a compilation of bottle-caps'):
        await actions.artifact_download_url('no-such-job', 'bottle-caps')
    # a page about another training job cannot fetch this job's model, whatever job name its event names
    with pytest.raises(Invalid, match='is not a compilation of another-training-job'):
        await actions.artifact_download_url(JOB, 'another-training-job')


@pytest.mark.usefixtures('aws')
def test_stream_named_exactly_the_job_and_its_sub_streams_are_read_and_no_other_jobs() -> None:
    """AWS names a compilation job's stream after the job itself, or `<job>/…`: both are read;
    `job-1` never shows the streams of `job-10` (same leading text)."""
    boto3.client('logs', region_name='us-east-1').create_log_group(logGroupName=COMPILATION_LOG_GROUP)
    start = datetime.now(UTC) - timedelta(minutes=10)
    put_events('job-1', 2, start)
    put_events('job-1/model-info-extraction', 3, start + timedelta(seconds=1))
    put_events('job-10', 4, start)
    put_events('job-10/compilation', 5, start)
    put_events('job-1-other', 6, start)
    gateway = LogsGateway(AwsClients())

    read = gateway.job_events(COMPILATION_LOG_GROUP, 'job-1', None)

    assert read.missing is None
    assert {event.stream for event in read.events} == {'job-1', 'job-1/model-info-extraction'}
    assert len(read.events) == 5
    assert 'job-10' not in log_text(read)
    ten = gateway.job_events(COMPILATION_LOG_GROUP, 'job-10', None)
    assert {event.stream for event in ten.events} == {'job-10', 'job-10/compilation'}


@pytest.mark.usefixtures('aws')
def test_only_other_jobs_streams_is_still_no_streams_for_the_job() -> None:
    boto3.client('logs', region_name='us-east-1').create_log_group(logGroupName=COMPILATION_LOG_GROUP)
    put_events('job-10', 1, datetime.now(UTC) - timedelta(minutes=1))
    read = LogsGateway(AwsClients()).job_events(COMPILATION_LOG_GROUP, 'job-1')
    assert read.events == []
    assert read.missing == 'No log streams for job-1 in /aws/sagemaker/CompilationJobs yet.'
