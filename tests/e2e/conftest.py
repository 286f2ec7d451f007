"""End-to-end: `python main.py --demo` as a subprocess, driven by Debian's headless Chromium."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from dda_portal.auth import hash_password
from dda_portal.launch import CHROMIUM_FLAGS, DidNotStart, environment, launched


@contextmanager
def running_portal(
    work: Path, args: list[str], extra_env: dict[str, str] | None = None, ready: str = '/readyz'
) -> Iterator[str]:
    """`python main.py ARGS` on a free 127.0.0.1 port, once `ready` (/readyz: the first refresh landed) is
    200; its output has no traceback."""
    env = environment({'DDA_DATABASE_URL': f'sqlite:///{work / "portal.db"}', **(extra_env or {})})
    log_path = work / 'portal.log'
    try:
        with launched(args, env, log_path, ready=ready) as (url, _):
            yield url
    except DidNotStart as error:
        pytest.fail(str(error))
    output = log_path.read_text()
    assert 'Traceback' not in output, output


@pytest.fixture(scope='module')
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo portal, refreshing every 2 s with the simulator stepping every 5 s.

    Module-scoped: sync Playwright holds an event loop until it closes, which must happen before the
    asyncio-based page tests run.
    """
    work = tmp_path_factory.mktemp('demo')
    with running_portal(work, ['--demo'], {'DDA_REFRESH_SECONDS': '2', 'DDA_DEMO_STEP_SECONDS': '5'}) as url:
        yield url


SIGNED_ENV = {
    'DDA_USERS': json.dumps(
        {'alice': {'role': 'data-scientist', 'password_hash': hash_password('alice-secret-1')}}
    ),
    'DDA_STORAGE_SECRET': 'an-e2e-secret-of-32-characters!!',
    'DDA_REFRESH_SECONDS': '2',
    'DDA_DEMO_STEP_SECONDS': '5',
}


class SharedDemo:
    """One demo portal with sign-in (alice, a Data Scientist) for the modules that look at its pages
    (accessibility, layouts): started by the first of them, stopped after the last."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.stack = ExitStack()
        self.url: str | None = None

    def start(self) -> str:
        if self.url is None:
            self.url = self.stack.enter_context(running_portal(self.work, ['--demo'], SIGNED_ENV))
        return self.url

    def stop(self) -> None:
        self.url = None
        self.stack.close()


@pytest.fixture(scope='session')
def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedDemo]:
    shared = SharedDemo(tmp_path_factory.mktemp('signed-demo'))
    yield shared
    shared.stop()


@pytest.fixture(scope='module')
def signed_demo(request: pytest.FixtureRequest, shared_demo: SharedDemo) -> Iterator[str]:
    """The demo with sign-in, shared by the modules that use this fixture: each may sign in and look, none
    depends on what another did; it stops after the last test that uses it."""
    yield shared_demo.start()
    items = request.session.items
    last = max(i for i, item in enumerate(items) if getattr(item, 'module', None) is request.module)
    if not any('signed_demo' in getattr(item, 'fixturenames', ()) for item in items[last + 1 :]):
        shared_demo.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules sharing `signed_demo` run one after the other, where the first of them was: the shared
    portal then runs once, and never while other modules run."""
    shared = [item for item in items if 'signed_demo' in getattr(item, 'fixturenames', ())]
    if shared:
        first = items.index(shared[0])
        rest = [item for item in items if 'signed_demo' not in getattr(item, 'fixturenames', ())]
        items[:] = rest[:first] + shared + rest[first:]


def signed_in_state(browser: Browser, url: str) -> Any:
    """The cookies of a browser context in which alice signed in: new contexts start signed in with them."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f'{url}/login')
        page.get_by_label('User name').fill('alice')
        page.get_by_label('Password', exact=True).fill('alice-secret-1')
        page.get_by_role('button', name='Sign in').click()
        page.get_by_text('alice · Data Scientist').wait_for()
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture(scope='module')
def browser() -> Iterator[Browser]:
    executable = shutil.which('chromium')
    if executable is None:
        pytest.fail("Debian's chromium is required for end-to-end tests (the test command installs it)")
    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh, temporary user-data directory
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page()
    errors: list[str] = []
    page.on('pageerror', lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert not errors, errors
