"""The JSON API's tokens: made on the command line, stored as their SHA-256, looked up behind a short cache.

A token is `dda_` and 43 random URL-safe characters (`secrets.token_urlsafe(32)`: 256 bits); it is printed
once when made and never stored: only its SHA-256 is, so whoever reads the database cannot call the API with
what they find there. A request's token is hashed and the row looked up by that hash (its time says nothing
about the token); the stored hash is then compared in constant time.

Every replica trusts what it read for at most CACHE_SECONDS: a token revoked on the command line (or on
another replica) stops working everywhere within that time. When a token was last used is written at most
once a minute per token and replica, after the answer, off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from . import queries
from .domain.access import Person, Role
from .domain.clock import as_utc, utcnow
from .domain.short_cache import ShortCache
from .store import Store

log = logging.getLogger(__name__)

PREFIX = 'dda_'  # recognisable in a log or a secret scanner
CACHE_SECONDS = 5.0  # the longest a revoked token keeps working on a replica that just used it
MAX_CACHED = 1024
MAX_TOKEN_CHARS = 200
USED_EVERY_SECONDS = 60.0
MAX_NAME_CHARS = 64


class TokenError(ValueError):
    """A token cannot be made or revoked as asked; the message says why."""


@dataclass(frozen=True)
class Listed:
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_person(name: str, role: Role) -> Person:
    """Whom a token acts as: the rules of the pages (auth.Gate, domain.access.refusal) judge this person.
    A token has one role, the same in every use case."""
    return Person(f'token {name}', role)


def create(store: Store, name: str, role: str) -> str:
    """Make a token (blocking); the token itself, to be shown once. Raises TokenError."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable() or ' ' in name:
        raise TokenError(f'A token name is 1 to {MAX_NAME_CHARS} printable characters without spaces.')
    try:
        known = Role(role)
    except ValueError:
        raise TokenError(f'Unknown role {role!r}; use one of {", ".join(r.value for r in Role)}.') from None
    token = new_token()
    try:
        made = store.write(queries.api_tokens.create, name, known.value, token_hash(token), utcnow())
    except IntegrityError:  # made at the same moment elsewhere
        made = False
    if not made:
        raise TokenError(f'A token named {name!r} exists already (revoked names stay taken); pick another.')
    return token


def revoke(store: Store, name: str) -> None:
    """Revoke a token (blocking). Raises TokenError when there is none of that name."""
    done = store.write(queries.api_tokens.revoke, name, utcnow())
    if done is None:
        raise TokenError(f'No token is named {name!r}.')
    if done is False:
        log.info('Token %s was revoked already', name)


def listed(store: Store) -> list[Listed]:
    return [
        Listed(t.name, t.role, t.created_at, t.last_used_at, t.revoked_at)
        for t in store.read(queries.api_tokens.every)
    ]


class ApiTokens:
    """Who a request's bearer token acts as, read in the store's read threads behind a short cache."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = time.monotonic  # the cache's ages (tests move it instead of waiting)
        self._cache: ShortCache[Person] = ShortCache(CACHE_SECONDS, MAX_CACHED)
        self._used: dict[str, float] = {}  # token hash → when its use was last written

    async def person(self, token: str) -> Person | None:
        """The person a token acts as; None for a token that is unknown, malformed or revoked."""
        if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_CHARS:
            return None
        key = token_hash(token)
        cached = self._cache.fresh(key, self.clock())
        if cached is not None:
            (person,) = cached
        else:
            row = await self.store.fetch(queries.api_tokens.by_hash, key)
            person = None
            if row is not None and hmac.compare_digest(row.token_hash, key) and row.revoked_at is None:
                try:
                    person = token_person(row.name, Role(row.role))
                except ValueError:  # a role this code does not know opens nothing
                    person = None
            self._cache.remember(key, person, self.clock())
        if person is not None:
            self._note_use(key)
        return person

    def forget_cached(self) -> None:
        self._cache.clear()

    def _note_use(self, key: str) -> None:
        now = self.clock()
        last = self._used.get(key)
        if last is not None and 0 <= now - last < USED_EVERY_SECONDS:
            return
        self._used[key] = now
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, self._write_use, key)

    def _write_use(self, key: str) -> None:
        try:
            self.store.write(queries.api_tokens.mark_used, key, utcnow())
        except Exception as error:  # only the listing's `last used` is late
            log.warning('Could not record the use of an API token: %s', error)


def _when(value: datetime | None) -> str:
    return as_utc(value).strftime('%Y-%m-%d %H:%M UTC') if value is not None else '-'


def run_command(database_url: str, command: dict[str, object]) -> int:
    """`main.py --create-token NAME --role ROLE`, `--revoke-token NAME`, `--list-tokens`: the exit status."""
    store = Store(database_url)
    try:
        if 'create_token' in command:
            name = str(command['create_token'])
            token = create(store, name, str(command.get('role', '')))
            print(f'API token {name!r} ({command["role"]}); shown only now, keep it secret:', file=sys.stderr)
            print(token, flush=True)
        elif 'revoke_token' in command:
            revoke(store, str(command['revoke_token']))
            print(f'Revoked {command["revoke_token"]!r}: refused everywhere within {CACHE_SECONDS:g} s.')
        else:
            rows = [('NAME', 'ROLE', 'CREATED', 'LAST USED', 'REVOKED')] + [
                (t.name, t.role, _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at))
                for t in listed(store)
            ]
            widths = [max(len(row[i]) for row in rows) for i in range(5)]
            for row in rows:
                print('  '.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    except TokenError as error:
        print(f'Error: {error}', file=sys.stderr)
        return 1
    finally:
        store.engine.dispose()
    return 0
