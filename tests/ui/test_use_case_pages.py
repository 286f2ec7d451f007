"""Several use cases on the pages: a use case column and filter, the job page of the right account, each
person's roles per use case on every button and on the server, and use cases a person may not see absent
from pages, exports and the JSON API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui import app, ui
from nicegui.testing import User

from dda_portal import api_tokens
from dda_portal.auth import hash_password
from dda_portal.domain.clock import utcnow
from dda_portal.domain.greengrass import ComponentState
from dda_portal.domain.problems import Invalid, NotAllowed
from dda_portal.domain.refresh import COMPONENTS, DEVICES, SAGEMAKER
from dda_portal.domain.status import CompilationStatus as C
from dda_portal.pages.feeds import settled
from dda_portal.queries.refresh import CycleResult
from dda_portal.tables import ComponentVersion, CoreDevice, InstalledComponent, SyncPart
from tests.factories import ROLE
from tests.ui.records import compilation, store, training, write
from tests.ui.test_sign_in import sign_in

USE_CASES = """
[use_cases.line-1]
region = "us-east-1"

[use_cases.line-2]
account_id = "222222222222"
region = "eu-west-1"
role_arn = "arn:aws:iam::222222222222:role/dda-portal-read"
external_id = "line-2-portal"
"""
PASSWORD = 'a-long-password-1'


@pytest.fixture(autouse=True)
def two_use_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Mia: Data Scientist in line-1, Operator in line-2; Sam: Operator in line-1 only."""
    path = tmp_path / 'use-cases.toml'
    path.write_text(USE_CASES)
    monkeypatch.setenv('DDA_USE_CASES_FILE', str(path))
    hashed = hash_password(PASSWORD)
    users = {
        'mia': {'roles': {'line-1': 'data-scientist', 'line-2': 'operator'}, 'password_hash': hashed},
        'sam': {'roles': {'line-1': 'operator'}, 'password_hash': hashed},
    }
    monkeypatch.setenv('DDA_USERS', json.dumps(users))
    monkeypatch.setenv('DDA_STORAGE_SECRET', 'a-test-secret-of-32-characters!!')
    monkeypatch.setenv('DDA_SAGEMAKER_ROLE_ARN', ROLE)
    yield


async def seed() -> None:
    """`caps` in both use cases (names repeat across accounts), `weave` in line-2 only."""
    with store().at('line-1'):
        await write(training('caps', minutes_ago=30), compilation('caps', 'x86_64-cpu', C.COMPLETED))
    with store().at('line-2'):
        await write(
            training('caps', minutes_ago=20),
            training('weave', minutes_ago=10),
            compilation('weave', 'x86_64-cpu', C.FAILED, 'ClientError: bad model'),
        )


def list_table(user: User) -> ui.table:
    return next(e for e in user.find(marker='training-jobs').elements if isinstance(e, ui.table))


def listed(user: User) -> list[tuple[str, str]]:
    return [(row['name'], row['use_case']) for row in list_table(user).rows]


async def test_the_list_shows_every_use_case_a_person_may_see_with_a_column_and_filter(user: User) -> None:
    await seed()
    await sign_in(user, 'mia', PASSWORD)
    await user.should_see('mia · line-1: Data Scientist · line-2: Operator', retries=50)
    assert [c['label'] for c in list_table(user).columns][:2] == ['Training job', 'Use case']
    assert sorted(listed(user)) == [('caps', 'line-1'), ('caps', 'line-2'), ('weave', 'line-2')]
    links = sorted(row['link'] for row in list_table(user).rows)
    assert links == [
        '/training-jobs/caps?use-case=line-1',
        '/training-jobs/caps?use-case=line-2',
        '/training-jobs/weave?use-case=line-2',
    ]
    await user.open('/?use-case=line-2')
    await user.should_see(marker='use-case-filter')
    assert sorted(listed(user)) == [('caps', 'line-2'), ('weave', 'line-2')]


async def test_a_use_case_a_person_may_not_see_is_absent_everywhere(user: User) -> None:
    await seed()
    await sign_in(user, 'sam', PASSWORD)
    await user.should_see('sam · line-1: Operator', retries=50)
    assert listed(user) == [('caps', 'line-1')]
    assert 'Use case' not in [c['label'] for c in list_table(user).columns]  # one place: no column
    await user.should_see('1 training jobs')
    await user.open('/?use-case=line-2')  # a use case he may not see filters nothing in
    assert listed(user) == [('caps', 'line-1')]
    http: httpx.AsyncClient = user.http_client  # type: ignore[attr-defined]
    for hidden in ('/training-jobs/weave', '/training-jobs/caps?use-case=line-2'):
        answer = await http.get(hidden)
        assert answer.status_code == 404 and 'The portal knows no training job named' in answer.text
    devices = await http.get('/devices/cam-1?use-case=line-2')
    assert 'The portal knows no core device named' in devices.text
    await user.open('/training-jobs/caps')  # the only one he may see
    await user.should_see(marker='job-name')
    await user.should_not_see(marker='choose-use-case')


