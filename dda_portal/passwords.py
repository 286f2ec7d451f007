"""Password hashes (argon2): checking the password of a sign-in, and `python main.py --hash-password`."""

from __future__ import annotations

import getpass
import sys
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .accounts import Account

_hasher = PasswordHasher()


@cache
def _unknown_user_hash() -> str:
    """Checked when the name is unknown, so that it costs as much time as a wrong password (made on the
    first failed sign-in, not at every start)."""
    return _hasher.hash('not a password of anyone')


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(account: Account | None, password: str) -> bool:
    stored = account.password_hash if account else None
    try:
        _hasher.verify(stored or _unknown_user_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def print_password_hash() -> None:
    """`python main.py --hash-password`: prompt twice on a terminal, else read one line from stdin."""
    if sys.stdin.isatty():
        password = getpass.getpass('Password: ')
        if getpass.getpass('Again: ') != password:
            raise SystemExit('The two passwords differ.')
    else:
        password = sys.stdin.readline().rstrip('\n')
    if not password:
        raise SystemExit('An empty password cannot be hashed.')
    print(hash_password(password))
