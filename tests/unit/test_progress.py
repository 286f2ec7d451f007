"""How long a running compilation probably still takes (median of earlier completed attempts)."""

from __future__ import annotations

import math

import pytest

from dda_portal.domain.progress import Estimate, EstimateKind, estimate_remaining


def test_without_history_there_is_no_estimate_only_a_running_indicator() -> None:
    estimate = estimate_remaining(120.0, [])
    assert estimate == Estimate(EstimateKind.NO_HISTORY, None, None, None, 'running')
    assert not estimate.has_estimate


def test_remaining_is_the_median_of_earlier_durations_minus_the_time_so_far() -> None:
    # median of 240, 300, 900 is 300 (not the mean, 480): one slow outlier does not skew it
    estimate = estimate_remaining(60.0, [900.0, 240.0, 300.0])
    assert estimate.kind is EstimateKind.REMAINING
    assert estimate.typical_seconds == 300.0
    assert estimate.remaining_seconds == 240.0
    assert estimate.fraction == pytest.approx(0.2)
    assert estimate.text == '≈ 4 min left'
    assert estimate.has_estimate


def test_median_of_an_even_number_of_durations_is_the_middle_pair_average() -> None:
    estimate = estimate_remaining(0.0, [100.0, 200.0, 400.0, 1000.0])
    assert estimate.typical_seconds == 300.0
    assert estimate.remaining_seconds == 300.0
    assert estimate.text == '≈ 5 min left'


def test_one_earlier_attempt_is_enough_history() -> None:
    assert estimate_remaining(30.0, [630.0]).text == '≈ 10 min left'


@pytest.mark.parametrize(
    ('remaining', 'text'),
    [
        (1.0, '≈ 1 min left'),  # never "0 min"
        (59.0, '≈ 1 min left'),
        (60.0, '≈ 1 min left'),
        (61.0, '≈ 2 min left'),  # rounded up: better to finish early than late
        (3540.0, '≈ 59 min left'),
        (3599.0, '≈ 1 h 00 min left'),
        (3600.0, '≈ 1 h 00 min left'),
        (3601.0, '≈ 1 h 01 min left'),
        (2 * 3600 + 5 * 60, '≈ 2 h 05 min left'),
    ],
)
def test_remaining_time_wording(remaining: float, text: str) -> None:
    assert estimate_remaining(0.0, [remaining]).text == text


def test_past_the_median_it_is_almost_done_never_negative() -> None:
    estimate = estimate_remaining(500.0, [300.0, 300.0, 400.0])
    assert estimate.kind is EstimateKind.ALMOST_DONE
    assert estimate.text == 'almost done'
    assert estimate.remaining_seconds == 0.0
    assert estimate.fraction == 1.0
    assert estimate.has_estimate


def test_exactly_at_the_median_is_almost_done() -> None:
    assert estimate_remaining(300.0, [300.0]).kind is EstimateKind.ALMOST_DONE


def test_just_before_the_median_still_counts_down() -> None:
    estimate = estimate_remaining(299.0, [300.0])
    assert estimate.kind is EstimateKind.REMAINING
    assert estimate.text == '≈ 1 min left'


def test_history_of_zero_length_jobs_means_almost_done_without_dividing_by_zero() -> None:
    estimate = estimate_remaining(0.0, [0.0, 0.0])
    assert estimate.kind is EstimateKind.ALMOST_DONE
    assert estimate.fraction == 1.0


@pytest.mark.parametrize('elapsed', [-30.0, math.nan, -math.inf])
def test_a_negative_or_invalid_elapsed_time_counts_as_just_started(elapsed: float) -> None:
    estimate = estimate_remaining(elapsed, [600.0])
    assert estimate.remaining_seconds == 600.0
    assert estimate.fraction == 0.0
    assert estimate.text == '≈ 10 min left'


def test_an_endless_elapsed_time_is_almost_done() -> None:
    assert estimate_remaining(math.inf, [600.0]).kind is EstimateKind.ALMOST_DONE


def test_invalid_durations_are_ignored() -> None:
    estimate = estimate_remaining(0.0, [-5.0, math.nan, math.inf, 120.0])
    assert estimate.typical_seconds == 120.0


def test_only_invalid_durations_are_no_history() -> None:
    assert estimate_remaining(10.0, [-1.0, math.nan]).kind is EstimateKind.NO_HISTORY


def test_the_history_list_is_not_changed() -> None:
    durations = [300.0, 100.0, 200.0]
    estimate_remaining(50.0, durations)
    assert durations == [300.0, 100.0, 200.0]
