"""The browser's guards on the demo in real headless Chromium: the portal works under its
Content-Security-Policy, no other site can frame it, every response carries the headers, and only allowed Host
names are served."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import nicegui
import pytest
from playwright.sync_api import Browser, Page, expect

from dda_portal.web_guards import HEADERS

pytestmark = pytest.mark.e2e

REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', e => window.reportCspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`
    + ` ${e.sample}`
));
"""
SOCKET_HANDSHAKE = '/_nicegui_ws/socket.io/?EIO=4&transport=polling'


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A page whose Content-Security-Policy violations (events and console reports) are collected, across
    navigations; downloads allowed."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    violations: list[str] = []
    page.expose_function('reportCspViolation', lambda violation: violations.append(violation))
    page.add_init_script(REPORT_VIOLATIONS)
    page.on('console', lambda m: violations.append(m.text) if 'Content Security Policy' in m.text else None)
    errors: list[str] = []
    page.on('pageerror', lambda error: errors.append(str(error)))
    yield page, violations
    context.close()
    assert not errors, errors


def test_the_portal_works_under_its_content_security_policy(
    watched: tuple[Page, list[str]], demo_url: str
) -> None:
    page, violations = watched
    page.goto(demo_url)
    expect(page.locator('.q-table tbody tr').first).to_be_visible()
    chip = page.locator('.q-chip', has_text=re.compile(r'Compiled · \d+'))
    chip.click()  # an event to the server over the socket, the answer changes the address
    expect(page).to_have_url(re.compile(r'/\?rollup=Compiled$'))
    expect(chip).to_have_class(re.compile(r'q-chip--selected'))
    updated = page.get_by_text(re.compile(r'^Last updated '))
    before = updated.inner_text()
    expect(updated).not_to_have_text(before, timeout=10_000)  # live updates arrive

    page.goto(demo_url)
    page.locator('tbody tr', has_text='dda-weld-seam-cracks').locator('a').click()
    page.get_by_role('tab', name='Compilation').click()
    expect(page).to_have_url(re.compile(r'tab=compilation'))
    table = page.get_by_test_id('compilation-table')
    expect(table.locator('tbody tr').first).to_be_visible()
    page.get_by_role('button', name='Compile for more targets').click()
    dialog = page.get_by_role('dialog')
    expect(dialog.get_by_role('button', name='Start compilation')).to_be_visible()
    dialog.get_by_role('button', name='Cancel').click()
    expect(dialog).to_be_hidden()

    completed = table.locator('tbody tr').filter(has=page.locator('[data-status="Completed"]')).first
    with page.expect_download() as model:  # a presigned URL of another origin (the emulated S3)
        completed.get_by_role('button', name='Download').click()
    assert model.value.suggested_filename.endswith('.tar.gz')
    failed = table.locator('tbody tr').filter(has=page.locator('[data-status="Failed"]')).first
    failed.get_by_role('button', name='Details').click()
    with page.expect_download() as log:  # made in the page, from a blob: URL
        page.get_by_role('dialog').get_by_role('button', name='Download log').click()
    assert log.value.suggested_filename.endswith('.log')

    page.keyboard.press('Escape')
    expect(page.get_by_role('dialog')).to_be_hidden()
    page.get_by_role('link', name='Components').click()
    expect(page.locator('tbody tr').first).to_be_visible()
    page.get_by_role('link', name='Devices').click()
    expect(page.get_by_test_id('devices-table').locator('tbody tr').first).to_be_visible()
    page.get_by_role('button', name='Refresh now').click()
    expect(page.get_by_text('Refreshed from AWS')).to_be_visible(timeout=20_000)
    assert violations == []


def test_a_script_injected_into_a_page_does_not_run(watched: tuple[Page, list[str]], demo_url: str) -> None:
    page, violations = watched
    page.goto(demo_url)
    expect(page.locator('.q-table tbody tr').first).to_be_visible()
    page.evaluate("""() => document.body.append(
        Object.assign(document.createElement('script'), {textContent: 'window.injected = true'}))""")
    page.wait_for_timeout(500)  # the violation report crosses to the test
    assert page.evaluate('window.injected') is None
    assert any(v.startswith('script-src-elem blocked inline') for v in violations), violations


