"""GreengrassGateway against the Greengrass v2 emulator over real HTTP, through the real boto3 client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from dda_portal.aws.clients import AwsClients
from dda_portal.aws.greengrass import GreengrassGateway
from dda_portal.demo.greengrass import (
    GreengrassBackend,
    GreengrassServer,
    model_recipe,
    packages_from_moto,
    s3_artifact_exists,
    seed_fleet,
    step_fleet,
)
from dda_portal.demo.greengrass.fleet import TAG_COMPILATION_JOB

ACCOUNT = '123456789012'
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
ARTIFACT = 's3://dda-demo-models/neo-output/job-1/model-jetson_xavier.tar.gz'


def recipe(name: str = 'model-caps-jetson-xavier', version: str = '1.0.0', **changes: Any) -> dict[str, Any]:
    built = model_recipe(name, version, ARTIFACT, 'aarch64', 'Bottle-cap model for Jetson Xavier')
    built.update(changes)
    return {key: value for key, value in built.items() if value is not None}


def error_of(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (
        response['Error']['Code'],
        response['ResponseMetadata']['HTTPStatusCode'],
        response['Error']['Message'],
    )


@pytest.fixture
def artifacts() -> set[str]:
    """The s3:// URIs the emulator's artifact check finds."""
    return {ARTIFACT}


@pytest.fixture
def backend(artifacts: set[str]) -> GreengrassBackend:
    return GreengrassBackend(artifact_exists=artifacts.__contains__)


