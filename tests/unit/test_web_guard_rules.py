"""Which Host names are served by default and with DDA_ALLOWED_HOSTS; the headers and the script hashes."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from dda_portal.config import SettingsError, load_settings
from dda_portal.web_guards import HEADERS, SecurityHeaders, content_security_policy, inline_script_hashes

LOOPBACK = ['localhost', '127.0.0.1', '[::1]']


@pytest.fixture(autouse=True)
def no_allowed_hosts_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('DDA_ALLOWED_HOSTS', raising=False)


@pytest.mark.parametrize(
    ('host', 'allowed'),
    [
        ('127.0.0.1', LOOPBACK),
        ('localhost', LOOPBACK),
        ('::1', LOOPBACK),
        ('0.0.0.0', LOOPBACK),  # every address names no host: the operator lists the real ones
        ('::', LOOPBACK),
        ('10.1.2.3', [*LOOPBACK, '10.1.2.3']),
        ('FD00::7', [*LOOPBACK, '[fd00::7]']),
        ('Portal.Internal', [*LOOPBACK, 'portal.internal']),
    ],
)
def test_by_default_loopback_names_and_the_listening_address_are_served(
    host: str, allowed: list[str]
) -> None:
    assert load_settings({'host': host, 'insecure_no_auth': True}).allowed_host_names == allowed


def test_allowed_hosts_add_names_addresses_and_subdomain_wildcards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('DDA_ALLOWED_HOSTS', ' DDA.example.com, *.corp.example ,2001:db8::1,, [::1]')
    settings = load_settings({'host': '0.0.0.0', 'insecure_no_auth': True})
    assert settings.allowed_host_names == [*LOOPBACK, 'dda.example.com', '*.corp.example', '[2001:db8::1]']


@pytest.mark.parametrize('value', ['https://dda.example.com', 'dda.example.com:8443', '*', 'a/b', 'x.*.y'])
def test_allowed_hosts_are_names_without_scheme_port_or_path(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('DDA_ALLOWED_HOSTS', value)
    with pytest.raises(SettingsError, match=r'Invalid setting DDA_ALLOWED_HOSTS: .* is not a host name'):
        load_settings()


def sha256(text: bytes) -> str:
    return base64.b64encode(hashlib.sha256(text).digest()).decode()


PAGE = b"""<!doctype html><html><head><script type="importmap">{"imports": {}}</script>
<script defer src="/app.js"></script><SCRIPT>a = 1;\r\nb = 2</SCRIPT ></head><body></body></html>"""


def test_the_inline_scripts_of_a_page_are_hashed_as_the_browser_reads_them() -> None:
    assert inline_script_hashes(PAGE) == [sha256(b'{"imports": {}}'), sha256(b'a = 1;\nb = 2')]


async def test_every_response_is_guarded_and_html_allows_exactly_its_own_inline_scripts() -> None:
    app = Starlette(
        routes=[
            Route('/page', lambda request: HTMLResponse(PAGE)),
            Route('/data', lambda request: JSONResponse({'ok': True})),
        ]
    )
    transport = httpx.ASGITransport(SecurityHeaders(app))
    async with httpx.AsyncClient(transport=transport, base_url='http://127.0.0.1') as client:
        page, data, missing = [await client.get(path) for path in ('/page', '/data', '/missing')]
    assert page.content == PAGE
    for response in (page, data, missing):
        for name, value in HEADERS.items():
            assert response.headers[name] == value
    policy = page.headers['content-security-policy']
    assert policy == content_security_policy(inline_script_hashes(PAGE))
    first, second = sha256(b'{"imports": {}}'), sha256(b'a = 1;\nb = 2')
    assert f"script-src 'self' 'unsafe-eval' 'sha256-{first}' 'sha256-{second}';" in policy
    assert "'unsafe-inline'" not in policy.split('script-src')[1].split(';')[0]
    assert data.headers['content-security-policy'] == content_security_policy()
    assert "frame-ancestors 'none'" in content_security_policy()
