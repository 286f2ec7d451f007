"""`/components` and `/devices` fed by a real refresh from the Greengrass emulator."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
from nicegui import app, ui
from nicegui.testing import User

from dda_portal.demo.greengrass import GreengrassBackend
from dda_portal.store import utcnow
from tests.factories import backend, create_compilation_job, create_training_job

ARTIFACT = 's3://dda-models/compiled/weld-jetson-xavier-1/model.tar.gz'


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
