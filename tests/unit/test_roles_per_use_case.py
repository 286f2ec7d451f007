"""Roles per use case: a person may be a Data Scientist in one use case, an Operator in another and nothing
in a third; every action is judged by the role in the use case of the object acted on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request

from dda_portal.accounts import Account
from dda_portal.api_tokens import token_person
from dda_portal.auth import Gate, hash_password
from dda_portal.config import SettingsError, load_settings
from dda_portal.domain.access import LOCAL_PERSON, Person, Role, refusal
from dda_portal.forwarded import FROM_TRUSTED_PROXY
from dda_portal.store import Store

SECRET = 'x' * 32
USE_CASES = """
[use_cases.line-1]
regions = ["us-east-1", "eu-west-1"]

[use_cases.line-2]
account_id = "222222222222"
region = "eu-west-1"
role_arn = "arn:aws:iam::222222222222:role/dda-portal-read"
external_id = "line-2-portal"

[use_cases.line-3]
"""
PLACES = ['line-1/us-east-1', 'line-1/eu-west-1', 'line-2', 'line-3']
MIXED = Person('mia', None, {'line-1': Role.DATA_SCIENTIST, 'line-2': Role.OPERATOR})


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ('DDA_HOST', 'DDA_USERS', 'DDA_USERS_FILE', 'DDA_AUTH_HEADER', 'DDA_USE_CASES_FILE'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('DDA_STORAGE_SECRET', SECRET)


@pytest.fixture
def use_cases_file(tmp_path: Path) -> Path:
    path = tmp_path / 'use-cases.toml'
    path.write_text(USE_CASES)
    return path


def test_a_person_has_the_role_of_each_use_case_and_none_in_the_others() -> None:
    assert MIXED.role_in('line-1') is Role.DATA_SCIENTIST
    assert MIXED.role_in('line-1/eu-west-1') is Role.DATA_SCIENTIST  # every region of the use case
    assert MIXED.role_in('line-2') is Role.OPERATOR
    assert MIXED.role_in('line-3') is None
    assert [MIXED.may_change_in(k) for k in PLACES] == [True, True, False, False]
    assert MIXED.visible(PLACES) == {'line-1/us-east-1', 'line-1/eu-west-1', 'line-2'}


def test_one_role_counts_in_every_use_case() -> None:
    otto = Person('otto', Role.OPERATOR)
    assert otto.visible(PLACES) == set(PLACES)
    assert not any(otto.may_change_in(k) for k in PLACES)
    assert all(LOCAL_PERSON.may_change_in(k) for k in PLACES)
    assert otto.label == 'Operator'
    assert MIXED.label == 'line-1: Data Scientist · line-2: Operator'


def test_an_action_is_judged_by_the_role_in_the_use_case_of_its_object() -> None:
    assert refusal(MIXED, 'start compilations', 'line-1/eu-west-1') is None
    assert refusal(MIXED, 'start compilations', 'line-2') == (
        'Only a Data Scientist of line-2 may start compilations; mia is Operator in line-2.'
    )
    assert refusal(MIXED, 'deploy components', 'line-3') == 'mia has no role in use case line-3.'
    # one role everywhere: the words of a portal with one use case
    assert refusal(Person('bob', Role.OPERATOR), 'package models', 'line-1') == (
        'Only a Data Scientist may package models; bob is signed in as Operator.'
    )
    assert refusal(None, 'package models', 'line-1') == 'Your session has ended; sign in again.'


def test_an_api_token_has_its_one_role_in_every_use_case() -> None:
    token = token_person('ci', Role.DATA_SCIENTIST)
    assert token.visible(PLACES) == set(PLACES)
    assert all(refusal(token, 'start compilations', k) is None for k in PLACES)


def test_the_users_file_gives_roles_per_use_case(
    clean_env: None, tmp_path: Path, use_cases_file: Path
) -> None:
    users = tmp_path / 'users.toml'
    users.write_text(
        '[users.mia]\n'
        'roles = { line-1 = "data-scientist", line-2 = "operator" }\n'
        f'password_hash = "{hash_password("pw")}"\n'
    )
    settings = load_settings({'users_file': users, 'use_cases_file': use_cases_file})
    assert settings.users['mia'].person('mia') == MIXED


@pytest.mark.parametrize(
    ('entry', 'reason'),
    [
        (
            'roles = { line-1 = "operator", line-9 = "operator" }',
            r"users\.toml: user mia: roles: no use case 'line-9' \(the use cases are line-1, line-2, line-3",
        ),
        ('roles = { line-1 = "admin" }', r'users\.toml: user mia: roles\.line-1: Input should be'),
        ('role = "operator"\nroles = { line-1 = "operator" }', r'user mia: give either role .* or roles'),
        ('', r'user mia: give either role .* or roles'),
    ],
)
def test_a_users_file_naming_no_such_use_case_stops_the_start(
    clean_env: None, tmp_path: Path, use_cases_file: Path, entry: str, reason: str
) -> None:
    users = tmp_path / 'users.toml'
    users.write_text(f'[users.mia]\n{entry}\npassword_hash = "{hash_password("pw")}"\n')
    with pytest.raises(SettingsError, match=reason):
        load_settings({'users_file': users, 'use_cases_file': use_cases_file})


def test_without_a_use_cases_file_the_one_use_case_is_default(clean_env: None, tmp_path: Path) -> None:
    users = tmp_path / 'users.toml'
    users.write_text(
        f'[users.mia]\nroles = {{ line-1 = "operator" }}\npassword_hash = "{hash_password("pw")}"\n'
    )
    with pytest.raises(SettingsError, match=r"no use case 'line-1' \(the use cases are default\)"):
        load_settings({'users_file': users})
    users.write_text(
        f'[users.mia]\nroles = {{ default = "operator" }}\npassword_hash = "{hash_password("pw")}"\n'
    )
    assert load_settings({'users_file': users}).users['mia'].roles == {'default': Role.OPERATOR}


@pytest.fixture
def header_gate(clean_env: None, tmp_path: Path, use_cases_file: Path) -> Iterator[Gate]:
    settings = load_settings(
        {
            'auth_header': 'X-Forwarded-User',
            'users': {'mia': Account(roles={'line-1': Role.DATA_SCIENTIST, 'line-2': Role.OPERATOR})},
            'use_cases_file': use_cases_file,
            'database_url': f'sqlite:///{tmp_path / "portal.db"}',
        }
    )
    store = Store(settings.database_url)
    yield Gate(settings, store)
    store.engine.dispose()


def from_proxy(name: str) -> Request:
    return Request(
        {
            'type': 'http',
            'headers': [(b'x-forwarded-user', name.encode())],
            FROM_TRUSTED_PROXY: True,
            'session': {},
        }
    )


def test_the_proxys_people_get_their_listed_roles_or_the_default_role_everywhere(header_gate: Gate) -> None:
    assert header_gate.person_for(from_proxy('mia')) == MIXED
    stranger = header_gate.person_for(from_proxy('sam'))
    assert stranger == Person('sam', Role.OPERATOR)
    assert stranger is not None and stranger.visible(PLACES) == set(PLACES)


def test_the_gate_knows_every_place_a_person_may_see(header_gate: Gate) -> None:
    assert MIXED.visible(header_gate.places) == {'line-1/us-east-1', 'line-1/eu-west-1', 'line-2'}
    assert Person('sam', Role.OPERATOR).visible(header_gate.places) == set(PLACES)