async def test_a_name_in_two_use_cases_asks_which_one(user: User) -> None:
    await seed()
    await sign_in(user, 'mia', PASSWORD)
    await user.open('/training-jobs/caps')
    await user.should_see(marker='choose-use-case')
    choices = {e.text: e.props['href'] for e in user.find(marker='use-case-choice').elements}
    assert choices == {
        'line-1': '/training-jobs/caps?use-case=line-1',
        'line-2': '/training-jobs/caps?use-case=line-2',
    }


async def test_the_job_page_of_another_account_links_to_its_region(user: User) -> None:
    await seed()
    await sign_in(user, 'mia', PASSWORD)
    await user.open('/training-jobs/weave?use-case=line-2')
    await user.should_see(marker='job-name')
    link = user.find(marker='console-link').elements.pop()
    assert link.props['href'].startswith(
        'https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1'
    )
    assert link.text == 'Open in the SageMaker console (account 222222222222, eu-west-1)'


async def test_buttons_and_the_server_follow_the_role_in_the_jobs_use_case(user: User) -> None:
    await seed()
    await sign_in(user, 'mia', PASSWORD)
    await user.open('/training-jobs/caps?use-case=line-1&tab=compilation')
    await user.should_see(marker='compile-button')
    await user.should_not_see(marker='compile-blocked')  # a Data Scientist in line-1
    await user.open('/training-jobs/caps?use-case=line-2&tab=compilation')
    await user.should_see('Only a Data Scientist of line-2 may compile, retry, stop or package')
    actions = app.state.portal.actions
    mia = actions.gate.accounts['mia'].person('mia')
    with actions.gate.acting(mia), pytest.raises(NotAllowed, match='mia is Operator in line-2'):
        await actions.start_compilation_with_defaults('caps', ['x86_64-cpu'], use_case='line-2')


