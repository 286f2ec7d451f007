"""Semantic versions (semver 2.0.0) and the npm-style requirements Greengrass recipes write for their
dependencies (`VersionRequirement`: `>=1.0.0 <2.0.0`, `^1.2.0`, `~1.2.0`, `1.x`, `1.0.0 - 1.4.0`, `a || b`).

Pre-releases compare as semver orders them (npm's rule that a range skips pre-releases is not applied)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_VERSION = re.compile(
    r'^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$'
)
_PARTIAL = re.compile(r'^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$')
_COMPARATOR = re.compile(r'^(>=|<=|>|<|=|\^|~>?)?\s*(.+)$')


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[tuple[int, int | str], ...] = ((1, 0),)  # a release sorts after its pre-releases

    @staticmethod
    def parse(text: str) -> Version | None:
        found = _VERSION.match(text.strip())
        if not found:
            return None
        return Version(int(found[1]), int(found[2]), int(found[3]), _pre(found[4]))

    @property
    def is_prerelease(self) -> bool:
        return self.pre != ((1, 0),)


def _pre(text: str | None) -> tuple[tuple[int, int | str], ...]:
    if not text:
        return ((1, 0),)
    # numeric identifiers sort below alphanumeric ones; each identifier ranks under the release marker
    return tuple((0, int(p)) if p.isdigit() else (0, p) for p in text.split('.'))


def _lowest(major: int, minor: int, patch: int) -> Version:
    return Version(major, minor, patch, ((0, 0),))  # below every pre-release of that version


Check = Callable[['Version'], bool]  # one comparator of a requirement


def satisfies(version: str, requirement: str) -> bool:
    """Whether `version` meets the requirement; False for text that is not a version or a requirement."""
    parsed = Version.parse(version)
    if parsed is None:
        return False
    try:
        alternatives = [_ranges(part) for part in requirement.split('||')]
    except ValueError:
        return False
    return any(all(check(parsed) for check in checks) for checks in alternatives)


def is_requirement(requirement: str) -> bool:
    try:
        for part in requirement.split('||'):
            _ranges(part)
    except ValueError:
        return False
    return True


def greatest_satisfying(versions: list[str], requirement: str) -> str | None:
    matching = [v for v in versions if satisfies(v, requirement)]
    return max(matching, key=lambda v: Version.parse(v) or _lowest(0, 0, 0), default=None)


def _ranges(text: str) -> list[Check]:
    text = text.strip()
    if not text or text in ('*', 'x', 'X'):
        return [lambda v: True]
    hyphen = re.fullmatch(r'(\S+)\s+-\s+(\S+)', text)
    if hyphen:
        low, _ = _bounds(hyphen[1])
        _, high = _bounds(hyphen[2])
        return [_at_least(low), _below(high)]
    checks: list[Check] = []
    tokens = re.findall(r'(?:>=|<=|>|<|=|\^|~>?)?\s*[^\s<>=^~]+', text)
    if not tokens or ''.join(t.replace(' ', '') for t in tokens) != text.replace(' ', ''):
        raise ValueError(text)
    for token in tokens:
        checks += _comparator(token.replace(' ', ''))
    return checks


def _bounds(text: str) -> tuple[Version, Version | None]:
    """[low, high) of a partial version: `1.2` → [1.2.0, 1.3.0); `1.2.3` → [1.2.3, 1.2.4 pre)."""
    found = _PARTIAL.match(text)
    if not found:
        raise ValueError(text)
    parts = [None if p is None or p in 'xX*' else int(p) for p in (found[1], found[2], found[3])]
    major, minor, patch = parts
    if major is None:
        return _lowest(0, 0, 0), None
    if minor is None:
        return _lowest(major, 0, 0), _lowest(major + 1, 0, 0)
    if patch is None:
        return _lowest(major, minor, 0), _lowest(major, minor + 1, 0)
    exact = Version(major, minor, patch, _pre(found[4]))
    return exact, None if found[4] else _lowest(major, minor, patch + 1)


def _comparator(token: str) -> list[Check]:
    found = _COMPARATOR.match(token)
    if not found:
        raise ValueError(token)
    operator, operand = found[1] or '', found[2]
    low, high = _bounds(operand)
    parts = _PARTIAL.match(operand)
    assert parts is not None
    given = [p for p in (parts[1], parts[2], parts[3]) if p is not None and p not in 'xX*']
    if operator in ('', '='):
        return [_at_least(low), _below(high)] if high else [lambda v: v == low]
    if operator == '>=':
        return [_at_least(low)]
    if operator == '<':
        return [_below(low)]
    if operator == '>':
        return [_at_least(high)] if high else [lambda v: v > low]
    if operator == '<=':
        return [_below(high)] if high else [lambda v: v <= low]
    if operator in ('~', '~>'):
        numbers = [*(int(p) for p in given), 0, 0, 0]
        upper = _lowest(numbers[0] + 1, 0, 0) if len(given) == 1 else _lowest(numbers[0], numbers[1] + 1, 0)
        return [_at_least(low), _below(upper)]
    # ^: the left-most non-zero part may not change
    numbers = [int(p) for p in given]
    major, minor, patch = [*numbers, 0, 0, 0][:3]
    if major > 0 or len(numbers) == 1:
        upper = _lowest(major + 1, 0, 0)
    elif minor > 0 or len(numbers) == 2:
        upper = _lowest(0, minor + 1, 0)
    else:
        upper = _lowest(0, 0, patch + 1)
    return [_at_least(low), _below(upper)]


def _at_least(low: Version) -> Check:
    return lambda v: v >= low


def _below(high: Version | None) -> Check:
    return (lambda v: True) if high is None else (lambda v: v < high)
