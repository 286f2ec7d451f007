"""The Deploy dialog and the rollout panel in NiceGUI's simulated browser, fed by a real refresh from the
Greengrass emulator; an Operator sees why they may not deploy, and the server refuses anyway."""

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
from dda_portal.domain.problems import NotAllowed
from dda_portal.pages.feeds import settled
from tests.factories import backend, create_compilation_job, create_training_job
from tests.ui.test_sign_in import accounts, sign_in

__all__ = ['accounts']  # the fixture, used by name

ARTIFACT = 's3://dda-models/compiled/weld-jetson-xavier-1/model.tar.gz'
COMPONENT = 'model-weld-jetson-xavier'


@pytest.fixture
def line(aws: GreengrassBackend) -> Iterator[str]:
    """A Jetson model, a thing group `line-1` of two Jetsons (one not reporting for two days), refreshed."""
    create_training_job('weld')
    create_compilation_job('weld-jetson-xavier-1', 'weld', 'jetson-xavier')
    backend().compilation_jobs['weld-jetson-xavier-1'].model_artifacts = {'S3ModelArtifacts': ARTIFACT}
    s3 = boto3.client('s3', region_name='us-east-1')
    s3.create_bucket(Bucket='dda-models')
    s3.put_object(Bucket='dda-models', Key=ARTIFACT.split('/', 3)[3], Body=b'model')
    recipe = {
        'RecipeFormatVersion': '2020-01-25',
        'ComponentName': COMPONENT,
        'ComponentVersion': '1.0.0',
        'Manifests': [
            {'Platform': {'os': 'linux', 'architecture': 'aarch64'}, 'Artifacts': [{'URI': ARTIFACT}]}
        ],
    }
    boto3.client('greengrassv2', region_name='us-east-1').create_component_version(
        inlineRecipe=json.dumps(recipe).encode()
    )
    aws.advance()
    aws.advance()
    now = utcnow()
    group = aws.thing_group_arn('line-1')
    aws.add_core_device('line1-jetson', last_status_update=now, thing_groups=[group])
    aws.add_core_device('line1-old', last_status_update=now - timedelta(hours=48), thing_groups=[group])
    iot = boto3.client('iot', region_name='us-east-1')
    iot.create_thing_group(thingGroupName='line-1')
    for thing in ('line1-jetson', 'line1-old'):
        iot.create_thing(thingName=thing)
        iot.add_thing_to_thing_group(thingGroupName='line-1', thingName=thing)
    yield group


def refresh() -> None:
    app.state.portal.sync.cycle(utcnow())


async def test_deploy_from_the_components_page_and_follow_the_rollout(
    aws: GreengrassBackend, line: str, user: User
) -> None:
    refresh()
    await user.open('/components')
    user.find('Deploy…').click()
    await user.should_see(marker='deploy-dialog')
    version = next(e for e in user.find(marker='deploy-version').elements if isinstance(e, ui.select))
    target = next(e for e in user.find(marker='deploy-target').elements if isinstance(e, ui.select))
    version.set_value(f'{COMPONENT} 1.0.0')
    target.set_value(line)
    await user.should_see('line1-old has not reported for a day', retries=100)
    confirm = next(iter(user.find(marker='deploy-confirm').elements))
    assert confirm.enabled  # a warning does not block
    user.find(marker='deploy-confirm').click()
    await user.should_see('Deploying model-weld-jetson-xavier 1.0.0 to thing group line-1', retries=100)
    [deployment] = [d for d in aws.deployments.values() if d.target_arn == line]
    assert deployment.components == {COMPONENT: '1.0.0'}

    await user.open('/training-jobs/weld?tab=components')
    await user.should_see(marker='rollout', retries=100)
    aws.advance_deployments()
    aws.advance_deployments()
    await app.state.portal.sync.run_once()  # a refresh as scheduled: the pages hear of its changes
    await settled()
    await user.should_see('Succeeded', retries=100)
    await user.should_see('Queued')  # the device that does not report never starts


async def test_a_redraw_of_what_opened_the_dialog_keeps_the_dialog_and_its_notice(
    aws: GreengrassBackend, line: str, user: User
) -> None:
    """A live change redraws the card or panel whose Deploy… button opened the dialog: the dialog, the
    deployment and its notice stay."""
    refresh()
    await user.open('/components')
    opener = next(iter(user.find('Deploy…').elements))
    user.find('Deploy…').click()
    await user.should_see(marker='deploy-dialog')
    assert opener.parent_slot is not None
    opener.parent_slot.parent.delete()  # as a redraw of the button's card does
    version = next(e for e in user.find(marker='deploy-version').elements if isinstance(e, ui.select))
    target = next(e for e in user.find(marker='deploy-target').elements if isinstance(e, ui.select))
    version.set_value(f'{COMPONENT} 1.0.0')
    target.set_value(line)
    await user.should_see('line1-old has not reported for a day', retries=100)
    user.find(marker='deploy-confirm').click()
    await user.should_see('Deploying model-weld-jetson-xavier 1.0.0 to thing group line-1', retries=100)
    assert [d.components for d in aws.deployments.values() if d.target_arn == line] == [{COMPONENT: '1.0.0'}]
    assert not any(d.value for d in user.find(kind=ui.dialog).elements)  # closed (deleted once hidden)


async def test_an_operator_sees_why_and_the_server_refuses(
    aws: GreengrassBackend, line: str, accounts: None, user: User
) -> None:
    refresh()
    await sign_in(user, 'bob', 'bob-secret-1')
    await user.should_see('bob · Operator', retries=50)
    await user.open('/training-jobs/weld?tab=components')
    await user.should_see('Only a Data Scientist may deploy components; bob is signed in as Operator.')
    assert not any(b.enabled for b in user.find(marker='deploy-open').elements)
    actions = app.state.portal.actions
    with user.client:
        with pytest.raises(NotAllowed, match='Only a Data Scientist may deploy'):
            await actions.deploy(line, COMPONENT, '1.0.0')
        with pytest.raises(NotAllowed, match='Only a Data Scientist may roll back'):
            await actions.roll_back(line)
    assert not [d for d in aws.deployments.values() if d.target_arn == line]
