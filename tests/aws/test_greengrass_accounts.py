"""The Greengrass v2 emulator keeps each account's and region's components and devices apart, as AWS does:
a request reaches the account of its credentials (an assumed role's keys: the role's account) in the region
it is signed for. Reached through the real boto3 client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dda_portal.demo import moto_patches
from dda_portal.demo.accounts import create_use_case_role
from dda_portal.demo.greengrass import GreengrassServer, model_recipe
from dda_portal.use_cases import UseCase, places_of, session_for

HOME = '123456789012'
LINE_2 = '222222222222'
EXTERNAL_ID = 'dda-line-2-7f3a'
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[GreengrassServer]:
    for name in ('AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_GREENGRASSV2', 'AWS_PROFILE', 'MOTO_ACCOUNT_ID'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')
    moto_patches.apply()
    with mock_aws(), GreengrassServer() as running:
        monkeypatch.setenv('AWS_ENDPOINT_URL_GREENGRASSV2', running.endpoint_url)
        yield running


def home_greengrass(region: str = 'us-east-1') -> Any:
    return boto3.session.Session().client('greengrassv2', region_name=region)


def line_2_greengrass() -> Any:
    role_arn = create_use_case_role(LINE_2, 'dda-portal-reader', HOME, EXTERNAL_ID)
    use_case = UseCase(name='line-2', regions=('eu-west-1',), role_arn=role_arn, external_id=EXTERNAL_ID)
    [place] = places_of([use_case])
    return session_for(place, boto3.session.Session()).client('greengrassv2')


def create_component(greengrass: Any, name: str, version: str) -> dict[str, Any]:
    recipe = model_recipe(name, version, f's3://models/{name}/{version}/model.tar.gz', 'aarch64')
    created: dict[str, Any] = greengrass.create_component_version(inlineRecipe=json.dumps(recipe).encode())
    return created


def private_components(greengrass: Any) -> list[tuple[str, str]]:
    pages = greengrass.get_paginator('list_components').paginate(scope='PRIVATE')
    return sorted(
        (c['componentName'], c['latestVersion']['componentVersion'])
        for page in pages
        for c in page['components']
    )


def test_two_accounts_in_two_regions_see_only_their_own_components(server: GreengrassServer) -> None:
    home, line_2 = home_greengrass(), line_2_greengrass()

    home_created = create_component(home, 'model-a', '1.0.0')
    line_2_created = create_component(line_2, 'model-a', '2.0.0')  # the same name in the other account
    create_component(line_2, 'model-b', '1.0.0')

    assert home_created['arn'] == f'arn:aws:greengrass:us-east-1:{HOME}:components:model-a:versions:1.0.0'
    assert line_2_created['arn'] == (
        f'arn:aws:greengrass:eu-west-1:{LINE_2}:components:model-a:versions:2.0.0'
    )
    assert private_components(home) == [('model-a', '1.0.0')]
    assert private_components(line_2) == [('model-a', '2.0.0'), ('model-b', '1.0.0')]
    assert home.describe_component(arn=home_created['arn'])['componentVersion'] == '1.0.0'
    assert line_2.describe_component(arn=line_2_created['arn'])['componentVersion'] == '2.0.0'
    assert server.accounts.backend(LINE_2, 'eu-west-1').account_id == LINE_2
    assert private_components(home_greengrass('eu-west-1')) == []  # the home account's other region


def test_a_core_device_is_seen_only_in_its_account_and_region(server: GreengrassServer) -> None:
    home, line_2 = home_greengrass(), line_2_greengrass()
    server.backend.add_core_device('line-1-jetson-01', last_status_update=NOW)
    server.accounts.backend(LINE_2, 'eu-west-1').add_core_device(
        'line-2-jetson-01', status='UNHEALTHY', last_status_update=NOW
    )

    home_devices = home.list_core_devices()['coreDevices']
    line_2_devices = line_2.list_core_devices()['coreDevices']

    assert [(d['coreDeviceThingName'], d['status']) for d in home_devices] == [
        ('line-1-jetson-01', 'HEALTHY')
    ]
    assert [(d['coreDeviceThingName'], d['status']) for d in line_2_devices] == [
        ('line-2-jetson-01', 'UNHEALTHY')
    ]
    assert line_2.get_core_device(coreDeviceThingName='line-2-jetson-01')['lastStatusUpdateTimestamp'] == NOW
    with pytest.raises(home.exceptions.ResourceNotFoundException):
        home.get_core_device(coreDeviceThingName='line-2-jetson-01')


def test_a_deployment_in_one_account_reaches_only_its_devices(server: GreengrassServer) -> None:
    line_2 = line_2_greengrass()
    line_2_backend = server.accounts.backend(LINE_2, 'eu-west-1')
    line_2_backend.add_core_device('line-2-jetson-01', last_status_update=NOW)
    created = create_component(line_2, 'model-b', '1.0.0')
    line_2_backend.advance()
    line_2_backend.advance()

    deployment = line_2.create_deployment(
        targetArn=line_2_backend.thing_arn('line-2-jetson-01'),
        components={'model-b': {'componentVersion': '1.0.0'}},
    )

    assert deployment['iotJobArn'].startswith(f'arn:aws:iot:eu-west-1:{LINE_2}:job/')
    assert line_2.describe_component(arn=created['arn'])['status']['componentState'] == 'DEPLOYABLE'
    assert [d['deploymentId'] for d in line_2.list_deployments()['deployments']] == [
        deployment['deploymentId']
    ]
    assert home_greengrass().list_deployments()['deployments'] == []
