"""Every page of the demo fits 1280×800, 1920×1080 and 1024×768 without horizontal scrolling, reads in dark
mode and shows times as how long ago, in real headless Chromium (one browser for the module; the demo with
sign-in is the one the accessibility checks use, signed in as alice)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import signed_in_state

SIZES = ((1280, 800), (1920, 1080), (1024, 768))
TABS = ('overview', 'logs', 'compilation', 'components')
ROLLUPS = ('Compiling', 'Compiled', 'Compilation failed', 'Not compiled')

# the document's horizontal overflow, and each table container that scrolls sideways (by its data-testid)
OVERFLOW = """() => {
  const found = [];
  const doc = document.documentElement.scrollWidth - window.innerWidth;
  if (doc > 0) {
    let widest = null, right = window.innerWidth;
    for (const e of document.body.querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (r.width && r.right > right + 1) { right = r.right; widest = e; }
    }
    const what = widest ? `${widest.tagName.toLowerCase()}.${widest.className} "${
      (widest.textContent || '').trim().slice(0, 60)}"` : '?';
    found.push(`document ${doc} px wider than the window (widest: ${what})`);
  }
  for (const m of document.querySelectorAll('.q-table__middle')) {
    if (m.offsetParent === null) continue;  // in a closed tab or expansion
    const over = m.scrollWidth - m.clientWidth;
    if (over > 1) {
      const owner = m.closest('[data-testid]');
      found.push(`table ${owner ? owner.dataset.testid : '?'} scrolls ${over} px sideways`);
    }
  }
  return found;
}"""

HREFS = 'links => links.map(a => a.getAttribute("href"))'


@pytest.fixture(scope='module')
def signed(browser: Browser, signed_demo: str) -> Any:
    """What a browser context needs to start signed in (alice's session cookie)."""
    return signed_in_state(browser, signed_demo)


def with_tab(href: str, tab: str) -> str:
    """A job's link (with ?use-case=… when the demo has several use cases) opened on one tab."""
    return f'{href}{"&" if "?" in href else "?"}tab={tab}'


def pages_to_check(page: Page, url: str) -> list[str]:
    """The fixed pages, every tab of one job per compilation rollup the demo has, and every device."""
    page.goto(url)
    page.locator('tbody tr').first.wait_for()
    jobs: list[str] = []
    for rollup in ROLLUPS:
        row = page.locator('tbody tr', has=page.locator(f'[data-status="{rollup}"]')).first
        if row.count():
            jobs.append(row.locator('a').first.get_attribute('href') or '')
    assert len(jobs) >= 3, jobs
    page.goto(f'{url}/devices')
    page.locator('tbody tr').first.wait_for()
    devices = page.locator('tbody a[href^="/devices/"]').evaluate_all(HREFS)
    assert devices
    found = ['/', '/components', '/devices', '/fleet', '/alerts', '/login']
    found += [with_tab(job, tab) for job in jobs for tab in TABS]
    return found + list(dict.fromkeys(devices))


def overflows(page: Page, where: str) -> list[str]:
    """What overflows at each size, the page and size named in each line."""
    found: list[str] = []
    for width, height in SIZES:
        page.set_viewport_size({'width': width, 'height': height})
        page.wait_for_timeout(150)  # the layout settles on the resize
        found += [f'{where} at {width}×{height}: {line}' for line in page.evaluate(OVERFLOW)]
    return found


def test_every_page_fits_three_window_sizes(browser: Browser, signed_demo: str, signed: Any) -> None:
    demo_url = signed_demo
    page = browser.new_page(viewport={'width': 1280, 'height': 800}, storage_state=signed)
    guest = browser.new_page(viewport={'width': 1280, 'height': 800})  # /login as someone signed out sees it
    errors: list[str] = []
    page.on('pageerror', lambda error: errors.append(str(error)))
    found: list[str] = []
    for path in pages_to_check(page, demo_url):
        if path == '/login':
            guest.goto(demo_url + path)
            guest.get_by_role('button', name='Sign in').wait_for()
            found += overflows(guest, path)
            continue
        page.set_viewport_size({'width': 1280, 'height': 800})
        page.goto(demo_url + path)
        page.wait_for_load_state('networkidle')
        page.locator('.q-page').first.wait_for()
        found += overflows(page, path)
        if path.endswith('tab=compilation'):  # all attempts shown, every long failure reason in full
            history = page.get_by_test_id('history-table')
            if not history.is_visible():
                page.get_by_text('All attempts, failed and stopped ones included').click()
                history.wait_for()
            show_all = page.get_by_role('button', name='Show all')
            for _ in range(20):  # each click turns its button into `Show less`
                if not show_all.count():
                    break
                show_all.first.click()
            assert page.get_by_role('button', name='Show all').count() == 0
            found += overflows(page, f'{path} (reasons shown in full)')
    page.close()
    guest.close()
    assert not found, '\n'.join(found)
    assert not errors, errors


def test_long_values_are_shortened_with_the_whole_value_on_hover(
    browser: Browser, signed_demo: str, signed: Any
) -> None:
    page = browser.new_page(storage_state=signed)
    page.goto(signed_demo)
    page.locator('tbody tr', has=page.locator('[data-status="Compiled"]')).first.locator('a').first.click()
    page.get_by_role('tab', name='Compilation').click()
    table = page.get_by_test_id('compilation-table')
    uri = table.locator('[title^="s3://"]').first
    uri.wait_for()
    whole = uri.get_attribute('title') or ''
    shown = uri.inner_text()
    assert '…' in shown and len(shown) < len(whole), (shown, whole)
    assert table.get_by_role('button', name='Copy S3 URI').count() >= 1
    started = table.locator('[data-time]').first
    assert started.inner_text().endswith('ago'), started.inner_text()
    assert (started.get_attribute('title') or '').endswith(' UTC')
    page.close()


# WCAG's contrast ratio of each element's text colour to the background it stands on (the first ancestor
# with an opaque background)
CONTRAST = """selectors => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => {
    const [r, g, b] = rgb(c).slice(0, 3).map(v => v / 255)
      .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = e => {
    for (; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor, a = rgb(c)[3];
      if (a === undefined || a > 0.9) return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const out = [];
  for (const selector of selectors) {
    const shown = [...document.querySelectorAll(selector)].filter(e => e === document.body || e.offsetParent);
    for (const e of shown.slice(0, 3)) {
      const fg = lum(getComputedStyle(e).color), bg = lum(background(e));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      out.push([selector, (e.textContent || '').trim().slice(0, 40), Math.round(ratio * 100) / 100]);
    }
  }
  return out;
}"""

KEY_TEXT = (
    'body',
    '.q-header a',
    'tbody td',
    'thead th',
    '.text-grey-8',
    '.text-grey-7',
    '.text-primary',
    '.text-orange-10',
    '.q-tab',
    '.nicegui-link',
)


def test_dark_mode_follows_the_system_and_reads(browser: Browser, signed_demo: str, signed: Any) -> None:
    demo_url = signed_demo
    context = browser.new_context(
        color_scheme='dark', viewport={'width': 1280, 'height': 800}, storage_state=signed
    )
    page = context.new_page()
    try:
        page.goto(demo_url)
        page.locator('tbody tr').first.wait_for()
        assert page.evaluate("document.body.classList.contains('body--dark')")
        failed = page.locator('tbody tr', has=page.locator('[data-status="Compilation failed"]')).first
        job = failed.locator('a').first.get_attribute('href') or ''
        measured: list[list[object]] = []
        job_tabs = (with_tab(job, 'overview'), with_tab(job, 'compilation'))
        for path in ('/', *job_tabs, '/devices', '/fleet', '/alerts'):
            page.goto(demo_url + path)
            page.wait_for_load_state('networkidle')
            measured += [[path, *row] for row in page.evaluate(CONTRAST, list(KEY_TEXT))]
        checked = {row[1] for row in measured}
        assert {'body', 'tbody td', '.text-grey-8', '.text-primary'} <= checked, checked
        low = [row for row in measured if float(str(row[3])) < 4.5]
        assert not low, '\n'.join(f'{p} {s} "{t}": contrast {r}' for p, s, t, r in low)
    finally:
        context.close()
    # and a light system keeps the light page
    light = browser.new_context(color_scheme='light', storage_state=signed)
    try:
        page = light.new_page()
        page.goto(demo_url)
        page.locator('tbody tr').first.wait_for()
        assert not page.evaluate("document.body.classList.contains('body--dark')")
    finally:
        light.close()


# every time a page shows: relative words ("… ago") in the text, the exact UTC time only as the tooltip;
# log lines keep their own exact times
TIMES_SHOWN = """() => {
  const exact = /\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}(:\\d{2})? UTC/;
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    if (!e || e.offsetParent === null || e.closest('[data-log]')) continue;
    if (exact.test(n.textContent)) found.push(`exact time in the text: "${n.textContent.trim()}"`);
  }
  const timed = [...document.querySelectorAll('[data-time]')].filter(e => e.offsetParent !== null);
  for (const e of timed) {
    const text = e.textContent.trim();
    if (!/ ago|now/.test(text)) found.push(`"${text}" is not relative`);
    if (!exact.test(e.getAttribute('title') || '')) found.push(`"${text}" has no exact time on hover`);
  }
  return {found, timed: timed.length};
}"""


def test_times_read_how_long_ago_with_the_exact_utc_time_on_hover(
    browser: Browser, signed_demo: str, signed: Any
) -> None:
    demo_url = signed_demo
    page = browser.new_page(viewport={'width': 1280, 'height': 800}, storage_state=signed)
    found: list[str] = []

    def check(where: str, least: int = 1) -> None:
        page.wait_for_load_state('networkidle')
        if least:
            page.locator('[data-time]').first.wait_for()
        seen = page.evaluate(TIMES_SHOWN)
        found.extend(f'{where}: {line}' for line in seen['found'])
        assert seen['timed'] >= least, (where, seen)

    page.goto(demo_url)
    page.locator('tbody tr').first.wait_for()
    compiled = page.locator('tbody tr', has=page.locator('[data-status="Compiled"]')).first
    failed = page.locator('tbody tr', has_text='dda-weld-seam-cracks').first  # a failed target, packaged ones
    jobs = [row.locator('a').first.get_attribute('href') for row in (compiled, failed)]
    check('/')
    for job, packaged in zip(jobs, (0, 1), strict=True):
        for tab, least in (('overview', 3), ('compilation', 1), ('components', packaged)):
            page.goto(f'{demo_url}{with_tab(job, tab)}')
            check(with_tab(job, tab), least)
    table = page.get_by_test_id('compilation-table')
    page.goto(f'{demo_url}{with_tab(jobs[1], "compilation")}')
    table.locator('tbody tr', has=page.locator('[data-status="Failed"]')).first.get_by_role(
        'button', name='Details'
    ).click()
    page.get_by_role('dialog').get_by_text('Compilation started').wait_for()
    check('a failed attempt', 4)  # the failure, created, started, ended
    page.keyboard.press('Escape')
    page.goto(f'{demo_url}/devices')
    page.locator('tbody tr').first.wait_for()
    device = page.locator('tbody a[href^="/devices/"]').first.get_attribute('href')
    for path in ('/components', '/devices', device, '/alerts'):
        page.goto(f'{demo_url}{path}')
        check(str(path), 0)
    page.close()
    assert not found, '\n'.join(found)


def test_a_time_just_ahead_of_the_browsers_clock_reads_now_never_from_now(
    browser: Browser, signed_demo: str, signed: Any
) -> None:
    """The pages' clock ticks every 30 s: a compilation that started since its last tick (or an AWS clock a
    few seconds ahead) once read "a second from now"."""
    page = browser.new_page(storage_state=signed)
    page.goto(signed_demo)
    page.locator('tbody tr').first.wait_for()
    texts = page.evaluate(
        """async () => {
            const {agoText} = await import('dda-clock');
            const now = Date.now();
            return [
                agoText(now + 2000, now - 20000),   // AWS 2 s ahead, the clock's last tick 20 s ago
                agoText(now - 20000, now - 25000),  // 20 s ago, after the last tick
                agoText(now + 150000, now),         // a time truly ahead
                agoText(now - 90000, now),
            ];
        }"""
    )
    page.close()
    assert texts == ['now', '20 seconds ago', '2 minutes from now', 'a minute ago']
