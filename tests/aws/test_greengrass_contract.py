"""The emulator's raw JSON answers, checked against botocore's greengrassv2 output and error shapes.

boto3 parses leniently (unknown members vanish, a timestamp string parses too), so a gateway test can pass
while the emulator speaks a dialect AWS never would. These tests read the bytes on the wire instead.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.model import Shape, StructureShape

from dda_portal.demo.greengrass import (
    GreengrassBackend,
    GreengrassServer,
    model_recipe,
    seed_fleet,
    seed_thing_groups,
)
from dda_portal.demo.greengrass.urls import OPERATIONS

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
MISSING = 's3://dda-demo-models/neo-output/gone/model-x86_64.tar.gz'
MODEL = botocore.session.get_session().get_service_model('greengrassv2')


# ---- a validator over botocore shapes -------------------------------------------------------------------


def violations(shape: Shape, value: Any, path: str = '$') -> list[str]:
    """How `value` (parsed JSON of a rest-json body) breaks `shape`; empty when it conforms."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return [f'{path}: expected an object for {shape.name}, got {type(value).__name__}']
        wire = {member.serialization.get('name', name): name for name, member in shape.members.items()}
        found = [f'{path}.{key}: unknown member of {shape.name}' for key in value if key not in wire]
        found += [
            f'{path}.{name}: required member of {shape.name} is missing'
            for name in shape.required_members
            if shape.members[name].serialization.get('name', name) not in value
        ]
        for key, item in value.items():
            if key in wire:
                found += violations(shape.members[wire[key]], item, f'{path}.{key}')
        return found
    if kind == 'list':
        if not isinstance(value, list):
            return [f'{path}: expected a list, got {type(value).__name__}']
        return [
            problem
            for i, item in enumerate(value)
            for problem in violations(shape.member, item, f'{path}[{i}]')
        ]  # type: ignore[attr-defined]
    if kind == 'map':
        if not isinstance(value, dict):
            return [f'{path}: expected a map, got {type(value).__name__}']
        return [
            problem
            for key, item in value.items()
            for problem in violations(shape.key, key, f'{path}<key>')
            + violations(shape.value, item, f'{path}.{key}')  # type: ignore[attr-defined]
        ]
    if kind == 'string':
        return _string_violations(shape, value, path)
    if kind == 'timestamp':
        # rest-json bodies carry epoch seconds unless the member says otherwise
        if shape.serialization.get('timestampFormat', 'unixtimestamp') != 'unixtimestamp':
            return [f'{path}: timestamp format {shape.serialization["timestampFormat"]} not handled here']
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f'{path}: a timestamp must be epoch seconds (a number), got {value!r}']
        return []
    if kind in ('integer', 'long'):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f'{path}: expected an integer, got {value!r}']
        return _range_violations(shape, value, path, 'value')
    if kind in ('double', 'float'):
        return (
            []
            if isinstance(value, int | float) and not isinstance(value, bool)
            else [f'{path}: not a number']
        )
    if kind == 'boolean':
        return [] if isinstance(value, bool) else [f'{path}: expected a boolean, got {value!r}']
    if kind == 'blob':
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            return [f'{path}: a blob must be a base64 string, got {value!r}']
        return []
    return [f'{path}: shape type {kind} not handled by this validator']


def _string_violations(shape: Shape, value: Any, path: str) -> list[str]:
    if not isinstance(value, str):
        return [f'{path}: expected a string, got {value!r}']
    found = _range_violations(shape, len(value), path, 'length')
    enum = getattr(shape, 'enum', None)
    if enum and value not in enum:
        found.append(f'{path}: {value!r} is not one of {enum}')
    pattern = shape.metadata.get('pattern')
    if pattern and not re.search(pattern, value):
        found.append(f'{path}: {value!r} does not match {pattern}')
    return found


def _range_violations(shape: Shape, size: int, path: str, what: str) -> list[str]:
    low, high = shape.metadata.get('min'), shape.metadata.get('max')
    found = []
    if low is not None and size < low:
        found.append(f'{path}: {what} {size} below the minimum {low}')
    if high is not None and size > high:
        found.append(f'{path}: {what} {size} above the maximum {high}')
    return found


