"""How long a running compilation probably still takes, from how long earlier ones for its target took."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from enum import StrEnum


class EstimateKind(StrEnum):
    NO_HISTORY = 'no history'  # nothing to compare with: only "running"
    REMAINING = 'remaining'
    ALMOST_DONE = 'almost done'  # already longer than the median of earlier attempts


@dataclass(frozen=True)
class Estimate:
    kind: EstimateKind
    remaining_seconds: float | None  # None without history; 0 when almost done
    typical_seconds: float | None  # the median the estimate is based on
    fraction: float | None  # elapsed / median, capped at 1 (for a progress bar); None without history
    text: str  # what the UI shows: 'running', '≈ 4 min left', 'almost done'

    @property
    def has_estimate(self) -> bool:
        return self.kind is not EstimateKind.NO_HISTORY


RUNNING = 'running'
ALMOST_DONE = 'almost done'


def estimate_remaining(elapsed_seconds: float, earlier_durations: list[float]) -> Estimate:
    """Remaining time of a running attempt: the median of earlier completed attempts minus the time so far.

    Durations that are not finite or are negative (clock skew, bad data) are ignored; a negative or NaN
    elapsed time counts as just started.
    """
    durations = [d for d in earlier_durations if math.isfinite(d) and d >= 0]
    elapsed = elapsed_seconds if elapsed_seconds > 0 else 0.0  # NaN compares False
    if not durations:
        return Estimate(EstimateKind.NO_HISTORY, None, None, None, RUNNING)
    typical = float(statistics.median(durations))
    if elapsed >= typical:
        return Estimate(EstimateKind.ALMOST_DONE, 0.0, typical, 1.0, ALMOST_DONE)
    remaining = typical - elapsed
    return Estimate(EstimateKind.REMAINING, remaining, typical, elapsed / typical, _left(remaining))


def _left(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return f'≈ {minutes} min left'
    hours, minutes = divmod(minutes, 60)
    return f'≈ {hours} h {minutes:02d} min left'
