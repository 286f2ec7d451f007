"""Fixtures for the demo's own tests: moto in-process, the demo's moto patches, a seeded account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from dda_portal.demo import moto_patches
from dda_portal.demo.seed import DemoInventory, seed

AWS_VARIABLES = (
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_SAGEMAKER',
    'AWS_ENDPOINT_URL_S3',
    'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS',
    'AWS_ENDPOINT_URL_GREENGRASSV2',
    'AWS_PROFILE',
    'AWS_DEFAULT_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
)


@pytest.fixture
def clean_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test credentials and region; nothing that would send boto3 to a real account or endpoint."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')


@pytest.fixture
def moto_aws(clean_aws_environment: None) -> Iterator[None]:
    """An empty in-process AWS (moto resets its backends on entry) with the demo's moto patches."""
    moto_patches.apply()
    with mock_aws():
        yield


@pytest.fixture
def inventory(moto_aws: None) -> DemoInventory:
    return seed()
