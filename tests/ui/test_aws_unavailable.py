"""When AWS does not answer, pages say so within their deadline and nothing else waits: sign-in and other
pages go on while reads of AWS hang in their own pool."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from nicegui import app
from nicegui.testing import User

from dda_portal.aws.artifacts import TRAINING_LOG_GROUP
from dda_portal.domain.problems import Unavailable
from tests.ui.records import training, write
from tests.ui.test_pages import table_rows
from tests.ui.test_sign_in import accounts, sign_in  # noqa: F401  (accounts: the fixture)


@pytest.fixture
def silent_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """CloudWatch Logs and S3 on a 127.0.0.1 port whose connections the kernel accepts and nobody answers
    (set before the portal starts)."""
    with socket.create_server(('127.0.0.1', 0), backlog=128) as listener:  # never accept()ed: never read
        url = f'http://127.0.0.1:{listener.getsockname()[1]}'
        monkeypatch.setenv('AWS_ENDPOINT_URL_CLOUDWATCH_LOGS', url)  # botocore's name for Logs
        monkeypatch.setenv('AWS_ENDPOINT_URL_S3', url)
        yield url
    # closing the listener resets the connections: reads still stuck in AWS's silence end at once


@pytest.mark.usefixtures('accounts')
async def test_sign_in_and_pages_answer_while_log_reads_wait_for_an_aws_that_never_answers(
    silent_aws: str, user: User
) -> None:
    await write(training('bottle-caps'))
    actions = app.state.portal.actions
    # more log reads than NiceGUI's shared pool has threads (32 at most), and than the page-read pool lets
    # wait: those it cannot take are refused at once (Unavailable), the others wait for AWS in its threads
    reads = [
        asyncio.create_task(actions.reads.read(actions.logs.job_events, TRAINING_LOG_GROUP, f'job-{n}', 10))
        for n in range(36)
    ]
    await asyncio.sleep(0.5)
    hung = [read for read in reads if not read.done()]
    assert len(hung) >= 4
    refused = [read.exception() for read in reads if read.done()]
    assert all(isinstance(problem, Unavailable) and 'waiting already' in str(problem) for problem in refused)

    await asyncio.wait_for(sign_in(user, 'alice', 'alice-secret-1'), timeout=30)
    await user.should_see('alice · Data Scientist', retries=100)
    for _ in range(100):  # the list page reads the store in NiceGUI's shared pool, which AWS does not hold up
        if [row['name'] for row in table_rows(user, 'training-jobs')] == ['bottle-caps']:
            break
        await asyncio.sleep(0.1)
    assert [row['name'] for row in table_rows(user, 'training-jobs')] == ['bottle-caps']
    assert not any(read.done() for read in hung)  # AWS has answered none of the log reads yet
    for read in hung:
        read.cancel()


async def test_the_logs_tab_says_when_aws_does_not_answer_in_time(silent_aws: str, user: User) -> None:
    await write(training('bottle-caps'))
    app.state.portal.actions.reads.deadline = 1  # seconds (15 by default)
    await user.open('/training-jobs/bottle-caps?tab=logs')
    await user.should_see('Could not read the logs — Timeout: AWS did not answer within 1 s', retries=100)
