"""The JSON API as a pipeline meets it: tokens, the list's filters and pages, one job, starting compilations
with the button's rules, JSON errors, and the wall between browser sessions and tokens."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from nicegui import app
from nicegui.testing import User

from dda_portal import api_tokens, queries
from dda_portal.auth import hash_password
from dda_portal.domain.clock import utcnow
from dda_portal.domain.filters import ListFilter
from dda_portal.domain.status import CompilationStatus as C
from dda_portal.pages.feeds import settled
from dda_portal.tables import ComponentVersion, CoreDevice, InstalledComponent
from tests.factories import ROLE, backend, create_compilation_job, create_training_job
from tests.ui.records import compilation, store, training, write

JOBS = '/api/v1/training-jobs'


@pytest.fixture
def role(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('DDA_SAGEMAKER_ROLE_ARN', ROLE)
    yield


def token(name: str = 'pipeline', role: str = 'data-scientist') -> dict[str, str]:
    return {'Authorization': f'Bearer {api_tokens.create(store(), name, role)}'}


def client(user: User) -> httpx.AsyncClient:
    return user.http_client  # type: ignore[attr-defined, no-any-return]


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers['content-type'].startswith('application/json'), response.text
    return response.json()['error']  # type: ignore[no-any-return]


async def seed() -> None:
    """Six jobs: one per rollup, two still untouched (one still training)."""
    await write(
        training('all-good', minutes_ago=50),
        training('half-broken', minutes_ago=40),
        training('busy-bottle', minutes_ago=30),
        training('untouched-bottle', minutes_ago=20),
        training('twin-bottle', minutes_ago=20),  # the same age: ordered by name
        training('still-training', status='In progress', minutes_ago=10),
        compilation('all-good', 'jetson-xavier', C.COMPLETED),
        compilation('all-good', 'x86_64-cpu', C.COMPLETED),
        compilation('half-broken', 'jetson-xavier', C.COMPLETED),
        compilation('half-broken', 'x86_64-cpu', C.FAILED, 'ClientError: Unable to untar input model'),
        compilation('busy-bottle', 'arm64-cpu', C.IN_PROGRESS),
    )


# ---- tokens ---------------------------------------------------------------------------------------------


async def test_a_token_is_needed_and_must_be_known_and_not_revoked(user: User) -> None:
    http = client(user)
    missing = await http.get(JOBS)
    assert missing.status_code == 401
    assert missing.headers['www-authenticate'] == 'Bearer'
    assert error_of(missing)['code'] == 'token_required'
    for wrong in ('Bearer dda_not-a-token', 'Bearer ', 'Basic dXNlcjpwdw==', 'dda_xyz'):
        answer = await http.get(JOBS, headers={'Authorization': wrong})
        assert answer.status_code == 401, wrong
        assert answer.headers['www-authenticate'] == 'Bearer'

    headers = token('ci')
    assert headers['Authorization'].startswith('Bearer dda_') and len(headers['Authorization']) > 40
    assert (await http.get(JOBS, headers=headers)).status_code == 200
    stored = store().read(queries.api_tokens.named, 'ci')
    assert stored is not None and stored.token_hash == api_tokens.token_hash(headers['Authorization'][7:])
    assert headers['Authorization'][7:] not in json.dumps(stored.model_dump(mode='json'))  # only the hash

    api_tokens.revoke(store(), 'ci')
    tokens = app.state.portal.api_tokens
    now = time.monotonic()
    tokens.clock = lambda: now + api_tokens.CACHE_SECONDS + 0.1  # the cached answer has aged
    revoked = await http.get(JOBS, headers=headers)
    assert revoked.status_code == 401
    assert error_of(revoked)['code'] == 'token_invalid'


async def test_a_token_records_when_it_was_last_used(user: User) -> None:
    headers = token('ci')
    assert (await client(user).get('/api/v1/devices', headers=headers)).status_code == 200
    for _ in range(100):
        listed = {t.name: t for t in api_tokens.listed(store())}
        if listed['ci'].last_used_at is not None:
            break
        await asyncio.sleep(0.02)
    assert listed['ci'].last_used_at is not None


async def test_tokens_refuse_a_taken_name_and_an_unknown_role(user: User) -> None:
    token('ci')
    with pytest.raises(api_tokens.TokenError, match='exists already'):
        api_tokens.create(store(), 'ci', 'operator')
    with pytest.raises(api_tokens.TokenError, match='Unknown role'):
        api_tokens.create(store(), 'other', 'admin')
    with pytest.raises(api_tokens.TokenError, match='No token is named'):
        api_tokens.revoke(store(), 'nobody')


# ---- reads ----------------------------------------------------------------------------------------------


def listed_by_page(query: list[tuple[str, str]]) -> list[str]:
    """What the list page shows for the same URL query: its feed, its filter, its order."""
    feed = app.state.portal.list_feed
    return list(feed.ordered(ListFilter.from_query(query, feed.targets), None, False))


async def test_filters_and_order_agree_with_the_list_page(user: User) -> None:
    await seed()
    headers = token()
    queries_ = [
        [],
        [('rollup', 'Compiled')],
        [('rollup', 'compiled,Compilation failed')],
        [('rollup', 'Not compiled'), ('status', 'Completed')],
        [('target', 'x86_64-cpu')],
        [('target', 'NVIDIA Jetson Xavier')],
        [('q', 'bottle')],
        [('q', 'BOTTLE busy')],
        [('status', 'In progress')],
    ]
    for query in queries_:
        answer = await client(user).get(JOBS, params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [item['name'] for item in body['items']] == listed_by_page(query), query
        assert body['total'] == len(listed_by_page(query))
    everything = (await client(user).get(JOBS, headers=headers)).json()['items']
    names = [item['name'] for item in everything]
    assert names == [
        'still-training',
        'twin-bottle',
        'untouched-bottle',
        'busy-bottle',
        'half-broken',
        'all-good',
    ]
    broken = next(item for item in everything if item['name'] == 'half-broken')
    assert broken['rollup'] == 'Compilation failed'
    assert {t['target_id']: t['status'] for t in broken['targets']} == {
        'jetson-xavier': 'Completed',
        'x86_64-cpu': 'Failed',
    }
    assert broken['targets_compiled'] == 1 and broken['targets_total'] == 2


async def test_pages_walk_the_whole_list_once_in_order(user: User) -> None:
    await seed()
    headers = token()
    walked: list[str] = []
    offset: int | None = 0
    while offset is not None:
        answer = await client(user).get(JOBS, params={'limit': 4, 'offset': offset}, headers=headers)
        body = answer.json()
        assert body['total'] == 6 and body['limit'] == 4
        walked += [item['name'] for item in body['items']]
        offset = body['next_offset']
    assert walked == listed_by_page([])
    sorted_by_name = await client(user).get(JOBS, params={'sort': 'name', 'limit': 2}, headers=headers)
    assert [i['name'] for i in sorted_by_name.json()['items']] == ['all-good', 'busy-bottle']


async def test_bad_list_parameters_are_refused_with_json(user: User) -> None:
    await seed()
    headers = token()
    for params in ({'limit': 0}, {'limit': 100_000}, {'offset': -1}, {'sort': 'colour'}):
        answer = await client(user).get(JOBS, params=params, headers=headers)
        assert answer.status_code == 422, params
        assert error_of(answer)['code'] == 'invalid_request'
        assert error_of(answer)['detail']
    unknown = await client(user).get(JOBS, params={'rollup': 'Compiled,Gone wrong'}, headers=headers)
    assert unknown.status_code == 422
    assert error_of(unknown)['code'] == 'unknown_filter_value'


async def test_one_training_job_with_every_attempt_its_components_and_devices(user: User) -> None:
    await write(
        training('half-broken', minutes_ago=40),
        compilation('half-broken', 'x86_64-cpu', C.FAILED, 'ClientError: Unable to untar input model'),
        compilation('half-broken', 'x86_64-cpu', C.COMPLETED, attempt_suffix=2),
        compilation('half-broken', 'jetson-xavier', C.IN_PROGRESS),
    )

    def fleet(session: Any) -> None:
        now = utcnow()
        session.add(
            ComponentVersion(
                arn='arn:aws:greengrass:us-east-1:123456789012:components:dda.half-broken:versions:1.0.0',
                component_name='dda.half-broken',
                component_version='1.0.0',
                state='DEPLOYABLE',
                created_at=now,
                compilation_job_name='half-broken-x86-64-cpu-2',
                training_job_name='half-broken',
                target_id='x86_64-cpu',
                origin='portal',
            )
        )
        session.add(CoreDevice(thing_name='line-3', status='HEALTHY', architecture='amd64', refreshed_at=now))
        session.add(CoreDevice(thing_name='line-9', status='HEALTHY', architecture='amd64', refreshed_at=now))
        session.add(
            InstalledComponent(
                thing_name='line-3',
                component_name='dda.half-broken',
                component_version='1.0.0',
                lifecycle_state='RUNNING',
            )
        )

    store().write(fleet)
    headers = token()
    answer = await client(user).get(f'{JOBS}/half-broken', headers=headers)
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert job['name'] == 'half-broken' and job['status'] == 'Completed'
    assert [(a['target_id'], a['attempt'], a['status']) for a in job['attempts']] == [
        ('jetson-xavier', 1, 'In progress'),
        ('x86_64-cpu', 1, 'Failed'),
        ('x86_64-cpu', 2, 'Completed'),
    ]
    assert job['attempts'][1]['failure_reason'] == 'ClientError: Unable to untar input model'
    assert job['attempts'][2]['artifact'] == 's3://dda-models/compiled/half-broken-x86-64-cpu-2/'
    assert {t['target_id']: t['status'] for t in job['targets']} == {
        'jetson-xavier': 'In progress',
        'x86_64-cpu': 'Completed',
    }
    assert [(c['component_version'], c['devices']) for c in job['components']] == [('1.0.0', ['line-3'])]
    assert [(d['thing_name'], d['components'][0]['lifecycle_state']) for d in job['devices']] == [
        ('line-3', 'RUNNING')
    ]
    fleet_devices = (await client(user).get('/api/v1/devices', headers=headers)).json()
    assert [d['thing_name'] for d in fleet_devices['items']] == ['line-3', 'line-9']
    components = (await client(user).get('/api/v1/components', headers=headers)).json()
    assert [(c['component_name'], c['devices']) for c in components['items']] == [
        ('dda.half-broken', ['line-3'])
    ]

    unknown = await client(user).get(f'{JOBS}/no-such-job', headers=headers)
    assert unknown.status_code == 404
    assert error_of(unknown)['code'] == 'unknown_training_job'
    nowhere = await client(user).get('/api/v1/nowhere', headers=headers)
    assert nowhere.status_code == 404
    assert error_of(nowhere)['code'] == 'not_found'


# ---- starting compilations ------------------------------------------------------------------------------


def refresh() -> None:
    app.state.portal.sync.cycle(utcnow())


async def test_a_post_starts_one_compilation_and_a_second_is_refused(
    aws: None, role: None, user: User
) -> None:
    create_training_job('bottle-caps')
    refresh()
    headers = token()
    url = f'{JOBS}/bottle-caps/compilations'
    first = await client(user).post(url, json={'targets': ['x86_64-cpu']}, headers=headers)
    assert first.status_code == 202, first.text
    body = first.json()
    assert body['started'] == [
        {
            'target_id': 'x86_64-cpu',
            'job_name': 'bottle-caps-x86-64-cpu-1',
            'attempt': 1,
            'status': 'Starting',
        }
    ]
    assert body['refused'] == {}
    assert set(backend().compilation_jobs) == {'bottle-caps-x86-64-cpu-1'}

    again = await client(user).post(url, json={'targets': ['x86_64-cpu']}, headers=headers)
    assert again.status_code == 409, again.text
    assert again.json()['error']['code'] == 'nothing_started'
    refused = again.json()['refused']['x86_64-cpu']
    assert refused['code'] == 'already_compiling' and refused['retry_later'] is False
    assert set(backend().compilation_jobs) == {'bottle-caps-x86-64-cpu-1'}

    await settled()
    listed = (await client(user).get(JOBS, headers=headers)).json()['items'][0]
    assert listed['rollup'] == 'Compiling'
    assert [(t['target_id'], t['status']) for t in listed['targets']] == [('x86_64-cpu', 'Starting')]


async def test_two_posts_at_once_start_one_compilation(aws: None, role: None, user: User) -> None:
    create_training_job('bottle-caps')
    refresh()
    headers = token()
    url = f'{JOBS}/bottle-caps/compilations'
    answers = await asyncio.gather(
        *(client(user).post(url, json={'targets': ['arm64-cpu']}, headers=headers) for _ in range(2))
    )
    assert sorted(a.status_code for a in answers) == [202, 409]
    assert set(backend().compilation_jobs) == {'bottle-caps-arm64-cpu-1'}


async def test_the_buttons_refusals_come_back_per_target(aws: None, role: None, user: User) -> None:
    create_training_job('bottle-caps')
    create_compilation_job('bottle-caps-jetson-xavier-1', 'bottle-caps', 'jetson-xavier')
    create_training_job('still-running', status='InProgress')
    refresh()
    headers = token()
    mixed = await client(user).post(
        f'{JOBS}/bottle-caps/compilations',
        json={'targets': ['jetson-xavier', 'x86_64-cpu', 'toaster'], 'input_shape': [1, 3, 64, 64]},
        headers=headers,
    )
    assert mixed.status_code == 202, mixed.text
    assert [s['target_id'] for s in mixed.json()['started']] == ['x86_64-cpu']
    assert {t: r['code'] for t, r in mixed.json()['refused'].items()} == {
        'jetson-xavier': 'already_compiled',
        'toaster': 'unknown_target',
    }
    running = await client(user).post(
        f'{JOBS}/still-running/compilations', json={'targets': ['x86_64-cpu']}, headers=headers
    )
    assert running.status_code == 409
    assert running.json()['refused']['x86_64-cpu']['code'] == 'training_not_completed'
    bad_shape = await client(user).post(
        f'{JOBS}/bottle-caps/compilations',
        json={'targets': ['arm64-cpu'], 'input_shape': '[1, -3]'},
        headers=headers,
    )
    assert bad_shape.status_code == 422
    assert error_of(bad_shape)['code'] == 'invalid_input'
    assert 'positive integers' in error_of(bad_shape)['message']
    for body in ({'targets': []}, {}, {'targets': ['arm64-cpu'], 'colour': 'red'}):
        invalid = await client(user).post(f'{JOBS}/bottle-caps/compilations', json=body, headers=headers)
        assert invalid.status_code == 422, body
        assert error_of(invalid)['code'] == 'invalid_request'
    unknown = await client(user).post(
        f'{JOBS}/nope/compilations', json={'targets': ['arm64-cpu']}, headers=headers
    )
    assert unknown.status_code == 404
    assert set(backend().compilation_jobs) == {'bottle-caps-jetson-xavier-1', 'bottle-caps-x86-64-cpu-1'}


async def test_an_operator_token_may_read_but_not_compile(aws: None, role: None, user: User) -> None:
    create_training_job('bottle-caps')
    refresh()
    headers = token('dashboard', 'operator')
    assert (await client(user).get(f'{JOBS}/bottle-caps', headers=headers)).status_code == 200
    answer = await client(user).post(
        f'{JOBS}/bottle-caps/compilations', json={'targets': ['x86_64-cpu']}, headers=headers
    )
    assert answer.status_code == 403
    assert error_of(answer)['code'] == 'not_allowed'
    assert 'Only a Data Scientist may start compilations' in error_of(answer)['message']
    assert backend().compilation_jobs == {}


# ---- errors, docs and the wall between sessions and tokens ----------------------------------------------


async def test_an_unexpected_failure_is_a_json_500_without_its_traceback(
    user: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError('secret internals /etc/portal.toml')

    monkeypatch.setattr(queries.fleet, 'fleet_devices', broken)
    answer = await client(user).get('/api/v1/devices', headers=token())
    assert answer.status_code == 500
    assert error_of(answer) == {
        'code': 'internal_error',
        'message': 'The portal failed to answer; the failure is in its log.',
    }
    assert 'Traceback' not in answer.text and 'secret internals' not in answer.text
    assert 'secret internals' in caplog.text  # the traceback stays in the server's log
    caplog.clear()  # an expected error log: the `user` fixture fails a test on any other


async def test_a_portal_shutting_down_answers_503(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    async def gone() -> None:
        return None

    monkeypatch.setattr(app.state.portal.list_feed, 'current', gone)
    answer = await client(user).get(JOBS, headers=token())
    assert answer.status_code == 503
    assert error_of(answer)['code'] == 'unavailable'


async def test_the_openapi_docs_answer_and_pages_still_work(user: User) -> None:
    docs = await client(user).get('/api/docs')
    assert docs.status_code == 200
    assert docs.headers['content-type'].startswith('text/html')
    assert '/api/v1/training-jobs/{name}/compilations' in docs.text
    assert '<script' not in docs.text  # nothing the portal's Content-Security-Policy would block
    schema = (await client(user).get('/api/openapi.json')).json()
    assert set(schema['paths']) == {
        '/api/v1/training-jobs',
        '/api/v1/training-jobs/{name}',
        '/api/v1/training-jobs/{name}/compilations',
        '/api/v1/components',
        '/api/v1/devices',
    }
    assert schema['components']['securitySchemes']['HTTPBearer']['scheme'] == 'bearer'
    await user.open('/')
    await user.should_see('Training jobs')


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        'DDA_USERS',
        json.dumps({'alice': {'role': 'data-scientist', 'password_hash': hash_password('alice-pw-12')}}),
    )
    monkeypatch.setenv('DDA_STORAGE_SECRET', 'a-test-secret-of-32-characters!!')


async def test_a_signed_in_browser_does_not_open_the_api(accounts: None, user: User) -> None:
    await user.open('/login')
    user.find(marker='login-name').type('alice')
    user.find(marker='login-password').type('alice-pw-12')
    user.find(marker='sign-in').click()
    await user.should_see('alice · Data Scientist', retries=100)
    assert (await client(user).get('/devices')).status_code == 200  # the browser is signed in
    answer = await client(user).get(JOBS)
    assert answer.status_code == 401
    assert error_of(answer)['code'] == 'token_required'


async def test_a_token_opens_no_page(accounts: None, user: User) -> None:
    headers = token()
    for path in ('/', '/devices', '/training-jobs/anything'):
        answer = await client(user).get(path, headers=headers)
        assert answer.status_code == 303, path
        assert answer.headers['location'].startswith('/login?next=')
    assert (await client(user).get(JOBS, headers=headers)).status_code == 200


@pytest.fixture
def proxy_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('DDA_AUTH_HEADER', 'X-Forwarded-User')
    monkeypatch.setenv('DDA_STORAGE_SECRET', 'a-test-secret-of-32-characters!!')


async def test_behind_a_proxy_the_identity_header_opens_no_api_and_a_token_no_page(
    proxy_sign_in: None, user: User
) -> None:
    signed_in = {'X-Forwarded-User': 'bob'}  # from 127.0.0.1: this machine's trusted proxy
    assert (await client(user).get('/devices', headers=signed_in)).status_code == 200
    answer = await client(user).get(JOBS, headers=signed_in)
    assert answer.status_code == 401
    assert error_of(answer)['code'] == 'token_required'
    headers = token()
    assert (await client(user).get('/devices', headers=headers)).status_code == 401
    assert (await client(user).get(JOBS, headers=headers)).status_code == 200
