"""Greengrass dependency requirements (npm-style ranges) against semantic versions."""

from __future__ import annotations

import pytest

from dda_portal.domain.semver import greatest_satisfying, is_requirement, satisfies


@pytest.mark.parametrize(
    ('version', 'requirement', 'expected'),
    [
        ('1.5.0', '>=1.0.0 <2.0.0', True),
        ('2.0.0', '>=1.0.0 <2.0.0', False),
        ('0.9.9', '>=1.0.0 <2.0.0', False),
        ('1.2.9', '^1.2.0', True),
        ('1.9.0', '^1.2.0', True),
        ('2.0.0', '^1.2.0', False),
        ('1.1.9', '^1.2.0', False),
        ('0.2.5', '^0.2.3', True),
        ('0.3.0', '^0.2.3', False),
        ('0.0.4', '^0.0.3', False),
        ('1.2.9', '~1.2.0', True),
        ('1.3.0', '~1.2.0', False),
        ('1.9.0', '~1', True),
        ('1.9.0', '1.x', True),
        ('2.0.0', '1.x', False),
        ('1.2.7', '1.2.*', True),
        ('1.4.0', '1.0.0 - 1.4.0', True),
        ('1.4.1', '1.0.0 - 1.4.0', False),
        ('3.1.0', '^1.0.0 || ^3.0.0', True),
        ('2.1.0', '^1.0.0 || ^3.0.0', False),
        ('1.0.0', '=1.0.0', True),
        ('1.0.0', '1.0.0', True),
        ('1.0.1', '1.0.0', False),
        ('2.0.0', '>1.5', True),
        ('1.5.9', '>1.5', False),
        ('1.5.0', '<=1.5', True),
        ('1.6.0', '<=1.5', False),
        ('1.0.0-rc.1', '>=1.0.0', False),
        ('1.0.0-rc.2', '>1.0.0-rc.1', True),
        ('2.12.0', '>=2.0.0 <2.13.0', True),
        ('1.2.3', '*', True),
        ('not-a-version', '*', False),
        ('1.0.0', '>>1.0', False),
    ],
)
def test_requirements(version: str, requirement: str, expected: bool) -> None:
    assert satisfies(version, requirement) is expected


def test_what_is_a_requirement_and_the_greatest_match() -> None:
    assert is_requirement('>=1.0.0 <2.0.0') and is_requirement('^1.2.0 || ~3.1')
    assert not is_requirement('>>1.0') and not is_requirement('one point two')
    assert greatest_satisfying(['1.0.0', '1.4.2', '2.0.0', '1.10.0'], '^1.0.0') == '1.10.0'
    assert greatest_satisfying(['2.0.0'], '^1.0.0') is None
