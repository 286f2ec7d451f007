"""`start_demo`: moto's server and the Greengrass emulator on 127.0.0.1, reached by plain boto3 clients."""

from __future__ import annotations

import logging
import os
import socket
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto.core.base_backend import BackendDict

import dda_portal.demo
from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.aws.greengrass import GreengrassGateway
from dda_portal.config import Account, Settings
from dda_portal.demo import DEMO_DATABASE_URL, DemoEnvironment, _demo_database, start_demo
from dda_portal.demo.common import COMPILATION_LOG_GROUP, TRAINING_LOG_GROUP, split_s3
from dda_portal.demo.greengrass import FleetInventory, GreengrassBackend
from dda_portal.demo.greengrass.fleet import TAG_COMPILATION_JOB
from dda_portal.demo.second_use_case import DEMO_USERS_FILE
from dda_portal.domain.access import Role
from dda_portal.domain.alerts import AlertDraft
from dda_portal.passwords import password_matches
from dda_portal.services.alerts import AlertSender
from dda_portal.store import Store
from dda_portal.use_cases import load_use_cases, places_of, session_for

ELSEWHERE_GREENGRASS = 'https://greengrass.example.invalid'


def refused(endpoint: str) -> bool:
    """Whether nothing listens on the endpoint's port any more."""
    port = urlparse(endpoint).port
    assert port is not None
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1):
            return False
    except OSError:
        return True


@pytest.fixture
def demo(
    clean_aws_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DemoEnvironment]:
    monkeypatch.setenv('AWS_PROFILE', 'someone-elses-account')
    monkeypatch.setenv('AWS_ENDPOINT_URL_S3', 'https://s3.example.invalid')
    monkeypatch.setenv('AWS_ENDPOINT_URL_GREENGRASSV2', ELSEWHERE_GREENGRASS)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / 'data'
    data.mkdir()
    for leftover in ('demo.db', 'demo.db-wal', 'demo.db-shm'):
        (data / leftover).write_text('from the previous demo')
    environment = start_demo(Settings(_env_file=None))  # type: ignore[call-arg]
    try:
        yield environment
    finally:
        environment.stop()
        BackendDict.reset()  # moto's backends are process-wide


def test_demo_serves_the_seed_over_http(demo: DemoEnvironment, tmp_path: Path) -> None:
    endpoint = urlparse(demo.endpoint)
    assert (endpoint.scheme, endpoint.hostname) == ('http', '127.0.0.1')
    assert os.environ['AWS_ENDPOINT_URL'] == demo.endpoint
    assert 'AWS_PROFILE' not in os.environ and 'AWS_ENDPOINT_URL_S3' not in os.environ
    assert os.environ['AWS_DEFAULT_REGION'] == 'us-east-1'
    assert demo.database_url == DEMO_DATABASE_URL
    assert not list((tmp_path / 'data').iterdir())  # the old demo database is gone, -wal and -shm too
    assert demo.patches  # moto 5.2.5 needs all of them

    sagemaker = boto3.client('sagemaker')
    calls: list[str] = []
    sagemaker.meta.events.register('before-send.sagemaker.*', lambda request, **_: calls.append(request.url))
    training = sagemaker.list_training_jobs(MaxResults=100)['TrainingJobSummaries']
    compilation = [
        s
        for page in sagemaker.get_paginator('list_compilation_jobs').paginate()
        for s in page['CompilationJobSummaries']
    ]
    assert {s['TrainingJobName'] for s in training} == set(demo.inventory.training_jobs)
    assert {s['CompilationJobName'] for s in compilation} == set(demo.inventory.compilation_jobs)
    assert calls and all(url.startswith(demo.endpoint) for url in calls)

    completed = next(n for n, s in demo.inventory.compilation_jobs.items() if s == 'COMPLETED')
    artifact = sagemaker.describe_compilation_job(CompilationJobName=completed)['ModelArtifacts'][
        'S3ModelArtifacts'
    ]
    bucket, key = split_s3(artifact)
    url = boto3.client('s3').generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': key})
    assert url.startswith(demo.endpoint)
    assert httpx.get(url).content[:2] == b'\x1f\x8b'

    logs = boto3.client('logs')
    assert logs.describe_log_streams(logGroupName=TRAINING_LOG_GROUP)['logStreams']
    assert logs.describe_log_streams(logGroupName=COMPILATION_LOG_GROUP)['logStreams']

    starting = next(n for n, s in demo.inventory.compilation_jobs.items() if s == 'STARTING')
    assert f'{starting}: STARTING → INPROGRESS' in demo.simulator.step()
    assert (
        sagemaker.describe_compilation_job(CompilationJobName=starting)['CompilationJobStatus']
        == 'INPROGRESS'
    )
    sagemaker.stop_compilation_job(CompilationJobName=starting)  # emulated: moto has no StopCompilationJob
    assert (
        sagemaker.describe_compilation_job(CompilationJobName=starting)['CompilationJobStatus'] == 'STOPPING'
    )


