"""The banner a failed refresh leaves on every page: AWS's code and message and the age of the data shown;
the rows keep the last good data, and the next good refresh clears the banner and brings what changed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto.server import ThreadedMotoServer
from nicegui import app, ui
from nicegui.testing import User

from dda_portal.demo.greengrass import GreengrassBackend
from tests.factories import (
    DENIED,
    UNTAR,
    change_everything_meanwhile,
    create_compilation_job,
    create_training_job,
    seed_glass_cracks,
)


def rows_of(user: User, marker: str) -> dict[str, dict[str, Any]]:
    [table] = [e for e in user.find(marker=marker).elements if isinstance(e, ui.table)]
    return {row.get('name') or row['target']: row for row in table.rows}


def banner_text(user: User) -> str:
    [label] = [e for e in user.find(marker='stale-banner').elements if isinstance(e, ui.label)]
    return label.text


def announced(user: User) -> str:
    """What screen readers are told (a hidden role=alert region): said when a failure starts or changes."""
    [label] = [e for e in user.find(marker='refresh-announcer').elements if isinstance(e, ui.label)]
    return label.text


async def refresh(user: User, outcome: str) -> None:
    user.notify.messages.clear()  # an earlier refresh's toast must not pass for this one's
    user.find('Refresh now').click()
    await user.should_see(outcome, retries=200)  # the toast, once the cycle is over


async def test_an_unreachable_aws_shows_code_message_and_age_keeps_the_rows_and_clears_when_it_returns(
    sagemaker_server: ThreadedMotoServer, user: User
) -> None:
    seed_glass_cracks()
    await user.open('/')
    await refresh(user, 'Refreshed from AWS')
    await user.should_not_see(marker='stale-banner')
    good_rows = rows_of(user, 'training-jobs')
    assert good_rows['glass-cracks']['status'] == 'In progress'
    host, port = sagemaker_server.get_host_and_port()
    sagemaker_server.stop()
    change_everything_meanwhile()

    await refresh(user, 'Refresh failed')

    await user.should_see(marker='stale-banner')
    text = banner_text(user)
    assert text.startswith(
        f'SageMaker: EndpointConnectionError: Could not connect to the endpoint URL: "http://{host}:{port}/" '
        '(in ListTrainingJobs) — failed '
    )
    assert 'data from ' in text and 'data from never' not in text
    assert re.search(r' — failed (now|.+ ago), data from ', text), text  # how long ago, in words
    [label] = [e for e in user.find(marker='stale-banner').elements if isinstance(e, ui.label)]
    assert re.fullmatch(  # the exact times on hover
        r'SageMaker failed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, data from .+ UTC', label.props['title']
    ), label.props
    assert 'Greengrass' not in text  # the emulator kept answering
    assert announced(user) == (
        'Refresh from AWS failed (SageMaker: EndpointConnectionError); the banner at the top says more.'
    )
    assert rows_of(user, 'training-jobs') == good_rows  # the last good data, untouched

    returned = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    returned.start()
    try:
        await refresh(user, 'Refreshed from AWS')
    finally:
        returned.stop()

    await user.should_not_see(marker='stale-banner')
    assert announced(user) == ''
    rows = rows_of(user, 'training-jobs')
    assert set(rows) == {'glass-cracks', 'new-arrival'}
    assert (rows['glass-cracks']['status'], rows['glass-cracks']['rollup']) == (
        'Completed',
        'Compilation failed',
    )


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def denied(request: Any, **_: Any) -> AWSResponse:
    """SageMaker's answer when the portal's role lacks sagemaker:DescribeCompilationJob."""
    body = json.dumps({'__type': 'AccessDeniedException', 'Message': DENIED}).encode()
    headers = {'x-amzn-RequestId': 'a1b2', 'Content-Type': 'application/x-amz-json-1.1'}
    return AWSResponse(request.url, 400, headers, _Body(body))  # type: ignore[arg-type]


async def test_one_denied_api_shows_its_code_and_message_on_the_job_page_and_the_rows_stay(
    aws: GreengrassBackend, user: User
) -> None:
    seed_glass_cracks()
    await user.open('/')
    await refresh(user, 'Refreshed from AWS')
    await user.open('/training-jobs/glass-cracks?tab=compilation')
    assert rows_of(user, 'compilation-table')['x86_64 CPU']['status'] == 'In progress'
    events = app.state.portal.clients.sagemaker.meta.events
    events.register('before-send.sagemaker.DescribeCompilationJob', denied)
    change_everything_meanwhile()

    await refresh(user, 'Refresh failed')

    await user.should_see(marker='stale-banner')
    assert f'AccessDeniedException: {DENIED} (in DescribeCompilationJob)' in banner_text(user)
    assert rows_of(user, 'compilation-table')['x86_64 CPU']['status'] == 'In progress'

    events.unregister('before-send.sagemaker.DescribeCompilationJob', denied)  # the permission is granted
    await refresh(user, 'Refreshed from AWS')

    await user.should_not_see(marker='stale-banner')
    row = rows_of(user, 'compilation-table')['x86_64 CPU']
    assert (row['status'], row['reason']) == ('Failed', UNTAR)


async def test_statuses_aws_never_documented_are_shown_as_unknown_with_an_icon(
    aws: GreengrassBackend, user: User
) -> None:
    create_training_job('odd-one', status='Exploding')
    create_compilation_job('odd-one-x86-64-cpu-1', 'odd-one', 'x86_64-cpu', 'EXPLODED')
    await user.open('/')
    await refresh(user, 'Refreshed from AWS')

    row = rows_of(user, 'training-jobs')['odd-one']
    assert (row['status'], row['status_icon']) == ('Unknown', 'help')
    await user.open('/training-jobs/odd-one?tab=compilation')
    row = rows_of(user, 'compilation-table')['x86_64 CPU']
    assert (row['status'], row['status_icon']) == ('Unknown', 'help')
    await user.should_not_see(marker='stale-banner')


GG_DENIED = 'User is not authorized to perform: greengrass:ListComponents'


def greengrass_denied(request: Any, **_: Any) -> AWSResponse:
    """Greengrass's answer when the portal's role lacks greengrass:ListComponents."""
    body = json.dumps({'message': GG_DENIED}).encode()
    headers = {'x-amzn-ErrorType': 'AccessDeniedException', 'Content-Type': 'application/json'}
    return AWSResponse(request.url, 403, headers, _Body(body))  # type: ignore[arg-type]


async def test_greengrass_denied_names_greengrass_and_its_call_while_the_jobs_keep_updating(
    aws: GreengrassBackend, user: User
) -> None:
    seed_glass_cracks()
    await user.open('/')
    await refresh(user, 'Refreshed from AWS')
    events = app.state.portal.clients.greengrass.meta.events
    events.register('before-send.greengrassv2.ListComponents', greengrass_denied)
    change_everything_meanwhile()

    await refresh(user, f'Refresh failed — Greengrass components: AccessDeniedException: {GG_DENIED}')

    await user.should_see(marker='stale-banner')
    text = banner_text(user)
    assert text.startswith(f'Greengrass components: AccessDeniedException: {GG_DENIED} (in ListComponents)')
    assert 'data from ' in text and 'SageMaker' not in text
    rows = rows_of(user, 'training-jobs')  # SageMaker's part came in all the same
    assert set(rows) == {'glass-cracks', 'new-arrival'}
    assert (rows['glass-cracks']['status'], rows['glass-cracks']['rollup']) == (
        'Completed',
        'Compilation failed',
    )
    await user.should_see('Last updated')
    await user.should_not_see('Not refreshed from AWS yet')
    ready = (await user.http_client.get('/readyz')).json()
    assert ready['status'] == 'ready'  # SageMaker is fresh; the parts say what failed
    assert ready['parts']['sagemaker']['ok'] is True
    assert ready['parts']['components']['ok'] is False
    error = ready['parts']['components']['error']
    assert (error['code'], error['call']) == ('AccessDeniedException', 'ListComponents')

    events.unregister('before-send.greengrassv2.ListComponents', greengrass_denied)
    await refresh(user, 'Refreshed from AWS')
    await user.should_not_see(marker='stale-banner')
    ready = (await user.http_client.get('/readyz')).json()
    assert ready['parts']['components'] == {
        'ok': True,
        'last_success': ready['parts']['components']['last_success'],
        'error': None,
    }


@pytest.fixture
def greengrass_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('DDA_GREENGRASS_ENABLED', 'false')


async def test_a_disabled_greengrass_shows_as_disabled_and_never_fails_the_refresh(
    aws: GreengrassBackend, greengrass_off: None, user: User
) -> None:
    seed_glass_cracks()
    events = app.state.portal.clients.greengrass.meta.events
    events.register('before-send.greengrassv2.ListComponents', greengrass_denied)  # never asked
    await user.open('/')
    await refresh(user, 'Refreshed from AWS')
    ready = (await user.http_client.get('/readyz')).json()
    assert ready['status'] == 'ready'
    assert ready['parts']['components'] == {'disabled': True}
    assert ready['parts']['devices'] == {'disabled': True}
    assert ready['parts']['sagemaker']['ok'] is True
