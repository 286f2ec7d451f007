"""A viewer's walk through the demo in real headless Chromium: list → job → Compilation → live change."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

ROLLUPS = ('Not compiled', 'Compiling', 'Compiled', 'Compilation failed')
STATES = ('Starting', 'In progress', 'Stopping', 'Stopped', 'Completed', 'Failed', 'Unknown')


def rollup_texts(page: Page) -> list[str]:
    return page.locator('[data-status]').all_inner_texts()


def test_list_shows_every_job_with_rollup_and_counts(page: Page, demo_url: str) -> None:
    page.goto(demo_url)
    expect(page.get_by_role('columnheader', name='Compilation')).to_be_visible()
    expect(page.locator('tbody tr').first).to_be_visible()
    body = page.locator('tbody').inner_text()
    assert sum(word in body for word in ROLLUPS) >= 3, body
    assert re.search(r'\d+/\d+ compiled', body)


def test_compilation_tab_shows_columns_states_and_a_live_change(page: Page, demo_url: str) -> None:
    page.goto(demo_url)
    compiling_row = page.locator('tbody tr', has_text='Compiling').first
    expect(compiling_row).to_be_visible(timeout=30_000)
    compiling_row.locator('a').click()
    expect(page).to_have_url(re.compile(r'/training-jobs/'))
    page.get_by_role('tab', name='Compilation').click()
    expect(page).to_have_url(re.compile(r'tab=compilation'))
    table = page.locator('.q-table').filter(has_text='Target')
    for column in ('Target', 'Status', 'Started', 'Duration', 'Artifact'):
        expect(table.get_by_role('columnheader', name=column, exact=True)).to_be_visible()
    statuses = table.locator('tbody [data-status]')
    expect(statuses.first).to_be_visible()
    before = statuses.all_inner_texts()
    assert all(text.strip() in STATES for text in before), before
    page.evaluate('window.__not_reloaded = true')

    # the simulator moves the running compilation along; the page must show it without a reload
    page.wait_for_function(
        '''before => {
            const now = [...document.querySelectorAll('.q-table tbody [data-status]')].map(e => e.innerText.trim());
            return JSON.stringify(now) !== JSON.stringify(before);
        }''', arg=[text.strip() for text in before], timeout=60_000)
    assert page.evaluate('window.__not_reloaded') is True
    expect(page.get_by_role('tab', name='Compilation')).to_have_attribute('aria-selected', 'true')


def test_unknown_job_shows_not_found(page: Page, demo_url: str) -> None:
    response = page.goto(f'{demo_url}/training-jobs/does-not-exist')
    assert response is not None and response.status == 404
    expect(page.get_by_text('Training job not found')).to_be_visible()