def test_demo_serves_greengrass_over_http(demo: DemoEnvironment) -> None:
    endpoint = urlparse(demo.greengrass_endpoint)
    assert (endpoint.scheme, endpoint.hostname) == ('http', '127.0.0.1')
    assert endpoint.port != urlparse(demo.endpoint).port
    assert os.environ['AWS_ENDPOINT_URL_GREENGRASSV2'] == demo.greengrass_endpoint
    assert demo.greengrass is not None

    greengrass = boto3.client('greengrassv2')
    assert greengrass.meta.endpoint_url == demo.greengrass_endpoint
    calls: list[str] = []
    greengrass.meta.events.register(
        'before-send.greengrassv2.*', lambda request, **_: calls.append(request.url)
    )

    components = greengrass.list_components(scope='PRIVATE')['components']
    seeded = {arn.rsplit(':versions:', 1)[0] for arn in demo.fleet.component_versions}
    assert {c['arn'] for c in components} == seeded
    assert all(c['componentName'].startswith('model-') for c in components)

    devices = greengrass.list_core_devices()['coreDevices']
    assert {d['coreDeviceThingName']: d['status'] for d in devices} == demo.fleet.core_devices
    assert len(devices) == 6 and demo.fleet.unhealthy and demo.fleet.stale
    iot = boto3.client('iot')
    groups = {g['groupName'] for g in iot.list_thing_groups()['thingGroups']}
    assert groups == {'line-1', 'line-2', 'plant-1'}
    assert len(iot.list_things_in_thing_group(thingGroupName='line-1')['things']) == 3

    assert demo.fleet.models_installed
    for thing, models in demo.fleet.models_installed.items():
        installed = greengrass.list_installed_components(coreDeviceThingName=thing, topologyFilter='ALL')
        names = {c['componentName'] for c in installed['installedComponents']}
        assert set(models) <= names and 'aws.greengrass.Nucleus' in names
    assert calls and all(url.startswith(demo.greengrass_endpoint) for url in calls)

    # the packages are the seed's compiled models: their tags name compilation jobs moto knows
    sagemaker = boto3.client('sagemaker')
    linked = 0
    for arn, state in demo.fleet.component_versions.items():
        described = greengrass.describe_component(arn=arn)
        assert described['status']['componentState'] == state
        job = described['tags'].get(TAG_COMPILATION_JOB)
        if job:
            compiled = sagemaker.describe_compilation_job(CompilationJobName=job)
            recipe = greengrass.get_component(arn=arn, recipeOutputFormat='JSON')['recipe']
            assert compiled['ModelArtifacts']['S3ModelArtifacts'].encode() in recipe
            linked += 1
    assert linked >= 5
    assert sorted(demo.fleet.component_versions.values()).count('FAILED') == 1  # its artifact URI has a typo

    # the portal's own gateway, made the way the portal makes it, sees the same fleet
    gateway = GreengrassGateway(AwsClients())
    assert {d['coreDeviceThingName'] for d in gateway.core_devices()} == set(demo.fleet.core_devices)


def test_the_demo_simulator_moves_the_greengrass_fleet(demo: DemoEnvironment) -> None:
    greengrass = boto3.client('greengrassv2')
    requested = [arn for arn, state in demo.fleet.component_versions.items() if state == 'REQUESTED']
    assert len(requested) == 1
    arn = requested[0]

    def state() -> str:
        return str(greengrass.describe_component(arn=arn)['status']['componentState'])

    start = demo.inventory.seeded_at
    installed: list[str] = []
    states = []
    for minute in range(1, 5):
        installed += [
            c for c in demo.simulator.step(start + timedelta(minutes=minute)) if 'installed on' in c
        ]
        states.append(state())
    assert states[:2] == ['INITIATED', 'DEPLOYABLE']
    assert len(installed) == 1
    name, version, _, _, thing = installed[0].split(' ')
    assert arn.endswith(f':components:{name}:versions:{version}')
    listed = greengrass.list_installed_components(coreDeviceThingName=thing)['installedComponents']
    assert {'componentName': name, 'componentVersion': version} in [
        {k: c[k] for k in ('componentName', 'componentVersion')} for c in listed
    ]


