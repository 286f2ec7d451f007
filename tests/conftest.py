"""Shared fixtures: moto in-process for SageMaker, S3 and CloudWatch Logs; a fresh store's URL on each backend
(SQLite, PostgreSQL: tests/backends.py)."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from dda_portal.demo.greengrass import GreengrassBackend, GreengrassServer
from tests.backends import database_url, free_port, postgresql_cluster, postgresql_url

__all__ = ['database_url', 'free_port', 'postgresql_cluster', 'postgresql_url']  # fixtures every test may use

# the tests make hundreds of boto3 sessions (a portal's clients, moto's, the factories'): they share one
# loader, so AWS's service models are read and parsed once per run, not once per session (~1 s an AWS test)
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)  # type: ignore[attr-defined]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[GreengrassBackend]:
    """An empty AWS reached through the real boto3 clients: moto in-process, and the Greengrass v2
    emulator on 127.0.0.1 (whose backend the fixture yields, for tests that move its state)."""
    for name in (
        'AWS_ENDPOINT_URL',
        'AWS_PROFILE',
        'AWS_REGION',  # read before AWS_DEFAULT_REGION (aws/clients.env_region)
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
def sagemaker_server(aws: GreengrassBackend, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedMotoServer]:
    """moto's server on a free 127.0.0.1 port, serving the moto state the factories write to; AWS clients
    made after this fixture (a portal's included) reach SageMaker, S3 and CloudWatch Logs only through it."""
    from tests.factories import sagemaker

    sagemaker()  # the factories' shared client stays on moto in-process, whatever AWS_ENDPOINT_URL says
    port = free_port()
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=port, verbose=False)
    server.start()
    monkeypatch.setenv('AWS_ENDPOINT_URL', f'http://127.0.0.1:{port}')  # Greengrass keeps its own variable
    yield server
    server.stop()
