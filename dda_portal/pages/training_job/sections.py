"""What each part of a training job's page shows, as plain values: a change refreshes only the parts whose
values differ."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...domain.clock import utcnow
from ...domain.greengrass import device_health, missing_architectures
from ...domain.guidance import GuidanceBook
from ...domain.status import CompilationStatus
from ...domain.targets import TargetCatalog
from ...queries.job_page import JobSnapshot
from ...tables import CompilationAttempt, ComponentVersion, TrainingJob
from ..feeds import Durations
from ..tables import Moment, status_fields
from .rows import compilation_row, history_row, overview_facts


@dataclass(frozen=True)
class Header:
    status: str
    rollup: str
    compiled: str


@dataclass(frozen=True)
class Overview:
    facts: tuple[tuple[str, str | Moment], ...]
    failure_reason: str


@dataclass(frozen=True)
class CompileBar:
    blocked: str  # why the button is disabled, '' when it is not
    fleet_note: str


@dataclass(frozen=True)
class ComponentCard:
    title: str
    state: str
    target: str
    arn: str
    created: datetime | None
    source: str  # the compilation job it was packaged from
    problem: str  # Greengrass's message and errors, '' when none
    devices: tuple[tuple[str, datetime | None, str], ...]  # per device running it: words, its report, more


def header(job: TrainingJob) -> Header:
    return Header(job.status, job.rollup, f'{job.targets_compiled}/{job.targets_total} compiled')


def overview(job: TrainingJob) -> Overview:
    return Overview(tuple(overview_facts(job)), job.failure_reason or '')


def compile_bar(snapshot: JobSnapshot, catalog: TargetCatalog, blocked: str | None) -> CompileBar:
    return CompileBar(blocked or '', fleet_note(snapshot, catalog))


def fleet_note(snapshot: JobSnapshot, catalog: TargetCatalog) -> str:
    """Fleet architectures that have no compiled model of this job yet."""
    compiled = [
        catalog[a.target_id].greengrass_architecture
        for a in snapshot.latest
        if a.status == CompilationStatus.COMPLETED and a.target_id in catalog
    ]
    missing = missing_architectures(snapshot.architectures, compiled)
    return f'Fleet architectures with no compiled model yet: {", ".join(missing)}.' if missing else ''


def component_cards(snapshot: JobSnapshot, catalog: TargetCatalog) -> tuple[ComponentCard, ...]:
    """The component versions packaged from the job's compiled models, and where they run (made once per
    snapshot for all tabs)."""
    cards = snapshot.derived.get('component cards')
    if cards is None:
        cards = snapshot.derived['component cards'] = _component_cards(snapshot, catalog)
    return cards


def _component_cards(snapshot: JobSnapshot, catalog: TargetCatalog) -> tuple[ComponentCard, ...]:
    now = utcnow()
    cards = []
    for version in snapshot.components:
        lines = []
        for item in snapshot.installations:
            if (item.component_name, item.component_version) != (
                version.component_name,
                version.component_version,
            ):
                continue
            device = snapshot.devices.get(item.thing_name)
            health = device_health(
                device.status if device else None, device.last_status_update if device else None, now
            )
            stale = ' — stale report' if health.stale else ''
            lines.append(
                (
                    f'{item.thing_name}: {(item.lifecycle_state or "unknown").lower()}, device '
                    f'{health.word.lower()}, reported ',
                    item.last_reported,
                    stale,
                )
            )
        cards.append(
            ComponentCard(
                title=f'{version.component_name} {version.component_version}',
                state=version.state,
                target=catalog.display_name(version.target_id or ''),
                arn=version.arn,
                created=version.created_at,
                source=version.compilation_job_name or '—',
                problem=f'{version.message or ""} {version.errors or ""}'.strip(),
                devices=tuple(lines),
            )
        )
    return tuple(cards)


class CompilationRows:
    """The compilation table's rows (one per target: its latest attempt) and how they are made."""

    def __init__(
        self, guidance: GuidanceBook, durations: Durations, locked: bool, packaging: bool = True
    ) -> None:
        self.guidance = guidance
        self.durations = durations  # shared by every page and kept current off the event loop
        self.locked = locked
        self.packaging = packaging  # Greengrass is on in the job's use case
        self.attempts: dict[str, CompilationAttempt] = {}  # by target id, in the table's order
        self.packages: dict[str, ComponentVersion] = {}  # by compilation job name

    def take(self, snapshot: JobSnapshot) -> list[dict[str, Any]]:
        """Keep the snapshot's latest attempts and packages; their rows in the table's order (made once per
        snapshot for all tabs alike; rows are never changed in place)."""
        self.attempts = {a.target_id: a for a in snapshot.latest}
        self.packages = {c.compilation_job_name: c for c in snapshot.components if c.compilation_job_name}
        key = f'compilation rows, locked={self.locked}, packaging={self.packaging}'
        rows = snapshot.derived.get(key)
        if rows is None:
            rows = snapshot.derived[key] = [self.row_for(a) for a in self.attempts.values()]
        return list(rows)

    def running(self) -> list[dict[str, Any]]:
        """Rows of the attempts whose duration counts up."""
        return [
            self.row_for(a)
            for a in self.attempts.values()
            if CompilationStatus(a.status).is_active and a.started_at
        ]

    def row_for(self, attempt: CompilationAttempt) -> dict[str, Any]:
        row = compilation_row(attempt, self.guidance, self.durations.by_target)
        package = self.packages.get(attempt.job_name)
        row['component'] = f'{package.component_name} {package.component_version}' if package else ''
        row.update(status_fields('component_state', package.state) if package else {'component_state': ''})
        row['can_package'] = package is None and bool(row['artifact']) and self.packaging
        if self.locked:
            row.update(can_package=False, can_retry=False, can_stop=False)
        return row


def history_rows(snapshot: JobSnapshot) -> list[dict[str, Any]]:
    """Every attempt, by target label and newest first (made once per snapshot for all tabs)."""
    rows = snapshot.derived.get('history rows')
    if rows is None:
        ordered = sorted(snapshot.attempts, key=lambda a: (a.target_label, -a.attempt))
        rows = snapshot.derived['history rows'] = [history_row(a) for a in ordered]
    return list(rows)