@pytest.fixture
def server(
    backend: GreengrassBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[GreengrassServer]:
    for name in (
        'AWS_PROFILE',
        'AWS_DEFAULT_PROFILE',
        'AWS_SESSION_TOKEN',
        'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'no-config'))
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')
    with GreengrassServer(backend=backend) as running:
        monkeypatch.setenv('AWS_ENDPOINT_URL_GREENGRASSV2', running.endpoint_url)
        yield running


@pytest.fixture
def clients(server: GreengrassServer) -> AwsClients:
    return AwsClients()


@pytest.fixture
def gateway(clients: AwsClients) -> GreengrassGateway:
    return GreengrassGateway(clients)


# ---- endpoint -----------------------------------------------------------------------------------------


def test_the_greengrass_endpoint_variable_wins_over_the_general_one(
    server: GreengrassServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9')  # where moto would be: nothing listens
    gateway = GreengrassGateway(AwsClients())
    assert gateway.client.meta.endpoint_url == server.endpoint_url
    assert gateway.components() == []


def test_stopped_server_frees_its_port_and_stops_answering(backend: GreengrassBackend) -> None:
    server = GreengrassServer(backend=backend)
    endpoint = server.start()
    server.stop()
    server.stop()  # idempotent
    client = boto3.client(
        'greengrassv2',
        endpoint_url=endpoint,
        region_name='us-east-1',
        aws_access_key_id='testing',
        aws_secret_access_key='testing',
        config=Config(retries={'max_attempts': 1}, connect_timeout=1),
    )
    with pytest.raises(EndpointConnectionError):
        client.list_components()


# ---- component versions -----------------------------------------------------------------------------------


def test_new_version_is_requested_then_initiated_then_deployable(
    gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    created = gateway.create_component_version(recipe(), {'dda-portal:compilation-job': 'job-1'})

    assert created['status'] == {'componentState': 'REQUESTED', 'message': 'NONE', 'errors': {}}
    assert (
        created['arn']
        == f'arn:aws:greengrass:us-east-1:{ACCOUNT}:components:model-caps-jetson-xavier:versions:1.0.0'
    )
    assert (created['componentName'], created['componentVersion']) == ('model-caps-jetson-xavier', '1.0.0')
    assert created['creationTimestamp'].tzinfo is not None
    assert abs(created['creationTimestamp'] - datetime.now(UTC)) < timedelta(minutes=1)
    states = [gateway.describe_component(created['arn'])['status']['componentState']]  # type: ignore[index]
    for _ in range(3):
        backend.advance()
        states.append(gateway.describe_component(created['arn'])['status']['componentState'])  # type: ignore[index]

    assert states == ['REQUESTED', 'INITIATED', 'DEPLOYABLE', 'DEPLOYABLE']
    described = gateway.describe_component(created['arn'])
    assert described is not None
    assert described['status']['errors'] == {}
    assert described['publisher'] == 'DDA Portal'
    assert described['description'] == 'Bottle-cap model for Jetson Xavier'
    assert described['platforms'] == [
        {'name': 'linux aarch64', 'attributes': {'os': 'linux', 'architecture': 'aarch64'}}
    ]
    assert described['tags'] == {'dda-portal:compilation-job': 'job-1'}


def test_version_whose_artifact_is_missing_fails_with_the_uri_in_its_errors(
    gateway: GreengrassGateway, backend: GreengrassBackend, artifacts: set[str]
) -> None:
    artifacts.clear()
    created = gateway.create_component_version(recipe(), {})
    backend.advance()
    backend.advance()

    described = gateway.describe_component(created['arn'])

    assert described is not None
    assert described['status']['componentState'] == 'FAILED'
    assert described['status']['errors'] == {ARTIFACT: 'Specified artifact resource cannot be accessed'}
    assert ARTIFACT in described['status']['message']


def test_artifacts_are_checked_in_s3(
    aws: None, gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    s3 = boto3.client('s3', region_name='us-east-1')
    s3.create_bucket(Bucket='dda-demo-models')
    s3.put_object(Bucket='dda-demo-models', Key='neo-output/job-1/model-jetson_xavier.tar.gz', Body=b'model')
    backend.artifact_exists = s3_artifact_exists(s3)
    present = gateway.create_component_version(recipe(version='1.0.0'), {})
    absent = gateway.create_component_version(
        model_recipe('model-caps-jetson-xavier', '1.0.1', ARTIFACT.replace('job-1', 'job-2'), 'aarch64'), {}
    )
    backend.advance()
    backend.advance()

    states = {
        arn: gateway.describe_component(arn)['status']['componentState']  # type: ignore[index]
        for arn in (present['arn'], absent['arn'])
    }

    assert states == {present['arn']: 'DEPLOYABLE', absent['arn']: 'FAILED'}


def test_artifacts_checked_at_creation_are_refused_like_aws_does(
    gateway: GreengrassGateway, backend: GreengrassBackend, artifacts: set[str]
) -> None:
    backend.check_artifacts_on_create = True
    artifacts.clear()

    code, status, message = error_of(lambda: gateway.create_component_version(recipe(), {}))

    assert (code, status) == ('ValidationException', 400)
    assert message == (
        f'Invalid Input: Encountered following errors in Artifacts: '
        f'{{{ARTIFACT} = Specified artifact resource cannot be accessed}}'
    )
    assert gateway.components() == []


def test_creating_the_same_version_twice_is_a_conflict(gateway: GreengrassGateway) -> None:
    gateway.create_component_version(recipe(), {})

    code, status, message = error_of(lambda: gateway.create_component_version(recipe(), {}))

    assert (code, status) == ('ConflictException', 409)
    assert 'model-caps-jetson-xavier' in message and '1.0.0' in message


def test_a_retried_request_with_the_same_client_token_creates_one_version(gateway: GreengrassGateway) -> None:
    body = json.dumps(recipe()).encode()
    first = gateway.client.create_component_version(inlineRecipe=body, clientToken='retry-1')
    again = gateway.client.create_component_version(inlineRecipe=body, clientToken='retry-1')

    assert first['arn'] == again['arn']
    assert [
        v['componentVersion'] for v in gateway.component_versions(first['arn'].rsplit(':versions:')[0])
    ] == ['1.0.0']


@pytest.mark.parametrize(
    ('changes', 'named'),
    [
        ({'RecipeFormatVersion': None}, 'RecipeFormatVersion'),
        ({'RecipeFormatVersion': '2021-01-01'}, 'RecipeFormatVersion'),
        ({'ComponentName': None}, 'ComponentName'),
        ({'ComponentName': 'model caps/jetson'}, 'ComponentName'),
        ({'ComponentVersion': '1.0'}, 'ComponentVersion'),
        ({'ComponentVersion': 'v1.0.0'}, 'ComponentVersion'),
        ({'Manifests': 'linux'}, 'Manifests'),
    ],
)
def test_invalid_recipes_are_validation_errors(
    gateway: GreengrassGateway, changes: dict[str, Any], named: str
) -> None:
    code, status, message = error_of(lambda: gateway.create_component_version(recipe(**changes), {}))

    assert (code, status) == ('ValidationException', 400)
    assert named in message
    assert gateway.components() == []


@pytest.mark.parametrize(
    'body', [b'{"RecipeFormatVersion": "2020-01-25",', b'- just\n- a list\n', b'\xff\xfe']
)
def test_a_recipe_that_is_not_an_object_is_a_validation_error(
    gateway: GreengrassGateway, body: bytes
) -> None:
    code, status, _ = error_of(lambda: gateway.client.create_component_version(inlineRecipe=body))
    assert (code, status) == ('ValidationException', 400)


def test_yaml_recipes_are_accepted_like_aws_does(gateway: GreengrassGateway) -> None:
    body = b'RecipeFormatVersion: "2020-01-25"\nComponentName: model-yaml\nComponentVersion: 2.1.0\n'

    created = gateway.client.create_component_version(inlineRecipe=body)

    assert created['componentVersion'] == '2.1.0'
    assert gateway.recipe(created['arn'])['ComponentName'] == 'model-yaml'


def test_recipe_comes_back_as_it_was_created(gateway: GreengrassGateway) -> None:
    created = gateway.create_component_version(recipe(), {})
    assert gateway.recipe(created['arn']) == recipe()


def test_unknown_version_is_none_and_a_malformed_arn_is_a_validation_error(
    gateway: GreengrassGateway,
) -> None:
    missing = f'arn:aws:greengrass:us-east-1:{ACCOUNT}:components:model-nothing:versions:1.0.0'
    assert gateway.describe_component(missing) is None
    code, status, _ = error_of(lambda: gateway.describe_component(missing.split(':versions:')[0]))
    assert (code, status) == ('ValidationException', 400)


def test_components_lists_private_components_with_their_greatest_version(
    gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    for version in ('1.2.0', '1.10.0', '1.9.3', '1.10.0-rc.1'):
        gateway.create_component_version(recipe(version=version), {})
    gateway.create_component_version(recipe(name='model-pins-x86_64-cpu'), {})
    backend.add_core_device('dda-line1-jetson-01')
    backend.install('dda-line1-jetson-01', 'aws.greengrass.Nucleus', '2.12.0', is_root=False)  # AWS-published

    components = gateway.components()

    assert [(c['componentName'], c['latestVersion']['componentVersion']) for c in components] == [
        ('model-caps-jetson-xavier', '1.10.0'),
        ('model-pins-x86_64-cpu', '1.0.0'),
    ]
    assert (
        components[0]['arn'] == f'arn:aws:greengrass:us-east-1:{ACCOUNT}:components:model-caps-jetson-xavier'
    )
    public = gateway.client.list_components(scope='PUBLIC')['components']
    assert [c['arn'] for c in public] == [
        'arn:aws:greengrass:us-east-1:aws:components:aws.greengrass.Nucleus'
    ]


def test_versions_are_read_across_pages_greater_first(
    gateway: GreengrassGateway, clients: AwsClients
) -> None:
    for patch in range(120):
        gateway.create_component_version(recipe(version=f'1.0.{patch}'), {})
    component_arn = f'arn:aws:greengrass:us-east-1:{ACCOUNT}:components:model-caps-jetson-xavier'

    versions = gateway.component_versions(component_arn)

    assert [v['componentVersion'] for v in versions] == [f'1.0.{patch}' for patch in reversed(range(120))]
    assert clients.counter.by_operation['ListComponentVersions'] == 2  # pages of 100
    pages = list(
        gateway.client.get_paginator('list_component_versions').paginate(
            arn=component_arn, PaginationConfig={'PageSize': 50}
        )
    )
    assert [len(page['componentVersions']) for page in pages] == [50, 50, 20]


def test_components_are_read_across_pages(
    gateway: GreengrassGateway, backend: GreengrassBackend, clients: AwsClients
) -> None:
    backend.default_page_size = 7  # also the pages of a caller that gives no maxResults
    for index in range(23):
        gateway.create_component_version(recipe(name=f'model-{index:03d}'), {})

    first = gateway.client.list_components()

    assert len(first['components']) == 7 and first['nextToken']
    assert [c['componentName'] for c in gateway.components()] == [f'model-{i:03d}' for i in range(23)]


def test_a_next_token_from_another_operation_is_refused(
    gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    for index in range(3):
        gateway.create_component_version(recipe(name=f'model-{index}'), {})
    token = gateway.client.list_components(maxResults=1)['nextToken']

    code, status, _ = error_of(lambda: gateway.client.list_core_devices(nextToken=token))

    assert (code, status) == ('ValidationException', 400)
    code, _, _ = error_of(lambda: gateway.client.list_components(nextToken='not-a-token'))
    assert code == 'ValidationException'


# ---- core devices ---------------------------------------------------------------------------------------


def test_core_devices_and_what_they_run_round_trip_with_aware_times(
    gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    reported = datetime(2025, 3, 14, 8, 15, 30, 250000, tzinfo=UTC)
    backend.add_core_device('dda-line2-ipc-01', 'amd64', core_version='2.12.1', last_status_update=reported)
    backend.add_core_device('dda-line1-jetson-01', 'aarch64', status='UNHEALTHY', last_status_update=reported)
    gateway.create_component_version(recipe(), {})
    backend.install(
        'dda-line1-jetson-01', 'aws.greengrass.Nucleus', '2.12.0', reported_at=reported, is_root=False
    )
    backend.install(
        'dda-line1-jetson-01',
        'model-caps-jetson-xavier',
        '1.0.0',
        'BROKEN',
        reported,
        details='Script exited with code 1',
        status_codes=['RUN_ERROR'],
        status_changed_at=reported - timedelta(minutes=3),
    )

    devices = gateway.core_devices()

    assert [(d['coreDeviceThingName'], d['status'], d['architecture'], d['platform']) for d in devices] == [
        ('dda-line1-jetson-01', 'UNHEALTHY', 'aarch64', 'linux'),
        ('dda-line2-ipc-01', 'HEALTHY', 'amd64', 'linux'),
    ]
    assert all(d['lastStatusUpdateTimestamp'] == reported for d in devices)
    assert all(d['lastStatusUpdateTimestamp'].utcoffset() is not None for d in devices)
    assert gateway.core_device('dda-line2-ipc-01')['coreVersion'] == '2.12.1'
    installed = {c['componentName']: c for c in gateway.installed_components('dda-line1-jetson-01')}
    assert set(installed) == {'aws.greengrass.Nucleus', 'model-caps-jetson-xavier'}
    nucleus, model = installed['aws.greengrass.Nucleus'], installed['model-caps-jetson-xavier']
    assert (nucleus['isRoot'], nucleus['lifecycleState'], nucleus['lastInstallationSource']) == (
        False,
        'RUNNING',
        'LOCAL',
    )
    assert (model['isRoot'], model['lifecycleState'], model['lifecycleStatusCodes']) == (
        True,
        'BROKEN',
        ['RUN_ERROR'],
    )
    assert model['lifecycleStateDetails'] == 'Script exited with code 1'
    assert model['lastReportedTimestamp'] == reported
    assert model['lastStatusChangeTimestamp'] == reported - timedelta(minutes=3)
    # without topologyFilter=ALL the API leaves dependencies out
    roots = gateway.client.list_installed_components(coreDeviceThingName='dda-line1-jetson-01')
    assert [c['componentName'] for c in roots['installedComponents']] == ['model-caps-jetson-xavier']


def test_core_devices_filter_by_status(gateway: GreengrassGateway, backend: GreengrassBackend) -> None:
    backend.add_core_device('dda-a', status='HEALTHY')
    backend.add_core_device('dda-b', status='UNHEALTHY')
    unhealthy = gateway.client.list_core_devices(status='UNHEALTHY')['coreDevices']
    assert [d['coreDeviceThingName'] for d in unhealthy] == ['dda-b']


def test_unknown_core_device_is_resource_not_found(gateway: GreengrassGateway) -> None:
    code, status, _ = error_of(lambda: gateway.core_device('dda-nowhere'))
    assert (code, status) == ('ResourceNotFoundException', 404)
    code, status, _ = error_of(lambda: gateway.installed_components('dda-nowhere'))
    assert (code, status) == ('ResourceNotFoundException', 404)


def test_deployments_list_the_latest_revision_per_target(
    gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    backend.add_core_device('dda-line1-jetson-01')
    backend.add_core_device('dda-line2-ipc-01', 'amd64')
    gateway.create_component_version(recipe(), {})
    backend.deploy('dda-line1-jetson-01', {'aws.greengrass.LogManager': '2.3.7'}, NOW - timedelta(days=2))
    second = backend.deploy(
        'dda-line1-jetson-01',
        {'aws.greengrass.LogManager': '2.3.7', 'model-caps-jetson-xavier': '1.0.0'},
        NOW - timedelta(days=1),
    )
    backend.deploy('dda-line2-ipc-01', {'aws.greengrass.LogManager': '2.3.7'}, NOW)
    thing = f'arn:aws:iot:us-east-1:{ACCOUNT}:thing/dda-line1-jetson-01'

    for_thing = gateway.deployments(thing)

    assert [(d['deploymentId'], d['revisionId'], d['isLatestForTarget']) for d in for_thing] == [
        (second.deployment_id, '2', True)
    ]
    assert for_thing[0]['deploymentStatus'] == 'COMPLETED'
    assert len(gateway.deployments()) == 2
    history = gateway.client.list_deployments(targetArn=thing, historyFilter='ALL')['deployments']
    assert [(d['revisionId'], d['deploymentStatus']) for d in history] == [
        ('2', 'COMPLETED'),
        ('1', 'INACTIVE'),
    ]
    model = next(
        c
        for c in gateway.installed_components('dda-line1-jetson-01')
        if c['componentName'].startswith('model-')
    )
    assert model['lastInstallationSource'] == second.deployment_id


# ---- tags -----------------------------------------------------------------------------------------------


def test_tags_of_versions_core_devices_and_tagging_later(
    gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    created = gateway.create_component_version(recipe(), {TAG_COMPILATION_JOB: 'job-1', 'team': 'vision'})
    backend.add_core_device('dda-line1-jetson-01', tags={'line': 'line1'})
    device_arn = f'arn:aws:greengrass:us-east-1:{ACCOUNT}:coreDevices:dda-line1-jetson-01'

    assert gateway.tags(created['arn']) == {TAG_COMPILATION_JOB: 'job-1', 'team': 'vision'}
    assert gateway.tags(device_arn) == {'line': 'line1'}
    gateway.client.tag_resource(resourceArn=created['arn'], tags={'stage': 'qa'})
    assert gateway.tags(created['arn'])['stage'] == 'qa'
    assert gateway.core_device('dda-line1-jetson-01')['tags'] == {'line': 'line1'}
    code, status, _ = error_of(lambda: gateway.tags(created['arn'].replace('1.0.0', '9.9.9')))
    assert (code, status) == ('ResourceNotFoundException', 404)
    code, _, _ = error_of(lambda: gateway.create_component_version(recipe(version='2.0.0'), {'aws:x': 'y'}))
    assert code == 'ValidationException'


# ---- the demo's fleet and its simulator step ------------------------------------------------------------


def test_seeded_fleet_reads_like_a_defect_detection_line(
    gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    backend.artifact_exists = None
    fleet = seed_fleet(backend, NOW)

    devices = {d['coreDeviceThingName']: d for d in gateway.core_devices()}

    assert set(devices) == set(fleet.core_devices) and 4 <= len(devices) <= 5
    assert {d['architecture'] for d in devices.values()} == {'aarch64', 'amd64'}
    assert [n for n, d in devices.items() if d['status'] == 'UNHEALTHY'] == [fleet.unhealthy]
    stale = [n for n, d in devices.items() if NOW - d['lastStatusUpdateTimestamp'] > timedelta(hours=24)]
    assert stale == [fleet.stale] and fleet.stale != fleet.unhealthy
    for name in devices:
        installed = {c['componentName']: c for c in gateway.installed_components(name)}
        assert installed['aws.greengrass.Nucleus']['isRoot'] is False
        assert (
            installed['aws.greengrass.Nucleus']['componentVersion']
            == gateway.core_device(name)['coreVersion']
        )
        assert sum(n.startswith('aws.greengrass.') for n in installed) >= 3
        models = sorted(n for n in installed if n.startswith('model-'))
        assert models == fleet.models_installed.get(name, [])
        assert all(
            c['lastReportedTimestamp'] <= devices[name]['lastStatusUpdateTimestamp']
            for c in installed.values()
        )
    broken_on, broken = fleet.broken
    assert broken_on == fleet.unhealthy
    assert {c['componentName']: c['lifecycleState'] for c in gateway.installed_components(broken_on)}[
        broken
    ] == ('BROKEN')
    assert len(fleet.models_installed) >= 3
    assert all(c['componentName'].startswith('model-') for c in gateway.components())


def test_a_new_model_version_is_rolled_out_after_the_delay_to_one_matching_healthy_device(
    gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    backend.add_core_device('dda-x86-01', 'amd64', last_status_update=NOW)
    backend.add_core_device('dda-jetson-01', 'aarch64', status='UNHEALTHY', last_status_update=NOW)
    backend.add_core_device('dda-jetson-02', 'aarch64', last_status_update=NOW - timedelta(hours=30))  # stale
    backend.add_core_device('dda-jetson-03', 'aarch64', last_status_update=NOW)
    backend.add_core_device('dda-jetson-04', 'aarch64', last_status_update=NOW)
    backend.create_component_version(json.dumps(recipe(name='model-old-jetson-xavier')).encode(), now=NOW)
    backend.settle(backend.version_arn('model-old-jetson-xavier', '1.0.0'), NOW)
    backend.deploy('dda-jetson-03', {'model-old-jetson-xavier': '1.0.0'}, NOW)
    gateway.create_component_version(recipe(), {})

    steps = [
        step_fleet(backend, NOW + timedelta(seconds=10 * i), install_delay=timedelta(seconds=25))
        for i in range(6)
    ]

    assert steps[0] == ['model-caps-jetson-xavier 1.0.0: REQUESTED → INITIATED']
    assert steps[1] == ['model-caps-jetson-xavier 1.0.0: INITIATED → DEPLOYABLE']
    assert steps[2] == steps[3] == []  # DEPLOYABLE at +10 s, rolled out once 25 s have passed
    assert steps[4] == ['model-caps-jetson-xavier 1.0.0 installed on dda-jetson-04']
    assert steps[5] == []
    runs = {
        d['coreDeviceThingName']: {
            c['componentName'] for c in gateway.installed_components(d['coreDeviceThingName'])
        }
        for d in gateway.core_devices()
    }
    assert [name for name, components in runs.items() if 'model-caps-jetson-xavier' in components] == [
        'dda-jetson-04'
    ]  # healthy, fresh, aarch64, and running fewer models than dda-jetson-03
    assert gateway.core_devices()[3]['lastStatusUpdateTimestamp'] == NOW + timedelta(seconds=40)


def test_a_greater_version_upgrades_every_device_running_the_component(
    gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    for thing in ('dda-jetson-01', 'dda-jetson-02', 'dda-jetson-03'):
        backend.add_core_device(thing, 'aarch64', last_status_update=NOW)
    first = gateway.create_component_version(recipe(version='1.0.0'), {})
    backend.settle(first['arn'], NOW)
    backend.deploy('dda-jetson-01', {'model-caps-jetson-xavier': '1.0.0'}, NOW)
    backend.deploy('dda-jetson-02', {'model-caps-jetson-xavier': '1.0.0'}, NOW)
    gateway.create_component_version(recipe(version='1.1.0'), {})

    changes = (
        step_fleet(backend, NOW) + step_fleet(backend, NOW) + step_fleet(backend, NOW + timedelta(minutes=2))
    )

    assert changes[-2:] == [
        'model-caps-jetson-xavier 1.1.0 installed on dda-jetson-01',
        'model-caps-jetson-xavier 1.1.0 installed on dda-jetson-02',
    ]
    versions = {
        thing: {c['componentName']: c['componentVersion'] for c in gateway.installed_components(thing)}
        for thing in ('dda-jetson-01', 'dda-jetson-02', 'dda-jetson-03')
    }
    assert versions == {
        'dda-jetson-01': {'model-caps-jetson-xavier': '1.1.0'},
        'dda-jetson-02': {'model-caps-jetson-xavier': '1.1.0'},
        'dda-jetson-03': {},
    }


def test_a_failed_version_is_never_rolled_out(
    gateway: GreengrassGateway, backend: GreengrassBackend, artifacts: set[str]
) -> None:
    artifacts.clear()
    backend.add_core_device('dda-jetson-01', 'aarch64', last_status_update=NOW)
    gateway.create_component_version(recipe(), {})

    changes = [change for i in range(5) for change in step_fleet(backend, NOW + timedelta(minutes=i))]

    assert changes == [
        'model-caps-jetson-xavier 1.0.0: REQUESTED → INITIATED',
        'model-caps-jetson-xavier 1.0.0: INITIATED → FAILED',
    ]
    assert gateway.installed_components('dda-jetson-01') == []


def test_fleet_seeded_from_the_sagemaker_seed_links_its_compilation_jobs(
    aws: None, gateway: GreengrassGateway, backend: GreengrassBackend
) -> None:
    from dda_portal.demo.seed import seed
    from dda_portal.domain.targets import TargetCatalog

    inventory = seed()
    backend.artifact_exists = s3_artifact_exists(boto3.client('s3', region_name='us-east-1'))
    packages = packages_from_moto(inventory, TargetCatalog.load())

    fleet = seed_fleet(backend, inventory.seeded_at, packages)

    sagemaker = boto3.client('sagemaker', region_name='us-east-1')
    states: dict[str, list[str]] = {}
    for component in gateway.components():
        for version in gateway.component_versions(component['arn']):
            described = gateway.describe_component(version['arn'])
            assert described is not None
            states.setdefault(described['status']['componentState'], []).append(version['arn'])
            job = described['tags'].get(TAG_COMPILATION_JOB)
            if job:
                compilation = sagemaker.describe_compilation_job(CompilationJobName=job)
                assert compilation['CompilationJobStatus'] == 'COMPLETED'
                artifact = compilation['ModelArtifacts']['S3ModelArtifacts']
                assert gateway.recipe(version['arn'])['Manifests'][0]['Artifacts'][0]['Uri'] == artifact
    assert len(states['FAILED']) == 1 and len(states['REQUESTED']) == 1
    assert len(states['DEPLOYABLE']) >= 5
    failed = gateway.describe_component(states['FAILED'][0])
    assert failed is not None and failed['tags'] == {}
    assert list(failed['status']['errors']) == [
        gateway.recipe(states['FAILED'][0])['Manifests'][0]['Artifacts'][0]['Uri']
    ]
    assert sum(len(models) for models in fleet.models_installed.values()) >= 4
    # the REQUESTED one becomes DEPLOYABLE in two simulator steps (its artifact exists)
    step_fleet(backend)
    step_fleet(backend)
    pending = gateway.describe_component(states['REQUESTED'][0])
    assert pending is not None and pending['status']['componentState'] == 'DEPLOYABLE'
