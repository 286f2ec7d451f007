"""What the compatibility matrix reads: component versions with their recipe platforms, core devices with
their platform facts, and which devices run which versions; and what the refresh writes of recipes and things.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from ..domain.changes import Changed
from ..domain.compat import DeviceFacts
from ..domain.deploy import thing_of_target
from ..domain.places import by_place, object_key
from ..tables import ComponentVersion, CoreDevice, Deployment, InstalledComponent, ThingGroupMember
from .jobs import CHUNK
from .places import here, visible

Release = tuple[str, str]  # (component name, component version)
PENDING = 'pending:'  # a package the portal reserved before Greengrass answered (queries.fleet)


# ---- what the refresh writes ------------------------------------------------------------------------


def without_platforms(session: Session, limit: int) -> list[str]:
    """Component versions whose recipe platforms were never read (stored before the portal kept them)."""
    query = (
        select(ComponentVersion.arn)
        .where(
            here(ComponentVersion.use_case, session),
            col(ComponentVersion.platforms).is_(None),
            ~col(ComponentVersion.arn).startswith(PENDING),
        )
        .order_by(col(ComponentVersion.arn))
        .limit(limit)
    )
    return list(session.exec(query))


def record_platforms(session: Session, platforms: dict[str, str]) -> Changed:
    """Recipe platforms read for versions stored without them (write): those versions changed."""
    for arn, value in platforms.items():
        session.execute(
            update(ComponentVersion)
            .where(
                here(ComponentVersion.use_case, session),
                col(ComponentVersion.arn) == arn,
                col(ComponentVersion.platforms).is_(None),
            )
            .values(platforms=value)
        )
    return Changed(components=frozenset(platforms)) if platforms else Changed()


def thing_reads(session: Session) -> dict[str, tuple[str | None, datetime | None]]:
    """Each stored device's thing attributes (JSON) and the report they were read for."""
    query = select(CoreDevice.thing_name, CoreDevice.thing_attributes, CoreDevice.thing_read_for).where(
        here(CoreDevice.use_case, session)
    )
    return {name: (attributes, read_for) for name, attributes, read_for in session.exec(query)}


# ---- what the matrix reads --------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    """A matrix row: one component version, its training job and target when the portal linked them."""

    use_case: str
    arn: str
    component_name: str
    component_version: str
    training_job: str | None
    target_id: str | None
    created_at: datetime | None
    platforms: tuple[dict[str, str], ...] | None  # None: the recipe was not read (or is gone)

    @property
    def release(self) -> Release:
        return (self.component_name, self.component_version)


@dataclass(frozen=True)
class DeviceColumn:
    use_case: str
    thing_name: str
    facts: DeviceFacts
    status: str | None


@dataclass
class MatrixRead:
    """Versions (by ARN) and devices (by object key: thing names repeat across accounts) read, None: gone; and
    the releases each read device runs. `complete`: every version and device was read (a full read replaces
    what a page keeps)."""

    versions: dict[str, VersionRow | None] = field(default_factory=dict)
    devices: dict[str, DeviceColumn | None] = field(default_factory=dict)
    running: dict[str, frozenset[Release]] = field(default_factory=dict)
    # what the latest deployments of each read device's targets (the thing, its groups) include
    deployed: dict[str, frozenset[Release]] = field(default_factory=dict)
    groups: dict[str, frozenset[str]] = field(default_factory=dict)  # each read device's thing groups
    complete: bool = False


