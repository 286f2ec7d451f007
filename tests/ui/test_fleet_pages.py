"""`/components` and `/devices` fed by a real refresh from the Greengrass emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from nicegui import app, ui
from nicegui.testing import User

from dda_portal.demo.greengrass import GreengrassBackend
from dda_portal.domain.clock import utcnow
from dda_portal.pages.feeds import settled
from tests.factories import ROLE, backend, create_compilation_job, create_training_job

ARTIFACT = 's3://dda-models/compiled/weld-jetson-xavier-1/model.tar.gz'


@pytest.fixture
def role(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('DDA_SAGEMAKER_ROLE_ARN', ROLE)
    yield


def rows(user: User, marker: str) -> list[dict]:
    return next(e for e in user.find(marker=marker).elements if isinstance(e, ui.table)).rows


def fleet(greengrass: GreengrassBackend) -> None:
    create_training_job('weld')
    create_compilation_job('weld-jetson-xavier-1', 'weld', 'jetson-xavier')
    backend().compilation_jobs['weld-jetson-xavier-1'].model_artifacts = {'S3ModelArtifacts': ARTIFACT}
    recipe = {
        'RecipeFormatVersion': '2020-01-25',
        'ComponentName': 'model-weld-jetson-xavier',
        'ComponentVersion': '1.0.0',
        'Manifests': [
            {'Platform': {'os': 'linux', 'architecture': 'aarch64'}, 'Artifacts': [{'URI': ARTIFACT}]}
        ],
    }
    boto3.client('greengrassv2', region_name='us-east-1').create_component_version(
        inlineRecipe=json.dumps(recipe).encode()
    )
    greengrass.advance()
    greengrass.advance()
    now = utcnow()
    greengrass.add_core_device('line1-jetson', architecture='aarch64', last_status_update=now)
    greengrass.add_core_device(
        'line9-old', architecture='amd64', last_status_update=now - timedelta(hours=40)
    )
    greengrass.install('line1-jetson', 'model-weld-jetson-xavier', '1.0.0', reported_at=now)
    app.state.portal.sync.cycle(utcnow())


async def test_components_page_links_versions_to_training_jobs_and_devices(
    aws: GreengrassBackend, user: User
) -> None:
    fleet(aws)
    await user.open('/components')
    [row] = rows(user, 'components-table')
    assert (row['component'], row['version'], row['state']) == (
        'model-weld-jetson-xavier',
        '1.0.0',
        'Deployable',
    )
    assert (row['training_job'], row['target'], row['devices']) == (
        'weld',
        'NVIDIA Jetson Xavier',
        'line1-jetson',
    )
    assert row['console'].startswith('https://us-east-1.console.aws.amazon.com/iot/home?region=us-east-1#/')


async def test_devices_page_marks_stale_reports(aws: GreengrassBackend, user: User) -> None:
    fleet(aws)
    await user.open('/devices')
    by_name = {r['device']: r for r in rows(user, 'devices-table')}
    assert by_name['line1-jetson']['models'] == 'model-weld-jetson-xavier 1.0.0 (running)'
    assert by_name['line1-jetson']['stale'] is False
    assert by_name['line9-old']['stale'] is True
    assert by_name['line1-jetson']['health'] == 'Healthy'


async def test_job_page_shows_components_devices_and_fleet_needs(aws: GreengrassBackend, user: User) -> None:
    fleet(aws)  # one aarch64 device runs the Jetson model; one amd64 device has no model of this job
    await user.open('/training-jobs/weld?tab=compilation')
    await user.should_see('Fleet architectures with no compiled model yet: amd64.')
    [row] = rows(user, 'compilation-table')
    assert (row['component'], row['component_state'], row['can_package']) == (
        'model-weld-jetson-xavier 1.0.0',
        'Deployable',
        False,
    )
    await user.open('/training-jobs/weld?tab=components')
    with user.scope(marker='component-card'):
        await user.should_see('model-weld-jetson-xavier 1.0.0')
        await user.should_see('Deployable')
        await user.should_see('AWS console')
    device_line = next(iter(user.find(marker='component-device').elements)).text
    assert device_line.startswith('line1-jetson: running, device healthy, reported')
    assert 'stale' not in device_line


async def test_package_button_makes_a_component_for_a_compiled_target(
    aws: GreengrassBackend, user: User
) -> None:
    create_training_job('paint')
    create_compilation_job('paint-x86-64-cpu-1', 'paint', 'x86_64-cpu')
    backend().compilation_jobs['paint-x86-64-cpu-1'].model_artifacts = {
        'S3ModelArtifacts': 's3://dda-models/compiled/paint-x86-64-cpu-1/model.tar.gz'
    }
    app.state.portal.sync.cycle(utcnow())
    await user.open('/training-jobs/paint?tab=compilation')
    [row] = rows(user, 'compilation-table')
    assert row['can_package'] is True
    user.find(marker='compilation-table').trigger('package', row)
    await user.should_see('Packaging paint-x86-64-cpu-1 as a Greengrass component')
    await settled()  # the page's feed has read the change and handed it to the tab
    [row] = rows(user, 'compilation-table')
    assert (row['component'], row['component_state']) == ('model-paint-x86_64-cpu 1.0.0', 'Requested')
    user.find(marker='compilation-table').trigger('package', row)  # a second click from a stale page
    await user.should_see('Not packaged — Already packaged as model-paint-x86_64-cpu 1.0.0.')


async def test_compile_dialog_marks_targets_the_fleet_needs(
    aws: GreengrassBackend, role: None, user: User
) -> None:
    fleet(aws)
    await user.open('/training-jobs/weld?tab=compilation')
    user.find(marker='compile-button').click()
    await user.should_see('Compile weld for more targets')
    assert user.find(marker='fleet-needs-x86_64-cpu').elements  # the amd64 device
    assert user.find(marker='fleet-needs-jetson-xavier').elements  # the aarch64 device


async def test_a_fleet_on_a_new_architecture_shows_on_open_job_pages_without_a_reload(
    aws: GreengrassBackend, user: User
) -> None:
    fleet(aws)
    pull = app.state.portal.sync.greengrass_pull
    pull.settings = pull.settings.model_copy(update={'device_refresh_seconds': 0})  # devices at every refresh
    await user.open('/training-jobs/weld?tab=compilation')
    await user.should_see('Fleet architectures with no compiled model yet: amd64.')
    aws.add_core_device('line2-arm', architecture='armv7l', last_status_update=utcnow())
    assert await app.state.portal.sync.run_once() is None  # a device joins: the fleet now also runs on armv7l
    await settled()
    await user.should_see('Fleet architectures with no compiled model yet: amd64, armv7l.')
    with aws.lock:
        del aws.core_devices['line9-old']  # the only amd64 device leaves the fleet
    assert await app.state.portal.sync.run_once() is None
    await settled()
    await user.should_see('Fleet architectures with no compiled model yet: armv7l.')
