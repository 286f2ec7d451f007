"""The refresh cycle's Greengrass part against the emulator: components linked to attempts, devices."""

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
from tests.factories import backend, create_compilation_job, create_training_job

ARTIFACT = 's3://dda-models/compiled/weld-jetson-xavier-1/model-LINUX_ARM64_NVIDIA.tar.gz'


def greengrass() -> object:
    return boto3.client(
        'greengrassv2', region_name='us-east-1', endpoint_url=os.environ['AWS_ENDPOINT_URL_GREENGRASSV2']
    )


def recipe(name: str, version: str, uri: str) -> bytes:
    return json.dumps(
        {
            'RecipeFormatVersion': '2020-01-25',
            'ComponentName': name,
            'ComponentVersion': version,
            'Manifests': [
                {'Platform': {'os': 'linux', 'architecture': 'aarch64'}, 'Artifacts': [{'URI': uri}]}
            ],
        }
    ).encode()


def make_sync(database_url: str) -> Sync:
    settings = Settings(database_url=database_url, sync_enabled=False)
    return build(settings, Store(database_url), AwsClients(), TargetCatalog.load()).sync


def compiled_weld() -> None:
    create_training_job('weld')
    create_compilation_job('weld-jetson-xavier-1', 'weld', 'jetson-xavier')
    backend().compilation_jobs['weld-jetson-xavier-1'].model_artifacts = {'S3ModelArtifacts': ARTIFACT}


@pytest.mark.usefixtures('aws')
def test_components_link_to_attempts_by_tag_or_by_artifact(database_url: str) -> None:
    compiled_weld()
    client = greengrass()
    client.create_component_version(  # type: ignore[attr-defined]
        inlineRecipe=recipe('model-weld-jetson-xavier', '1.0.0', ARTIFACT)
    )
    client.create_component_version(  # type: ignore[attr-defined]
        inlineRecipe=recipe('model-weld-tagged', '1.0.0', 's3://elsewhere/model.tar.gz'),
        tags={'dda-portal:compilation-job': 'weld-jetson-xavier-1'},
    )
    client.create_component_version(  # type: ignore[attr-defined]
        inlineRecipe=recipe('unrelated-thing', '2.0.0', 's3://other/x.tar.gz')
    )
    sync = make_sync(database_url)

    changed = sync.pull_and_apply(utcnow())

    assert 'weld' in changed
    linked = {c.component_name: c for c in sync.store.read(queries.fleet.components, 'weld')}
    assert set(linked) == {'model-weld-jetson-xavier', 'model-weld-tagged'}
    assert all(
        c.compilation_job_name == 'weld-jetson-xavier-1' and c.target_id == 'jetson-xavier'
        for c in linked.values()
    )
    assert {c.component_name for c in sync.store.read(queries.fleet.components)} >= {'unrelated-thing'}
    assert linked['model-weld-jetson-xavier'].state == 'Requested'


def test_unsettled_versions_are_followed_until_deployable(database_url: str, aws: GreengrassBackend) -> None:
    compiled_weld()
    greengrass().create_component_version(  # type: ignore[attr-defined]
        inlineRecipe=recipe('model-weld-jetson-xavier', '1.0.0', ARTIFACT)
    )
    sync = make_sync(database_url)
    sync.pull_and_apply(utcnow())
    aws.advance()
    aws.advance()
    sync.clients.counter.by_operation.clear()
    changed = sync.pull_and_apply(utcnow())
    assert changed == {'weld'}
    assert sync.store.read(queries.fleet.components, 'weld')[0].state == 'Deployable'
    assert sync.clients.counter.by_operation.get('DescribeComponent') == 1
    sync.clients.counter.by_operation.clear()
    sync.pull_and_apply(utcnow())
    assert 'DescribeComponent' not in sync.clients.counter.by_operation  # settled: not read again


def test_device_inventory_runs_on_its_own_cadence(database_url: str, aws: GreengrassBackend) -> None:
    emulator = aws
    now = utcnow()
    emulator.add_core_device('line1-jetson', architecture='aarch64', status='HEALTHY', last_status_update=now)
    emulator.add_core_device(
        'line2-ipc', architecture='amd64', status='UNHEALTHY', last_status_update=now - timedelta(hours=30)
    )
    emulator.install('line1-jetson', 'aws.greengrass.Nucleus', '2.12.0', reported_at=now)
    sync = make_sync(database_url)
    sync.pull_and_apply(now)
    devices = {d.thing_name: d for d in sync.store.read(queries.fleet.devices)}
    assert (devices['line1-jetson'].architecture, devices['line2-ipc'].status) == ('aarch64', 'UNHEALTHY')
    assert [(i.thing_name, i.component_name) for i in sync.store.read(queries.fleet.installations)] == [
        ('line1-jetson', 'aws.greengrass.Nucleus')
    ]

    sync.clients.counter.by_operation.clear()
    sync.pull_and_apply(now + timedelta(seconds=60))
    assert 'ListCoreDevices' not in sync.clients.counter.by_operation
    sync.pull_and_apply(now + timedelta(seconds=301))
    assert sync.clients.counter.by_operation.get('ListCoreDevices') == 1
    assert sync.clients.counter.by_operation.get('ListInstalledComponents') == 2
