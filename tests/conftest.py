"""Shared fixtures: moto in-process for SageMaker, S3 and CloudWatch Logs; a fresh SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from dda_portal.demo.greengrass import GreengrassBackend, GreengrassServer


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[GreengrassBackend]:
    """An empty AWS reached through the real boto3 clients: moto in-process, and the Greengrass v2
    emulator on 127.0.0.1 (whose backend the fixture yields, for tests that move its state)."""
    for name in (
        'AWS_ENDPOINT_URL',
        'AWS_PROFILE',
        'AWS_ENDPOINT_URL_SAGEMAKER',
        'AWS_ENDPOINT_URL_GREENGRASSV2',
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')
    from dda_portal.demo import moto_patches  # the same small moto fixes the demo uses

    moto_patches.apply()
    with GreengrassServer() as greengrass, mock_aws():
        monkeypatch.setenv('AWS_ENDPOINT_URL_GREENGRASSV2', greengrass.endpoint_url)
        yield greengrass.backend


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f'sqlite:///{tmp_path / "portal.db"}'
