"""Who may do what: the two roles, the sign-in throttle and safe redirects after sign-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = 'operator'  # sees everything
    DATA_SCIENTIST = 'data-scientist'  # may also compile, retry, stop and package

    @property
    def label(self) -> str:
        return 'Operator' if self is Role.OPERATOR else 'Data Scientist'


@dataclass(frozen=True)
class Person:
    name: str
    role: Role

    @property
    def may_change(self) -> bool:
        """Starting, stopping and packaging cost money or change AWS: Data Scientists only."""
        return self.role is Role.DATA_SCIENTIST


LOCAL_PERSON = Person('local', Role.DATA_SCIENTIST)  # bound to 127.0.0.1 without sign-in configured


def refusal(person: Person | None, doing: str) -> str | None:
    """Why `person` may not do `doing` (e.g. 'start compilations'), or None when they may."""
    if person is None:
        return 'Your session has ended; sign in again.'
    if not person.may_change:
        return f'Only a Data Scientist may {doing}; {person.name} is signed in as {person.role.label}.'
    return None


@dataclass
class LoginThrottle:
    """Failed sign-ins slow down the next try, per user name and per client address.

    The first FREE_FAILURES failures cost nothing; each further one doubles the wait (2 s, 4 s, 8 s …,
    at most MAX_WAIT). Failures are forgotten FORGET_AFTER seconds after the last one, or on success.
    """

    FREE_FAILURES = 3
    MAX_WAIT = 60.0
    FORGET_AFTER = 900.0
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

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> float:
        count, last = self._failures.get(key, (0, now))
        if count <= self.FREE_FAILURES or now - last > self.FORGET_AFTER:
            return 0.0
        wait = min(2.0 ** (count - self.FREE_FAILURES), self.MAX_WAIT)
        return max(0.0, last + wait - now)


def safe_next(path: str | None) -> str:
    """Where to go after sign-in: a path of this site only (never `//host` or `https://…`)."""
    if not path or not path.startswith('/') or path.startswith('//') or '\\' in path or '\n' in path:
        return '/'
    return path
