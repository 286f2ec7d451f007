"""What one training job's page shows, read in one session: the job, its attempts, its components and where
they run, and the fleet's architectures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..tables import CompilationAttempt, ComponentVersion, CoreDevice, InstalledComponent, TrainingJob
from .fleet import Release, devices
from .jobs import CHUNK, training_jobs_named


@dataclass(frozen=True)
class JobSnapshot:
    """One training job as its page shows it, read at one moment (the records are not to be changed)."""

    job: TrainingJob
    attempts: tuple[CompilationAttempt, ...]  # every attempt, by target id and attempt number
    components: tuple[ComponentVersion, ...]  # packaged from its compilations, newest first
    installations: tuple[InstalledComponent, ...]  # of those component versions, by device
    devices: Mapping[str, CoreDevice]  # the devices running them, by thing name
    architectures: frozenset[str]  # the fleet's distinct device architectures
    # what pages make of the snapshot (rows, texts), made once for every tab that shows it
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def latest(self) -> list[CompilationAttempt]:
        """The latest attempt of each target, by target label."""
        found = self.derived.get('latest')
        if found is None:
            latest: dict[str, CompilationAttempt] = {}
            for attempt in self.attempts:
                latest[attempt.target_id] = attempt
            found = self.derived['latest'] = sorted(
                latest.values(), key=lambda a: (a.target_label, a.target_id)
            )
        return list(found)


def job_page(session: Session, name: str) -> JobSnapshot | None:
    """One training job's page (None when the store does not know it)."""
    return job_pages(session, frozenset({name})).get(name)


def job_pages(session: Session, names: frozenset[str]) -> dict[str, JobSnapshot]:
    """The pages of these training jobs (those the store knows), in five queries per CHUNK names."""
    jobs = training_jobs_named(session, names)
    if not jobs:
        return {}
    known = sorted(job.name for job in jobs)
    attempts: dict[str, list[CompilationAttempt]] = {}
    components: dict[str, list[ComponentVersion]] = {}
    for chunk in _chunks(known):
        query = (
            select(CompilationAttempt)
            .where(col(CompilationAttempt.training_job_name).in_(chunk))
            .order_by(col(CompilationAttempt.target_id), col(CompilationAttempt.attempt))
        )
        for attempt in session.exec(query):
            attempts.setdefault(attempt.training_job_name or '', []).append(attempt)
        query_components = (
            select(ComponentVersion)
            .where(col(ComponentVersion.training_job_name).in_(chunk))
            .order_by(col(ComponentVersion.created_at).desc().nulls_last())  # as queries.fleet.components
        )
        for version in session.exec(query_components):
            components.setdefault(version.training_job_name or '', []).append(version)
    releases = {(c.component_name, c.component_version) for versions in components.values() for c in versions}
    installed = installations_of(session, releases)
    running = _devices(session, installed)
    architectures = fleet_architectures(session)
    pages: dict[str, JobSnapshot] = {}
    for job in jobs:
        versions = components.get(job.name, [])
        mine = {(c.component_name, c.component_version) for c in versions}
        where = tuple(i for i in installed if (i.component_name, i.component_version) in mine)
        pages[job.name] = JobSnapshot(
            job=job,
            attempts=tuple(attempts.get(job.name, [])),
            components=tuple(versions),
            installations=where,
            devices={i.thing_name: running[i.thing_name] for i in where if i.thing_name in running},
            architectures=architectures,
        )
    return pages


def installations_of(session: Session, releases: Iterable[Release]) -> list[InstalledComponent]:
    """Where these (component name, version) releases are installed, by device."""
    wanted = set(releases)
    names = sorted({name for name, _ in wanted})
    found: list[InstalledComponent] = []
    for chunk in _chunks(names):
        query = (
            select(InstalledComponent)
            .where(col(InstalledComponent.component_name).in_(chunk))
            .order_by(col(InstalledComponent.thing_name), col(InstalledComponent.id))
        )
        found.extend(i for i in session.exec(query) if (i.component_name, i.component_version) in wanted)
    found.sort(key=lambda i: (i.thing_name, i.id or 0))
    return found


def fleet_architectures(session: Session) -> frozenset[str]:
    """The architectures of the fleet's devices (one DISTINCT query, however large the fleet)."""
    query = select(CoreDevice.architecture).distinct()
    return frozenset(arch for arch in session.exec(query) if arch)


def compile_choices(session: Session, name: str) -> tuple[list[CompilationAttempt], dict[str, int]]:
    """What `Compile for more targets` shows: each target's latest attempt, the devices per architecture."""
    latest: dict[str, CompilationAttempt] = {}
    query = (
        select(CompilationAttempt)
        .where(CompilationAttempt.training_job_name == name)
        .order_by(col(CompilationAttempt.target_id), col(CompilationAttempt.attempt))
    )
    for attempt in session.exec(query):
        latest[attempt.target_id] = attempt
    counts = select(CoreDevice.architecture, func.count()).group_by(col(CoreDevice.architecture))
    fleet = {arch or '': count for arch, count in session.exec(counts)}
    return list(latest.values()), fleet


def _devices(session: Session, installed: list[InstalledComponent]) -> dict[str, CoreDevice]:
    things = {i.thing_name for i in installed}
    return {d.thing_name: d for d in devices(session, things)} if things else {}


def _chunks(names: list[str]) -> list[list[str]]:
    return [names[start : start + CHUNK] for start in range(0, len(names), CHUNK)]
