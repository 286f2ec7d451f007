"""The Logs tab reads CloudWatch Logs once per opening (each read costs AWS calls and a page-read thread)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import boto3
from nicegui import app, ui
from nicegui.testing import User

from dda_portal.aws.artifacts import TRAINING_LOG_GROUP, LogsGateway
from dda_portal.aws.clients import AwsClients
from tests.ui.records import training, write

JOB = 'bottle-caps'
LOG_CALLS = ('DescribeLogStreams', 'GetLogEvents')


def training_logs() -> dict[str, int]:
    """Three events in one stream of the job; what one read of them costs in AWS calls."""
    logs = boto3.client('logs', region_name='us-east-1')
    logs.create_log_group(logGroupName=TRAINING_LOG_GROUP)
    logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=f'{JOB}/algo-1-1700000000')
    start = datetime.now(UTC) - timedelta(minutes=5)
    logs.put_log_events(
        logGroupName=TRAINING_LOG_GROUP,
        logStreamName=f'{JOB}/algo-1-1700000000',
        logEvents=[
            {'timestamp': int((start + timedelta(seconds=i)).timestamp() * 1000), 'message': f'epoch {i}'}
            for i in range(3)
        ],
    )
    one = AwsClients()
    assert len(LogsGateway(one).job_events(TRAINING_LOG_GROUP, JOB).events) == 3
    return {name: one.counter.by_operation.get(name, 0) for name in LOG_CALLS}


def log_calls() -> dict[str, int]:
    counted = app.state.portal.clients.counter.by_operation  # page reads count with the portal's clients
    return {name: counted.get(name, 0) for name in LOG_CALLS}


async def settle() -> None:
    """Long enough for a second read, had one been asked for, to have made its first calls."""
    await asyncio.sleep(0.5)


async def test_opening_the_logs_tab_from_the_url_reads_the_logs_once(aws: None, user: User) -> None:
    one_read = training_logs()
    await write(training(JOB))
    await user.open(f'/training-jobs/{JOB}?tab=logs')
    await user.should_see('3 log events', retries=100)
    await settle()
    assert log_calls() == one_read


async def test_the_logs_tab_reads_once_per_page_and_again_only_on_reload(aws: None, user: User) -> None:
    one_read = training_logs()
    await write(training(JOB))
    await user.open(f'/training-jobs/{JOB}')
    await settle()
    assert log_calls() == dict.fromkeys(LOG_CALLS, 0)  # nothing read before the tab is opened

    tabs = user.find(ui.tabs).elements.pop()
    tabs.value = 'logs'
    await user.should_see('3 log events', retries=100)
    await settle()
    assert log_calls() == one_read

    tabs.value = 'compilation'  # away and back: the logs are still on the page
    tabs.value = 'logs'
    await settle()
    assert log_calls() == one_read

    user.find('Reload logs').click()
    await settle()
    assert log_calls() == {name: 2 * count for name, count in one_read.items()}
