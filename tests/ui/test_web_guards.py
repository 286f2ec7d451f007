"""The browser's guards on the answers of the sign-in gate, and the Host check, through the running app."""

from __future__ import annotations

import json

import pytest
from nicegui.testing import User

from dda_portal.auth import hash_password
from dda_portal.web_guards import HEADERS

SECRET = 'a-test-secret-of-32-characters!!'


def assert_guarded(headers: object) -> None:
    for name, value in HEADERS.items():
        assert headers[name] == value, name  # type: ignore[index]
    assert "frame-ancestors 'none'" in headers['content-security-policy']  # type: ignore[index]


@pytest.fixture
def password_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the portal starts (ask for it before `user`)."""
    monkeypatch.setenv(
        'DDA_USERS',
        json.dumps({'alice': {'role': 'operator', 'password_hash': hash_password('alice-pw-12')}}),
    )
    monkeypatch.setenv('DDA_STORAGE_SECRET', SECRET)


@pytest.fixture
def proxy_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('DDA_AUTH_HEADER', 'X-Forwarded-User')
    monkeypatch.setenv('DDA_STORAGE_SECRET', SECRET)


async def test_the_sign_in_forms_redirect_is_guarded(password_sign_in: None, user: User) -> None:
    await user.open('/login')
    response = await user.http_client.get('/devices')
    assert response.status_code == 303
    assert response.headers['location'].startswith('/login?next=')
    assert_guarded(response.headers)


async def test_the_missing_proxy_headers_401_is_guarded(proxy_sign_in: None, user: User) -> None:
    response = await user.http_client.get('/')
    assert response.status_code == 401
    assert_guarded(response.headers)
    assert (await user.http_client.get('/', headers={'X-Forwarded-User': 'bob'})).status_code == 200


async def test_a_request_for_another_host_is_refused(user: User) -> None:
    await user.open('/')
    for path in ('/', '/healthz', '/_nicegui_ws/socket.io/?EIO=4&transport=polling'):
        response = await user.http_client.get(path, headers={'Host': 'evil.example'})
        assert response.status_code == 400, path
        assert response.text == 'Invalid host header'
        assert_guarded(response.headers)