@pytest.fixture
def only_line_2_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No DDA_SAGEMAKER_ROLE_ARN; line-2 names its own compile role; line-1 has no Greengrass. Dan: Data
    Scientist in both."""
    path = tmp_path / 'use-cases.toml'
    line_1_without_greengrass = USE_CASES.replace(
        '"us-east-1"\n', '"us-east-1"\ngreengrass_enabled = false\n'
    )
    path.write_text(
        line_1_without_greengrass + 'sagemaker_role_arn = "arn:aws:iam::222222222222:role/neo-compile"\n'
    )
    monkeypatch.delenv('DDA_SAGEMAKER_ROLE_ARN')
    users = {'dan': {'role': 'data-scientist', 'password_hash': hash_password(PASSWORD)}}
    monkeypatch.setenv('DDA_USERS', json.dumps(users))


def compilation_rows(user: User) -> list[dict[str, Any]]:
    return next(e for e in user.find(marker='compilation-table').elements if isinstance(e, ui.table)).rows


async def test_compiling_packaging_and_deploying_follow_the_settings_of_the_use_case(
    only_line_2_compiles: None, user: User
) -> None:
    await seed()
    with store().at('line-2'):
        await write(compilation('caps', 'x86_64-cpu', C.COMPLETED))
    await sign_in(user, 'dan', PASSWORD)
    await user.open('/training-jobs/caps?use-case=line-2&tab=compilation')
    await user.should_see(marker='compile-button')
    await user.should_not_see('Set DDA_SAGEMAKER_ROLE_ARN')
    assert user.find(marker='compile-button').elements.pop().enabled
    assert [row['can_package'] for row in compilation_rows(user)] == [True]
    await user.open('/training-jobs/caps?use-case=line-1&tab=compilation')
    await user.should_see('Set DDA_SAGEMAKER_ROLE_ARN')
    assert not user.find(marker='compile-button').elements.pop().enabled
    [row] = compilation_rows(user)  # compiled, but line-1 has no Greengrass to package it in
    assert row['artifact'] and row['can_package'] is False
    actions = app.state.portal.actions
    dan = actions.gate.accounts['dan'].person('dan')
    with actions.gate.acting(dan), pytest.raises(Invalid, match='Greengrass is off for this use case'):
        await actions.package(row['job_name'], 'caps', use_case='line-1')
    # nor is anything deployed there: /components offers line-2's Deploy… only, and the server refuses
    await user.open('/components')
    await user.should_see('Deploy in line-2…')
    await user.should_not_see('Deploy in line-1…')
    target = 'arn:aws:iot:us-east-1:123456789012:thinggroup/line-1-cameras'
    with actions.gate.acting(dan), pytest.raises(Invalid, match='Greengrass is off for this use case'):
        await actions.deploy(target, 'model-caps-x86-64-cpu', '1.0.0', use_case='line-1')


async def test_the_csv_has_a_use_case_column_with_several_use_cases(user: User) -> None:
    await seed()
    await sign_in(user, 'mia', PASSWORD)
    await user.should_see(marker='download-csv', retries=50)
    user.find(marker='download-csv').click()
    for _ in range(100):
        if user.download.http_responses:
            break
        await asyncio.sleep(0.02)
    text = user.download.http_responses[-1].content.decode()
    header, *rows = text.splitlines()
    assert header.startswith('Training job,Use case,Training status')
    assert sorted(r.split(',')[:2] for r in rows) == [
        ['caps', 'line-1'],
        ['caps', 'line-2'],
        ['weave', 'line-2'],
    ]


async def test_the_api_names_each_items_use_case_and_filters_by_it(user: User) -> None:
    await seed()
    http: httpx.AsyncClient = user.http_client  # type: ignore[attr-defined]
    headers = {'Authorization': f'Bearer {api_tokens.create(store(), "ci", "operator")}'}
    every = (await http.get('/api/v1/training-jobs', headers=headers)).json()
    assert sorted((i['name'], i['use_case']) for i in every['items']) == [
        ('caps', 'line-1'),
        ('caps', 'line-2'),
        ('weave', 'line-2'),
    ]
    two = (await http.get('/api/v1/training-jobs?use-case=line-2', headers=headers)).json()
    assert sorted(i['name'] for i in two['items']) == ['caps', 'weave']
    unknown = await http.get('/api/v1/training-jobs?use-case=line-9', headers=headers)
    assert unknown.status_code == 422
    ambiguous = await http.get('/api/v1/training-jobs/caps', headers=headers)
    assert ambiguous.status_code == 409 and ambiguous.json()['error']['code'] == 'ambiguous_training_job'
    one = await http.get('/api/v1/training-jobs/caps?use-case=line-2', headers=headers)
    assert one.status_code == 200 and one.json()['use_case'] == 'line-2'


def two_cameras(session: Any) -> None:
    """`cam-1` in both accounts (thing names repeat), `cam-2` in line-2 only."""
    now = utcnow()
    for place, thing in (('line-1', 'cam-1'), ('line-2', 'cam-1'), ('line-2', 'cam-2')):
        session.add(
            CoreDevice(
                use_case=place, thing_name=thing, status='HEALTHY', architecture='amd64', refreshed_at=now
            )
        )


def device_table(user: User) -> ui.table:
    return next(e for e in user.find(marker='devices-table').elements if isinstance(e, ui.table))


async def test_devices_of_each_use_case_keep_apart_and_hidden_ones_stay_hidden(user: User) -> None:
    store().write(two_cameras)
    await sign_in(user, 'mia', PASSWORD)
    await user.open('/devices')
    await user.should_see(marker='devices-table')
    rows = sorted((r['device'], r['use_case'], r['link']) for r in device_table(user).rows)
    assert rows == [
        ('cam-1', 'line-1', '/devices/cam-1?use-case=line-1'),
        ('cam-1', 'line-2', '/devices/cam-1?use-case=line-2'),
        ('cam-2', 'line-2', '/devices/cam-2?use-case=line-2'),
    ]
    await user.open('/devices?use-case=line-1')
    await user.should_see(marker='devices-table')
    assert [(r['device'], r['use_case']) for r in device_table(user).rows] == [('cam-1', 'line-1')]
    await user.open('/devices/cam-2')  # only line-2 has it
    await user.should_see(marker='use-case')
    await user.should_not_see(marker='not-found')


async def test_a_person_sees_only_the_devices_of_their_use_cases(user: User) -> None:
    store().write(two_cameras)
    await sign_in(user, 'sam', PASSWORD)
    await user.open('/devices')
    await user.should_see(marker='devices-table')
    assert [r['device'] for r in device_table(user).rows] == ['cam-1']
    await user.open('/devices/cam-2')
    await user.should_see(marker='not-found')
    http: httpx.AsyncClient = user.http_client  # type: ignore[attr-defined]
    headers = {'Authorization': f'Bearer {api_tokens.create(store(), "ci", "operator")}'}
    devices = (await http.get('/api/v1/devices', headers=headers)).json()['items']
    assert sorted((d['thing_name'], d['use_case']) for d in devices) == [
        ('cam-1', 'line-1'),
        ('cam-1', 'line-2'),
        ('cam-2', 'line-2'),
    ]  # a token's one role counts in every use case


def line_2_denied(session: Any) -> None:
    """line-1 refreshed; line-2's AssumeRole was denied."""
    now = utcnow()
    for part in (SAGEMAKER, COMPONENTS, DEVICES):
        session.add(SyncPart(use_case='line-1', part=part, last_success=now))
        session.add(
            SyncPart(
                use_case='line-2',
                part=part,
                failed_at=now,
                error_code='AccessDenied',
                error_message='Not authorized to perform sts:AssumeRole',
                error_call='AssumeRole',
            )
        )