# ---- the validator can fail -----------------------------------------------------------------------------


def good_describe_component() -> dict[str, Any]:
    return {
        'arn': 'arn:aws:greengrass:us-east-1:123456789012:components:model-a:versions:1.0.0',
        'componentName': 'model-a',
        'componentVersion': '1.0.0',
        'creationTimestamp': 1741944600.5,
        'status': {'componentState': 'DEPLOYABLE', 'message': 'NONE', 'errors': {}},
        'platforms': [{'name': 'linux', 'attributes': {'os': 'linux'}}],
        'tags': {'team': 'vision'},
    }


def test_validator_accepts_a_conforming_body() -> None:
    assert (
        violations(MODEL.operation_model('DescribeComponent').output_shape, good_describe_component()) == []
    )


@pytest.mark.parametrize(
    ('change', 'expected'),
    [
        (lambda b: b.update(componentStatus='DEPLOYABLE'), '$.componentStatus: unknown member'),
        (lambda b: b['status'].update(state='DEPLOYABLE'), '$.status.state: unknown member'),
        (lambda b: b['platforms'][0].update(os='linux'), '$.platforms[0].os: unknown member'),
        (lambda b: b['status'].update(componentState='Deployable'), 'is not one of'),
        (lambda b: b.update(creationTimestamp='2025-03-14T09:30:00Z'), 'epoch seconds'),
        (lambda b: b.update(creationTimestamp=True), 'epoch seconds'),
        (
            lambda b: b.update(arn='arn:aws:greengrass:us-east-1:123456789012:components:model-a'),
            'does not match',
        ),
        (lambda b: b['status'].update(errors={'s3://b/k': ''}), 'below the minimum 1'),
        (lambda b: b.update(tags=[{'Key': 'team', 'Value': 'vision'}]), 'expected a map'),
        (lambda b: b.update(componentName=7), 'expected a string'),
    ],
)
def test_validator_catches_what_aws_would_never_send(
    change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    body = good_describe_component()
    change(body)
    found = violations(MODEL.operation_model('DescribeComponent').output_shape, body)
    assert any(expected in problem for problem in found), found


def test_validator_catches_missing_required_members_and_wrong_scalars() -> None:
    create = MODEL.operation_model('CreateComponentVersion').output_shape
    assert violations(
        create, {'componentName': 'a', 'componentVersion': '1.0.0', 'creationTimestamp': 1}
    ) == ['$.status: required member of CreateComponentVersionResponse is missing']
    installed = MODEL.operation_model('ListInstalledComponents').output_shape
    found = violations(installed, {'installedComponents': [{'componentName': 'a', 'isRoot': 'false'}]})
    assert found == ["$.installedComponents[0].isRoot: expected a boolean, got 'false'"]
    recipe = MODEL.operation_model('GetComponent').output_shape
    assert violations(recipe, {'recipeOutputFormat': 'JSON', 'recipe': '{not base64}'}) == [
        "$.recipe: a blob must be a base64 string, got '{not base64}'"
    ]


# ---- the emulator's answers -----------------------------------------------------------------------------


@dataclass
class Exchange:
    operation: str
    status: int
    headers: dict[str, str]
    body: Any


@pytest.fixture
def backend() -> GreengrassBackend:
    backend = GreengrassBackend(artifact_exists=lambda uri: uri != MISSING)
    seed_fleet(backend, NOW)
    seed_thing_groups(backend, NOW)
    return backend


@pytest.fixture
def client(
    backend: GreengrassBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[Any, list[Exchange]]]:
    """A boto3 greengrassv2 client on the emulator, and every raw answer it receives."""
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'no-config'))
    seen: list[Exchange] = []

    def capture(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        raw = response_dict['body']
        seen.append(
            Exchange(
                operation_model.name,
                response_dict['status_code'],
                {k.lower(): v for k, v in response_dict['headers'].items()},
                json.loads(raw) if raw else None,
            )
        )

    with GreengrassServer(backend=backend) as server:
        greengrass = boto3.client(
            'greengrassv2',
            endpoint_url=server.endpoint_url,
            region_name='us-east-1',
            aws_access_key_id='testing',
            aws_secret_access_key='testing',
        )
        greengrass.meta.events.register('before-parse.greengrassv2.*', capture)
        yield greengrass, seen


def exercise_every_operation(greengrass: Any, backend: GreengrassBackend) -> None:
    """Call each implemented operation the ways the portal and the demo do, small pages included."""
    created = greengrass.create_component_version(
        inlineRecipe=json.dumps(
            model_recipe('model-contract-x86_64-cpu', '1.0.0', MISSING, 'amd64')
        ).encode(),
        tags={'dda-portal:compilation-job': 'contract-1'},
    )
    backend.advance()
    backend.advance()
    deployable = next(v for v in backend.versions.values() if v.state == 'DEPLOYABLE' and not v.public)
    component = deployable.component_arn
    greengrass.list_components()
    greengrass.list_components(scope='PRIVATE', maxResults=1)
    greengrass.list_components(scope='PUBLIC')
    greengrass.list_component_versions(arn=component)
    greengrass.list_component_versions(arn=component, maxResults=1)
    greengrass.describe_component(arn=created['arn'])  # FAILED, with errors
    greengrass.describe_component(arn=deployable.arn)
    public = next(v for v in backend.versions.values() if v.public)
    greengrass.describe_component(arn=public.arn)
    greengrass.get_component(arn=deployable.arn)
    greengrass.get_component(arn=deployable.arn, recipeOutputFormat='YAML')
    greengrass.list_core_devices()
    greengrass.list_core_devices(status='UNHEALTHY', maxResults=1)
    for device in backend.core_devices:
        greengrass.get_core_device(coreDeviceThingName=device)
        greengrass.list_installed_components(coreDeviceThingName=device, topologyFilter='ALL')
        greengrass.list_installed_components(coreDeviceThingName=device, maxResults=1)
    greengrass.list_deployments()
    greengrass.list_deployments(historyFilter='ALL', maxResults=2)
    greengrass.list_tags_for_resource(resourceArn=created['arn'])
    greengrass.list_tags_for_resource(resourceArn=backend.core_device_arn(next(iter(backend.core_devices))))
    greengrass.tag_resource(resourceArn=deployable.arn, tags={'stage': 'qa'})
    exercise_deployments(greengrass, backend, deployable.name, deployable.version)


def exercise_deployments(greengrass: Any, backend: GreengrassBackend, name: str, version: str) -> None:
    """A rollout to a thing group, as the portal's deployer sends it, walked to its end; then a cancel."""
    group = backend.thing_group_arn('line-1')
    created = greengrass.create_deployment(
        targetArn=group,
        deploymentName='contract rollout',
        components={
            name: {'componentVersion': version},
            'aws.greengrass.LogManager': {'componentVersion': '2.3.7'},
        },
        deploymentPolicies={'failureHandlingPolicy': 'ROLLBACK'},
        iotJobConfiguration={
            'jobExecutionsRolloutConfig': {'maximumPerMinute': 50},
            'timeoutConfig': {'inProgressTimeoutInMinutes': 30},
        },
        tags={'dda-portal:deployed-by': 'contract'},
        clientToken='contract-1',
    )
    greengrass.get_deployment(deploymentId=created['deploymentId'])
    for _ in range(2):
        backend.advance_deployments(NOW)
        for thing in ('dda-line1-jetson-01', 'dda-line1-jetson-04'):
            greengrass.list_effective_deployments(coreDeviceThingName=thing)
    greengrass.list_effective_deployments(coreDeviceThingName='dda-line1-jetson-01', maxResults=1)
    greengrass.list_deployments(targetArn=group, historyFilter='ALL')
    greengrass.list_deployments(historyFilter='LATEST_ONLY')
    greengrass.cancel_deployment(deploymentId=created['deploymentId'])


def test_every_answer_matches_its_output_shape(
    client: tuple[Any, list[Exchange]], backend: GreengrassBackend
) -> None:
    greengrass, seen = client
    exercise_every_operation(greengrass, backend)

    assert {e.operation for e in seen} == set(OPERATIONS)  # a new operation needs its contract call here
    for exchange in seen:
        operation = MODEL.operation_model(exchange.operation)
        assert exchange.status == operation.http.get('responseCode', 200), exchange
        assert exchange.headers['content-type'] == 'application/json'
        assert exchange.headers.get('x-amzn-requestid')
        assert violations(operation.output_shape, exchange.body) == [], exchange
    paged = [e for e in seen if isinstance(e.body, dict) and 'nextToken' in e.body]
    assert {e.operation for e in paged} >= {
        'ListComponentVersions',
        'ListInstalledComponents',
        'ListDeployments',
    }


def test_answers_fill_what_the_portal_reads(
    client: tuple[Any, list[Exchange]], backend: GreengrassBackend
) -> None:
    greengrass, seen = client
    exercise_every_operation(greengrass, backend)
    bodies: dict[str, Any] = {}
    for exchange in seen:
        bodies.setdefault(exchange.operation, exchange.body)

    assert set(bodies['DescribeComponent']) >= {
        'arn',
        'componentName',
        'componentVersion',
        'creationTimestamp',
        'status',
        'platforms',
        'tags',
    }
    assert set(bodies['DescribeComponent']['status']) == {'componentState', 'message', 'errors'}
    device = bodies['ListCoreDevices']['coreDevices'][0]
    assert set(device) >= {
        'coreDeviceThingName',
        'status',
        'lastStatusUpdateTimestamp',
        'platform',
        'architecture',
    }
    installed = bodies['ListInstalledComponents']['installedComponents'][0]
    assert set(installed) >= {
        'componentName',
        'componentVersion',
        'lifecycleState',
        'lastStatusChangeTimestamp',
        'lastReportedTimestamp',
        'lastInstallationSource',
        'isRoot',
    }
    assert isinstance(bodies['GetCoreDevice']['coreVersion'], str)
    assert set(bodies['CreateDeployment']) == {'deploymentId', 'iotJobId', 'iotJobArn'}
    assert bodies['GetDeployment']['deploymentPolicies'] == {'failureHandlingPolicy': 'ROLLBACK'}
    assert bodies['GetDeployment']['deploymentStatus'] == 'ACTIVE'
    effective = bodies['ListEffectiveDeployments']['effectiveDeployments'][0]
    assert set(effective) >= {
        'deploymentId',
        'deploymentName',
        'iotJobId',
        'targetArn',
        'coreDeviceExecutionStatus',
        'creationTimestamp',
        'modifiedTimestamp',
    }


def test_a_group_rollout_succeeds_on_two_devices_and_fails_on_one_with_a_reason(
    client: tuple[Any, list[Exchange]], backend: GreengrassBackend
) -> None:
    greengrass, _ = client
    model = next(v for v in backend.versions.values() if v.state == 'DEPLOYABLE' and 'jetson' in v.name)
    before = {
        c['componentName']
        for c in greengrass.list_installed_components(coreDeviceThingName='dda-line1-jetson-04')[
            'installedComponents'
        ]
    }
    first = greengrass.create_deployment(
        targetArn=backend.thing_group_arn('line-1'),
        components={model.name: {'componentVersion': model.version}},
        deploymentPolicies={'failureHandlingPolicy': 'ROLLBACK'},
        clientToken='same-click',
    )
    again = greengrass.create_deployment(
        targetArn=backend.thing_group_arn('line-1'),
        components={model.name: {'componentVersion': model.version}},
        deploymentPolicies={'failureHandlingPolicy': 'ROLLBACK'},
        clientToken='same-click',
    )
    assert again['deploymentId'] == first['deploymentId']

    def states() -> dict[str, tuple[str, str | None]]:
        found = {}
        for thing in ('dda-line1-jetson-01', 'dda-line1-jetson-02', 'dda-line1-jetson-04'):
            latest = greengrass.list_effective_deployments(coreDeviceThingName=thing)['effectiveDeployments'][
                0
            ]
            assert latest['deploymentId'] == first['deploymentId']
            found[thing] = (latest['coreDeviceExecutionStatus'], latest.get('reason'))
        return found

    assert {s for s, _ in states().values()} == {'QUEUED'}
    backend.advance_deployments(NOW)
    assert {s for s, _ in states().values()} == {'IN_PROGRESS'}
    backend.advance_deployments(NOW)
    done = states()
    assert done['dda-line1-jetson-01'][0] == done['dda-line1-jetson-02'][0] == 'SUCCEEDED'
    assert done['dda-line1-jetson-04'][0] == 'FAILED'
    assert 'camera driver' in (done['dda-line1-jetson-04'][1] or '')
    installed = {
        c['componentName']: c['componentVersion']
        for c in greengrass.list_installed_components(coreDeviceThingName='dda-line1-jetson-01')[
            'installedComponents'
        ]
    }
    assert installed[model.name] == model.version
    after = {
        c['componentName']
        for c in greengrass.list_installed_components(coreDeviceThingName='dda-line1-jetson-04')[
            'installedComponents'
        ]
    }
    assert after == before  # rolled back
    history = greengrass.list_deployments(targetArn=backend.thing_group_arn('line-1'), historyFilter='ALL')
    assert [d['revisionId'] for d in history['deployments']] == ['2', '1']  # after line 1's base deployment


def test_a_platform_mismatch_fails_with_its_reason_and_a_new_revision_supersedes(
    client: tuple[Any, list[Exchange]], backend: GreengrassBackend
) -> None:
    greengrass, _ = client
    model = next(v for v in backend.versions.values() if v.state == 'DEPLOYABLE' and 'jetson' in v.name)
    group = backend.thing_group_arn('line-2')  # amd64 devices
    first = greengrass.create_deployment(
        targetArn=group, components={model.name: {'componentVersion': model.version}}
    )
    backend.advance_deployments(NOW)
    backend.advance_deployments(NOW)
    latest = greengrass.list_effective_deployments(coreDeviceThingName='dda-line2-ipc-01')[
        'effectiveDeployments'
    ][0]
    assert latest['coreDeviceExecutionStatus'] == 'FAILED'
    assert 'architecture amd64' in latest['reason']
    second = greengrass.create_deployment(
        targetArn=group, components={'aws.greengrass.LogManager': {'componentVersion': '2.3.7'}}
    )
    history = greengrass.list_deployments(targetArn=group, historyFilter='ALL')['deployments']
    assert [
        (d['deploymentId'], d['revisionId'], d['deploymentStatus'], d['isLatestForTarget']) for d in history
    ] == [
        (second['deploymentId'], '2', 'ACTIVE', True),
        (first['deploymentId'], '1', 'INACTIVE', False),
    ]
    latest_only = greengrass.list_deployments(targetArn=group)['deployments']
    assert [d['deploymentId'] for d in latest_only] == [second['deploymentId']]


def operation_errors(greengrass: Any, backend: GreengrassBackend) -> dict[str, Callable[[], Any]]:
    recipe = json.dumps(model_recipe('model-contract-x86_64-cpu', '1.0.0', MISSING, 'amd64')).encode()
    greengrass.create_component_version(inlineRecipe=recipe)
    unknown = backend.version_arn('model-nowhere', '1.0.0')
    return {
        'ConflictException': lambda: greengrass.create_component_version(inlineRecipe=recipe),
        'ValidationException': lambda: greengrass.create_component_version(
            inlineRecipe=b'{"ComponentName": 1}'
        ),
        'ResourceNotFoundException': lambda: greengrass.describe_component(arn=unknown),
    }


@pytest.mark.parametrize('code', ['ConflictException', 'ValidationException', 'ResourceNotFoundException'])
def test_error_answers_match_their_error_shapes(
    client: tuple[Any, list[Exchange]], backend: GreengrassBackend, code: str
) -> None:
    greengrass, seen = client
    call = operation_errors(greengrass, backend)[code]

    with pytest.raises(ClientError) as caught:
        call()

    assert caught.value.response['Error']['Code'] == code
    exchange = seen[-1]
    shape = MODEL.shape_for(code)
    assert exchange.status == shape.metadata['error']['httpStatusCode']
    assert exchange.headers['x-amzn-errortype'] == code
    assert violations(shape, exchange.body) == [], exchange


def test_more_error_answers_match_their_shapes(
    client: tuple[Any, list[Exchange]], backend: GreengrassBackend
) -> None:
    greengrass, seen = client
    calls = [
        lambda: greengrass.get_core_device(coreDeviceThingName='dda-nowhere'),
        lambda: greengrass.list_installed_components(coreDeviceThingName='dda-nowhere'),
        lambda: greengrass.list_component_versions(arn=backend.component_arn('model-nowhere')),
        lambda: greengrass.list_tags_for_resource(resourceArn=backend.core_device_arn('dda-nowhere')),
        lambda: greengrass.list_components(nextToken='garbage'),
        lambda: greengrass.describe_component(arn=backend.component_arn('model-unversioned')),
    ]
    for call in calls:
        with pytest.raises(ClientError):
            call()
    errors = [e for e in seen if e.status >= 400]
    assert len(errors) == len(calls)
    for exchange in errors:
        shape = MODEL.shape_for(exchange.headers['x-amzn-errortype'])
        assert shape.name in {e.name for e in MODEL.operation_model(exchange.operation).error_shapes}
        assert violations(shape, exchange.body) == [], exchange


def test_a_path_or_method_no_operation_has_gets_an_aws_error(client: tuple[Any, list[Exchange]]) -> None:
    greengrass, _ = client
    base = greengrass.meta.endpoint_url
    answers = []
    for method, path in (('GET', '/greengrass/v2/nothing'), ('DELETE', '/greengrass/v2/components')):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(urllib.request.Request(base + path, method=method))
        answers.append((caught.value.code, caught.value.headers['x-amzn-ErrorType'], json.load(caught.value)))

    assert [(status, kind) for status, kind, _ in answers] == [
        (404, 'UnknownOperationException'),
        (405, 'UnknownOperationException'),
    ]
    assert all(isinstance(body['message'], str) and body['message'] for _, _, body in answers)


def test_a_hanging_device_times_out_after_the_jobs_timeout(
    client: tuple[Any, list[Exchange]], backend: GreengrassBackend
) -> None:
    greengrass, _ = client
    backend.core_devices['dda-line2-ipc-01'].hangs = True
    created = greengrass.create_deployment(
        targetArn=backend.thing_arn('dda-line2-ipc-01'),
        components={'aws.greengrass.LogManager': {'componentVersion': '2.3.7'}},
        iotJobConfiguration={'timeoutConfig': {'inProgressTimeoutInMinutes': 30}},
    )
    started = backend.get_deployment(created['deploymentId']).created_at
    backend.report_status('dda-line2-ipc-01', at=started)  # reporting: it takes deployments

    def latest() -> dict[str, Any]:
        found = greengrass.list_effective_deployments(coreDeviceThingName='dda-line2-ipc-01')
        return found['effectiveDeployments'][0]

    backend.advance_deployments(started)
    backend.advance_deployments(started + timedelta(minutes=29))
    assert latest()['coreDeviceExecutionStatus'] == 'IN_PROGRESS'
    backend.advance_deployments(started + timedelta(minutes=31))
    assert latest()['coreDeviceExecutionStatus'] == 'TIMED_OUT'
    assert '30 minutes' in latest()['reason']
    assert greengrass.get_deployment(deploymentId=created['deploymentId'])['deploymentStatus'] == 'FAILED'
