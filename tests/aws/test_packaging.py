"""Packaging completed compilations as Greengrass component versions, against moto and the emulator."""

from __future__ import annotations

import json
import threading

import boto3
import pytest

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.greengrass import GreengrassBackend
from dda_portal.domain.clock import utcnow
from dda_portal.domain.problems import AwsProblem, Invalid
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import Packager, Sync, build
from dda_portal.store import Store
from tests.factories import backend, create_compilation_job, create_training_job, set_compilation_status

ARTIFACT = 's3://dda-models/compiled/weld-jetson-xavier-1/model-LINUX_ARM64_NVIDIA.tar.gz'


def portal(database_url: str, **settings: object) -> tuple[Sync, Packager]:
    config = Settings(database_url=database_url, sync_enabled=False, **settings)  # type: ignore[arg-type]
    store, clients, catalog = Store(database_url), AwsClients(), TargetCatalog.load()
    services = build(config, store, clients, catalog)
    return services.sync, services.packager


def compiled(name: str = 'weld-jetson-xavier-1', status: str = 'COMPLETED') -> None:
    if 'weld' not in backend().training_jobs:
        create_training_job('weld')
    create_compilation_job(name, 'weld', 'jetson-xavier', status)
    backend().compilation_jobs[name].model_artifacts = {'S3ModelArtifacts': ARTIFACT}


def test_package_creates_one_tagged_version_pointing_at_the_compiled_model(
    database_url: str, aws: GreengrassBackend
) -> None:
    compiled()
    sync, packager = portal(database_url)
    sync.pull_and_apply(utcnow())

    owner = packager.package('weld-jetson-xavier-1', 'manual')

    assert owner == 'weld'
    client = boto3.client('greengrassv2', region_name='us-east-1')
    [component] = client.list_components(scope='PRIVATE')['components']
    assert component['componentName'] == 'model-weld-jetson-xavier'
    version_arn = component['latestVersion']['arn']
    recipe = json.loads(client.get_component(arn=version_arn, recipeOutputFormat='JSON')['recipe'])
    assert recipe['ComponentVersion'] == '1.0.0'
    assert recipe['Manifests'][0]['Platform']['architecture'] == 'aarch64'
    assert recipe['Manifests'][0]['Artifacts'][0]['URI'] == ARTIFACT
    tags = client.list_tags_for_resource(resourceArn=version_arn)['tags']
    assert tags['dda-portal:compilation-job'] == 'weld-jetson-xavier-1'
    assert tags['dda-portal:training-job'] == 'weld'
    [stored] = packager.store.read(queries.fleet.components, 'weld')
    assert (stored.arn, stored.state, stored.compilation_job_name) == (
        version_arn,
        'Requested',
        'weld-jetson-xavier-1',
    )


def test_packaging_twice_makes_no_second_version(database_url: str, aws: GreengrassBackend) -> None:
    compiled()
    sync, packager = portal(database_url)
    sync.pull_and_apply(utcnow())
    outcomes = []
    barrier = threading.Barrier(3)

    def click() -> None:
        barrier.wait()
        try:
            outcomes.append(packager.package('weld-jetson-xavier-1', 'manual'))
        except Invalid as refused:
            outcomes.append(refused)

    threads = [threading.Thread(target=click) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for outcome in outcomes if outcome == 'weld') == 1
    assert all(isinstance(outcome, Invalid) for outcome in outcomes if outcome != 'weld')
    assert (
        len(
            boto3.client('greengrassv2', region_name='us-east-1').list_component_versions(
                arn=aws.component_arn('model-weld-jetson-xavier')
            )['componentVersions']
        )
        == 1
    )
    sync.pull_and_apply(utcnow())  # the refresh sees the same version and does not duplicate it
    assert len(packager.store.read(queries.fleet.components, 'weld')) == 1


def test_a_new_attempt_gets_the_next_version(database_url: str, aws: GreengrassBackend) -> None:
    compiled()
    sync, packager = portal(database_url)
    sync.pull_and_apply(utcnow())
    packager.package('weld-jetson-xavier-1', 'manual')
    set_compilation_status('weld-jetson-xavier-1', 'COMPLETED')
    compiled('weld-jetson-xavier-2')
    sync.pull_and_apply(utcnow())
    assert packager.package('weld-jetson-xavier-2', 'manual') == 'weld'
    assert sorted(c.component_version for c in packager.store.read(queries.fleet.components, 'weld')) == [
        '1.0.0',
        '2.0.0',
    ]


def test_only_completed_compilations_are_packaged(database_url: str, aws: GreengrassBackend) -> None:
    compiled(status='INPROGRESS')
    sync, packager = portal(database_url)
    sync.pull_and_apply(utcnow())
    with pytest.raises(Invalid) as refused:
        packager.package('weld-jetson-xavier-1', 'manual')
    assert str(refused.value) == 'Only a completed compilation with a compiled model can be packaged.'


def test_greengrass_refusal_is_reported_and_leaves_nothing(
    database_url: str, aws: GreengrassBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    compiled()
    sync, packager = portal(database_url)
    sync.pull_and_apply(utcnow())

    def refuse(*args: object, **kwargs: object) -> dict:
        raise ClientError(
            {'Error': {'Code': 'AccessDeniedException', 'Message': 'not allowed'}}, 'CreateComponentVersion'
        )

    monkeypatch.setattr(packager.greengrass, 'create_component_version', refuse)
    with pytest.raises(AwsProblem) as refused:
        packager.package('weld-jetson-xavier-1', 'manual')
    assert str(refused.value) == 'AccessDeniedException: not allowed'
    assert packager.store.read(queries.fleet.components) == []
    monkeypatch.undo()
    assert packager.package('weld-jetson-xavier-1', 'manual') == 'weld'  # a later try works


def test_auto_package_packages_each_completed_compilation_once(
    database_url: str, aws: GreengrassBackend
) -> None:
    compiled(status='INPROGRESS')
    sync, _ = portal(database_url, auto_package=True)
    sync.cycle(utcnow())
    assert (
        boto3.client('greengrassv2', region_name='us-east-1').list_components(scope='PRIVATE')['components']
        == []
    )
    set_compilation_status('weld-jetson-xavier-1', 'COMPLETED')
    backend().compilation_jobs['weld-jetson-xavier-1'].model_artifacts = {'S3ModelArtifacts': ARTIFACT}
    sync.cycle(utcnow())
    sync.cycle(utcnow())
    client = boto3.client('greengrassv2', region_name='us-east-1')
    [component] = client.list_components(scope='PRIVATE')['components']
    versions = client.list_component_versions(arn=component['arn'])['componentVersions']
    assert len(versions) == 1
    assert (
        client.list_tags_for_resource(resourceArn=versions[0]['arn'])['tags']['dda-portal:origin'] == 'auto'
    )
