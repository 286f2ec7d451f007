"""A viewer's walk through the demo in real headless Chromium: list → job → Compilation → live change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

ROLLUPS = ('Not compiled', 'Compiling', 'Compiled', 'Compilation failed')
RUNNING = {'Starting', 'In progress', 'Stopping'}
STATES = ('Starting', 'In progress', 'Stopping', 'Stopped', 'Completed', 'Failed', 'Unknown')


def states(locator: Locator) -> list[str]:
    """The state words of the status cells (the icon's ligature name is not part of them)."""
    return locator.evaluate_all('cells => cells.map(cell => cell.dataset.status)')


def test_list_shows_every_job_with_rollup_and_counts(page: Page, demo_url: str) -> None:
    page.goto(demo_url)
    expect(page.get_by_role('columnheader', name='Compilation')).to_be_visible()
    expect(page.locator('tbody tr').first).to_be_visible()
    body = page.locator('tbody').inner_text()
    shown = set(states(page.locator('tbody [data-status]')))
    assert len(shown & set(ROLLUPS)) >= 3, shown
    assert re.search(r'\d+/\d+ compiled', body)


def open_a_running_compilation(page: Page, demo_url: str) -> list[str]:
    """Open the Compilation tab of a job the list shows compiling, and return its states once one of them
    is still running (the simulator may finish a compilation between the list and the tab: try another)."""
    for attempt in range(6):
        page.goto(demo_url)
        rows = page.locator('tbody tr', has_text='Compiling')
        expect(rows.first).to_be_visible(timeout=30_000)
        rows.nth(attempt % rows.count()).locator('a').click()
        expect(page).to_have_url(re.compile(r'/training-jobs/'))
        page.get_by_role('tab', name='Compilation').click()
        expect(page).to_have_url(re.compile(r'tab=compilation'))
        table = page.get_by_test_id('compilation-table')
        for column in ('Target', 'Status', 'Started', 'Duration', 'Artifact'):
            expect(table.get_by_role('columnheader', name=column, exact=True)).to_be_visible()
        statuses = table.locator('tbody [data-status]')
        expect(statuses.first).to_be_visible()
        before = states(statuses)
        assert before and all(state in STATES for state in before), before
        if set(before) & RUNNING:
            return before
    pytest.fail('no job the list showed compiling was still compiling when its page opened (6 tries)')


def test_compilation_tab_shows_columns_states_and_a_live_change(page: Page, demo_url: str) -> None:
    before = open_a_running_compilation(page, demo_url)
    page.evaluate('window.__not_reloaded = true')

    # the simulator moves the running compilation along; the page must show it without a reload
    page.wait_for_function(
        """before => {
            const cells = document.querySelectorAll('[data-testid=compilation-table] tbody [data-status]');
            const now = [...cells].map(e => e.dataset.status);
            return JSON.stringify(now) !== JSON.stringify(before);
        }""",
        arg=before,
        timeout=60_000,
    )
    assert page.evaluate('window.__not_reloaded') is True
    expect(page.get_by_role('tab', name='Compilation')).to_have_attribute('aria-selected', 'true')


def test_unknown_job_shows_not_found(page: Page, demo_url: str) -> None:
    response = page.goto(f'{demo_url}/training-jobs/does-not-exist')
    assert response is not None and response.status == 404
    expect(page.get_by_text('Training job not found')).to_be_visible()


def test_start_a_compilation_for_two_targets(page: Page, demo_url: str) -> None:
    page.goto(demo_url)
    # the demo's one training job that nothing compiles by itself
    row = page.locator('tbody tr', has_text='dda-textile-weave-defects')
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator('[data-status="Not compiled"]')).to_be_visible()
    name = row.locator('a').inner_text()
    row.locator('a').click()
    page.get_by_role('tab', name='Compilation').click()
    expect(page.get_by_text('No compilation jobs for this training job yet.')).to_be_visible()

    page.get_by_role('button', name='Compile for more targets').click()
    dialog = page.get_by_role('dialog')
    expect(dialog.get_by_text(f'Compile {name} for more targets')).to_be_visible()
    dialog.get_by_role('checkbox', name='x86_64 CPU').click()
    dialog.get_by_role('checkbox', name='ARM64 CPU').click()
    dialog.get_by_role('button', name='Start compilation').click()

    expect(dialog).to_be_hidden()
    table = page.get_by_test_id('compilation-table')
    expect(table.locator('tbody tr')).to_have_count(2)
    expect(table.get_by_role('cell', name='x86_64 CPU')).to_be_visible()
    expect(table.get_by_role('cell', name='ARM64 CPU')).to_be_visible()
    assert set(states(table.locator('tbody [data-status]'))) <= {
        'Starting',
        'In progress',
        'Completed',
        'Failed',
    }
    # and stop one of them again, after confirming
    table.locator('tbody tr', has_text='ARM64 CPU').get_by_role('button', name='Stop').click()
    page.get_by_role('dialog').get_by_role('button', name='Stop compilation').click()
    arm_status = table.locator('tbody tr', has_text='ARM64 CPU').locator('[data-status]')
    expect(arm_status).to_have_attribute('data-status', re.compile('Stopping|Stopped'))


