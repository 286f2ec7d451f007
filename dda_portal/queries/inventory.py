"""What the refresh writes of the fleet's inventory: core devices and the components they run, rewritten
only where Greengrass reports something new (in the session's place)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ..domain.changes import Changed
from ..domain.clock import as_utc
from ..tables import ComponentVersion, CoreDevice, InstalledComponent
from . import alerts
from .fleet import Release, _chunks, _names
from .places import here, place_of


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