def matrix(
    session: Session,
    keys: Iterable[tuple[str, str]] | None = None,
    use_cases: Collection[str] | None = None,
) -> MatrixRead:
    """The matrix's facts for these keys (('component', arn) and ('device', object key)), all of them when
    None, in the places given (None: all)."""
    versions: Iterable[ComponentVersion]
    devices: list[CoreDevice] = []
    installed: list[Any] = []
    if keys is None:
        read = MatrixRead(complete=True)
        versions = session.exec(_version_query(use_cases))
        devices.extend(session.exec(select(CoreDevice).where(visible(CoreDevice.use_case, use_cases))))
        installed.extend(session.exec(_installed_query(use_cases)))
    else:
        keys = set(keys)
        arns = sorted(value for kind, value in keys if kind == 'component')
        things = sorted(value for kind, value in keys if kind == 'device')
        read = MatrixRead(versions=dict.fromkeys(arns), devices=dict.fromkeys(things))
        versions = _chunked(
            session, arns, lambda chunk: _version_query(use_cases).where(col(ComponentVersion.arn).in_(chunk))
        )
        for place, named in by_place(things).items():
            names = sorted(named)
            if use_cases is not None and place not in use_cases:
                continue
            devices += _chunked(
                session,
                names,
                lambda chunk, p=place: select(CoreDevice).where(
                    CoreDevice.use_case == p, col(CoreDevice.thing_name).in_(chunk)
                ),
            )
            installed += _chunked(
                session,
                names,
                lambda chunk, p=place: _installed_query([p]).where(
                    col(InstalledComponent.thing_name).in_(chunk)
                ),
            )
    for version in versions:
        if not version.component_name.startswith('aws.'):
            read.versions[version.arn] = _row(version)
    running: dict[str, set[Release]] = defaultdict(set)
    for place, thing, name, version_text in installed:
        running[object_key(place, thing)].add((name, version_text))
    deployed, groups = _deployed(session, use_cases) if devices else ({}, {})
    for device in devices:
        key = object_key(device.use_case, device.thing_name)
        read.devices[key] = _column(device)
        read.running[key] = frozenset(running.get(key, ()))
        read.deployed[key] = frozenset(deployed.get(key, ()))
        read.groups[key] = frozenset(groups.get(key, ()))
    return read


# a deployment that is the latest for its target and not given up: what its devices are meant to run
MEANT = ('ACTIVE', 'COMPLETED')


def _deployed(
    session: Session, use_cases: Collection[str] | None
) -> tuple[dict[str, set[Release]], dict[str, set[str]]]:
    """Each thing's releases (by object key) in its targets' latest deployments (Greengrass merges a device's
    thing and thing-group deployments), and each thing's groups. Reads every membership and latest deployment:
    one row per device and per target, whatever the change."""
    groups: dict[str, set[str]] = defaultdict(set)
    members: dict[tuple[str, str], set[str]] = defaultdict(set)  # (place, group ARN) → object keys
    for member in session.exec(select(ThingGroupMember).where(visible(ThingGroupMember.use_case, use_cases))):
        if member.thing_name:
            key = object_key(member.use_case, member.thing_name)
            groups[key].add(member.group_name)
            members[member.use_case, member.group_arn].add(key)
    deployed: dict[str, set[Release]] = defaultdict(set)
    latest = select(Deployment).where(
        visible(Deployment.use_case, use_cases), col(Deployment.is_latest), col(Deployment.status).in_(MEANT)
    )
    for deployment in session.exec(latest):
        thing = thing_of_target(deployment.target_arn)
        releases = set(_components(deployment.components).items())
        reached = (
            {object_key(deployment.use_case, thing)}
            if thing
            else members.get((deployment.use_case, deployment.target_arn), set())
        )
        for key in reached:
            deployed[key] |= releases
    return deployed, groups


def _components(text: str) -> dict[str, str]:
    try:
        value = json.loads(text or '{}')
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items() if v} if isinstance(value, dict) else {}


def _version_query(use_cases: Collection[str] | None) -> Any:
    return select(ComponentVersion).where(
        visible(ComponentVersion.use_case, use_cases), ~col(ComponentVersion.arn).startswith(PENDING)
    )


def _installed_query(use_cases: Collection[str] | None) -> Any:
    return select(
        InstalledComponent.use_case,
        InstalledComponent.thing_name,
        InstalledComponent.component_name,
        InstalledComponent.component_version,
    ).where(visible(InstalledComponent.use_case, use_cases))


def _chunked(session: Session, ordered: list[str], query_of: Any) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(ordered), CHUNK):
        found.extend(session.exec(query_of(ordered[start : start + CHUNK])))
    return found


def _row(version: ComponentVersion) -> VersionRow:
    return VersionRow(
        use_case=version.use_case,
        arn=version.arn,
        component_name=version.component_name,
        component_version=version.component_version,
        training_job=version.training_job_name,
        target_id=version.target_id,
        created_at=version.created_at,
        platforms=parse_platforms(version.platforms),
    )


def _column(device: CoreDevice) -> DeviceColumn:
    return DeviceColumn(
        use_case=device.use_case,
        thing_name=device.thing_name,
        facts=DeviceFacts(device.platform, device.architecture, parse_attributes(device.thing_attributes)),
        status=device.status,
    )


def parse_platforms(text: str | None) -> tuple[dict[str, str], ...] | None:
    """Stored recipe platforms; None when not read, gone ('null') or unreadable."""
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    return tuple({str(k): str(v) for k, v in item.items()} for item in value if isinstance(item, dict))


def parse_attributes(text: str | None) -> dict[str, str] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None
