"""Deploying to thing groups against the emulator: the plan keeps the other components, one deployment per
plan however many clicks, rollouts followed by the refresh, roll back, the role check."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import boto3
import pytest

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.common import split_s3
from dda_portal.demo.greengrass import GreengrassBackend, default_packages, seed_fleet, seed_thing_groups
from dda_portal.domain.access import Person, Role
from dda_portal.domain.clock import utcnow
from dda_portal.domain.deploy import Severity
from dda_portal.domain.problems import Invalid, NotAllowed
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import Services, build
from dda_portal.services.deployer import Deployer
from dda_portal.store import Store

WELD = 'model-weld-seam-cracks-jetson-xavier'
CAPS = 'model-bottle-cap-defects-jetson-xavier'
PCB = 'model-pcb-solder-joints-jetson-xavier'
LOG_MANAGER = 'aws.greengrass.LogManager'


class Gate:
    """Who asks: a fixed person."""

    def __init__(self, person: Person) -> None:
        self.person = person

    def current(self) -> Person:
        return self.person

    async def load_current(self) -> None:
        return None


def services(database_url: str, person: Person | None = None) -> Services:
    settings = Settings(database_url=database_url, sync_enabled=False)
    gate = Gate(person or Person('dana', Role.DATA_SCIENTIST))
    return build(settings, Store(database_url), AwsClients(), TargetCatalog.load(), gate=gate)  # type: ignore[arg-type]


@pytest.fixture
def fleet(aws: GreengrassBackend, database_url: str) -> tuple[GreengrassBackend, Services, datetime]:
    """The demo's fleet and thing groups, its model archives in S3, and a store the refresh filled."""
    now = utcnow()
    s3 = boto3.client('s3')
    for package in default_packages(now):
        bucket, key = split_s3(package.artifact_uri)
        if bucket not in {b['Name'] for b in s3.list_buckets()['Buckets']}:
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=b'model')
    seed_fleet(aws, now)
    seed_thing_groups(aws, now, boto3.client('iot'))
    portal = services(database_url)
    portal.sync.pull_and_apply(now)
    return aws, portal, now


def group(backend: GreengrassBackend, name: str) -> str:
    return backend.thing_group_arn(name)


def history(backend: GreengrassBackend, target: str) -> list[Any]:
    return sorted(
        (d for d in backend.deployments.values() if d.target_arn == target), key=lambda d: int(d.revision_id)
    )


def test_the_refresh_stores_thing_groups_and_deployments(fleet: Any) -> None:
    backend, portal, _ = fleet

    groups = portal.sync.store.read(queries.deployments.thing_groups)

    assert groups['line-1'] == (
        group(backend, 'line-1'),
        ['dda-line1-jetson-01', 'dda-line1-jetson-02', 'dda-line1-jetson-04'],
    )
    stored = portal.sync.store.read(queries.deployments.deployments, None)
    things = {d.thing_arn for d in backend.core_devices.values()}
    assert {d.target_arn for d in stored} == things | {group(backend, 'line-1')}
    base = next(d for d in stored if d.target_arn == group(backend, 'line-1'))
    assert queries.deployments.components_of(base) == {LOG_MANAGER: '2.3.7'}


def test_a_deployment_keeps_the_targets_other_components(fleet: Any) -> None:
    backend, portal, _ = fleet
    deployer: Deployer = portal.actions.deployer
    line = group(backend, 'line-1')

    deployer.deploy(line, WELD, '1.0.0', 'dana')
    deployer.deploy(line, PCB, '1.0.0', 'dana')
    prepared = deployer.prepare(line, CAPS, '1.1.0')
    deployer.deploy(line, CAPS, '1.1.0', 'dana')
    deployer.deploy(line, CAPS, '1.0.0', 'dana')  # replaces the newer version of the same component

    assert prepared.plan.before == {LOG_MANAGER: '2.3.7', WELD: '1.0.0', PCB: '1.0.0'}
    assert prepared.plan.changes == [(CAPS, None, '1.1.0')]
    assert [d.components for d in history(backend, line)] == [
        {LOG_MANAGER: '2.3.7'},
        {LOG_MANAGER: '2.3.7', WELD: '1.0.0'},
        {LOG_MANAGER: '2.3.7', WELD: '1.0.0', PCB: '1.0.0'},
        {LOG_MANAGER: '2.3.7', WELD: '1.0.0', PCB: '1.0.0', CAPS: '1.1.0'},
        {LOG_MANAGER: '2.3.7', WELD: '1.0.0', PCB: '1.0.0', CAPS: '1.0.0'},
    ]
    sent = history(backend, line)[-1]
    assert sent.policies == {'failureHandlingPolicy': 'ROLLBACK'}
    assert sent.job_configuration['jobExecutionsRolloutConfig']['maximumPerMinute'] > 0
    assert sent.job_configuration['timeoutConfig']['inProgressTimeoutInMinutes'] > 0
    assert [d.status for d in history(backend, line)][:-1] == ['INACTIVE'] * 4