@pytest.fixture
def other_site(demo_url: str) -> Iterator[str]:
    """A page of another origin (another port) that frames the portal, and one of its own pages."""
    portal = f'{demo_url}/'

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == '/own':
                body = b'<p id="own">a page of this site</p>'
            else:
                body = (
                    f'<iframe name="own" src="/own"></iframe><iframe name="portal" src="{portal}"></iframe>'
                ).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_port}/'
    server.shutdown()
    server.server_close()


def test_another_site_cannot_frame_the_portal(page: Page, other_site: str, demo_url: str) -> None:
    refusals: list[str] = []
    page.on('console', lambda m: refusals.append(m.text) if 'frame-ancestors' in m.text else None)
    page.goto(other_site, wait_until='load')  # the load event waits for both frames
    own = page.frame(name='own')
    assert own is not None
    expect(own.locator('#own')).to_have_text('a page of this site')  # the site can frame its own pages
    portal = page.frame(name='portal')
    assert portal is not None
    assert not portal.url.startswith(demo_url), portal.url  # Chromium shows its error page instead
    assert any("frame-ancestors 'none'" in refusal for refusal in refusals), refusals


def assert_guarded(response: httpx.Response) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name)
    policy = response.headers.get('content-security-policy', '')
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, response.url


def test_every_kind_of_response_carries_the_headers(demo_url: str) -> None:
    static = f'/_nicegui/{nicegui.__version__}/static/nicegui.js'
    expected = {
        '/': 200,
        '/devices': 200,
        '/login': 303,  # no sign-in configured: straight on
        '/healthz': 200,
        '/readyz': 200,
        '/training-jobs/does-not-exist': 404,
        '/no-such-page': 404,
        static: 200,
        SOCKET_HANDSHAKE: 200,
    }
    with httpx.Client(base_url=demo_url, timeout=10) as client:
        for path, status in expected.items():
            response = client.get(path)
            assert response.status_code == status, path
            assert_guarded(response)
        page = client.get('/')
        policy = page.headers['content-security-policy']
        assert re.search(r"script-src 'self' 'unsafe-eval'( 'sha256-[A-Za-z0-9+/=]+')+;", policy), policy
        assert "'unsafe-inline'" not in policy.split('script-src')[1].split(';')[0]


def test_only_allowed_host_names_are_served(demo_url: str) -> None:
    port = urlsplit(demo_url).port
    with httpx.Client(base_url=demo_url, timeout=10) as client:
        for host in (f'127.0.0.1:{port}', f'localhost:{port}', f'LocalHost:{port}', '127.0.0.1'):
            for path in ('/', '/healthz', SOCKET_HANDSHAKE):
                assert client.get(path, headers={'Host': host}).status_code == 200, (host, path)
        for host in ('evil.example', f'evil.example:{port}', f'127.0.0.1.evil.example:{port}'):
            for path in ('/', '/healthz', '/no-such-page', SOCKET_HANDSHAKE):
                response = client.get(path, headers={'Host': host})
                assert response.status_code == 400, (host, path)
                assert response.text == 'Invalid host header'
                assert_guarded(response)
    assert websocket_handshake(demo_url, f'127.0.0.1:{port}').startswith('HTTP/1.1 101 ')
    assert websocket_handshake(demo_url, 'evil.example').startswith('HTTP/1.1 400 ')


def websocket_handshake(url: str, host: str) -> str:
    """The status line uvicorn answers a websocket upgrade of NiceGUI's socket with, for this Host header."""
    address = urlsplit(url)
    request = (
        'GET /_nicegui_ws/socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n'
        f'Host: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
    )
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request.encode())
        answer = connection.recv(4096).decode('latin-1')
    return answer.split('\r\n', 1)[0]
