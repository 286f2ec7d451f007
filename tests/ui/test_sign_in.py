"""Sign-in and roles as people meet them: the form, the throttle, sign-out, and what each role may do."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from nicegui import Client, app, core, ui
from nicegui.testing import User

from dda_portal import queries
from dda_portal.auth import hash_password, session_id_of
from dda_portal.domain.clock import utcnow
from dda_portal.domain.problems import NotAllowed
from dda_portal.domain.status import CompilationStatus as C
from dda_portal.pages.feeds import settled as feeds_settled
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
        with pytest.raises(NotAllowed, match='Only a Data Scientist may start'):
            await actions.start_compilation('bottle-caps', ['arm64-cpu'], 'PYTORCH', '1.8', '[1,3,224,224]')
        with pytest.raises(NotAllowed, match='Only a Data Scientist may retry'):
            await actions.retry_compilation('bottle-caps', 'x86_64-cpu')
        with pytest.raises(NotAllowed, match='Only a Data Scientist may stop'):
            await actions.stop_compilation('bottle-caps-x86-64-cpu-1', 'bottle-caps')
        with pytest.raises(NotAllowed, match='Only a Data Scientist may package'):
            await actions.package('bottle-caps-x86-64-cpu-1', 'bottle-caps')
    assert set(backend().compilation_jobs) == {'bottle-caps-x86-64-cpu-1'}  # nothing reached SageMaker
    assert [a.attempt for a in app.state.portal.store.read(queries.jobs.attempts_for, 'bottle-caps')] == [1]


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
    await feeds_settled()  # the page's feed has read the change and handed it to the tab
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
    app.state.portal.gate.sign_ins.end(session)  # what `Sign out` in another tab of this browser does
    user.find(marker='compilation-table').trigger('retry', row)
    await user.should_see('Your session has ended; sign in again.')
    assert set(backend().compilation_jobs) == {'bottle-caps-x86-64-cpu-1'}


async def test_health_needs_no_sign_in(accounts: None, user: User) -> None:
    await user.open('/login')  # the app is up
    response = await user.http_client.get('/healthz')  # type: ignore[attr-defined]
    assert response.status_code == 200 and response.json() == {'status': 'ok'}
    ready = await user.http_client.get('/readyz')  # type: ignore[attr-defined]
    assert {'status', 'problems', 'last_successful_refresh'} <= set(ready.json())


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('DDA_AUTH_HEADER', 'X-Forwarded-User')
    monkeypatch.setenv('DDA_USERS', json.dumps({'carol': {'role': 'data-scientist'}}))
    monkeypatch.setenv('DDA_STORAGE_SECRET', 'a-test-secret-of-32-characters!!')
    yield


def http_from(address: str, base: httpx.AsyncClient | None = None) -> httpx.AsyncClient:
    """A client whose connections come from `address` (127.0.0.2 plays a host that is not the proxy)."""
    transport = httpx.ASGITransport(core.app, client=(address, 50123))
    return httpx.AsyncClient(
        transport=transport, base_url='http://test', cookies=base.cookies if base is not None else None
    )


async def test_behind_a_proxy_the_header_names_the_person(proxy: None, user: User) -> None:
    client = user.http_client  # type: ignore[attr-defined]  # from 127.0.0.1, this machine's proxy
    missing = await client.get('/')
    assert missing.status_code == 401 and 'X-Forwarded-User' in missing.text
    listed = await client.get('/', headers={'X-Forwarded-User': 'carol'})
    assert listed.status_code == 200
    other = await client.get('/devices', headers={'X-Forwarded-User': 'dave'})
    assert other.status_code == 200
    assert (await client.get('/healthz')).status_code == 200


async def test_the_identity_header_counts_only_from_the_trusted_proxy_and_only_once(
    proxy: None, user: User
) -> None:
    async with http_from('127.0.0.2') as stranger:  # reaches the port directly, not through the proxy
        for name in ('carol', 'dave'):  # a listed Data Scientist, an invented name
            answer = await stranger.get('/', headers={'X-Forwarded-User': name})
            assert answer.status_code == 401, name
        assert (await stranger.get('/healthz')).status_code == 200
    async with http_from('127.0.0.1') as proxy_client:
        twice = await proxy_client.get(
            '/', headers=[('X-Forwarded-User', 'carol'), ('X-Forwarded-User', 'x')]
        )
        assert twice.status_code == 400 and 'more than once' in twice.text
        assert (await proxy_client.get('/', headers={'X-Forwarded-User': 'carol'})).status_code == 200


async def test_sign_in_gives_the_browser_a_new_session_id(accounts: None, user: User) -> None:
    await user.open('/login')
    before = dict(user.http_client.cookies)  # type: ignore[attr-defined]  # handed to the anonymous form
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.should_see('alice · Data Scientist', retries=50)
    after = dict(user.http_client.cookies)  # type: ignore[attr-defined]
    assert before['session'] != after['session']
    async with http_from('127.0.0.1') as old:
        old.cookies.set('session', before['session'])
        refused = await old.get('/components')
        assert refused.status_code == 303 and refused.headers['location'].startswith('/login')
    async with http_from('127.0.0.1') as new:
        new.cookies.set('session', after['session'])
        assert (await new.get('/components')).status_code == 200


async def test_a_sign_in_ticket_works_once_and_only_in_the_browser_that_earned_it(
    accounts: None, user: User
) -> None:
    await user.open('/login')
    gate = app.state.portal.gate
    session = session_id_of(user.client.request)
    earned = await gate.sign_in('alice', 'alice-secret-1', '127.0.0.1', session)
    assert not isinstance(earned, str)
    async with http_from('127.0.0.1') as other_browser:
        stolen = await other_browser.get(f'/login/complete?code={earned.code}&next=/devices')
        assert stolen.status_code == 303 and stolen.headers['location'].startswith('/login')
        assert (await other_browser.get('/devices')).status_code == 303  # not signed in
    again = await user.http_client.get(f'/login/complete?code={earned.code}')  # type: ignore[attr-defined]
    assert again.headers['location'].startswith('/login')  # the ticket was spent by the theft attempt


async def test_a_sign_in_lasts_twelve_hours_from_signing_in_not_from_the_first_visit(
    accounts: None, user: User
) -> None:
    gate = app.state.portal.gate
    gate.wall_clock = lambda: 1_000_000.0
    await user.open('/login')  # the anonymous visit
    gate.wall_clock = lambda: 1_000_000.0 + 11 * 3600
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.should_see('alice · Data Scientist', retries=50)
    gate.wall_clock = lambda: 1_000_000.0 + 22 * 3600  # 11 h after signing in
    assert (await user.http_client.get('/devices')).status_code == 200  # type: ignore[attr-defined]
    gate.wall_clock = lambda: 1_000_000.0 + 23 * 3600 + 1
    assert (await user.http_client.get('/devices')).status_code == 303  # type: ignore[attr-defined]


async def test_cookies_are_secure_when_a_trusted_proxy_says_https(accounts: None, user: User) -> None:
    await user.open('/login')
    async with http_from('127.0.0.1') as proxy_client:
        https = await proxy_client.get('/login', headers={'X-Forwarded-Proto': 'https'})
        assert 'secure' in https.headers['set-cookie'].lower()
        plain = await proxy_client.get('/login')
        assert 'secure' not in plain.headers['set-cookie'].lower()
    async with http_from('127.0.0.2') as stranger:  # not the proxy: its X-Forwarded-* mean nothing
        claimed = await stranger.get('/login', headers={'X-Forwarded-Proto': 'https'})
        assert 'secure' not in claimed.headers['set-cookie'].lower()


async def test_failed_tries_are_counted_before_the_password_is_checked(accounts: None, user: User) -> None:
    await user.open('/login')
    gate = app.state.portal.gate
    gate.clock = lambda: 1000.0
    session = session_id_of(user.client.request)
    guesses = await asyncio.gather(
        *(gate.sign_in('alice', f'guess-{i}', '203.0.113.9', session) for i in range(25))
    )
    checked = [g for g in guesses if g == 'Wrong user name or password.']
    assert len(checked) == 4  # three free tries and the one that earns the first wait; the rest wait
    # the same name from another address is not locked out by this attacker
    mine = await gate.sign_in('alice', 'alice-secret-1', '198.51.100.4', session)
    assert not isinstance(mine, str)


async def test_the_client_address_comes_from_the_trusted_proxy(accounts: None, user: User) -> None:
    await user.open('/login')
    gate = app.state.portal.gate
    gate.clock = lambda: 1000.0
    for _ in range(11):  # an address that guessed too often
        gate.by_address.failed(['203.0.113.9'], 1000.0)
    async with http_from('127.0.0.1') as proxy_client:
        for forwarded_for, locked in (('203.0.113.9', True), ('198.51.100.4', False)):
            page = await proxy_client.get('/login', headers={'X-Forwarded-For': forwarded_for})
            assert page.status_code == 200
            client_id = re.search(r"'client_id': '([0-9a-f-]+)'", page.text)
            assert client_id is not None
            request = Client.instances[client_id.group(1)].request
            assert request.client is not None and request.client.host == forwarded_for
            outcome = await gate.sign_in('alice', 'alice-secret-1', request.client.host, 'some-session')
            assert isinstance(outcome, str) == locked


async def test_oversized_sign_in_fields_are_refused_without_checking(accounts: None, user: User) -> None:
    await sign_in(user, 'a' * 10_000, 'alice-secret-1')
    await user.should_see('Wrong user name or password.')
    await sign_in(user, 'alice', 'x' * 100_000)
    await user.should_see('Wrong user name or password.')


def two_training_jobs() -> None:
    """bottle-caps (a failed x86_64 attempt) and gaskets (a running and a completed attempt)."""
    failed_job()
    create_training_job('gaskets')
    create_compilation_job('gaskets-jetson-xavier-1', 'gaskets', 'jetson-xavier', status='INPROGRESS')
    create_compilation_job('gaskets-arm64-cpu-1', 'gaskets', 'arm64-cpu')
    app.state.portal.sync.cycle(utcnow())


async def test_a_crafted_event_cannot_act_on_another_training_jobs_compilations(
    aws: None, accounts: None, user: User
) -> None:
    two_training_jobs()
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.should_see('alice · Data Scientist', retries=50)
    await user.open('/training-jobs/bottle-caps?tab=compilation')
    table = user.find(marker='compilation-table')
    store = app.state.portal.store

    table.trigger('stop', {'job_name': 'gaskets-jetson-xavier-1', 'target': 'Jetson Xavier'})
    user.find('Stop compilation').click()
    await user.should_see('gaskets-jetson-xavier-1 is not a compilation of bottle-caps.')
    table.trigger('package', {'job_name': 'gaskets-arm64-cpu-1'})
    await user.should_see('Not packaged — gaskets-arm64-cpu-1 is not a compilation of bottle-caps.')
    table.trigger('download', {'job_name': 'gaskets-arm64-cpu-1'})
    await user.should_see('Cannot download — gaskets-arm64-cpu-1 is not a compilation of bottle-caps.')

    assert store.read(queries.jobs.attempt, 'gaskets-jetson-xavier-1').status == C.IN_PROGRESS  # untouched
    assert store.read(queries.fleet.components) == []  # nothing reached Greengrass
    assert backend().compilation_jobs['gaskets-jetson-xavier-1'].compilation_job_status == 'INPROGRESS'


async def test_reads_of_aws_data_check_the_person_when_they_run(
    aws: None, accounts: None, user: User
) -> None:
    two_training_jobs()
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.open('/training-jobs/gaskets?tab=compilation')
    session = session_id_of(user.client.request)
    assert session is not None
    app.state.portal.gate.sign_ins.end(session)  # signed out in another tab
    actions = app.state.portal.actions
    with user.client:
        reads = [
            actions.compilation_logs('gaskets-arm64-cpu-1'),
            actions.compilation_log_file('gaskets-arm64-cpu-1'),
            actions.training_logs('gaskets'),
            actions.artifact_download_url('gaskets-arm64-cpu-1', 'gaskets'),
            actions.object_sizes(['s3://dda-models/out/model.tar.gz']),
        ]
        for read in reads:
            with pytest.raises(NotAllowed, match=r'^Your session has ended; sign in again\.$'):
                await read


async def test_the_csv_is_refused_once_the_session_has_ended(aws: None, accounts: None, user: User) -> None:
    two_training_jobs()
    await sign_in(user, 'alice', 'alice-secret-1')
    await user.open('/')
    session = session_id_of(user.client.request)
    assert session is not None
    app.state.portal.gate.sign_ins.end(session)  # signed out in another tab
    user.find(marker='download-csv').click()
    await user.should_see('No CSV — Your session has ended; sign in again.')