async def test_a_failing_use_case_is_named_in_the_banner_only_for_those_who_see_it(user: User) -> None:
    await seed()
    store().write(line_2_denied)
    store()._read_freshness()  # as after a recorded refresh
    await sign_in(user, 'mia', PASSWORD)
    denied = 'line-2 · SageMaker: AccessDenied: Not authorized to perform sts:AssumeRole (in AssumeRole)'
    await user.should_see(denied, retries=50)
    await user.should_not_see('line-1 · SageMaker: ')
    user.find(marker='sign-out').click()
    await user.should_see(marker='login-card', retries=50)  # signed out on the server first
    await sign_in(user, 'sam', PASSWORD)
    await user.should_see('sam · line-1: Operator', retries=50)
    await user.should_not_see('AccessDenied')


def fleet_in(place: str, architecture: str, running: bool) -> Any:
    """What a refresh of `place` writes: `cam-1` (a name both accounts use) and a component version of its
    own account; the device runs that version when `running`."""
    arn = f'arn:aws:greengrass:{place}:components:cracks:versions:1.0.0'
    version = ComponentVersion(
        arn=arn,
        component_name='cracks',
        component_version='1.0.0',
        state=ComponentState.DEPLOYABLE,
        platforms=json.dumps([{'os': 'linux', 'architecture': 'amd64'}]),
    )
    device = CoreDevice(
        thing_name='cam-1',
        status='HEALTHY',
        architecture=architecture,
        platform='linux',
        refreshed_at=utcnow(),
    )
    installed = InstalledComponent(thing_name='cam-1', component_name='cracks', component_version='1.0.0')
    return CycleResult(
        started_at=utcnow(),
        aws_calls=0,
        component_versions=[version],
        devices=[device],
        installed=[installed] if running else [],
    )


async def test_the_matrix_keeps_a_thing_name_of_two_accounts_apart_live(user: User) -> None:
    for place, running in (('line-1', True), ('line-2', False)):
        with store().at(place):
            store().apply(fleet_in(place, 'amd64', running))
    await sign_in(user, 'mia', PASSWORD)
    await user.open('/fleet')
    await user.should_see(marker='matrix-table')

    def cells() -> dict[tuple[str, str], str]:
        table = next(e for e in user.find(marker='matrix-table').elements if isinstance(e, ui.table))
        heads = {c['name']: f'{c["label"]} in {c["facts"].split(" · ")[0]}' for c in table.columns[1:]}
        return {(row['place'], heads[k]): v['w'] for row in table.rows for k, v in row.items() if k in heads}

    assert cells() == {
        ('line-1', 'cam-1 in line-1'): 'Running',
        ('line-1', 'cam-1 in line-2'): 'Other use case',
        ('line-2', 'cam-1 in line-1'): 'Other use case',
        ('line-2', 'cam-1 in line-2'): 'Compatible',
    }
    with store().at('line-2'):  # line-2's cam-1 is reflashed for ARM: line-1's cam-1 stays as it was
        changed = store().apply(fleet_in('line-2', 'aarch64', False))
    store().changed.emit(changed.placed('line-2'))
    await settled()
    for _ in range(50):
        if cells()[('line-2', 'cam-1 in line-2')] == 'Incompatible':
            break
        await asyncio.sleep(0.05)
    assert cells() == {
        ('line-1', 'cam-1 in line-1'): 'Running',
        ('line-1', 'cam-1 in line-2'): 'Other use case',
        ('line-2', 'cam-1 in line-1'): 'Other use case',
        ('line-2', 'cam-1 in line-2'): 'Incompatible',
    }
