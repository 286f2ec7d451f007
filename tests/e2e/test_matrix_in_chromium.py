"""The compatibility matrix in real headless Chromium on the demo: words with icons, reasons as tooltips."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_matrix_shows_words_icons_and_the_reason_on_hover(page: Page, demo_url: str) -> None:
    page.goto(f'{demo_url}/fleet?target=jetson-xavier')
    grid = page.get_by_test_id('matrix-table')
    expect(grid.get_by_role('columnheader', name='dda-line1-jetson-02')).to_be_visible()
    expect(grid.get_by_text('JetPack 6.0').first).to_be_visible()  # the device's facts under its name
    words = set(grid.locator('[data-fit]').evaluate_all('cells => cells.map(cell => cell.dataset.fit)'))
    assert {'Incompatible', 'Unknown'} <= words, words
    assert all(cell.inner_text().strip() for cell in grid.locator('[data-fit] .q-icon').all())  # an icon each
    beyond = grid.locator('[data-fit="Incompatible"]', has_text='newer than any JetPack').first  # to readers
    beyond.hover()
    expect(page.locator('.q-tooltip')).to_contain_text('JetPack 6.0 is newer than any JetPack SageMaker Neo')
    expect(page.get_by_text('Versions 1–')).to_be_visible()
    expect(grid.get_by_role('link').first).to_have_attribute(
        'href', re.compile(r'^/training-jobs/dda-[a-z0-9-]+\?tab=components(&use-case=[a-z0-9-]+)?$')
    )
