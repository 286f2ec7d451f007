"""The token commands of main.py as the command line reads them."""

from __future__ import annotations

import pytest

from dda_portal.config import parse_cli


def test_create_token_needs_a_known_role() -> None:
    assert parse_cli(['--create-token', 'ci', '--role', 'operator']) == {
        'create_token': 'ci',
        'role': 'operator',
    }
    for argv in (
        ['--create-token', 'ci'],
        ['--create-token', 'ci', '--role', 'admin'],
        ['--role', 'operator'],
        ['--create-token', 'ci', '--role', 'operator', '--list-tokens'],
    ):
        with pytest.raises(SystemExit):
            parse_cli(argv)


def test_revoke_and_list() -> None:
    assert parse_cli(['--revoke-token', 'ci']) == {'revoke_token': 'ci'}
    assert parse_cli(['--list-tokens']) == {'list_tokens': True}
