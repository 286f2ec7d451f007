"""`start_demo`: moto's real server on 127.0.0.1, reached over HTTP by plain boto3 clients."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import boto3
import httpx
import pytest
from moto.core.base_backend import BackendDict

from dda_portal.config import Settings
from dda_portal.demo import DEMO_DATABASE_URL, DemoEnvironment, _demo_database, start_demo
from dda_portal.demo.common import COMPILATION_LOG_GROUP, TRAINING_LOG_GROUP, split_s3


@pytest.fixture
def demo(
    clean_aws_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DemoEnvironment]:
    monkeypatch.setenv('AWS_PROFILE', 'someone-elses-account')
    monkeypatch.setenv('AWS_ENDPOINT_URL_S3', 'https://s3.example.invalid')
    monkeypatch.chdir(tmp_path)
    data = tmp_path / 'data'
    data.mkdir()
    for leftover in ('demo.db', 'demo.db-wal', 'demo.db-shm'):
        (data / leftover).write_text('from the previous demo')
    environment = start_demo(Settings(_env_file=None))  # type: ignore[call-arg]
    try:
        yield environment
    finally:
        environment.stop()
        BackendDict.reset()  # moto's backends are process-wide


def test_demo_serves_the_seed_over_http(demo: DemoEnvironment, tmp_path: Path) -> None:
    endpoint = urlparse(demo.endpoint)
    assert (endpoint.scheme, endpoint.hostname) == ('http', '127.0.0.1')
    assert os.environ['AWS_ENDPOINT_URL'] == demo.endpoint
    assert 'AWS_PROFILE' not in os.environ and 'AWS_ENDPOINT_URL_S3' not in os.environ
    assert os.environ['AWS_DEFAULT_REGION'] == 'us-east-1'
    assert demo.database_url == DEMO_DATABASE_URL
    assert not list((tmp_path / 'data').iterdir())  # the old demo database is gone, -wal and -shm too
    assert demo.patches  # moto 5.2.5 needs all of them

    sagemaker = boto3.client('sagemaker')
    calls: list[str] = []
    sagemaker.meta.events.register('before-send.sagemaker.*', lambda request, **_: calls.append(request.url))
    training = sagemaker.list_training_jobs(MaxResults=100)['TrainingJobSummaries']
    compilation = [
        s
        for page in sagemaker.get_paginator('list_compilation_jobs').paginate()
        for s in page['CompilationJobSummaries']
    ]
    assert {s['TrainingJobName'] for s in training} == set(demo.inventory.training_jobs)
    assert {s['CompilationJobName'] for s in compilation} == set(demo.inventory.compilation_jobs)
    assert calls and all(url.startswith(demo.endpoint) for url in calls)

    completed = next(n for n, s in demo.inventory.compilation_jobs.items() if s == 'COMPLETED')
    artifact = sagemaker.describe_compilation_job(CompilationJobName=completed)['ModelArtifacts'][
        'S3ModelArtifacts'
    ]
    bucket, key = split_s3(artifact)
    url = boto3.client('s3').generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': key})
    assert url.startswith(demo.endpoint)
    assert httpx.get(url).content[:2] == b'\x1f\x8b'

    logs = boto3.client('logs')
    assert logs.describe_log_streams(logGroupName=TRAINING_LOG_GROUP)['logStreams']
    assert logs.describe_log_streams(logGroupName=COMPILATION_LOG_GROUP)['logStreams']

    starting = next(n for n, s in demo.inventory.compilation_jobs.items() if s == 'STARTING')
    assert f'{starting}: STARTING → INPROGRESS' in demo.simulator.step()
    assert (
        sagemaker.describe_compilation_job(CompilationJobName=starting)['CompilationJobStatus']
        == 'INPROGRESS'
    )
    sagemaker.stop_compilation_job(CompilationJobName=starting)  # emulated: moto has no StopCompilationJob
    assert (
        sagemaker.describe_compilation_job(CompilationJobName=starting)['CompilationJobStatus'] == 'STOPPING'
    )


def test_stop_gives_the_environment_back(demo: DemoEnvironment) -> None:
    port = urlparse(demo.endpoint).port
    assert port is not None
    demo.stop()
    demo.stop()  # idempotent

    assert os.environ['AWS_PROFILE'] == 'someone-elses-account'
    assert os.environ['AWS_ENDPOINT_URL_S3'] == 'https://s3.example.invalid'
    assert 'AWS_ENDPOINT_URL' not in os.environ
    with pytest.raises(OSError), socket.create_connection(('127.0.0.1', port), timeout=1):
        pass


def test_a_database_the_user_named_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    named = f'sqlite:///{tmp_path / "mine.db"}'
    (tmp_path / 'mine.db').write_text('keep me')

    assert _demo_database(Settings(database_url=named)) == named
    assert (tmp_path / 'mine.db').read_text() == 'keep me'
    assert (
        _demo_database(Settings(database_url=Settings.model_fields['database_url'].default))
        == DEMO_DATABASE_URL
    )
