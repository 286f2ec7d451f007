"""Accessibility in real headless Chromium: axe-core (package.json, installed by the test command) finds no
serious or critical violation on the portal's pages and dialogs; the list is usable by keyboard; dialogs
trap focus, close on Escape and give focus back; toasts and the refresh banner are announced."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from dda_portal.launch import ROOT

AXE = ROOT / 'node_modules' / 'axe-core' / 'axe.min.js'
BLOCKING = ('serious', 'critical')


def axe_violations(page: Page, within: str = 'document') -> list[dict[str, object]]:
    """axe-core's serious and critical violations of the page as it is now (or of one element in it)."""
    if not AXE.exists():
        pytest.fail(f'{AXE} is missing: run `npm ci` at the repository root (the test command does)')
    if not page.evaluate('typeof window.axe !== "undefined"'):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        f"""async () => {{
            const result = await axe.run({within}, {{resultTypes: ['violations']}});
            return result.violations.map(v => ({{
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' ') + ' ' + n.html.slice(0, 160) + ' '
                    + (n.any[0] && n.any[0].data ? JSON.stringify(n.any[0].data) : '')).slice(0, 8),
                count: v.nodes.length,
            }}));
        }}"""
    )
    return [violation for violation in found if violation['impact'] in BLOCKING]


def assert_accessible(page: Page, where: str, within: str = 'document') -> None:
    page.wait_for_load_state('networkidle')
    violations = axe_violations(page, within)
    lines = [
        f'{v["id"]} ({v["impact"]}, {v["count"]} nodes): {v["help"]} at {", ".join(v["targets"])}'  # type: ignore[arg-type]
        for v in violations
    ]
    assert not violations, f'{where}: ' + '\n'.join(lines)


