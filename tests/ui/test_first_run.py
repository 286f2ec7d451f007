"""First start against an account not set up yet: the pages explain what to set instead of an error banner
over an empty table, and the first good refresh brings the page back without a reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from nicegui import app, ui
from nicegui.testing import User

from dda_portal.domain.clock import utcnow
from dda_portal.domain.refresh import SAGEMAKER
from dda_portal.queries.refresh import CycleResult


def text_of(user: User, marker: str) -> str:
    return ' '.join(e.text for e in user.find(marker=marker).elements if isinstance(e, ui.label))


def fail(code: str, message: str, call: str = 'ListTrainingJobs') -> None:
    app.state.portal.store.record_part_failure(SAGEMAKER, utcnow(), code, message, call)


def succeed() -> None:
    app.state.portal.store.apply_part(SAGEMAKER, CycleResult(started_at=utcnow(), aws_calls=0))


@pytest.fixture
def no_aws_setup(portal_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS_* variable and a HOME without ~/.aws: no credentials, no region (before the portal starts)."""
    for name in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'):
        monkeypatch.delenv(name, raising=False)
    for name in ('AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE'):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / 'home'
    home.mkdir()
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')  # no instance role to look for


@pytest.mark.parametrize(
    ('code', 'message', 'title', 'expected'),
    [
        ('NoCredentialsError', 'Unable to locate credentials', 'No AWS credentials found', 'AWS_PROFILE'),
        ('NoRegionError', 'You must specify a region.', 'No AWS region set', 'AWS_DEFAULT_REGION'),
        (
            'ExpiredTokenException',
            'The security token included in the request is expired',
            'The AWS session has expired',
            'aws sso login',
        ),
        (
            'UnrecognizedClientException',
            'The security token included in the request is invalid.',
            'AWS does not accept these credentials',
            'AWS_SECRET_ACCESS_KEY',
        ),
        (
            'AccessDeniedException',
            'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: '
            'sagemaker:ListTrainingJobs',
            'AWS refused a call: permission missing',
            'deploy/iam-policy.json',
        ),
    ],
)
async def test_each_set_up_failure_is_explained_then_a_good_refresh_brings_the_page_back(
    user: User, code: str, message: str, title: str, expected: str
) -> None:
    await user.open('/')
    await user.should_see(marker='training-jobs')
    fail(code, message)

    await user.should_see(title, retries=50)
    await user.should_see(expected)
    await user.should_see('--demo', marker='first-run')  # the zero-setup path is named
    assert text_of(user, 'first-run-aws') == f'AWS said: {code}: {message} (in ListTrainingJobs)'
    await user.should_see('Try again')
    await user.should_not_see(marker='stale-banner')  # the explanation, not the banner
    await user.should_not_see(marker='training-jobs')  # nor an empty table under it

    succeed()

    await user.should_not_see(marker='first-run', retries=50)
    await user.should_see(marker='training-jobs')


async def test_access_denied_names_the_missing_action(user: User) -> None:
    await user.open('/components')
    fail('AccessDeniedException', 'Access denied', 'ListCompilationJobs')
    await user.should_see('sagemaker:ListCompilationJobs', retries=50)
    await user.should_see('deploy/iam-policy.json', marker='first-run')


async def test_a_failure_after_a_success_keeps_the_banner(user: User) -> None:
    succeed()
    await user.open('/')
    fail('ExpiredToken', 'The security token included in the request is expired')
    await user.should_see(marker='stale-banner', retries=50)
    await user.should_not_see(marker='first-run')
    await user.should_see(marker='training-jobs')


async def test_other_failures_keep_the_banner(user: User) -> None:
    await user.open('/devices')
    fail('ThrottlingException', 'Rate exceeded')
    await user.should_see(marker='stale-banner', retries=50)
    await user.should_not_see(marker='first-run')


async def test_no_region_is_found_by_the_refresh_without_calling_aws(no_aws_setup: None, user: User) -> None:
    await user.open('/')
    calls = app.state.portal.clients.counter.total
    user.find('Refresh now').click()
    await user.should_see('No AWS region set', retries=200)
    assert app.state.portal.clients.counter.total == calls  # no call went to a guessed region
    assert text_of(user, 'first-run-aws') == 'AWS said: NoRegionError: You must specify a region.'


async def test_no_credentials_are_found_by_the_refresh_and_try_again_asks_once_more(
    no_aws_setup: None, user: User
) -> None:
    portal = app.state.portal
    portal.sync.clients.region_set = True  # as if a region were set: the credentials still are not
    await user.open('/')
    user.find('Refresh now').click()
    await user.should_see('No AWS credentials found', retries=200)
    assert text_of(user, 'first-run-aws') == (
        'AWS said: NoCredentialsError: Unable to locate credentials (in ListTrainingJobs)'
    )
    await user.should_see('Refresh failed')
    user.notify.messages.clear()
    before = portal.sync.cycles
    user.find('Try again').click()
    await user.should_see('Refresh failed', retries=200)
    assert portal.sync.cycles == before + 1
    await user.should_see('No AWS credentials found')
