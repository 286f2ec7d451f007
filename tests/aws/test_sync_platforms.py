"""The refresh keeps each version's recipe platforms (read once) and each device's IoT thing attributes (read
when the device is new or reported again): a quiet refresh costs no more AWS calls than before."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import boto3
import pytest

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.greengrass import GreengrassBackend
from dda_portal.domain.clock import utcnow
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import Sync, build
from dda_portal.store import Store
from dda_portal.tables import ComponentVersion

MANIFESTS = [
    {'Platform': {'os': 'linux', 'architecture': 'aarch64', 'accelerator': 'nvidia', 'jetpack': '/5\\..*/'}},
    {'Platform': {'os': '*', 'architecture': 'amd64'}},
]


def greengrass() -> object:
    return boto3.client(
        'greengrassv2', region_name='us-east-1', endpoint_url=os.environ['AWS_ENDPOINT_URL_GREENGRASSV2']
    )


def publish(name: str, version: str, manifests: list[dict[str, object]]) -> str:
    recipe = {
        'RecipeFormatVersion': '2020-01-25',
        'ComponentName': name,
        'ComponentVersion': version,
        'Manifests': manifests,
    }
    created = greengrass().create_component_version(inlineRecipe=json.dumps(recipe).encode())  # type: ignore[attr-defined]
    return str(created['arn'])


def make_sync(database_url: str, **settings: object) -> Sync:
    config = Settings(database_url=database_url, sync_enabled=False, **settings)  # type: ignore[arg-type]
    return build(config, Store(database_url), AwsClients(), TargetCatalog.load()).sync


def calls(sync: Sync) -> dict[str, int]:
    return dict(sync.clients.counter.by_operation)


def test_recipe_platforms_are_read_once_per_version(database_url: str, aws: GreengrassBackend) -> None:
    arn = publish('outside-detector', '1.0.0', MANIFESTS)
    sync = make_sync(database_url)
    sync.pull_and_apply(utcnow())
    aws.advance()
    aws.advance()
    sync.pull_and_apply(utcnow())  # settles (Deployable)
    [stored] = [c for c in sync.store.read(queries.fleet.components) if c.arn == arn]
    assert json.loads(stored.platforms or '') == [m['Platform'] for m in MANIFESTS]

    sync.clients.counter.by_operation.clear()
    sync.pull_and_apply(utcnow())  # quiet: nothing new
    quiet = calls(sync)
    assert 'GetComponent' not in quiet
    assert 'DescribeComponent' not in quiet
    assert 'DescribeThing' not in quiet
    assert quiet == {'ListComponents': 1, 'ListTrainingJobs': 1, 'ListCompilationJobs': 1}, quiet


def test_versions_stored_without_platforms_are_read_once(database_url: str, aws: GreengrassBackend) -> None:
    arn = publish('older-version', '1.0.0', MANIFESTS)
    sync = make_sync(database_url)
    sync.pull_and_apply(utcnow())

    def forget(session: object) -> None:  # as a row written before the portal kept recipe platforms
        row = session.get(ComponentVersion, ('default', arn))  # type: ignore[attr-defined]
        row.platforms = None

    sync.store.write(forget)
    sync.clients.counter.by_operation.clear()
    sync.pull_and_apply(utcnow())
    assert calls(sync).get('GetComponent') == 1
    [stored] = [c for c in sync.store.read(queries.fleet.components) if c.arn == arn]
    assert stored.platforms is not None and len(json.loads(stored.platforms)) == 2
    sync.clients.counter.by_operation.clear()
    sync.pull_and_apply(utcnow())
    assert 'GetComponent' not in calls(sync)


@pytest.mark.usefixtures('aws')
def test_thing_attributes_are_read_for_new_and_reporting_devices_only(
    database_url: str, aws: GreengrassBackend
) -> None:
    now = utcnow() - timedelta(minutes=5)
    iot = boto3.client('iot', region_name='us-east-1')
    iot.create_thing(
        thingName='line1-orin', attributePayload={'attributes': {'accelerator': 'nvidia', 'jetpack': '5.1.2'}}
    )
    aws.add_core_device('line1-orin', architecture='aarch64', last_status_update=now)
    aws.add_core_device('line2-ipc', architecture='amd64', last_status_update=now)  # no IoT thing
    sync = make_sync(database_url, device_refresh_seconds=0.001)
    sync.pull_and_apply(utcnow())
    devices = {d.thing_name: d for d in sync.store.read(queries.fleet.devices)}
    assert json.loads(devices['line1-orin'].thing_attributes or '') == {
        'accelerator': 'nvidia',
        'jetpack': '5.1.2',
    }
    assert devices['line2-ipc'].thing_attributes == '{}'
    assert calls(sync)['DescribeThing'] == 2

    sync.clients.counter.by_operation.clear()
    changed = sync.pull_and_apply(utcnow())  # nobody reported: no IoT call, nothing changed
    assert 'DescribeThing' not in calls(sync)
    assert not changed

    iot.update_thing(
        thingName='line1-orin', attributePayload={'attributes': {'jetpack': '6.0'}, 'merge': True}
    )
    aws.report_status('line1-orin', at=utcnow())  # after a reflash the device reports again
    sync.clients.counter.by_operation.clear()
    sync.pull_and_apply(utcnow())
    assert calls(sync)['DescribeThing'] == 1
    orin = sync.store.read(queries.fleet.devices, ['line1-orin'])[0]
    assert json.loads(orin.thing_attributes or '')['jetpack'] == '6.0'


def test_an_iot_refusal_leaves_the_inventory_whole_and_asks_once(
    database_url: str, aws: GreengrassBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from dda_portal.aws.iot import IotGateway

    asked: list[str] = []

    def denied(self: IotGateway, thing_name: str) -> dict[str, str] | None:
        asked.append(thing_name)
        raise ClientError({'Error': {'Code': 'AccessDeniedException', 'Message': 'no'}}, 'DescribeThing')

    monkeypatch.setattr(IotGateway, 'thing_attributes', denied)
    for name in ('a-device', 'b-device', 'c-device'):
        aws.add_core_device(name, last_status_update=utcnow() - timedelta(minutes=1))
    sync = make_sync(database_url)
    sync.pull_and_apply(utcnow())
    devices = sync.store.read(queries.fleet.devices)
    assert [d.thing_name for d in devices] == ['a-device', 'b-device', 'c-device']
    assert all(d.thing_attributes is None for d in devices)  # the matrix says: not read yet
    assert len(asked) == 1  # the others are not asked in this inventory
