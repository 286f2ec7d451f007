"""Each part of the refresh — SageMaker, Greengrass components, devices — fails alone: the others are still
committed, the failed one keeps its last good data and records AWS's code, message and call, and its next
success clears that. Faults are injected with botocore event hooks on the portal's real clients."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from dda_portal import queries
from dda_portal import store as store_module
from dda_portal.demo.greengrass import GreengrassBackend
from dda_portal.domain.clock import utcnow
from dda_portal.domain.refresh import RefreshProblem
from dda_portal.pages.layout import stale_text
from dda_portal.services.sync import Sync
from dda_portal.store import Store
from tests.aws.test_faults import aws_answers, make_sync, register, retries_exhausted
from tests.aws.test_sync_greengrass import recipe
from tests.backends import write_locked
from tests.factories import (
    backend,
    change_everything_meanwhile,
    create_compilation_job,
    create_training_job,
    seed_glass_cracks,
    set_compilation_status,
    set_training_status,
)

GG_DENIED = 'User is not authorized to perform: greengrass:ListComponents'


def greengrass_denied(message: str = GG_DENIED) -> Any:
    """Greengrass's answer when the portal's role lacks the permission."""
    return aws_answers(
        403,
        {'x-amzn-ErrorType': 'AccessDeniedException', 'Content-Type': 'application/json'},
        {'message': message},
    )


def greengrass_client() -> Any:
    return boto3.client('greengrassv2', region_name='us-east-1')


def new_component(name: str, version: str = '1.0.0', uri: str = 's3://elsewhere/model.tar.gz') -> None:
    greengrass_client().create_component_version(inlineRecipe=recipe(name, version, uri))


def banner(sync: Sync) -> str:
    return stale_text(sync.store.freshness(), sync.parts)


def assert_glass_cracks_moved_on(store: Store) -> None:
    """What change_everything_meanwhile did in SageMaker is in the store, rollups included."""
    job = store.read(queries.jobs.training_job, 'glass-cracks')
    assert job is not None and (job.status, job.rollup, job.targets_compiled, job.targets_total) == (
        'Completed',
        'Compilation failed',
        0,
        1,
    )
    attempt = store.read(queries.jobs.latest_attempts, 'glass-cracks')[0]
    assert attempt.status == 'Failed'
    assert store.read(queries.jobs.training_job, 'new-arrival') is not None


async def test_greengrass_denied_keeps_training_and_compilation_jobs_updating_and_the_banner_names_it(
    aws: GreengrassBackend, database_url: str
) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    first_success = sync.store.freshness().parts['components'].last_success
    change_everything_meanwhile()
    create_compilation_job('new-arrival-arm64-cpu-1', 'new-arrival', 'arm64-cpu', 'INPROGRESS')
    grant = register(sync.clients.greengrass, 'before-send.greengrassv2.ListComponents', greengrass_denied())

    problem = await sync.run_once()

    assert isinstance(problem, RefreshProblem)
    assert [part for part, _ in problem.parts] == ['components']
    assert (problem.code, problem.operation) == ('AccessDeniedException', 'ListComponents')
    assert str(problem) == f'Greengrass components: AccessDeniedException: {GG_DENIED} (in ListComponents)'
    assert_glass_cracks_moved_on(sync.store)
    arrival = sync.store.read(queries.jobs.training_job, 'new-arrival')
    assert arrival is not None and (arrival.rollup, arrival.targets_total) == ('Compiling', 1)
    freshness = sync.store.freshness()
    sagemaker, components = freshness.parts['sagemaker'], freshness.parts['components']
    assert sagemaker.failed_at is None and freshness.last_success == sagemaker.last_success
    assert (components.error_code, components.error_message, components.error_call) == (
        'AccessDeniedException',
        GG_DENIED,
        'ListComponents',
    )
    assert components.last_success == first_success  # the age of the components shown
    text = banner(sync)
    assert text.startswith(f'Greengrass components: AccessDeniedException: {GG_DENIED} (in ListComponents)')
    assert 'data from ' in text and 'SageMaker' not in text
    assert sync.store.read(queries.freshness.last_cycles, 1)[0].ok is False  # one row per cycle, as before

    grant()
    assert await sync.run_once() is None
    assert sync.store.freshness().parts['components'].failed_at is None
    assert banner(sync) == ''


async def test_devices_failing_alone_leave_jobs_and_components_updating_until_the_inventory_works(
    aws: GreengrassBackend, database_url: str
) -> None:
    aws.add_core_device('line1-jetson', architecture='aarch64', status='HEALTHY', last_status_update=utcnow())
    seed_glass_cracks()
    sync = make_sync(database_url, device_refresh_seconds=0.001)  # an inventory every refresh
    deny = register(
        sync.clients.greengrass,
        'before-send.greengrassv2.ListCoreDevices',
        greengrass_denied('not authorized: greengrass:ListCoreDevices'),
    )

    problem = await sync.run_once()

    assert isinstance(problem, RefreshProblem) and [p for p, _ in problem.parts] == ['devices']
    assert sync.store.read(queries.fleet.devices) == []
    assert sync.store.read(queries.jobs.training_job, 'glass-cracks') is not None
    devices = sync.store.freshness().parts['devices']
    assert (devices.error_code, devices.error_call, devices.last_success) == (
        'AccessDeniedException',
        'ListCoreDevices',
        None,
    )
    assert banner(sync).startswith(
        'Greengrass devices: AccessDeniedException: not authorized: greengrass:ListCoreDevices '
        '(in ListCoreDevices)'
    )
    assert 'no data from AWS yet' in banner(sync)
    change_everything_meanwhile()
    new_component('model-extra')

    assert await sync.run_once() is not None  # devices still denied
    assert_glass_cracks_moved_on(sync.store)
    assert {c.component_name for c in sync.store.read(queries.fleet.components)} == {'model-extra'}

    deny()
    assert await sync.run_once() is None
    assert [d.thing_name for d in sync.store.read(queries.fleet.devices)] == ['line1-jetson']
    assert sync.store.freshness().parts['devices'].failed_at is None
    assert banner(sync) == ''


async def test_sagemaker_failing_alone_leaves_greengrass_updating_and_last_updated_is_sagemakers(
    aws: GreengrassBackend, database_url: str
) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url, device_refresh_seconds=0.001)
    assert await sync.run_once() is None
    sagemaker_success = sync.store.freshness().last_success
    change_everything_meanwhile()
    new_component('model-while-sagemaker-is-down')
    aws.add_core_device('line2-ipc', architecture='amd64', status='HEALTHY', last_status_update=utcnow())
    grant = register(
        sync.clients.sagemaker,
        'before-call.sagemaker.ListTrainingJobs',
        retries_exhausted('AccessDeniedException', 'not authorized: sagemaker:ListTrainingJobs'),
    )

    problem = await sync.run_once()

    assert isinstance(problem, RefreshProblem) and [p for p, _ in problem.parts] == ['sagemaker']
    assert problem.operation == 'ListTrainingJobs'
    assert sync.store.read(queries.jobs.training_job, 'glass-cracks').status == 'In progress'  # type: ignore[union-attr]
    assert sync.store.read(queries.jobs.training_job, 'new-arrival') is None
    assert {c.component_name for c in sync.store.read(queries.fleet.components)} == {
        'model-while-sagemaker-is-down'
    }
    assert [d.thing_name for d in sync.store.read(queries.fleet.devices)] == ['line2-ipc']
    freshness = sync.store.freshness()
    assert freshness.last_success == sagemaker_success  # "Last updated" is SageMaker's age
    assert freshness.parts['components'].last_success > sagemaker_success  # type: ignore[operator]
    assert banner(sync).startswith(
        'SageMaker: AccessDeniedException: not authorized: sagemaker:ListTrainingJobs (in ListTrainingJobs)'
    )

    grant()
    assert await sync.run_once() is None
    assert_glass_cracks_moved_on(sync.store)
    assert sync.store.freshness().parts['sagemaker'].failed_at is None


class _NotFoundHtml(BaseHTTPRequestHandler):
    """A proxy or wrong endpoint: every request answered with an HTML 404 page, not AWS JSON."""

    def _answer(self) -> None:
        body = b'<html><body><h1>404 Not Found</h1></body></html>'
        self.send_response(404)
        self.send_header('Content-Type', 'text/html')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def not_found_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(('127.0.0.1', 0), _NotFoundHtml)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


async def test_a_greengrass_endpoint_answering_html_404_fails_only_greengrass(
    aws: GreengrassBackend, database_url: str, not_found_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_glass_cracks()
    emulator = os.environ['AWS_ENDPOINT_URL_GREENGRASSV2']
    monkeypatch.setenv('AWS_ENDPOINT_URL_GREENGRASSV2', not_found_endpoint)
    sync = make_sync(database_url)

    problem = await sync.run_once()

    assert isinstance(problem, RefreshProblem)
    assert [part for part, _ in problem.parts] == ['components', 'devices']
    assert (problem.code, problem.operation) == ('HTTP404', 'ListComponents')
    assert sync.store.read(queries.jobs.training_job, 'glass-cracks') is not None  # SageMaker's part came in
    components = sync.store.freshness().parts['components']
    assert (components.error_code, components.error_call) == ('HTTP404', 'ListComponents')
    assert components.error_message == 'The AWS endpoint answered HTTP 404 without an AWS error.'
    text = banner(sync)
    assert 'Greengrass components: HTTP404: The AWS endpoint answered HTTP 404 without an AWS error. ' in text
    assert '(in ListComponents)' in text and '(in ListCoreDevices)' in text

    monkeypatch.setenv('AWS_ENDPOINT_URL_GREENGRASSV2', emulator)  # the setting fixed, the portal restarted
    restarted = make_sync(database_url)
    assert await restarted.run_once() is None
    assert banner(restarted) == ''


@pytest.mark.usefixtures('aws')
async def test_automatic_compilation_runs_while_greengrass_is_down_and_packaging_waits_for_it(
    database_url: str,
) -> None:
    create_training_job('cracks', status='InProgress')
    sync = make_sync(database_url, auto_compile_targets='x86_64-cpu', auto_package=True)
    assert await sync.run_once() is None
    grant = register(sync.clients.greengrass, 'before-send.greengrassv2.ListComponents', greengrass_denied())
    set_training_status('cracks', 'Completed')

    assert await sync.run_once() is not None
    assert set(backend().compilation_jobs) == {'cracks-x86-64-cpu-1'}  # compiled although Greengrass failed
    set_compilation_status('cracks-x86-64-cpu-1', 'INPROGRESS')
    backend().compilation_jobs['cracks-x86-64-cpu-1'].model_artifacts = {
        'S3ModelArtifacts': 's3://dda-models/compiled/cracks-x86-64-cpu-1/model.tar.gz'
    }
    set_compilation_status('cracks-x86-64-cpu-1', 'COMPLETED')
    assert await sync.run_once() is not None
    assert sync.store.read(queries.jobs.latest_attempts, 'cracks')[0].status == 'Completed'
    assert sync.store.read(queries.fleet.components, 'cracks') == []
    assert sync.store.read(queries.refresh.follow_ups) == {'cracks'}  # packaging is not lost, only waits

    grant()
    assert await sync.run_once() is None
    [component] = sync.store.read(queries.fleet.components, 'cracks')
    assert component.compilation_job_name == 'cracks-x86-64-cpu-1'
    assert sync.store.read(queries.refresh.follow_ups) == set()


@pytest.mark.usefixtures('aws')
async def test_a_locked_database_is_a_warning_and_the_refresh_goes_on_once_it_is_free(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(store_module, 'DEFAULT_BUSY_MS', 200)  # wait a moment for the lock, not 30 s
    create_training_job('locked-out')
    sync = make_sync(database_url)
    with write_locked(database_url), caplog.at_level(logging.WARNING):
        problem = await sync.run_once()
        again = await sync.run_once()  # the cycle's lock was released

    assert problem is not None and problem.code == 'OperationalError'
    assert again is not None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any('Could not record' in r.getMessage() for r in caplog.records)
    assert await sync.run_once() is None
    assert sync.store.read(queries.jobs.training_job, 'locked-out') is not None
    assert sync.store.freshness().parts['sagemaker'].failed_at is None
