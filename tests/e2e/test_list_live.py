"""The training-jobs list in real headless Chromium: filter and sort survive the demo's live changes."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

# what a live update can change on the list: chip counts, rows shown, their states
SNAPSHOT = """() => JSON.stringify({
    chips: [...document.querySelectorAll('.q-chip')].map(chip => chip.innerText),
    rows: [...document.querySelectorAll('.q-table tbody tr')].map(
        row => [...row.querySelectorAll('[data-status]')].map(cell => cell.dataset.status).join('/')
    ),
})"""


def visible_names(page: Page) -> list[str]:
    return page.locator('.q-table tbody tr td:first-child a').all_inner_texts()


def test_filter_and_sort_survive_live_updates_without_a_reload(page: Page, demo_url: str) -> None:
    page.goto(demo_url)
    expect(page.locator('.q-table tbody tr').first).to_be_visible()

    compiled_chip = page.locator('.q-chip', has_text=re.compile(r'Compiled · \d+'))
    compiled_chip.click()
    expect(compiled_chip).to_have_class(re.compile(r'q-chip--selected'))
    expect(page).to_have_url(re.compile(r'/\?rollup=Compiled$'))
    page.get_by_role('columnheader', name='Training job').click()
    header = page.locator('.q-table thead th', has_text='Training job')
    expect(header).to_have_class(re.compile(r'sorted'))
    sort_class = header.get_attribute('class') or ''
    assert 'sort-desc' not in sort_class  # first click: ascending
    expect(page.locator('.q-table tbody [data-status="Compiled"]').first).to_be_visible()

    page.evaluate("window.__marker = 'not reloaded'")
    page.evaluate("document.querySelector('.q-table').__marker = 'same table'")
    before = page.evaluate(SNAPSHOT)
    page.wait_for_function(f'before => ({SNAPSHOT})() !== before', arg=before, timeout=60_000)

    assert page.evaluate('window.__marker') == 'not reloaded'
    assert page.evaluate("document.querySelector('.q-table').__marker") == 'same table'
    assert page.evaluate('location.pathname + location.search') == '/?rollup=Compiled'
    expect(compiled_chip).to_have_class(re.compile(r'q-chip--selected'))
    assert header.get_attribute('class') == sort_class  # still sorted by name, same direction
    names = visible_names(page)
    assert names == sorted(names)
    rollups = page.evaluate(COMPILATION_COLUMN)
    assert rollups and set(rollups) == {'Compiled'}, rollups


COMPILATION_COLUMN = """() => {
  const column = [...document.querySelectorAll('.q-table thead th')].findIndex(
    th => th.textContent.trim().startsWith('Compilation')) + 1;
  return [...document.querySelectorAll(`.q-table tbody tr td:nth-child(${column}) [data-status]`)]
    .map(cell => cell.dataset.status);
}"""


def test_rollup_tooltip_lists_each_target_with_state_and_duration(page: Page, demo_url: str) -> None:
    page.goto(f'{demo_url}/?rollup=Compilation+failed')
    cell = page.locator('.q-table tbody [data-status="Compilation failed"]').first
    expect(cell).to_be_visible()
    cell.hover()
    tooltip = page.locator('.q-tooltip')
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text('Failed')
    expect(tooltip).to_contain_text(re.compile(r'(CPU|Jetson|GPU):'))
    expect(tooltip).to_contain_text(re.compile(r'\d+ (s|min)'))


def test_url_filters_apply_on_load_and_the_name_search_updates_the_url(page: Page, demo_url: str) -> None:
    page.goto(f'{demo_url}/?status=Completed&q=bottle&rollup=nonsense')
    expect(page.locator('.q-table tbody tr').first).to_be_visible()
    names = visible_names(page)
    assert names and all('bottle' in name for name in names), names
    page.get_by_placeholder('Search by name').fill('no-such-training-job')
    expect(page.locator('.q-table tbody tr td:first-child a')).to_have_count(0)
    expect(page).to_have_url(re.compile(r'/\?status=Completed&q=no-such-training-job$'))
