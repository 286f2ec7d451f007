"""`Compile for more targets` as a user meets it: disabled reasons, the dialog, immediate rows, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nicegui import app, ui
from nicegui.testing import User

from dda_portal.domain.clock import utcnow
from dda_portal.pages.feeds import settled
from tests.factories import ROLE, backend, create_compilation_job, create_training_job


@pytest.fixture
def role(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('DDA_SAGEMAKER_ROLE_ARN', ROLE)
    yield


def refresh() -> None:
    app.state.portal.sync.cycle(utcnow())


def rows(user: User) -> dict[str, dict]:
    table = next(e for e in user.find(marker='compilation-table').elements if isinstance(e, ui.table))
    return {row['target_id']: row for row in table.rows}


async def test_button_explains_missing_role(aws: None, user: User) -> None:
    create_training_job('bottle-caps')
    refresh()
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    await user.should_see('Set DDA_SAGEMAKER_ROLE_ARN')
    assert not next(iter(user.find(marker='compile-button').elements)).enabled


async def test_button_is_disabled_for_a_training_job_still_running(aws: None, role: None, user: User) -> None:
    create_training_job('bottle-caps', status='InProgress')
    refresh()
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    await user.should_see('Only a Completed training job can be compiled; this one is In progress.')
    assert not next(iter(user.find(marker='compile-button').elements)).enabled


async def test_dialog_disables_compiled_targets_and_starts_the_selected_ones(
    aws: None, role: None, user: User
) -> None:
    create_training_job('bottle-caps')
    create_compilation_job('bottle-caps-jetson-xavier-1', 'bottle-caps', 'jetson-xavier')
    refresh()
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    user.find(marker='compile-button').click()
    await user.should_see('Compile bottle-caps for more targets')
    await user.should_see('Already compiled (attempt 1).')
    jetson = next(iter(user.find(marker='target-jetson-xavier').elements))
    assert not jetson.enabled

    user.find(marker='target-x86_64-cpu').click()
    user.find(marker='target-arm64-cpu').click()
    user.find(marker='start-compilation').click()

    await user.should_see('Started 2 compilation job(s)')
    await settled()  # the page's feed has read the change and handed it to the tab
    current = rows(user)
    assert current['x86_64-cpu']['status'] == 'Starting'
    assert current['arm64-cpu']['status'] == 'Starting'
    assert current['jetson-xavier']['status'] == 'Completed'
    assert set(backend().compilation_jobs) == {
        'bottle-caps-jetson-xavier-1',
        'bottle-caps-x86-64-cpu-1',
        'bottle-caps-arm64-cpu-1',
    }


async def test_invalid_input_shape_is_refused_before_aws(aws: None, role: None, user: User) -> None:
    create_training_job('bottle-caps')
    refresh()
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    user.find(marker='compile-button').click()
    await user.should_see('Compile bottle-caps for more targets')
    user.find(marker='target-x86_64-cpu').click()
    user.find(marker='input-shape').clear().type('[1, 3, -224]')
    user.find(marker='start-compilation').click()
    await user.should_see('must be a list of positive integers')
    assert backend().compilation_jobs == {}


async def test_nothing_selected_says_so(aws: None, role: None, user: User) -> None:
    create_training_job('bottle-caps')
    refresh()
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    user.find(marker='compile-button').click()
    await user.should_see('Compile bottle-caps for more targets')
    user.find(marker='start-compilation').click()
    await user.should_see('Select at least one target.')


async def test_aws_refusal_shows_code_and_message(
    aws: None, role: None, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    create_training_job('bottle-caps')
    refresh()

    def refuse(*args: object, **kwargs: object) -> str:
        raise ClientError(
            {'Error': {'Code': 'AccessDeniedException', 'Message': 'not authorized to perform iam:PassRole'}},
            'CreateCompilationJob',
        )

    monkeypatch.setattr(app.state.portal.actions.compiler.sagemaker, 'create_compilation_job', refuse)
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    user.find(marker='compile-button').click()
    await user.should_see('Compile bottle-caps for more targets')
    user.find(marker='target-x86_64-cpu').click()
    user.find(marker='start-compilation').click()
    await user.should_see('AccessDeniedException')
    await user.should_see('x86_64 CPU: AccessDeniedException: not authorized to perform iam:PassRole')
    assert rows(user) == {}


async def test_oversized_inputs_are_refused_before_aws(aws: None, role: None, user: User) -> None:
    create_training_job('bottle-caps')
    refresh()
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    user.find(marker='compile-button').click()
    await user.should_see('Compile bottle-caps for more targets')
    user.find(marker='target-x86_64-cpu').click()
    # a browser that ignores the fields' maxlength sends whatever it likes
    user.find(marker='input-shape').clear().type('[' + '1,' * 5000 + '1]')
    user.find(marker='start-compilation').click()
    await user.should_see('x86_64 CPU: Input shape is longer than 1000 characters.')
    user.find(marker='input-shape').clear().type('[1,3,224,224]')
    user.find(marker='framework-version').clear().type('1.' + '8' * 5000)
    user.find(marker='start-compilation').click()
    await user.should_see('x86_64 CPU: Framework version looks like 1.8 or 2.0.1.')
    assert backend().compilation_jobs == {}
