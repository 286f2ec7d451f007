"""The people who may sign in (DDA_USERS_FILE, DDA_USERS): their roles, per use case or in every one, and
their password hashes."""

from __future__ import annotations

import tomllib
from pathlib import Path

from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from .domain.access import Person, Role


class Account(BaseModel):
    """One person who may sign in: their role (in every use case) or their role per use case, and an argon2
    hash of their password.

    With DDA_AUTH_HEADER the proxy has checked the password; listed people get their roles from here.
    """

    model_config = {'extra': 'forbid'}

    role: Role | None = None  # the role in every use case
    roles: dict[str, Role] = Field(default_factory=dict)  # use case name → role; others are invisible
    password_hash: str | None = None

    @model_validator(mode='after')
    def _one_way(self) -> Account:
        if (self.role is None) == (not self.roles):
            raise ValueError('give either role (in every use case) or roles (per use case name)')
        return self

    def person(self, name: str) -> Person:
        return Person(name, self.role, dict(self.roles))

    @field_validator('password_hash')
    @classmethod
    def _argon2(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                extract_parameters(value)
            except InvalidHashError:
                raise ValueError(
                    'is not an argon2 hash (make one with: python main.py --hash-password)'
                ) from None
        return value


def read_users_file(path: Path) -> dict[str, Account]:
    """`[users.NAME]` tables with `role` or `roles` and `password_hash`; errors name the file and the user."""
    try:
        data = tomllib.loads(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f'{path}: {error}') from None
    users = data.get('users', {})
    if not isinstance(users, dict) or set(data) - {'users'}:
        raise ValueError(f'{path}: expected only [users.NAME] tables')
    accounts: dict[str, Account] = {}
    for name, entry in users.items():
        try:
            accounts[name] = Account.model_validate(entry)
        except ValidationError as error:
            first = error.errors()[0]
            where = '.'.join(str(p) for p in first['loc'])
            reason = first['msg'].removeprefix('Value error, ')
            raise ValueError(f'{path}: user {name}: {where + ": " if where else ""}{reason}') from None
    return accounts
