"""The few-seconds cache of sign-ins and API tokens: an answer (None too) is trusted for its seconds only,
and a full cache drops aged answers first."""

from __future__ import annotations

from dda_portal.domain.short_cache import ShortCache


def test_an_answer_is_trusted_for_its_seconds_and_unknown_is_an_answer() -> None:
    cache: ShortCache[str] = ShortCache(5.0, 10)
    cache.remember('a', 'alice', now=100.0)
    cache.remember('gone', None, now=100.0)
    assert cache.fresh('a', 104.9) == ('alice',)
    assert cache.fresh('gone', 101.0) == (None,)  # known to be unknown: no read
    assert cache.fresh('a', 105.0) is None and cache.fresh('never', 100.0) is None
    assert cache.fresh('a', 99.0) is None  # a clock that went back trusts nothing


def test_a_full_cache_drops_aged_answers_first_then_everything() -> None:
    cache: ShortCache[int] = ShortCache(5.0, 3)
    cache.remember('old', 1, now=0.0)
    cache.remember('b', 2, now=4.0)
    cache.remember('c', 3, now=4.0)
    cache.remember('d', 4, now=6.0)  # full: 'old' has aged and goes
    assert len(cache) == 3 and cache.fresh('old', 6.0) is None and cache.fresh('b', 6.0) == (2,)
    cache.remember('e', 5, now=6.5)  # full of fresh answers: all go, the new one stays
    assert len(cache) == 1 and cache.fresh('e', 6.5) == (5,)
    cache.clear()
    assert len(cache) == 0
