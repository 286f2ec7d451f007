"""Greengrass component versions, core devices and the components they run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ..domain.changes import Changed
from ..domain.clock import as_utc
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


def changed_with_components(session: Session, training_jobs: Iterable[str]) -> Changed:
    """A change of these training jobs and of their component versions (after packaging)."""
    names = frozenset(training_jobs)
    arns: set[str] = set()
    for chunk in _chunks(sorted(names)):
        query = select(ComponentVersion.arn).where(col(ComponentVersion.training_job_name).in_(chunk))
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


def fleet_devices(
    session: Session, names: Iterable[str] | None = None, use_cases: Collection[str] | None = None
) -> tuple[list[CoreDevice], dict[str, list[Installed]]]:
    """Core devices (these names, or all of them by name) of the places given (None: all) and what each
    runs."""
    found = devices(session, names, use_cases)
    if names is not None and not found:
        return found, {}
    query = (
        select(
            InstalledComponent.thing_name,
            InstalledComponent.component_name,
            InstalledComponent.component_version,
            InstalledComponent.lifecycle_state,
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
        for row in session.exec(chunk):
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


def replace_inventory(
    session: Session,
    reported: list[CoreDevice],
    installed: list[InstalledComponent],
    *,
    partial: bool = False,
) -> Changed:
    """The fleet as Greengrass reports it now (a full inventory; `partial`: only these devices, the others
    stay as stored). What is stored is read as plain columns; only devices whose facts or components differ
    are rewritten. Changed: those devices, the training jobs of the releases they run or ran, and the
    component versions whose set of devices changed."""
    place = place_of(session)
    old_devices, old_installed = _stored_fleet(session)
    new_installed: dict[str, list[InstalledComponent]] = defaultdict(list)
    for item in installed:
        item.use_case = place
        new_installed[item.thing_name].append(item)
    changed: set[str] = set()
    for device in reported:
        now = sorted(_installed_facts(i) for i in new_installed.get(device.thing_name, []))
        if (
            old_devices.get(device.thing_name) != _device_facts(device)
            or old_installed.get(device.thing_name, []) != now
        ):
            changed.add(device.thing_name)
            device.use_case = place
            session.merge(device)
    gone = set() if partial else set(old_devices) - {d.thing_name for d in reported}
    ran: set[Release] = set()  # releases a changed device runs or ran: their training jobs changed
    moved: set[Release] = set()  # releases a device started or stopped running: their device lists changed
    for name in changed | gone:
        before = {(facts[0], facts[1]) for facts in old_installed.get(name, [])}
        after = {(i.component_name, i.component_version) for i in new_installed.get(name, [])}
        ran |= before | after
        moved |= before ^ after
    for chunk in _chunks(sorted(changed | gone)):
        session.execute(
            delete(InstalledComponent).where(
                here(InstalledComponent.use_case, session), col(InstalledComponent.thing_name).in_(chunk)
            )
        )
    for chunk in _chunks(sorted(gone)):
        session.execute(
            delete(CoreDevice).where(
                here(CoreDevice.use_case, session), col(CoreDevice.thing_name).in_(chunk)
            )
        )
    for name in changed:
        session.add_all(new_installed.get(name, []))
    session.flush()
    for device in reported:
        was = old_devices.get(device.thing_name)
        if _unhealthy(device.status) and (was is None or not _unhealthy(was[0])):
            running = [(i.component_name, i.component_version) for i in new_installed[device.thing_name]]
            alerts.device_became_unhealthy(session, device.thing_name, device.last_status_update, running)
    jobs, arns = _owners(session, ran, moved)
    architectures_before = {facts[1] for facts in old_devices.values()}
    architectures = {device.architecture for device in reported}
    if partial:
        architectures |= architectures_before
    return Changed(
        frozenset(jobs), frozenset(arns), frozenset(changed | gone), architectures != architectures_before
    )


def _stored_fleet(session: Session) -> tuple[dict[str, tuple[Any, ...]], dict[str, list[tuple[str, ...]]]]:
    """Each stored device's facts and its sorted installed components' facts, as plain columns."""
    devices = {
        name: (status, architecture, platform, _iso(last_update), attributes, _iso(read_for))
        for name, status, architecture, platform, last_update, attributes, read_for in session.connection().execute(  # noqa: E501
            sa_select(  # more columns than sqlmodel's select types
                col(CoreDevice.thing_name),
                col(CoreDevice.status),
                col(CoreDevice.architecture),
                col(CoreDevice.platform),
                col(CoreDevice.last_status_update),
                col(CoreDevice.thing_attributes),
                col(CoreDevice.thing_read_for),
            ).where(here(CoreDevice.use_case, session))
        )
    }
    installed: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for thing, name, version, state, changed_at, reported_at in session.connection().execute(
        sa_select(
            col(InstalledComponent.thing_name),
            col(InstalledComponent.component_name),
            col(InstalledComponent.component_version),
            col(InstalledComponent.lifecycle_state),
            col(InstalledComponent.last_status_change),
            col(InstalledComponent.last_reported),
        ).where(here(InstalledComponent.use_case, session))
    ):
        installed[thing].append((name, version, state or '', _iso(changed_at), _iso(reported_at)))
    return devices, {thing: sorted(items) for thing, items in installed.items()}


def _owners(session: Session, ran: set[Release], moved: set[Release]) -> tuple[set[str], set[str]]:
    """The training jobs of the releases in `ran`, and the component versions of those in `moved`."""
    jobs: set[str] = set()
    arns: set[str] = set()
    if not ran:
        return jobs, arns
    owners = session.exec(
        select(
            ComponentVersion.arn,
            ComponentVersion.training_job_name,
            ComponentVersion.component_name,
            ComponentVersion.component_version,
        ).where(
            here(ComponentVersion.use_case, session),
            col(ComponentVersion.component_name).in_(sorted({name for name, _ in ran})),
        )
    )
    for arn, owner, name, version in owners:
        if (name, version) in ran:
            jobs.update(_names(owner))
        if (name, version) in moved:
            arns.add(arn)
    return jobs, arns


def _device_facts(device: CoreDevice) -> tuple[Any, ...]:
    return (
        device.status,
        device.architecture,
        device.platform,
        _iso(device.last_status_update),
        device.thing_attributes,
        _iso(device.thing_read_for),
    )


def _installed_facts(item: InstalledComponent) -> tuple[str, ...]:
    return (
        item.component_name,
        item.component_version,
        item.lifecycle_state or '',
        _iso(item.last_status_change),
        _iso(item.last_reported),
    )


def _iso(value: datetime | None) -> str:
    moment = as_utc(value)
    return moment.isoformat() if moment is not None else ''


def _unhealthy(status: str | None) -> bool:
    return (status or '').upper() == 'UNHEALTHY'


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
