"""Writes the README's pictures: the demo portal in Debian's headless Chromium at 1280×800.

Usage: python scripts/screenshots.py [OUTPUT_DIRECTORY]  (default docs/)
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from dda_portal.auth import hash_password  # noqa: E402
from dda_portal.launch import CHROMIUM_FLAGS, DidNotStart, environment, launched  # noqa: E402

SECRETS = {'alice': 'alice-secret-1', 'bob': 'bob-secret-1'}


def settle(page: Page) -> None:
    page.wait_for_load_state('networkidle')
    page.wait_for_timeout(800)


def sign_in(page: Page, url: str, name: str) -> None:
    page.goto(f'{url}/login')
    page.get_by_label('User name').fill(name)
    page.get_by_label('Password', exact=True).fill(SECRETS[name])
    page.keyboard.press('Enter')
    page.wait_for_url(lambda u: '/login' not in u, timeout=20_000)
    settle(page)


def shoot(page: Page, out: Path, name: str) -> None:
    page.screenshot(path=str(out / name))
    print(f'wrote {out / name}')


def on_tab(address: str, tab: str) -> str:
    """A job's address (which may carry ?use-case=…) opened on one tab."""
    return f'{address}{"&" if "?" in address else "?"}tab={tab}'


def job_with_running_and_failed_target(page: Page, url: str) -> str:
    """The address of a compiling job whose Compilation tab shows a running and a failed target."""
    page.goto(f'{url}/?rollup=Compiling')
    settle(page)
    page.locator('tbody tr').first.wait_for(timeout=20_000)
    jobs = page.locator('tbody tr a').evaluate_all('links => links.map(a => a.getAttribute("href"))')
    for job in jobs:
        page.goto(f'{url}{on_tab(job, "compilation")}')
        table = page.locator('[data-testid=compilation-table]')
        table.locator('tbody [data-status]').first.wait_for(timeout=20_000)
        states = set(table.locator('tbody [data-status]').evaluate_all('e => e.map(x => x.dataset.status)'))
        if states & {'Starting', 'In progress'} and 'Failed' in states:
            return f'{url}{job}'
    raise SystemExit(f'No job of the demo has a running and a failed target (looked at {jobs})')


def take_pictures(url: str, out: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which('chromium'), args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={'width': 1280, 'height': 800}).new_page()
        page.goto(f'{url}/login')
        settle(page)
        shoot(page, out, 'sign-in.png')
        sign_in(page, url, 'alice')

        # the list filtered to what needs attention, a rollup's per-target tooltip open
        page.goto(f'{url}/?rollup=Compiling,Compilation+failed')
        settle(page)
        page.get_by_text(re.compile(r'^Showing \d+ of \d+ training jobs$')).wait_for(timeout=20_000)
        page.locator('tbody [data-status="Compiling"]').first.hover()
        page.locator('.q-tooltip').first.wait_for(timeout=10_000)
        page.wait_for_timeout(600)
        shoot(page, out, 'training-jobs.png')

        job_url = job_with_running_and_failed_target(page, url)
        page.goto(on_tab(job_url, 'compilation'))
        settle(page)
        shoot(page, out, 'compilation-tab.png')
        table = page.locator('[data-testid=compilation-table]')
        failed = table.locator('tbody tr', has=page.locator('[data-status="Failed"]')).first
        failed.get_by_role('button', name='Details').click()
        page.get_by_role('dialog').wait_for(timeout=10_000)
        settle(page)
        shoot(page, out, 'attempt-details.png')
        page.keyboard.press('Escape')

        for path, name in (
            ('/components', 'components.png'),
            ('/devices', 'devices.png'),
            ('/fleet', 'fleet-matrix.png'),
        ):
            page.goto(url + path)
            settle(page)
            shoot(page, out, name)
        context = browser.new_context(viewport={'width': 1280, 'height': 800})
        operator = context.new_page()
        sign_in(operator, url, 'bob')
        operator.goto(on_tab(job_url, 'compilation'))
        settle(operator)
        shoot(operator, out, 'operator-compilation-tab.png')
        browser.close()


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / 'docs').resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='dda-shots-'))
    users = {
        'alice': {'role': 'data-scientist', 'password_hash': hash_password(SECRETS['alice'])},
        'bob': {'role': 'operator', 'password_hash': hash_password(SECRETS['bob'])},
    }
    env = environment(
        {
            'DDA_DATABASE_URL': f'sqlite:///{work / "portal.db"}',
            # the simulator steps once a minute: running compilations stay running for the pictures
            'DDA_DEMO_STEP_SECONDS': '60',
            'DDA_USERS': json.dumps(users),
            'DDA_STORAGE_SECRET': 'a-screenshot-secret-of-32-chars!',
        }
    )
    try:
        with launched(['--demo'], env, work / 'portal.log') as (url, _):
            take_pictures(url, out)
    except DidNotStart as error:
        raise SystemExit(f'The demo portal did not start; see {work / "portal.log"}') from error
    return 0


if __name__ == '__main__':
    sys.exit(main())
