"""Greengrass component versions, core devices and the components they run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import NamedTuple

from sqlalchemy import select as sa_select
from sqlalchemy import tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ..domain.changes import Changed
from ..domain.greengrass import TAG_COMPILATION_JOB, ComponentState
from ..tables import CompilationAttempt, ComponentVersion, CoreDevice, InstalledComponent
from . import alerts
from .jobs import CHUNK, attempt
from .places import here, place_of, visible

Release = tuple[str, str]  # (component name, component version)


def components(
    session: Session, training_job: str | None = None, use_cases: Collection[str] | None = None
) -> list[ComponentVersion]:
    """Component versions (of one training job, or all) of the places given (None: all), newest first."""
    # NULLS LAST: a version Greengrass has not dated yet sorts last on every backend (SQLite's own order)
    query = (
        select(ComponentVersion)
        .where(visible(ComponentVersion.use_case, use_cases))
        .order_by(col(ComponentVersion.created_at).desc().nulls_last())
    )
    if training_job is not None:
        query = query.where(ComponentVersion.training_job_name == training_job)
    return list(session.exec(query))


def components_by_arn(
    session: Session, arns: Iterable[str], use_cases: Collection[str] | None = None
) -> list[ComponentVersion]:
    ordered = sorted(set(arns))
    found: list[ComponentVersion] = []
    for start in range(0, len(ordered), CHUNK):
        query = select(ComponentVersion).where(
            visible(ComponentVersion.use_case, use_cases),
            col(ComponentVersion.arn).in_(ordered[start : start + CHUNK]),
        )
        found.extend(session.exec(query))
    return found


def component_versions_named(session: Session, name: str) -> list[str]:
    """The versions of one component name (to pick the next one)."""
    query = select(ComponentVersion.component_version).where(
        here(ComponentVersion.use_case, session), ComponentVersion.component_name == name
    )
    return list(session.exec(query))


def changed_with_components(session: Session, training_jobs: Iterable[str], use_case: str) -> Changed:
    """A change of these training jobs of one place and of their component versions (after packaging); by
    bare names, as written in that place (Changed.placed)."""
    names = frozenset(training_jobs)
    arns: set[str] = set()
    for chunk in _chunks(sorted(names)):
        query = select(ComponentVersion.arn).where(
            here(ComponentVersion.use_case, session, use_case),
            col(ComponentVersion.training_job_name).in_(chunk),
        )
        arns.update(session.exec(query))
    return Changed(training_jobs=names, components=frozenset(arns))


def component_for_attempt(
    session: Session, job_name: str, use_case: str | None = None
) -> ComponentVersion | None:
    """The component of this compilation (in `use_case`; None: the session's place)."""
    query = select(ComponentVersion).where(
        here(ComponentVersion.use_case, session, use_case), ComponentVersion.compilation_job_name == job_name
    )
    return session.exec(query).first()


def reserve_component(session: Session, pending: ComponentVersion) -> bool:
    """Hold the attempt's one package before Greengrass is asked; False when it exists already (write)."""
    pending.use_case = place_of(session)
    session.add(pending)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def settle_component(session: Session, pending_arn: str, created: ComponentVersion | None) -> None:
    """Replace the reservation by what Greengrass created, or drop it when Greengrass refused (write)."""
    pending = session.get(ComponentVersion, (place_of(session), pending_arn))
    if pending is not None:
        session.delete(pending)
        session.flush()
    if created is not None:
        created.use_case = place_of(session)
        session.merge(created)
        alerts.component_moved(session, created, None)


def unsettled_component_arns(session: Session) -> list[str]:
    """Versions Greengrass is still working on (Requested, Initiated)."""
    query = select(ComponentVersion.arn).where(
        here(ComponentVersion.use_case, session),
        col(ComponentVersion.state).in_([ComponentState.REQUESTED, ComponentState.INITIATED]),
    )
    return list(session.exec(query))


def devices(
    session: Session, names: Iterable[str] | None = None, use_cases: Collection[str] | None = None
) -> list[CoreDevice]:
    """Core devices by name (all of them when None) of the places given (None: all)."""
    seen = visible(CoreDevice.use_case, use_cases)
    if names is None:
        return list(session.exec(select(CoreDevice).where(seen).order_by(col(CoreDevice.thing_name))))
    ordered = sorted(set(names))
    found: list[CoreDevice] = []
    for start in range(0, len(ordered), CHUNK):
        query = select(CoreDevice).where(seen, col(CoreDevice.thing_name).in_(ordered[start : start + CHUNK]))
        found.extend(session.exec(query))
    return found


def installations(
    session: Session, devices: Iterable[str] | None = None, use_cases: Collection[str] | None = None
) -> list[InstalledComponent]:
    """What the devices (all of them when None) of the places given (None: all) run, by device."""
    seen = visible(InstalledComponent.use_case, use_cases)
    if devices is None:
        query = (
            select(InstalledComponent)
            .where(seen)
            .order_by(col(InstalledComponent.thing_name), col(InstalledComponent.id))
        )
        return list(session.exec(query))
    ordered = sorted(set(devices))
    found: list[InstalledComponent] = []
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        query = (
            select(InstalledComponent)
            .where(seen, col(InstalledComponent.thing_name).in_(chunk))
            .order_by(col(InstalledComponent.thing_name), col(InstalledComponent.id))
        )
        found.extend(session.exec(query))
    return found


def running_devices(
    session: Session, releases: Iterable[Release] | None = None, use_cases: Collection[str] | None = None
) -> dict[Release, list[str]]:
    """The devices running each (component name, version), in name order (of all releases when None), in
    the places given (None: all)."""
    wanted = None if releases is None else set(releases)
    where: dict[Release, list[str]] = defaultdict(list)
    query = (
        select(
            InstalledComponent.component_name,
            InstalledComponent.component_version,
            InstalledComponent.thing_name,
        )
        .where(visible(InstalledComponent.use_case, use_cases))
        .order_by(col(InstalledComponent.thing_name))
    )
    if wanted is None:
        for name, version, thing in session.exec(query):
            where[(name, version)].append(thing)
        return dict(where)
    ordered = sorted(wanted)
    for start in range(0, len(ordered), CHUNK):
        pairs = ordered[start : start + CHUNK]
        release = tuple_(col(InstalledComponent.component_name), col(InstalledComponent.component_version))
        for name, version, thing in session.exec(query.where(release.in_(pairs))):
            where[(name, version)].append(thing)
    return dict(where)  # each release comes from one chunk, in name order


def fleet_components(
    session: Session, arns: Iterable[str] | None = None, use_cases: Collection[str] | None = None
) -> tuple[list[ComponentVersion], dict[Release, list[str]]]:
    """Component versions (these ARNs, or all of them newest first) and the devices running their releases,
    in the places given (None: all)."""
    if arns is None:
        return components(session, use_cases=use_cases), running_devices(session, use_cases=use_cases)
    versions = components_by_arn(session, arns, use_cases)
    releases = {(v.component_name, v.component_version) for v in versions}
    return versions, running_devices(session, releases, use_cases)


class Installed(NamedTuple):
    """What a device runs, as the devices table shows it (plain columns: thousands are read at once)."""

    thing_name: str
    component_name: str
    component_version: str
    lifecycle_state: str | None
    use_case: str  # the device's place (a thing name may repeat in another: match it with the device's)


def fleet_devices(
    session: Session, names: Iterable[str] | None = None, use_cases: Collection[str] | None = None
) -> tuple[list[CoreDevice], dict[str, list[Installed]]]:
    """Core devices (these names, or all of them by name) of the places given (None: all) and what each
    runs."""
    found = devices(session, names, use_cases)
    if names is not None and not found:
        return found, {}
    query = (
        sa_select(  # more columns than sqlmodel's select types
            col(InstalledComponent.thing_name),
            col(InstalledComponent.component_name),
            col(InstalledComponent.component_version),
            col(InstalledComponent.lifecycle_state),
            col(InstalledComponent.use_case),
        )
        .where(visible(InstalledComponent.use_case, use_cases))
        .order_by(col(InstalledComponent.thing_name), col(InstalledComponent.id))
    )
    chunks = (
        [query]
        if names is None
        else [
            query.where(col(InstalledComponent.thing_name).in_(chunk))
            for chunk in _chunks(sorted(d.thing_name for d in found))
        ]
    )
    by_device: dict[str, list[Installed]] = defaultdict(list)
    for chunk in chunks:
        for row in session.execute(chunk):
            by_device[row[0]].append(Installed(*row))
    return found, dict(by_device)


def _chunks(ordered: list[str]) -> list[list[str]]:
    return [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]


def upsert_component(session: Session, version: ComponentVersion, tags: dict[str, str]) -> Changed:
    """A component version as Greengrass describes it, linked to its attempt when new."""
    version.use_case = place_of(session)
    row = session.get(ComponentVersion, (version.use_case, version.arn))
    if row is None:
        owner = _attempt_for_component(session, tags, version.artifact_uri)
        if owner is not None:
            version.compilation_job_name = owner.job_name
            version.training_job_name = owner.training_job_name
            version.target_id = owner.target_id
        session.add(version)
        alerts.component_moved(session, version, None)
        return Changed(frozenset(_names(version.training_job_name)), frozenset({version.arn}))
    if (row.state, row.message, row.errors) == (version.state, version.message, version.errors):
        return Changed()
    before = row.state
    row.state, row.message, row.errors = version.state, version.message, version.errors
    alerts.component_moved(session, row, before)
    return Changed(frozenset(_names(row.training_job_name)), frozenset({row.arn}))


def _names(name: str | None) -> set[str]:
    return {name} if name else set()


def _attempt_for_component(
    session: Session, tags: dict[str, str], artifact_uri: str | None
) -> CompilationAttempt | None:
    """A component belongs to the attempt its tag names, else to the attempt whose compiled model it ships."""
    tagged = tags.get(TAG_COMPILATION_JOB)
    if tagged and (found := attempt(session, tagged)) is not None:
        return found
    if artifact_uri:
        query = select(CompilationAttempt).where(
            here(CompilationAttempt.use_case, session), CompilationAttempt.artifact == artifact_uri
        )
        return session.exec(query).first()
    return None


def components_named(session: Session, name: str, version: str) -> ComponentVersion | None:
    """The component version of that name and version."""
    query = select(ComponentVersion).where(
        here(ComponentVersion.use_case, session),
        ComponentVersion.component_name == name,
        ComponentVersion.component_version == version,
    )
    return session.exec(query).first()