def test_stop_gives_the_environment_back(demo: DemoEnvironment) -> None:
    endpoints = (demo.endpoint, demo.greengrass_endpoint)
    demo.stop()
    demo.stop()  # idempotent

    assert os.environ['AWS_PROFILE'] == 'someone-elses-account'
    assert os.environ['AWS_ENDPOINT_URL_S3'] == 'https://s3.example.invalid'
    assert os.environ['AWS_ENDPOINT_URL_GREENGRASSV2'] == ELSEWHERE_GREENGRASS
    assert 'AWS_ENDPOINT_URL' not in os.environ
    assert all(refused(endpoint) for endpoint in endpoints)
    assert demo.greengrass is None


def test_stop_removes_a_greengrass_endpoint_the_environment_lacked(demo: DemoEnvironment) -> None:
    demo._saved_env['AWS_ENDPOINT_URL_GREENGRASSV2'] = None  # as if it had been unset before the demo
    demo.stop()
    assert 'AWS_ENDPOINT_URL_GREENGRASSV2' not in os.environ


def test_a_failed_start_stops_both_servers_and_gives_the_environment_back(
    clean_aws_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('AWS_ENDPOINT_URL_GREENGRASSV2', ELSEWHERE_GREENGRASS)
    served: list[str] = []

    def failing_seed_fleet(backend: GreengrassBackend, *_: Any) -> FleetInventory:
        served.extend([os.environ['AWS_ENDPOINT_URL'], os.environ['AWS_ENDPOINT_URL_GREENGRASSV2']])
        raise RuntimeError('seeding failed')

    monkeypatch.setattr(dda_portal.demo, 'seed_fleet', failing_seed_fleet)
    try:
        with pytest.raises(RuntimeError, match='seeding failed'):
            start_demo(Settings(_env_file=None))  # type: ignore[call-arg]
    finally:
        BackendDict.reset()

    assert len(served) == 2 and ELSEWHERE_GREENGRASS not in served
    assert all(refused(endpoint) for endpoint in served)
    assert os.environ['AWS_ENDPOINT_URL_GREENGRASSV2'] == ELSEWHERE_GREENGRASS
    assert 'AWS_ENDPOINT_URL' not in os.environ


def test_a_database_the_user_named_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    named = f'sqlite:///{tmp_path / "mine.db"}'
    (tmp_path / 'mine.db').write_text('keep me')

    assert _demo_database(Settings(database_url=named)) == named
    assert (tmp_path / 'mine.db').read_text() == 'keep me'
    assert (
        _demo_database(Settings(database_url=Settings.model_fields['database_url'].default))
        == DEMO_DATABASE_URL
    )


def test_the_demo_sends_its_alerts_to_a_channel_that_logs_them(
    demo: DemoEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    url = demo.settings_overrides(Settings(_env_file=None))['alert_urls']  # type: ignore[call-arg]
    assert isinstance(url, str) and url.startswith('json://127.0.0.1:')
    mine = demo.settings_overrides(Settings(_env_file=None, alert_urls='json://127.0.0.1:9/mine'))  # type: ignore[call-arg]
    assert 'alert_urls' not in mine  # the user's own channel stays

    settings = Settings(_env_file=None, database_url=demo.database_url, alert_urls=url)  # type: ignore[call-arg]
    store = Store(settings.database_url)
    store.write(
        queries.alerts.record, AlertDraft('k', 'compilation-failed', 'Compilation failed: x', 'b', 'l')
    )
    with caplog.at_level(logging.INFO, logger='dda_portal.demo.alert_log'):
        assert AlertSender(settings, store).send_due() == 1
    assert 'Alert received by the demo channel: Compilation failed: x' in caplog.text
    assert [row.sent_at is not None for row in store.read(queries.alerts.recent)] == [True]

    demo.stop()
    assert refused(url.replace('json://', 'http://'))


def test_the_demo_matrix_names_the_jetson_beyond_neo(demo: DemoEnvironment, tmp_path: Path) -> None:
    """The demo seeds IoT things: the portal's refresh reads them and the matrix says why a Jetson on
    JetPack 6 cannot run the Xavier models, and that the Jetson without a thing is not known."""
    from dda_portal import queries
    from dda_portal.domain.clock import utcnow
    from dda_portal.domain.filters import MatrixFilter
    from dda_portal.domain.targets import TargetCatalog
    from dda_portal.pages.fleet.matrix_feed import MatrixFacts
    from dda_portal.pages.fleet.matrix_page import build_page, runtime_needs
    from dda_portal.services import build
    from dda_portal.store import Store

    url = f'sqlite:///{tmp_path / "matrix.db"}'
    catalog = TargetCatalog.load()
    settings = Settings(database_url=url, sync_enabled=False, _env_file=None)  # type: ignore[call-arg]
    sync = build(settings, Store(url), AwsClients(), catalog).sync
    sync.pull_and_apply(utcnow())
    facts = MatrixFacts()
    facts.apply(sync.store.read(queries.matrix.matrix))
    labels = {t.id: t.display_name for t in catalog.values()}
    page = build_page(
        facts, MatrixFilter(targets=frozenset({'jetson-xavier'})), runtime_needs(catalog), labels
    )
    shown = {c['name']: c['label'] for c in page.columns if c['name'] != 'release'}
    cells = [{shown[key]: cell for key, cell in row.items() if key in shown} for row in page.rows]
    assert cells
    jetpack6 = [row['dda-line1-jetson-02'] for row in cells if row['dda-line1-jetson-02']['w'] != 'Running']
    assert jetpack6
    assert all(c['w'] == 'Incompatible' for c in jetpack6), jetpack6
    assert 'JetPack 6.0 is newer than any JetPack SageMaker Neo compiles for here' in jetpack6[0]['r']
    assert {row['dda-line2-ipc-01']['w'] for row in cells} == {'Incompatible'}  # amd64
    no_thing = [row['dda-line3-jetson-03'] for row in cells if row['dda-line3-jetson-03']['w'] != 'Running']
    assert no_thing and all(c['w'] == 'Unknown' for c in no_thing)


def test_the_demos_second_use_case_is_another_account_and_region_reached_through_assume_role(
    demo: DemoEnvironment,
) -> None:
    assert demo.use_cases_file is not None and demo.second is not None
    home_place, line_2_place = places_of(load_use_cases(demo.use_cases_file))
    home = boto3.session.Session()
    line_2 = session_for(line_2_place, home)

    line_2_summaries = line_2.client('sagemaker').list_training_jobs()['TrainingJobSummaries']
    line_2_jobs = {s['TrainingJobName'] for s in line_2_summaries}
    home_jobs = {
        s['TrainingJobName']
        for s in session_for(home_place, home)
        .client('sagemaker')
        .list_training_jobs(MaxResults=100)['TrainingJobSummaries']
    }
    line_2_greengrass = line_2.client('greengrassv2')
    devices = line_2_greengrass.list_core_devices()['coreDevices']
    components = line_2_greengrass.list_components(scope='PRIVATE')['components']

    assert (home_place.key, line_2_place.key, line_2_place.region) == ('line-1', 'line-2', 'eu-west-1')
    assert line_2.client('sts').get_caller_identity()['Account'] == '222222222222'
    assert line_2_jobs == set(demo.second.inventory.training_jobs)
    assert len(line_2_jobs & home_jobs) == 2  # names repeat across the accounts without mixing
    assert line_2_jobs - home_jobs and home_jobs - line_2_jobs
    assert {d['coreDeviceThingName'] for d in devices} == set(demo.second.fleet.core_devices)
    assert components and all(':222222222222:' in c['arn'] and 'eu-west-1' in c['arn'] for c in components)
    assert line_2.client('sagemaker').list_compilation_jobs()['CompilationJobSummaries']


def test_a_wrong_external_id_keeps_the_demos_second_use_case_closed(demo: DemoEnvironment) -> None:
    assert demo.use_cases_file is not None
    [_, line_2_place] = places_of(load_use_cases(demo.use_cases_file))
    wrong = line_2_place.use_case.model_copy(update={'external_id': 'guessed-id'})
    [place] = places_of([wrong])

    with pytest.raises(ClientError) as refused:
        session_for(place, boto3.session.Session()).client('sagemaker').list_training_jobs()

    assert refused.value.response['Error']['Code'] == 'AccessDenied'


def test_the_portal_gets_the_demos_two_use_cases_unless_it_names_its_own(demo: DemoEnvironment) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert demo.settings_overrides(settings)['use_cases_file'] == demo.use_cases_file
    mine = Path(demo.use_cases_file or '').with_name('mine.toml')
    mine.write_text('[use_cases.mine]\nregion = "us-east-1"\n')
    own = settings.model_copy(update={'use_cases_file': mine})
    assert 'use_cases_file' not in demo.settings_overrides(own)


def test_the_demo_users_file_makes_one_person_data_scientist_in_line_1_and_operator_in_line_2() -> None:
    users = tomllib.loads(DEMO_USERS_FILE.read_text())['users']

    assert users['dana']['roles'] == {'line-1': 'data-scientist', 'line-2': 'operator'}
    assert password_matches(Account(role=Role.OPERATOR, password_hash=users['dana']['password_hash']), 'demo')
