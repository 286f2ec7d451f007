"""How old the data on screen is: each place's refresh parts (their last success and failure) and the
refreshes each place recorded (its last failure, its last full refresh)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..domain.clock import as_utc
from ..domain.refresh import COMPONENTS, DEVICES, SAGEMAKER
from ..tables import SyncCycle, SyncPart


@dataclass(frozen=True)
class Freshness:
    """How old the data on screen is, and whether the last refresh (or a part of it) failed."""

    last_success: datetime | None  # SageMaker's part: the training and compilation jobs shown
    last_failure: SyncCycle | None
    parts: dict[str, SyncPart] = field(default_factory=dict)
    cycle_id: int = 0  # the newest recorded refresh when read (an older read never replaces a newer)
    # each place's parts (place key → part → row); `parts` sums them up: per part, a place's failure when
    # one failed, else the place whose last success is the oldest (the data shown is as old as that)
    places: dict[str, dict[str, SyncPart]] = field(default_factory=dict)
    full_refreshes: dict[str, datetime] = field(default_factory=dict)  # each place's last good refresh

    @property
    def last_full_refresh(self) -> datetime | None:
        """The last refresh in which every part succeeded, for every place: as old as the oldest place's."""
        return min(self.full_refreshes.values(), default=None)

    def failed_places(self) -> dict[str, SyncPart]:
        """Each place with a failing part, and its first failing part in refresh order."""
        found: dict[str, SyncPart] = {}
        for place, parts in self.places.items():
            failing = [
                parts[p] for p in (SAGEMAKER, COMPONENTS, DEVICES) if p in parts and parts[p].failed_at
            ]
            if failing:
                found[place] = failing[0]
        return found


def freshness(session: Session) -> Freshness:
    # each place records its own refreshes: its newest one, and its newest good one
    newest = (
        select(SyncCycle.use_case, func.max(SyncCycle.id).label('id'))
        .group_by(col(SyncCycle.use_case))
        .subquery()
    )
    lasts = list(session.exec(select(SyncCycle).join(newest, col(SyncCycle.id) == newest.c.id)))
    good = session.exec(
        select(SyncCycle.use_case, func.max(SyncCycle.finished_at))
        .where(col(SyncCycle.ok).is_(True))
        .group_by(col(SyncCycle.use_case))
    )
    full_refreshes = {place: when for place, finished in good if (when := as_utc(finished)) is not None}
    failures = [cycle for cycle in lasts if not cycle.ok]
    failure = max(failures, key=lambda cycle: cycle.id or 0) if failures else None
    places: dict[str, dict[str, SyncPart]] = {}
    for row in session.exec(select(SyncPart).order_by(col(SyncPart.use_case))):
        places.setdefault(row.use_case, {})[row.part] = row
    parts = {part: _summed(rows) for part, rows in _by_part(places).items()}
    last_ok: datetime | None = min(full_refreshes.values(), default=None)
    # the data on screen is as old as SageMaker's part: of the places refreshing well (one place failing
    # leaves the others fresh, and the portal ready), or of every place when none does
    sagemaker = [p[SAGEMAKER] for p in places.values() if SAGEMAKER in p]
    healthy = [row for row in sagemaker if row.failed_at is None] or sagemaker
    times = [moment for row in healthy if (moment := as_utc(row.last_success)) is not None]
    if times:
        last_ok = min(times)
    return Freshness(
        last_success=last_ok,
        last_failure=failure,
        parts=parts,
        cycle_id=max((cycle.id or 0 for cycle in lasts), default=0),
        places=places,
        full_refreshes=full_refreshes,
    )


def _by_part(places: dict[str, dict[str, SyncPart]]) -> dict[str, list[SyncPart]]:
    found: dict[str, list[SyncPart]] = {}
    for parts in places.values():
        for part, row in parts.items():
            found.setdefault(part, []).append(row)
    return found


def _summed(rows: list[SyncPart]) -> SyncPart:
    """One part over every place: a failing place's row, else the one whose last success is oldest."""
    failing = [row for row in rows if row.failed_at is not None]
    if failing:
        return max(failing, key=lambda row: as_utc(row.failed_at) or datetime.min.replace(tzinfo=UTC))
    return min(rows, key=lambda row: as_utc(row.last_success) or datetime.min.replace(tzinfo=UTC))


def last_cycles(session: Session, limit: int = 10) -> list[SyncCycle]:
    return list(session.exec(select(SyncCycle).order_by(col(SyncCycle.id).desc()).limit(limit)))
