"""Sign-in and roles as people meet them: the form, the throttle, sign-out, and what each role may do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from nicegui import app, ui
from nicegui.testing import User

from dda_portal.auth import _sign_in_key, hash_password, session_id_of
from dda_portal.domain.status import CompilationStatus as C
from dda_portal.store import utcnow
from tests.factories import ROLE, backend, create_compilation_job, create_training_job

HASHES = {'alice': hash_password('alice-secret-1'), 'bob': hash_password('bob-secret-1')}


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Alice is a Data Scientist, Bob an Operator (set before the portal starts)."""
    monkeypatch.setenv(
        'DDA_USERS',
        json.dumps(
            {
                'alice': {'role': 'data-scientist', 'password_hash': HASHES['alice']},
                'bob': {'role': 'operator', 'password_hash': HASHES['bob']},
            }
        ),
    )
    monkeypatch.setenv('DDA_STORAGE_SECRET', 'a-test-secret-of-32-characters!!')
    monkeypatch.setenv('DDA_SAGEMAKER_ROLE_ARN', ROLE)
    yield


async def sign_in(user: User, name: str, password: str, path: str = '/login') -> None:
    await user.open(path)
    user.find(marker='login-name').type(name)
    user.find(marker='login-password').type(password)
    user.find(marker='sign-in').click()
    await settled(user)


async def settled(user: User) -> None:
    """The form has had its answer (the password check runs in a worker thread)."""
    for _ in range(200):
        try:
            buttons = user.find(marker='sign-in').elements
        except AssertionError:  # another page already
            return
        problems = user.find(marker='login-problem').elements
        if not any(b.props.get('loading') for b in buttons) and any(p.text for p in problems):
            return  # refused: the form stays
        await asyncio.sleep(0.05)  # checking, or signed in and on the way to the next page
    raise AssertionError('the sign-in form never answered')


def compilation_rows(user: User) -> dict[str, dict]:
    table = next(e for e in user.find(marker='compilation-table').elements if isinstance(e, ui.table))
    return {row['target_id']: row for row in table.rows}


def failed_job() -> None:
    """A completed training job whose x86_64 compilation failed (Retry would start attempt 2)."""
    create_training_job('bottle-caps')
    create_compilation_job('bottle-caps-x86-64-cpu-1', 'bottle-caps', 'x86_64-cpu', status='FAILED')
    app.state.portal.sync.cycle(utcnow())


async def test_pages_send_strangers_to_the_sign_in_form_and_back_afterwards(
    accounts: None, user: User
) -> None:
    await sign_in(user, 'alice', 'alice-secret-1', '/components')
    await user.should_see('alice · Data Scientist', retries=50)
    await user.should_see('Every component version the portal knows')  # back where she wanted to go


async def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(accounts: None, user: User) -> None:
    await sign_in(user, 'alice', 'not-her-password')
    await user.should_see('Wrong user name or password.')
    await sign_in(user, 'mallory', 'alice-secret-1')
    await user.should_see('Wrong user name or password.')
    await user.should_not_see('Refresh now')


async def test_repeated_failures_slow_down_even_the_right_password(accounts: None, user: User) -> None:
    app.state.portal.gate.clock = lambda: 1000.0  # no time passes between the tries
    for attempt in range(4):
        await sign_in(user, 'alice', f'guess-{attempt}')
        await user.should_see('Wrong user name or password.')
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.should_see('Too many failed sign-ins. Try again in 2 s.')
    await user.should_not_see('alice · Data Scientist')
    app.state.portal.gate.clock = lambda: 1002.5  # the wait is over
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.should_see('alice · Data Scientist', retries=50)


async def test_sign_out_ends_the_session(accounts: None, user: User) -> None:
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.should_see('alice · Data Scientist', retries=50)
    user.find(marker='sign-out').click()
    await user.should_see(marker='login-card', retries=50)
    await user.open('/')
    await user.should_see(marker='login-card', retries=50)


async def test_sign_in_never_redirects_to_another_site(accounts: None, user: User) -> None:
    await sign_in(user, 'alice', 'alice-secret-1', '/login?next=//evil.example/steal')
    await user.should_see('Training jobs')
    await user.should_see('alice · Data Scientist', retries=50)


async def test_an_operator_sees_why_compiling_is_not_offered(aws: None, accounts: None, user: User) -> None:
    failed_job()
    await sign_in(user, 'bob', 'bob-secret-1')
    await user.should_see('bob · Operator', retries=50)
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    await user.should_see(
        'Only a Data Scientist may compile, retry, stop or package; bob is signed in as Operator.'
    )
    assert not next(iter(user.find(marker='compile-button').elements)).enabled
    assert compilation_rows(user)['x86_64-cpu']['can_retry'] is False