def test_two_clicks_on_two_replicas_make_one_deployment(fleet: Any, database_url: str) -> None:
    backend, portal, _ = fleet
    replicas = [portal.actions.deployer, services(database_url).actions.deployer]
    line = group(backend, 'line-1')
    ids: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def click(deployer: Deployer) -> None:
        start.wait()
        try:
            ids.append(deployer.deploy(line, WELD, '1.0.0', 'dana'))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=click, args=(replicas[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(set(ids)) == 1 and len(ids) == 4
    assert len(history(backend, line)) == 2  # the group's base deployment and this one
    assert [d.deployment_id for d in portal.sync.store.read(queries.deployments.deployments, ids)] == ids[:1]


def test_the_preflight_refuses_a_mixed_group_and_names_the_stale_device(fleet: Any) -> None:
    backend, portal, _ = fleet
    deployer: Deployer = portal.actions.deployer
    plant = group(backend, 'plant-1')

    prepared = deployer.prepare(plant, WELD, '1.0.0')
    with pytest.raises(Invalid) as refused:
        deployer.deploy(plant, WELD, '1.0.0', 'dana')

    blocking = [f.what for f in prepared.findings if f.severity is Severity.BLOCKS]
    warning = [f.what for f in prepared.findings if f.severity is Severity.WARNS]
    assert len(blocking) == 1 and 'dda-line2-ipc-01' in blocking[0] and 'amd64' in blocking[0]
    assert any('dda-line3-jetson-03' in w and 'a day' in w for w in warning)
    assert 'dda-line2-ipc-01' in str(refused.value)
    assert history(backend, plant) == []


def test_a_missing_artifact_blocks(fleet: Any) -> None:
    backend, portal, now = fleet
    package = next(p for p in default_packages(now) if p.component_name == WELD)
    bucket, key = split_s3(package.artifact_uri)
    boto3.client('s3').delete_object(Bucket=bucket, Key=key)

    prepared = portal.actions.deployer.prepare(group(backend, 'line-1'), WELD, '1.0.0')

    assert [f.severity for f in prepared.findings] == [Severity.BLOCKS]
    assert package.artifact_uri in prepared.findings[0].what


def test_the_refresh_follows_a_rollout_until_every_device_is_final(fleet: Any) -> None:
    backend, portal, _ = fleet
    line = group(backend, 'line-1')
    deployment_id = portal.actions.deployer.deploy(line, WELD, '1.0.0', 'dana')
    counter = portal.sync.clients.counter

    counter.by_operation.clear()
    portal.sync.pull_and_apply(utcnow())  # the inventory is not due, but a rollout is followed
    assert counter.by_operation.get('ListEffectiveDeployments') == 3
    assert counter.by_operation.get('ListInstalledComponents') == 3  # line 1's devices only, not the fleet
    assert 'ListThingGroups' not in counter.by_operation
    assert len(portal.sync.store.read(queries.fleet.devices)) == 6  # the others stay as stored
    backend.advance_deployments()
    backend.advance_deployments()
    portal.sync.pull_and_apply(utcnow())

    store = portal.sync.store
    ran = {
        e.thing_name: e for e in store.read(queries.deployments.executions, [deployment_id])[deployment_id]
    }
    assert {t: e.status for t, e in ran.items()} == {
        'dda-line1-jetson-01': 'SUCCEEDED',
        'dda-line1-jetson-02': 'SUCCEEDED',
        'dda-line1-jetson-04': 'FAILED',
    }
    assert 'camera driver' in (ran['dda-line1-jetson-04'].reason or '')
    assert store.read(queries.deployments.deployment, deployment_id).settled
    running = store.read(queries.fleet.running_devices, [(WELD, '1.0.0')])
    assert set(running[(WELD, '1.0.0')]) >= {'dda-line1-jetson-01', 'dda-line1-jetson-02'}
    assert 'dda-line1-jetson-04' not in running[(WELD, '1.0.0')]  # rolled back

    counter.by_operation.clear()
    portal.sync.pull_and_apply(utcnow())  # settled and the inventory not due: no Greengrass call at all
    devices_part = {
        'ListCoreDevices',
        'ListInstalledComponents',
        'ListDeployments',
        'GetDeployment',
        'ListEffectiveDeployments',
        'ListThingGroups',
        'ListThingsInThingGroup',
    }
    assert not devices_part & set(counter.by_operation), counter.by_operation


def test_roll_back_redeploys_the_previous_revision(fleet: Any) -> None:
    backend, portal, _ = fleet
    deployer: Deployer = portal.actions.deployer
    line = group(backend, 'line-1')
    deployer.deploy(line, CAPS, '1.0.0', 'dana')
    deployer.deploy(line, CAPS, '1.1.0', 'dana')

    rolled = deployer.roll_back(line, 'dana')

    revisions = history(backend, line)
    assert [d.revision_id for d in revisions] == ['1', '2', '3', '4']
    assert revisions[-1].deployment_id == rolled
    assert revisions[-1].components == {LOG_MANAGER: '2.3.7', CAPS: '1.0.0'}
    with pytest.raises(Invalid):
        deployer.roll_back(group(backend, 'line-2'), 'dana')  # nothing to go back to


async def test_only_a_data_scientist_may_deploy_or_roll_back(fleet: Any, database_url: str) -> None:
    backend, _, _ = fleet
    operator = services(database_url, Person('otto', Role.OPERATOR)).actions
    line = group(backend, 'line-1')

    with pytest.raises(NotAllowed, match='Only a Data Scientist may deploy components'):
        await operator.deploy(line, WELD, '1.0.0')
    with pytest.raises(NotAllowed, match='Only a Data Scientist may roll back'):
        await operator.roll_back(line)

    assert len(history(backend, line)) == 1  # only the group's base deployment


def test_rollouts_by_component_and_by_device(fleet: Any) -> None:
    backend, portal, _ = fleet
    line = group(backend, 'line-1')
    deployment_id = portal.actions.deployer.deploy(line, WELD, '1.0.0', 'dana')
    store = portal.sync.store

    by_component = store.read(queries.deployments.rollouts, components=[WELD])
    by_device = store.read(queries.deployments.rollouts, thing='dda-line1-jetson-04')
    elsewhere = store.read(queries.deployments.rollouts, thing='dda-line2-ipc-01')

    assert by_component[0].deployment.deployment_id == deployment_id  # newest first
    assert all(WELD in r.components for r in by_component)  # and the seed's thing deployment of it
    assert set(by_component[0].devices) == {
        'dda-line1-jetson-01',
        'dda-line1-jetson-02',
        'dda-line1-jetson-04',
    }
    assert by_component[0].previous is not None and by_component[0].previous.name == 'line-1 base'
    assert by_device[0].deployment.deployment_id == deployment_id
    assert {r.deployment.target_arn for r in by_device} == {line, backend.thing_arn('dda-line1-jetson-04')}
    assert deployment_id not in {r.deployment.deployment_id for r in elsewhere}
    assert store.read(queries.deployments.rollouts, components=['model-nothing']) == []


def test_a_deployment_to_one_core_device_keeps_what_its_thing_deployment_had(fleet: Any) -> None:
    backend, portal, _ = fleet
    thing = backend.thing_arn('dda-line1-jetson-02')
    before = history(backend, thing)[-1].components

    deployment_id = portal.actions.deployer.deploy(thing, WELD, '1.0.0', 'dana')
    backend.advance_deployments()
    backend.advance_deployments()

    latest = history(backend, thing)[-1]
    assert latest.deployment_id == deployment_id
    assert latest.components == {**before, WELD: '1.0.0'}
    assert latest.status == 'COMPLETED'  # a thing deployment ends; a thing group deployment stays active
    installed = backend.core_devices['dda-line1-jetson-02'].installed
    assert installed[WELD].component_version == '1.0.0'
    assert set(before) <= set(installed)