@pytest.fixture(scope='module')
def alice(browser: Browser, signed_demo: str) -> Iterator[Page]:
    """One page, signed in once, that every check of the module walks through in turn."""
    # the portal's Content-Security-Policy allows no inline script: the test injects axe-core past it
    context = browser.new_context(viewport={'width': 1280, 'height': 800}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on('pageerror', lambda error: errors.append(str(error)))
    page.goto(f'{signed_demo}/login')
    page.get_by_label('User name').fill('alice')
    page.get_by_label('Password', exact=True).fill('alice-secret-1')
    page.get_by_role('button', name='Sign in').click()
    expect(page.get_by_text('alice · Data Scientist')).to_be_visible()
    yield page
    context.close()
    assert not errors, errors


def open_job(page: Page, url: str, name: str, tab: str) -> None:
    """The tab of the training job whose name contains NAME (the demo's names end with a date)."""
    page.goto(url)
    link = page.locator('tbody tr', has_text=name).locator('a[href*="/training-jobs/"]').first
    expect(link).to_be_visible(timeout=30_000)
    href = link.get_attribute('href') or ''  # with ?use-case=… when the demo has several use cases
    page.goto(f'{url}{href}{"&" if "?" in href else "?"}tab={tab}')
    expect(page.get_by_role('tab', name=tab.capitalize())).to_have_attribute('aria-selected', 'true')


def test_sign_in_page_is_accessible(browser: Browser, signed_demo: str) -> None:
    context = browser.new_context(viewport={'width': 1280, 'height': 800}, bypass_csp=True)
    page = context.new_page()
    page.goto(f'{signed_demo}/login')
    expect(page.get_by_role('button', name='Sign in')).to_be_visible()
    assert_accessible(page, '/login')
    page.get_by_role('button', name='Sign in').click()  # nothing typed: the error said is checked too
    expect(page.get_by_role('alert')).to_be_visible()
    assert_accessible(page, '/login with an error')
    context.close()


@pytest.mark.parametrize(
    'path', ['/', '/components', '/devices', '/devices/dda-line1-jetson-01', '/fleet', '/alerts']
)
def test_page_is_accessible(alice: Page, signed_demo: str, path: str) -> None:
    alice.goto(f'{signed_demo}{path}')
    expect(alice.locator('main, .q-page').first).to_be_visible()
    if path in ('/', '/components', '/devices'):
        expect(alice.locator('tbody tr').first).to_be_visible(timeout=30_000)
    assert_accessible(alice, path)


@pytest.mark.parametrize('tab', ['overview', 'logs', 'compilation', 'components'])
def test_training_job_tab_is_accessible(alice: Page, signed_demo: str, tab: str) -> None:
    open_job(alice, signed_demo, 'dda-weld-seam-cracks', tab)
    assert_accessible(alice, f'training job tab {tab}')


def expect_focus_inside(dialog: Locator) -> None:
    expect(dialog).to_be_visible()
    # past the last control, focus goes to the browser's own controls (the page's body), as with any modal
    inside = 'el => el.contains(document.activeElement) || document.activeElement === document.body'
    dialog.page.wait_for_function(
        '() => document.querySelector("[role=dialog]")?.contains(document.activeElement)'
    )
    for _ in range(25):  # Tab and Shift+Tab go round the dialog's controls, never out to the page
        dialog.page.keyboard.press('Tab')
        assert dialog.evaluate(inside), 'Tab left the open dialog'
    for _ in range(5):
        dialog.page.keyboard.press('Shift+Tab')
        assert dialog.evaluate(inside), 'Shift+Tab left the open dialog'


def check_dialog(page: Page, opener: Locator, where: str, opener_may_go: bool = False) -> None:
    """The dialog the opener opens: no violation, focus kept inside, Escape closes it, focus back on the
    opener (`opener_may_go`: unless the opener is gone meanwhile, as a finished compilation's Stop)."""
    opener.focus()
    page.keyboard.press('Enter')
    dialog = page.get_by_role('dialog')
    expect_focus_inside(dialog)
    assert_accessible(page, where)
    # axe judges colours where elements are on screen: once more with the dialog scrolled to its end
    dialog.get_by_role('button').last.scroll_into_view_if_needed()
    assert_accessible(page, f'{where}, scrolled to its end')
    page.keyboard.press('Escape')
    expect(dialog).to_be_hidden()
    if not opener_may_go or opener.count():
        expect(opener).to_be_focused()


def test_compile_dialog_is_accessible_and_keyboard_friendly(alice: Page, signed_demo: str) -> None:
    open_job(alice, signed_demo, 'dda-textile-weave-defects', 'compilation')
    check_dialog(alice, alice.get_by_role('button', name='Compile for more targets'), 'compile dialog')


def test_attempt_details_are_accessible_and_keyboard_friendly(alice: Page, signed_demo: str) -> None:
    open_job(alice, signed_demo, 'dda-weld-seam-cracks', 'compilation')
    table = alice.get_by_test_id('compilation-table')
    failed = table.locator('tbody tr').filter(has=alice.locator('[data-status="Failed"]')).first
    check_dialog(alice, failed.get_by_role('button', name='Details'), 'attempt details')


def test_stop_dialog_is_accessible_and_keyboard_friendly(alice: Page, signed_demo: str) -> None:
    # a compilation of its own, just started: the demo's live ones may have finished by now
    open_job(alice, signed_demo, 'dda-textile-weave-defects', 'compilation')
    table = alice.get_by_test_id('compilation-table')
    row = table.locator('tbody tr', has_text='NVIDIA Jetson Xavier')
    if not row.get_by_role('button', name='Stop').count():
        alice.get_by_role('button', name='Compile for more targets').click()
        dialog = alice.get_by_role('dialog')
        dialog.get_by_role('checkbox', name='NVIDIA Jetson Xavier').click()
        dialog.get_by_role('button', name='Start compilation').click()
        expect(dialog).to_be_hidden()
    stop = row.get_by_role('button', name='Stop')
    expect(stop).to_be_visible(timeout=30_000)
    check_dialog(alice, stop, 'stop dialog', opener_may_go=True)


def test_deploy_dialog_is_accessible_and_keyboard_friendly(alice: Page, signed_demo: str) -> None:
    open_job(alice, signed_demo, 'dda-weld-seam-cracks', 'components')
    card = alice.locator('.q-card', has_text='jetson-xavier').filter(has_text='Deployable').first
    check_dialog(alice, card.get_by_role('button', name='Deploy…'), 'deploy dialog')


def test_the_list_is_usable_by_keyboard_with_a_visible_focus(alice: Page, signed_demo: str) -> None:
    """From the top of the list, Tab reaches the filters and a job's link; Enter follows the link; on the
    job's Compilation tab, Tab reaches the compile button. Each focused control shows an outline."""
    alice.goto(signed_demo)
    expect(alice.locator('tbody tr').first).to_be_visible(timeout=30_000)
    reached: list[dict[str, str]] = []
    for _ in range(60):
        alice.keyboard.press('Tab')
        focused = alice.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return {
                    tag: el.tagName, text: (el.innerText || '').trim(),
                    href: el.getAttribute('href') || '', inTable: String(!!el.closest('tbody')),
                    inFilters: String(!!el.closest('.q-chip, .q-field')),
                    // an outline, or a field's own focused look (its coloured underline)
                    outline: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
                        || !!el.closest('.q-field--focused') ? 'yes' : 'no',
                };
            }"""
        )
        reached.append(focused)
        if focused['inTable'] == 'true' and '/training-jobs/' in focused['href']:
            break
    assert any(f['inFilters'] == 'true' for f in reached), reached
    link = reached[-1]
    assert '/training-jobs/' in link['href'], reached
    no_outline = [f for f in reached if f['outline'] != 'yes']
    assert not no_outline, f'focus not visible on {no_outline}'
    alice.keyboard.press('Enter')
    expect(alice).to_have_url(re.compile(r'/training-jobs/'))

    alice.get_by_role('tab', name='Compilation').focus()
    alice.keyboard.press('Enter')
    expect(alice).to_have_url(re.compile(r'tab=compilation'))
    compile_button = alice.get_by_role('button', name='Compile for more targets')
    for _ in range(40):
        if alice.evaluate('el => el === document.activeElement', compile_button.element_handle()):
            break
        alice.keyboard.press('Tab')
    expect(compile_button).to_be_focused()


def test_toasts_and_the_refresh_banner_are_announced(alice: Page, signed_demo: str) -> None:
    alice.goto(signed_demo)
    banner = alice.get_by_test_id('refresh-announcer')
    expect(banner).to_have_count(1)  # in the page from the start, so a screen reader hears what it says
    assert banner.get_attribute('role') == 'alert'
    alice.get_by_role('button', name='Refresh now').click()
    toast = alice.locator('.q-notification', has_text='Refreshed from AWS')
    expect(toast).to_be_visible(timeout=30_000)
    expect(toast).to_have_attribute('role', re.compile('alert|status'))


def test_axe_itself_finds_a_violation(alice: Page, signed_demo: str) -> None:
    """The check can fail: an icon-only button without a name is reported."""
    alice.goto(signed_demo)
    alice.evaluate(
        """() => { const b = document.createElement('button'); b.id = 'unnamed';
                   document.querySelector('main, .q-page').appendChild(b); }"""
    )
    assert [v['id'] for v in axe_violations(alice, 'document')] == ['button-name']


@pytest.mark.parametrize(
    ('width', 'height', 'scheme'),
    [(1024, 768, 'light'), (1920, 1080, 'light'), (1280, 800, 'dark')],
    ids=['1024x768', '1920x1080', '1280x800-dark'],
)
def test_pages_are_accessible_at_other_sizes_and_in_dark_mode(
    browser: Browser, signed_demo: str, width: int, height: int, scheme: str
) -> None:
    """The same checks at the other common sizes, and with the system set to dark (its own colours)."""
    context = browser.new_context(
        viewport={'width': width, 'height': height},
        color_scheme=scheme,  # type: ignore[arg-type]
        bypass_csp=True,
    )
    page = context.new_page()
    page.goto(f'{signed_demo}/login')
    page.get_by_label('User name').fill('alice')
    page.get_by_label('Password', exact=True).fill('alice-secret-1')
    page.get_by_role('button', name='Sign in').click()
    expect(page.get_by_text('alice · Data Scientist')).to_be_visible()
    if scheme == 'dark':
        expect(page.locator('body.body--dark')).to_have_count(1)
    for path in ('/', '/components', '/devices', '/fleet', '/alerts'):
        page.goto(f'{signed_demo}{path}')
        if path in ('/', '/components', '/devices'):
            expect(page.locator('tbody tr').first).to_be_visible(timeout=30_000)
        assert_accessible(page, f'{path} at {width}x{height} ({scheme})')
    for tab in ('overview', 'compilation', 'components'):
        open_job(page, signed_demo, 'dda-weld-seam-cracks', tab)
        assert_accessible(page, f'training job tab {tab} at {width}x{height} ({scheme})')
    context.close()