async def test_an_operator_cannot_start_a_compilation_even_by_calling_the_handlers(
    aws: None, accounts: None, user: User
) -> None:
    failed_job()
    await sign_in(user, 'bob', 'bob-secret-1')
    await user.should_see('bob · Operator', retries=50)
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    row = compilation_rows(user)['x86_64-cpu']

    # the browser can send the table's event even though the button is not there
    user.find(marker='compilation-table').trigger('retry', {**row, 'can_retry': True})
    await user.should_see('Only a Data Scientist may retry compilations; bob is signed in as Operator.')
    actions = app.state.portal.actions
    with user.client:
        outcome = await actions.start_compilation(
            'bottle-caps', ['arm64-cpu'], 'PYTORCH', '1.8', '[1,3,224,224]'
        )
        stopped = await actions.stop_compilation('bottle-caps-x86-64-cpu-1')
        packaged = await actions.package('bottle-caps-x86-64-cpu-1')
    assert outcome.started == [] and 'Only a Data Scientist' in outcome.refused['arm64-cpu']
    assert stopped is not None and 'Only a Data Scientist may stop' in stopped
    assert packaged is not None and 'Only a Data Scientist may package' in packaged
    assert set(backend().compilation_jobs) == {'bottle-caps-x86-64-cpu-1'}  # nothing reached SageMaker
    assert [a.attempt for a in app.state.portal.store.attempts_for('bottle-caps')] == [1]


async def test_a_data_scientist_can_retry(aws: None, accounts: None, user: User) -> None:
    failed_job()
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.should_see('alice · Data Scientist', retries=50)
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    row = compilation_rows(user)['x86_64-cpu']
    assert row['can_retry'] is True
    user.find(marker='compilation-table').trigger('retry', row)
    await user.should_see('Started bottle-caps-x86-64-cpu-2')
    assert 'bottle-caps-x86-64-cpu-2' in backend().compilation_jobs
    assert compilation_rows(user)['x86_64-cpu']['status'] == C.STARTING


async def test_signing_out_in_another_tab_stops_actions_in_this_one(
    aws: None, accounts: None, user: User
) -> None:
    failed_job()
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    row = compilation_rows(user)['x86_64-cpu']
    session = session_id_of(user.client.request)
    assert session is not None
    app.storage.general.pop(_sign_in_key(session))  # what `Sign out` in another tab of this browser does
    user.find(marker='compilation-table').trigger('retry', row)
    await user.should_see('Your session has ended; sign in again.')
    assert set(backend().compilation_jobs) == {'bottle-caps-x86-64-cpu-1'}


async def test_health_needs_no_sign_in(accounts: None, user: User) -> None:
    await user.open('/login')  # the app is up
    response = await user.http_client.get('/healthz')  # type: ignore[attr-defined]
    assert response.status_code == 200 and response.json() == {'status': 'ok'}
    ready = await user.http_client.get('/readyz')  # type: ignore[attr-defined]
    assert set(ready.json()) == {'status', 'problems', 'last_successful_refresh', 'last_aws_error'}


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('DDA_AUTH_HEADER', 'X-Forwarded-User')
    monkeypatch.setenv('DDA_USERS', json.dumps({'carol': {'role': 'data-scientist'}}))
    monkeypatch.setenv('DDA_STORAGE_SECRET', 'a-test-secret-of-32-characters!!')
    yield


async def test_behind_a_proxy_the_header_names_the_person(proxy: None, user: User) -> None:
    client = user.http_client  # type: ignore[attr-defined]
    missing = await client.get('/')
    assert missing.status_code == 401 and 'X-Forwarded-User' in missing.text
    listed = await client.get('/', headers={'X-Forwarded-User': 'carol'})
    assert listed.status_code == 200
    other = await client.get('/devices', headers={'X-Forwarded-User': 'dave'})
    assert other.status_code == 200
    assert (await client.get('/healthz')).status_code == 200


async def test_oversized_sign_in_fields_are_refused_without_checking(accounts: None, user: User) -> None:
    await sign_in(user, 'a' * 10_000, 'alice-secret-1')
    await user.should_see('Wrong user name or password.')
    await sign_in(user, 'alice', 'x' * 100_000)
    await user.should_see('Wrong user name or password.')
