"""Sign-in in real headless Chromium: the demo with a users list, a Data Scientist and an Operator."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from dda_portal.auth import hash_password
from tests.e2e.conftest import running_portal


@pytest.fixture(scope='module')
def signed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    users = {
        'alice': {'role': 'data-scientist', 'password_hash': hash_password('alice-secret-1')},
        'bob': {'role': 'operator', 'password_hash': hash_password('bob-secret-1')},
    }
    env = {'DDA_USERS': json.dumps(users), 'DDA_STORAGE_SECRET': 'an-e2e-secret-of-32-characters!!'}
    with running_portal(tmp_path_factory.mktemp('signed'), ['--demo'], env) as url:
        yield url


@pytest.fixture
def fresh(browser: Browser) -> Iterator[Page]:
    """A page in its own browser context: no cookie from another test."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, url: str, name: str, password: str) -> None:
    page.goto(f'{url}/devices')
    expect(page).to_have_url(re.compile(r'/login\?next=%2Fdevices'))
    page.get_by_label('User name').fill(name)
    page.get_by_label('Password', exact=True).fill(password)
    page.get_by_role('button', name='Sign in').click()


def test_a_data_scientist_signs_in_lands_where_she_wanted_and_signs_out(fresh: Page, signed_url: str) -> None:
    sign_in(fresh, signed_url, 'alice', 'wrong')
    expect(fresh.get_by_role('alert')).to_have_text('Wrong user name or password.')
    fresh.get_by_label('Password', exact=True).fill('alice-secret-1')
    fresh.get_by_role('button', name='Sign in').click()
    expect(fresh).to_have_url(f'{signed_url}/devices')
    expect(fresh.get_by_text('alice · Data Scientist')).to_be_visible()
    cookie = next(c for c in fresh.context.cookies() if c['name'] == 'session')
    assert cookie['httpOnly'] and cookie['sameSite'] == 'Lax'

    fresh.goto(f'{signed_url}/')
    fresh.locator('tbody tr', has_text='Compiled').first.locator('a').click()
    fresh.get_by_role('tab', name='Compilation').click()
    expect(fresh.get_by_role('button', name='Compile for more targets')).to_be_enabled()

    other_tab = fresh.context.new_page()  # the same browser, so the same session
    other_tab.goto(f'{signed_url}/components')
    expect(other_tab.get_by_text('alice · Data Scientist')).to_be_visible()
    fresh.get_by_role('button', name='Sign out').click()
    expect(fresh).to_have_url(re.compile(r'/login'))
    expect(other_tab).to_have_url(re.compile(r'/login'))  # it no longer shows live data either
    fresh.goto(f'{signed_url}/')
    expect(fresh).to_have_url(re.compile(r'/login\?next=%2F'))


def test_a_link_with_filters_lands_on_that_exact_list_after_signing_in(fresh: Page, signed_url: str) -> None:
    fresh.goto(f'{signed_url}/?status=In+progress&q=bottle')
    expect(fresh).to_have_url(re.compile(r'/login\?next=%2F%3Fstatus%3DIn%2Bprogress%26q%3Dbottle$'))
    fresh.get_by_label('User name').fill('alice')
    fresh.get_by_label('Password', exact=True).fill('alice-secret-1')
    fresh.get_by_role('button', name='Sign in').click()
    expect(fresh).to_have_url(f'{signed_url}/?status=In+progress&q=bottle')
    expect(fresh.get_by_placeholder('Search by name')).to_have_value('bottle')
    expect(fresh.get_by_text(re.compile(r'^Showing 1 of \d+ training jobs$'))).to_be_visible()
    expect(fresh.locator('tbody tr')).to_have_count(1)


def test_an_operator_sees_everything_but_cannot_compile(fresh: Page, signed_url: str) -> None:
    sign_in(fresh, signed_url, 'bob', 'bob-secret-1')
    expect(fresh.get_by_text('bob · Operator')).to_be_visible()
    fresh.goto(f'{signed_url}/')
    failed = fresh.locator('tbody tr', has_text='Compilation failed').first
    expect(failed).to_be_visible(timeout=30_000)
    failed.locator('a').click()
    fresh.get_by_role('tab', name='Compilation').click()
    expect(fresh.get_by_role('button', name='Compile for more targets')).to_be_disabled()
    expect(fresh.get_by_text('Only a Data Scientist may compile, retry, stop or package')).to_be_visible()
    table = fresh.get_by_test_id('compilation-table')
    expect(table.get_by_role('button', name='Details').first).to_be_visible()
    expect(table.get_by_role('button', name='Retry')).to_have_count(0)


def test_without_a_session_only_health_answers(signed_url: str) -> None:
    assert httpx.get(f'{signed_url}/healthz').json() == {'status': 'ok'}
    for path in ('/', '/components', '/training-jobs/anything?tab=logs'):
        response = httpx.get(f'{signed_url}{path}')
        assert response.status_code == 303 and response.headers['location'].startswith('/login?next=')


@pytest.mark.parametrize(
    'crafted', ['/%09/evil.example/x', '/%0D/evil.example/x', '/%0A/evil.example', '//evil.example']
)
def test_after_sign_in_a_crafted_next_never_leaves_the_site(
    fresh: Page, signed_url: str, crafted: str
) -> None:
    fresh.goto(f'{signed_url}/login?next={crafted}')
    fresh.get_by_label('User name').fill('alice')
    fresh.get_by_label('Password', exact=True).fill('alice-secret-1')
    fresh.get_by_role('button', name='Sign in').click()
    expect(fresh.get_by_text('alice · Data Scientist')).to_be_visible()
    assert fresh.url.startswith(f'{signed_url}/'), fresh.url
    expect(fresh).to_have_url(f'{signed_url}/')


def test_sign_out_closes_the_live_connection_of_a_tab_that_ignores_it(fresh: Page, signed_url: str) -> None:
    sign_in(fresh, signed_url, 'alice', 'alice-secret-1')
    expect(fresh.get_by_text('alice · Data Scientist')).to_be_visible()
    stale = fresh.context.new_page()  # the same session in another tab
    stale.goto(f'{signed_url}/components')
    expect(stale.get_by_text('alice · Data Scientist')).to_be_visible()
    stale.wait_for_function('() => window.did_handshake && window.socket.connected')
    # this tab will not follow the server's "go to the sign-in form", nor reconnect by itself
    stale.evaluate("() => { window.socket.off('open'); window.socket.io.reconnection(false); }")

    fresh.get_by_role('button', name='Sign out').click()
    expect(fresh).to_have_url(re.compile(r'/login'))

    stale.wait_for_function('() => window.socket.connected === false', timeout=10_000)  # closed by the server
    assert stale.url == f'{signed_url}/components'  # it ignored the navigation, yet its connection is gone
    stale.evaluate(
        '() => window.socket.connect()'
    )  # trying again: the handshake is refused, the page reloads
    expect(stale).to_have_url(re.compile(r'/login\?next=%2Fcomponents'))
    stale.close()