def test_failed_target_shows_reason_guidance_and_a_downloadable_log(page: Page, demo_url: str) -> None:
    page.goto(demo_url)
    row = page.locator('tbody tr', has_text='dda-weld-seam-cracks')
    row.locator('a').click()
    page.get_by_role('tab', name='Compilation').click()
    table = page.get_by_test_id('compilation-table')
    failed = table.locator('tbody tr').filter(has=page.locator('[data-status="Failed"]')).first
    failed.get_by_role('button', name='Details').click()
    dialog = page.get_by_role('dialog')
    expect(dialog.get_by_text('OperatorNotImplemented').first).to_be_visible()
    expect(dialog.get_by_text('Likely cause:')).to_be_visible()
    expect(dialog.get_by_role('link', name='AWS documentation')).to_be_visible()
    expect(dialog.get_by_text(re.compile(r'^\d+ log events'))).to_be_visible()
    with page.expect_download() as download_info:
        dialog.get_by_role('button', name='Download log').click()
    download = download_info.value
    assert download.suggested_filename.endswith('.log')
    text = Path(download.path()).read_text()
    assert 'OperatorNotImplemented' in text
    assert '/model-info-extraction\t' in text


def test_download_gives_the_compiled_model_through_a_fresh_link(page: Page, demo_url: str) -> None:
    page.goto(demo_url)
    page.locator('tbody tr', has_text='dda-weld-seam-cracks').locator('a').click()
    page.get_by_role('tab', name='Compilation').click()
    completed = (
        page.get_by_test_id('compilation-table')
        .locator('tbody tr')
        .filter(has=page.locator('[data-status="Completed"]'))
        .first
    )
    assert 'X-Amz-Signature' not in page.content()  # no link is embedded before the click
    with page.expect_download() as download_info:
        completed.get_by_role('button', name='Download').click()
    download = download_info.value
    assert download.suggested_filename.endswith('.tar.gz')
    data = Path(download.path()).read_bytes()
    assert data[:2] == b'\x1f\x8b'  # a gzip archive, as Neo writes it


def test_follow_one_model_from_training_job_to_a_device(page: Page, demo_url: str) -> None:
    page.goto(demo_url)
    page.locator('tbody tr', has_text='dda-weld-seam-cracks').locator('a').click()
    page.get_by_role('tab', name='Compilation').click()
    jetson = page.get_by_test_id('compilation-table').locator('tbody tr', has_text='NVIDIA Jetson Xavier')
    expect(jetson).to_contain_text('model-weld-seam-cracks-jetson-xavier 1.0.0')
    page.get_by_role('tab', name='Components').click()
    expect(page).to_have_url(re.compile(r'tab=components'))
    card = page.locator('.q-tab-panel:visible .q-card', has_text='model-weld-seam-cracks-jetson-xavier 1.0.0')
    expect(card).to_be_visible()
    expect(card.get_by_text(re.compile(r'^dda-line1-jetson-01: running, device healthy'))).to_be_visible()

    page.get_by_role('link', name='Devices').click()
    device_row = page.get_by_test_id('devices-table').locator('tbody tr', has_text='dda-line1-jetson-01')
    expect(device_row).to_contain_text('model-weld-seam-cracks-jetson-xavier 1.0.0 (running)')
    stale_row = page.get_by_test_id('devices-table').locator('tbody tr', has_text='dda-line3-jetson-03')
    expect(stale_row).to_contain_text('stale')

    page.get_by_role('link', name='Components').click()
    component_row = page.get_by_test_id('components-table').locator(
        'tbody tr', has_text='model-weld-seam-cracks-jetson-xavier'
    )
    expect(component_row).to_contain_text('dda-line1-jetson-01')
    expect(component_row.get_by_role('link', name='console')).to_have_attribute(
        'href', re.compile(r'^https://us-east-1\.console\.aws\.amazon\.com/iot/')
    )


def test_pages_use_no_tailwind_runtime_and_keep_their_look(page: Page, demo_url: str) -> None:
    """No in-browser CSS compiler is loaded; the portal's own utility classes and its primary color apply."""
    page.goto(demo_url)
    expect(page.locator('tbody tr').first).to_be_visible()
    scripts = page.evaluate('[...document.scripts].map(s => s.src).filter(Boolean)')
    assert scripts and not [src for src in scripts if 'tailwind' in src], scripts
    looks = page.evaluate(
        """() => {
            const table = document.querySelector('.q-table__container');
            const header = document.querySelector('.q-header');
            const count = table.previousElementSibling;  // "N training jobs"
            return {
                fontSize: getComputedStyle(count).fontSize,
                mainWidth: getComputedStyle(table.parentElement).maxWidth,
                header: getComputedStyle(header).backgroundColor,
            };
        }"""
    )
    assert looks == {'fontSize': '14px', 'mainWidth': '1280px', 'header': 'rgb(31, 78, 121)'}, looks


def test_a_device_that_stops_reporting_turns_stale_in_an_open_page(page: Page, demo_url: str) -> None:
    """ "… ago" and the stale badge follow the browser's clock: a day without a report makes a device stale
    in a page left open, with no change to its row."""
    page.clock.install()
    page.goto(f'{demo_url}/devices')
    row = page.get_by_test_id('devices-table').locator('tbody tr', has_text='dda-line1-jetson-02')
    expect(row).to_contain_text(re.compile(r'\d+ hours? ago'))  # the exact UTC time on hover
    expect(row.locator('[data-time]')).to_have_attribute(
        'title', re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$')
    )
    expect(row.get_by_text('stale', exact=True)).to_have_count(0)
    page.clock.fast_forward('24:00:00')
    expect(row.get_by_text('stale', exact=True)).to_be_visible()
    expect(row).to_contain_text(re.compile(r'a day ago|\d+ days ago'))
