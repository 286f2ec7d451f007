"""An attempt in full — reason, guidance, timings, sizes, logs, download — plus history and Retry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from nicegui import app, ui
from nicegui.testing import User

from dda_portal.domain.clock import utcnow
from dda_portal.pages.feeds import settled
from dda_portal.pages.widgets import TimeLabel
from tests.factories import ROLE, create_compilation_job, create_training_job

UNTAR = (
    'ClientError: InputConfiguration: Unable to untar input model. Please confirm the model is a tar.gz file'
)
JOB = 'bottle-caps-x86-64-cpu-1'


@pytest.fixture
def role(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('DDA_SAGEMAKER_ROLE_ARN', ROLE)
    yield


def failed_attempt_with_logs_and_model() -> None:
    create_training_job('bottle-caps')
    create_compilation_job(JOB, 'bottle-caps', 'x86_64-cpu', 'FAILED', UNTAR)
    s3 = boto3.client('s3', region_name='us-east-1')
    s3.create_bucket(Bucket='dda-models')
    s3.put_object(Bucket='dda-models', Key='out/bottle-caps/output/model.tar.gz', Body=b'm' * 2048)
    logs = boto3.client('logs', region_name='us-east-1')
    logs.create_log_group(logGroupName='/aws/sagemaker/CompilationJobs')
    logs.create_log_stream(logGroupName='/aws/sagemaker/CompilationJobs', logStreamName=f'{JOB}/compilation')
    start = datetime.now(UTC) - timedelta(minutes=10)
    logs.put_log_events(
        logGroupName='/aws/sagemaker/CompilationJobs',
        logStreamName=f'{JOB}/compilation',
        logEvents=[
            {
                'timestamp': int((start + timedelta(seconds=i)).timestamp() * 1000),
                'message': f'step {i} <b>not bold</b>',
            }
            for i in range(30)
        ]
        + [{'timestamp': int((start + timedelta(seconds=31)).timestamp() * 1000), 'message': UNTAR}],
    )
    app.state.portal.sync.cycle(utcnow())


def table(user: User, marker: str) -> ui.table:
    return next(e for e in user.find(marker=marker).elements if isinstance(e, ui.table))


async def open_details(user: User) -> None:
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    row = next(r for r in table(user, 'compilation-table').rows if r['job_name'] == JOB)
    user.find(marker='compilation-table').trigger('details', row)
    await user.should_see(marker='attempt-dialog')


async def test_failed_attempt_shows_reason_guidance_timings_and_logs(aws: None, user: User) -> None:
    failed_attempt_with_logs_and_model()
    await open_details(user)
    with user.scope(marker='attempt-dialog'):
        await user.should_see('x86_64 CPU — attempt 1')
        await user.should_see(UNTAR)
        await user.should_see('(attempt 1)')
        await user.should_see('Likely cause:')
        await user.should_see('AWS documentation')
        await user.should_see('Runtime budget used')
        await user.should_see('2.0 KiB', retries=50)  # the input model's size from S3
        await user.should_see('31 log events', retries=50)
    times = {e.text: e.props['exact'] for e in user.find(kind=TimeLabel).elements}
    failed = next(text for text in times if text.startswith('Failed '))
    assert re.fullmatch(r'Failed (now|(a|an|\d+) [a-z]+ ago) \(attempt 1\)', failed), (
        times
    )  # how long ago, in words
    assert re.fullmatch(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', times[failed])  # exactly, on hover
    assert not [text for text in times if 'UTC' in text], times
    rows = table(user, 'compilation-logs').rows
    assert rows[0]['message'] == 'step 0 <b>not bold</b>'  # kept as text
    assert rows[-1]['message'] == UNTAR


async def test_log_download_has_every_event(aws: None, user: User) -> None:
    failed_attempt_with_logs_and_model()
    await open_details(user)
    await user.should_see('31 log events', retries=50)
    user.find(marker='download-log').click()
    response = await user.download.next(timeout=5)
    text = response.text
    assert text.count('\n') == 31
    assert text.splitlines()[0].endswith('\tbottle-caps-x86-64-cpu-1/compilation\tstep 0 <b>not bold</b>')


async def test_history_lists_every_attempt_and_retry_starts_the_next(
    aws: None, role: None, user: User
) -> None:
    failed_attempt_with_logs_and_model()
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    row = next(r for r in table(user, 'compilation-table').rows if r['job_name'] == JOB)
    assert row['can_retry'] and not row['can_stop']
    user.find(marker='compilation-table').trigger('retry', row)
    await user.should_see('Started bottle-caps-x86-64-cpu-2')
    await settled()  # the page's feed has read the change and handed it to the tab
    history = [(r['attempt'], r['status']) for r in table(user, 'history-table').rows]
    assert history == [(2, 'Starting'), (1, 'Failed')]
    latest = {r['target_id']: r for r in table(user, 'compilation-table').rows}
    assert latest['x86_64-cpu']['attempt'] == 2
