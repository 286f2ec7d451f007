"""Who may do what: the two roles, the sign-in throttle and safe redirects after sign-in."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from .places import use_case_name

_INVISIBLE = {'Cc', 'Cf', 'Zs', 'Zl', 'Zp'}  # control, format and space characters


class Role(StrEnum):
    OPERATOR = 'operator'  # sees everything
    DATA_SCIENTIST = 'data-scientist'  # may also compile, retry, stop and package

    @property
    def label(self) -> str:
        return 'Operator' if self is Role.OPERATOR else 'Data Scientist'


@dataclass(frozen=True)
class Person:
    """Someone signed in, and their role in each use case.

    `role` alone: that role in every use case (one use case, API tokens, proxy people not listed). With
    `roles` (use case name → role) a use case not listed is invisible to them; `role` is then None.
    """

    name: str
    role: Role | None
    roles: Mapping[str, Role] = field(default_factory=dict, hash=False)

    def role_in(self, use_case: str) -> Role | None:
        """Their role in a use case (its name or one of its place keys); None: they may not see it."""
        return self.roles.get(use_case_name(use_case), self.role)

    def may_change_in(self, use_case: str) -> bool:
        """Starting, stopping and packaging cost money or change AWS: that use case's Data Scientists only."""
        return self.role_in(use_case) is Role.DATA_SCIENTIST

    def may_see(self, use_case: str) -> bool:
        return self.role_in(use_case) is not None

    def visible(self, place_keys: Iterable[str]) -> frozenset[str]:
        """Of these place keys, those of the use cases they have a role in."""
        return frozenset(key for key in place_keys if self.may_see(key))

    @property
    def label(self) -> str:
        """What the header shows after the name: the role, or each use case's role."""
        if self.role is not None and not self.roles:
            return self.role.label
        return ' · '.join(f'{name}: {role.label}' for name, role in sorted(self.roles.items()))


LOCAL_PERSON = Person('local', Role.DATA_SCIENTIST)  # bound to 127.0.0.1 without sign-in configured


def refusal(person: Person | None, doing: str, use_case: str) -> str | None:
    """Why `person` may not do `doing` (e.g. 'start compilations') to an object of `use_case` (its place
    key or name), or None when they may."""
    if person is None:
        return 'Your session has ended; sign in again.'
    role = person.role_in(use_case)
    if role is Role.DATA_SCIENTIST:
        return None
    if not person.roles and role is not None:  # one role everywhere: the use case says nothing
        return f'Only a Data Scientist may {doing}; {person.name} is signed in as {role.label}.'
    name = use_case_name(use_case)
    if role is None:
        return f'{person.name} has no role in use case {name}.'
    return f'Only a Data Scientist of {name} may {doing}; {person.name} is {role.label} in {name}.'


@dataclass
class LoginThrottle:
    """Failed sign-ins slow down the next try, per key (e.g. a user name at one address, or one address).

    The first `free_failures` failures cost nothing; each further one doubles the wait (2 s, 4 s, 8 s …,
    at most MAX_WAIT). Failures are forgotten FORGET_AFTER seconds after the last one, or on success.
    A try is counted *before* its password is checked (`failed`), and given back when it turns out right
    (`undo` or `succeeded`): guesses sent in parallel cannot all be checked before the first is counted.
    """

    MAX_WAIT = 60.0
    FORGET_AFTER = 900.0
    free_failures: int = 3
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)  # key → (count, last failure)

    def wait_left(self, keys: list[str], now: float) -> float:
        """Seconds to wait before the next try with any of these keys may be checked."""
        return max((self._wait(key, now) for key in keys), default=0.0)

    def failed(self, keys: list[str], now: float) -> None:
        for key in keys:
            count, last = self._failures.get(key, (0, now))
            if now - last > self.FORGET_AFTER:
                count = 0
            self._failures[key] = (count + 1, now)
        if len(self._failures) > 10_000:  # a flood of made-up names must not grow memory without bound
            self._failures = {k: v for k, v in self._failures.items() if now - v[1] <= self.FORGET_AFTER}

    def undo(self, keys: list[str]) -> None:
        """Give back one counted try (it was right after all) without forgetting earlier failures."""
        for key in keys:
            count, last = self._failures.get(key, (0, 0.0))
            if count <= 1:
                self._failures.pop(key, None)
            else:
                self._failures[key] = (count - 1, last)

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> float:
        count, last = self._failures.get(key, (0, now))
        if count <= self.free_failures or now - last > self.FORGET_AFTER:
            return 0.0
        wait = min(2.0 ** (count - self.free_failures), self.MAX_WAIT)
        return max(0.0, last + wait - now)


def safe_next(path: str | None) -> str:
    """Where to go after sign-in: a path of this site only.

    Refused (→ `/`): anything not starting with one `/`, backslashes (browsers read them as `/`), and every
    control character or space (browsers drop tab, CR and LF inside URLs, so `/\t/evil.example` becomes
    `//evil.example`, another host); what is left must parse as a path without scheme or host.
    """
    if not path or not path.startswith('/') or path.startswith('//') or '\\' in path:
        return '/'
    if any(unicodedata.category(c) in _INVISIBLE for c in path):
        return '/'
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not parts.path.startswith('/') or parts.path.startswith('//'):
        return '/'
    return path
