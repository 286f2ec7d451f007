"""Roles, the sign-in throttle, redirects after sign-in, and the settings that decide how people sign in."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from dda_portal.auth import hash_password, password_matches
from dda_portal.config import Account, SettingsError, load_settings
from dda_portal.domain.access import LOCAL_PERSON, LoginThrottle, Person, Role, refusal, safe_next
from dda_portal.forwarded import forwarded_client, is_trusted

SECRET = 'x' * 32


def test_only_data_scientists_may_change_things() -> None:
    assert refusal(Person('alice', Role.DATA_SCIENTIST), 'start compilations', 'default') is None
    assert refusal(LOCAL_PERSON, 'start compilations', 'default') is None
    assert refusal(Person('bob', Role.OPERATOR), 'start compilations', 'default') == (
        'Only a Data Scientist may start compilations; bob is signed in as Operator.'
    )
    assert refusal(None, 'stop compilations', 'default') == 'Your session has ended; sign in again.'


def test_three_failures_are_free_then_the_wait_doubles_up_to_a_minute() -> None:
    throttle = LoginThrottle()
    keys = ['user:alice']
    waits = []
    for _ in range(10):
        throttle.failed(keys, 100.0)
        waits.append(throttle.wait_left(keys, 100.0))
    assert waits == [0, 0, 0, 2, 4, 8, 16, 32, 60, 60]
    assert throttle.wait_left(keys, 130.0) == 30.0  # the wait counts down
    assert throttle.wait_left(['user:bob'], 100.0) == 0  # other names are not slowed


def test_the_slowest_key_counts_and_success_or_time_forgets() -> None:
    throttle = LoginThrottle()
    for name in ('alice', 'bob', 'carol', 'dave'):  # one address guessing several names
        throttle.failed([f'user:{name}', 'address:10.0.0.9'], 0.0)
    assert throttle.wait_left(['user:erin', 'address:10.0.0.9'], 0.0) == 2.0
    assert throttle.wait_left(['user:erin', 'address:10.0.0.10'], 0.0) == 0.0
    assert throttle.wait_left(['address:10.0.0.9'], LoginThrottle.FORGET_AFTER + 1) == 0.0
    throttle.succeeded(['address:10.0.0.9'])
    assert throttle.wait_left(['address:10.0.0.9'], 0.0) == 0.0


@pytest.mark.parametrize(
    ('asked', 'goes_to'),
    [
        ('/training-jobs/a?tab=logs', '/training-jobs/a?tab=logs'),
        ('/', '/'),
        (None, '/'),
        ('', '/'),
        ('//evil.example/x', '/'),
        ('https://evil.example/', '/'),
        ('/\\evil.example', '/'),
        ('javascript:alert(1)', '/'),
        ('/\t/evil.example/x', '/'),  # browsers drop tab, CR and LF inside URLs: //evil.example/x
        ('/\r/evil.example/x', '/'),
        ('/\n/evil.example/x', '/'),
        ('/ /evil.example', '/'),
        ('/\x00/evil.example', '/'),
        ('/\u200b/evil.example', '/'),  # an invisible format character
        ('/\\/evil.example', '/'),
        ('/training-jobs/a%2Fb?tab=logs#top', '/training-jobs/a%2Fb?tab=logs#top'),
    ],
)
def test_after_sign_in_only_pages_of_this_site(asked: str | None, goes_to: str) -> None:
    assert safe_next(asked) == goes_to


def test_passwords_are_checked_against_argon2_hashes() -> None:
    account = Account(role=Role.OPERATOR, password_hash=hash_password('right horse'))
    assert account.password_hash is not None and account.password_hash.startswith('$argon2id$')
    assert password_matches(account, 'right horse')
    assert not password_matches(account, 'wrong horse')
    assert not password_matches(None, 'right horse')
    assert not password_matches(Account(role=Role.OPERATOR), '')  # proxy-only people have no password


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ('DDA_HOST', 'DDA_USERS', 'DDA_USERS_FILE', 'DDA_AUTH_HEADER', 'DDA_STORAGE_SECRET'):
        monkeypatch.delenv(name, raising=False)


def test_loopback_runs_without_sign_in(clean_env: None) -> None:
    for host in ('127.0.0.1', 'localhost', '::1', '127.0.0.2'):
        assert load_settings({'host': host}).auth_mode == 'open'


def test_any_other_address_needs_sign_in_or_an_explicit_flag(clean_env: None) -> None:
    with pytest.raises(SettingsError, match=r'would listen on 0.0.0.0 without sign-in.*--insecure-no-auth'):
        load_settings({'host': '0.0.0.0'})
    assert load_settings({'host': '0.0.0.0', 'insecure_no_auth': True}).auth_mode == 'open'


def test_sign_in_needs_a_real_storage_secret(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    users = {'alice': {'role': 'operator', 'password_hash': hash_password('pw')}}
    monkeypatch.setenv('DDA_USERS', json.dumps(users))
    with pytest.raises(SettingsError, match='DDA_STORAGE_SECRET must be set'):
        load_settings({'host': '0.0.0.0'})
    monkeypatch.setenv('DDA_STORAGE_SECRET', 'short')
    with pytest.raises(SettingsError, match='DDA_STORAGE_SECRET must be set'):
        load_settings({})
    server = 'postgresql+psycopg://portal@db.internal/portal'  # replicas share it: and the secret
    with pytest.raises(
        SettingsError, match=r'^Invalid settings: DDA_STORAGE_SECRET .*, the same on every replica$'
    ):
        load_settings({'database_url': server})
    monkeypatch.setenv('DDA_STORAGE_SECRET', SECRET)
    settings = load_settings({'host': '0.0.0.0'})
    assert settings.auth_mode == 'password' and settings.users['alice'].role is Role.OPERATOR


def test_users_file_roles_and_hashes_are_checked(
    clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('DDA_STORAGE_SECRET', SECRET)
    users = tmp_path / 'users.toml'
    users.write_text(f'[users.alice]\nrole = "data-scientist"\npassword_hash = "{hash_password("pw")}"\n')
    assert load_settings({'users_file': users}).users['alice'].role is Role.DATA_SCIENTIST
    users.write_text('[users.bob]\nrole = "admin"\npassword_hash = "x"\n')
    with pytest.raises(SettingsError, match='user bob: role'):
        load_settings({'users_file': users})
    users.write_text('[users.bob]\nrole = "operator"\npassword_hash = "plain-text"\n')
    with pytest.raises(SettingsError, match=r'user bob: password_hash: .*not an argon2 hash'):
        load_settings({'users_file': users})
    users.write_text('[users.bob\n')
    with pytest.raises(SettingsError, match=r'users\.toml'):
        load_settings({'users_file': users})
    users.write_text('[users.bob]\nrole = "operator"\n')
    with pytest.raises(SettingsError, match='need a password_hash unless DDA_AUTH_HEADER'):
        load_settings({'users_file': users})


def test_a_proxy_header_is_a_sign_in_only_from_the_trusted_proxies(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('DDA_AUTH_HEADER', 'X-Forwarded-User')
    monkeypatch.setenv('DDA_STORAGE_SECRET', SECRET)
    with pytest.raises(SettingsError, match='set DDA_TRUSTED_PROXIES to its address'):
        load_settings({'host': '0.0.0.0'})  # anyone reaching the port could name themselves
    monkeypatch.setenv('DDA_TRUSTED_PROXIES', '10.0.0.5, 192.168.8.0/24')
    settings = load_settings({'host': '0.0.0.0'})
    assert settings.auth_mode == 'header' and settings.auth_default_role is Role.OPERATOR
    assert [str(n) for n in settings.trusted_proxy_networks] == ['10.0.0.5/32', '192.168.8.0/24']
    monkeypatch.setenv('DDA_TRUSTED_PROXIES', '10.0.0.5, proxy.local')
    with pytest.raises(SettingsError, match=r"DDA_TRUSTED_PROXIES: 'proxy\.local' is not an IP address"):
        load_settings({'host': '0.0.0.0'})


def test_on_loopback_only_this_machines_own_proxy_is_trusted_by_default(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('DDA_AUTH_HEADER', 'X-Forwarded-User')
    monkeypatch.setenv('DDA_STORAGE_SECRET', SECRET)
    networks = load_settings({'host': '127.0.0.1'}).trusted_proxy_networks
    assert is_trusted('127.0.0.1', networks) and is_trusted('::1', networks)
    assert not is_trusted('127.0.0.2', networks)  # another local process pretending to be the proxy


@pytest.mark.parametrize(
    ('forwarded_for', 'client'),
    [
        (['203.0.113.7'], '203.0.113.7'),
        (['198.51.100.1, 203.0.113.7'], '203.0.113.7'),  # the client wrote the left entry: not believed
        (['203.0.113.7, 10.0.0.6'], '203.0.113.7'),  # a second trusted proxy in the chain is skipped
        (['203.0.113.7', '10.0.0.6'], '203.0.113.7'),  # the header twice reads as one list
        (['not-an-address, 203.0.113.7'], '203.0.113.7'),
        (['203.0.113.7, garbage'], None),
        ([], None),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_wrote(
    forwarded_for: list[str], client: str | None
) -> None:
    networks = [ipaddress.ip_network('10.0.0.0/29')]
    assert forwarded_client(forwarded_for, networks) == client


def test_a_counted_try_is_given_back_when_it_was_right() -> None:
    throttle = LoginThrottle()
    for _ in range(4):
        throttle.failed(['k'], 0.0)  # counted before the password is checked
    assert throttle.wait_left(['k'], 0.0) == 2.0
    throttle.undo(['k'])  # the fourth was right after all
    assert throttle.wait_left(['k'], 0.0) == 0.0
    throttle.undo(['k'])
    throttle.undo(['k'])
    throttle.undo(['k'])
    throttle.undo(['k'])
    assert throttle.wait_left(['k'], 0.0) == 0.0
