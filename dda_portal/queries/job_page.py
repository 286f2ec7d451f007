"""What one training job's page shows, read in one session: the job, its attempts, its components and where
they run, and the fleet's architectures."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..tables import CompilationAttempt, ComponentVersion, CoreDevice, InstalledComponent, TrainingJob
from .fleet import Release, devices
from .jobs import CHUNK, training_jobs_named
from .places import here, place_of, visible


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


def job_page(session: Session, name: str, use_case: str | None = None) -> JobSnapshot | None:
    """One training job's page, in `use_case` (a place key; None: the session's place); None when the store
    does not know it."""
    return job_pages(session, frozenset({name}), [place_of(session) if use_case is None else use_case]).get(
        name
    )


def job_pages(
    session: Session, names: frozenset[str], use_cases: Collection[str] | None = None
) -> dict[str, JobSnapshot]:
    """The pages of these training jobs (those the store knows) in the places given (None: all; keyed by
    name: give one place when a name may repeat), in five queries per CHUNK names and place."""
    jobs = training_jobs_named(session, names, use_cases)
    pages: dict[str, JobSnapshot] = {}
    for place in sorted({job.use_case for job in jobs}):
        pages.update(_pages_in(session, place, [job for job in jobs if job.use_case == place]))
    return pages


def _pages_in(session: Session, place: str, jobs: list[TrainingJob]) -> dict[str, JobSnapshot]:
    known = sorted(job.name for job in jobs)
    attempts: dict[str, list[CompilationAttempt]] = {}
    components: dict[str, list[ComponentVersion]] = {}
    for chunk in _chunks(known):
        query = (
            select(CompilationAttempt)
            .where(CompilationAttempt.use_case == place, col(CompilationAttempt.training_job_name).in_(chunk))
            .order_by(col(CompilationAttempt.target_id), col(CompilationAttempt.attempt))
        )
        for attempt in session.exec(query):
            attempts.setdefault(attempt.training_job_name or '', []).append(attempt)
        query_components = (
            select(ComponentVersion)
            .where(ComponentVersion.use_case == place, col(ComponentVersion.training_job_name).in_(chunk))
            .order_by(col(ComponentVersion.created_at).desc().nulls_last())  # as queries.fleet.components
        )
        for version in session.exec(query_components):
            components.setdefault(version.training_job_name or '', []).append(version)
    releases = {(c.component_name, c.component_version) for versions in components.values() for c in versions}
    installed = installations_of(session, releases, place)
    running = _devices(session, installed, place)
    architectures = fleet_architectures(session, [place])
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


def installations_of(
    session: Session, releases: Iterable[Release], use_case: str | None = None
) -> list[InstalledComponent]:
    """Where these (component name, version) releases are installed in `use_case` (a place key; None: the
    session's place), by device."""
    wanted = set(releases)
    names = sorted({name for name, _ in wanted})
    found: list[InstalledComponent] = []
    for chunk in _chunks(names):
        query = (
            select(InstalledComponent)
            .where(
                here(InstalledComponent.use_case, session, use_case),
                col(InstalledComponent.component_name).in_(chunk),
            )
            .order_by(col(InstalledComponent.thing_name), col(InstalledComponent.id))
        )
        found.extend(i for i in session.exec(query) if (i.component_name, i.component_version) in wanted)
    found.sort(key=lambda i: (i.thing_name, i.id or 0))
    return found


def fleet_architectures(session: Session, use_cases: Collection[str] | None = None) -> frozenset[str]:
    """The architectures of the fleet's devices in the places given (None: all; one DISTINCT query, however
    large the fleet)."""
    query = select(CoreDevice.architecture).where(visible(CoreDevice.use_case, use_cases)).distinct()
    return frozenset(arch for arch in session.exec(query) if arch)


def compile_choices(
    session: Session, name: str, use_case: str | None = None
) -> tuple[list[CompilationAttempt], dict[str, int]]:
    """What `Compile for more targets` shows: each target's latest attempt, the devices per architecture (of
    the job's place `use_case`; None: the session's place)."""
    latest: dict[str, CompilationAttempt] = {}
    query = (
        select(CompilationAttempt)
        .where(
            here(CompilationAttempt.use_case, session, use_case), CompilationAttempt.training_job_name == name
        )
        .order_by(col(CompilationAttempt.target_id), col(CompilationAttempt.attempt))
    )
    for attempt in session.exec(query):
        latest[attempt.target_id] = attempt
    counts = (
        select(CoreDevice.architecture, func.count())
        .where(here(CoreDevice.use_case, session, use_case))
        .group_by(col(CoreDevice.architecture))
    )
    fleet = {arch or '': count for arch, count in session.exec(counts)}
    return list(latest.values()), fleet


def _devices(session: Session, installed: list[InstalledComponent], place: str) -> dict[str, CoreDevice]:
    things = {i.thing_name for i in installed}
    return {d.thing_name: d for d in devices(session, things, [place])} if things else {}


def _chunks(names: list[str]) -> list[list[str]]:
    return [names[start : start + CHUNK] for start in range(0, len(names), CHUNK)]
