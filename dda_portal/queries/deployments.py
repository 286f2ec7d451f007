"""Greengrass deployments, each core device's execution of them (rollouts), and IoT thing groups."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from ..domain.changes import Changed
from ..domain.clock import as_utc, utcnow
from ..domain.deploy import FINAL_EXECUTIONS, thing_of_target
from ..tables import Deployment, EffectiveDeployment, ThingGroupMember
from .jobs import CHUNK
from .places import here, place_of, visible

# a rollout still not final this long after it began is no longer followed (a device switched off for good
# would otherwise cost calls on every refresh)
FOLLOW_FOR = timedelta(days=1)
ENDED = frozenset({'CANCELED', 'INACTIVE', 'FAILED', 'COMPLETED'})


@dataclass
class RolloutFacts:
    """What a refresh read of deployments: the listed ones (None: not read), executions, thing groups."""

    deployments: list[Deployment] | None = None
    effective: list[EffectiveDeployment] = field(default_factory=list)
    thing_groups: dict[str, tuple[str, list[str]]] | None = None  # group name → (ARN, thing names)


def components_of(deployment: Deployment) -> dict[str, str]:
    try:
        found = json.loads(deployment.components or '{}')
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def thing_groups(session: Session, use_case: str | None = None) -> dict[str, tuple[str, list[str]]]:
    """Thing group name → (ARN, its things by name) in `use_case` (a place key; None: the session's)."""
    groups: dict[str, tuple[str, list[str]]] = {}
    query = (
        select(ThingGroupMember)
        .where(here(ThingGroupMember.use_case, session, use_case))
        .order_by(col(ThingGroupMember.group_name), col(ThingGroupMember.thing_name))
    )
    for row in session.exec(query):
        _, members = groups.setdefault(row.group_name, (row.group_arn, []))
        if row.thing_name:
            members.append(row.thing_name)
    return groups


def target_things(session: Session, target_arn: str, use_case: str | None = None) -> list[str]:
    """The things a deployment target reaches: the thing itself, or the thing group's members as stored (in
    `use_case`; None: the session's place)."""
    thing = thing_of_target(target_arn)
    if thing is not None:
        return [thing]
    query = select(ThingGroupMember.thing_name).where(
        here(ThingGroupMember.use_case, session, use_case), ThingGroupMember.group_arn == target_arn
    )
    return sorted(name for name in session.exec(query) if name)


def deployment(session: Session, deployment_id: str, use_case: str | None = None) -> Deployment | None:
    """The deployment of this id in `use_case` (a place key; None: the session's place)."""
    return session.get(Deployment, (place_of(session) if use_case is None else use_case, deployment_id))


def latest_for_target(session: Session, target_arn: str) -> Deployment | None:
    query = (
        select(Deployment)
        .where(here(Deployment.use_case, session), Deployment.target_arn == target_arn)
        .order_by(col(Deployment.is_latest).desc(), col(Deployment.created_at).desc().nulls_last())
        .limit(1)
    )
    return session.exec(query).first()


def unsettled(session: Session) -> list[Deployment]:
    """Deployments of the session's place whose rollout the refresh still follows."""
    query = select(Deployment).where(here(Deployment.use_case, session), col(Deployment.settled).is_(False))
    return list(session.exec(query))


def deployments(
    session: Session, ids: Iterable[str] | None = None, use_cases: Collection[str] | None = None
) -> list[Deployment]:
    """Deployments (these ids, or all) of the places given (None: all), newest first."""
    query = (
        select(Deployment)
        .where(visible(Deployment.use_case, use_cases))
        .order_by(col(Deployment.created_at).desc().nulls_last())
    )
    if ids is None:
        return list(session.exec(query))
    ordered = sorted(set(ids))
    found: list[Deployment] = []
    for start in range(0, len(ordered), CHUNK):
        found += session.exec(query.where(col(Deployment.deployment_id).in_(ordered[start : start + CHUNK])))
    return sorted(found, key=lambda d: as_utc(d.created_at) or datetime.min.replace(tzinfo=UTC), reverse=True)


def executions(
    session: Session, deployment_ids: Iterable[str], use_cases: Collection[str] | None = None
) -> dict[str, list[EffectiveDeployment]]:
    """Deployment id → each device's execution of it, by thing name (in the places given; None: all)."""
    ordered = sorted(set(deployment_ids))
    found: dict[str, list[EffectiveDeployment]] = defaultdict(list)
    for start in range(0, len(ordered), CHUNK):
        query = (
            select(EffectiveDeployment)
            .where(
                visible(EffectiveDeployment.use_case, use_cases),
                col(EffectiveDeployment.deployment_id).in_(ordered[start : start + CHUNK]),
            )
            .order_by(col(EffectiveDeployment.thing_name))
        )
        for row in session.exec(query):
            found[row.deployment_id].append(row)
    return dict(found)


@dataclass(frozen=True)
class Rollout:
    """A deployment and each targeted device's execution of it (None: not reported yet)."""

    deployment: Deployment
    components: dict[str, str]
    devices: dict[str, EffectiveDeployment | None]
    previous: Deployment | None  # the target's revision before it (what Roll back deploys again)


def rollouts(
    session: Session,
    *,
    components: Iterable[str] | None = None,
    thing: str | None = None,
    limit: int = 10,
    use_cases: Collection[str] | None = None,
) -> list[Rollout]:
    """The newest deployments (of the places given; None: all) that deploy one of these component names, or
    reach this thing; with the devices' executions. Only candidate rows are read (by target, or by the names
    in their components)."""
    wanted = set(components) if components is not None else None
    query = (
        select(Deployment)
        .where(visible(Deployment.use_case, use_cases))
        .order_by(col(Deployment.created_at).desc().nulls_last())
    )
    if thing is not None:
        groups = select(ThingGroupMember.group_arn).where(
            visible(ThingGroupMember.use_case, use_cases), ThingGroupMember.thing_name == thing
        )
        query = query.where(
            or_(
                col(Deployment.target_arn).endswith(f':thing/{thing}'), col(Deployment.target_arn).in_(groups)
            )
        )
    if wanted is not None:
        if not wanted:
            return []
        query = query.where(
            or_(*(col(Deployment.components).contains(json.dumps(n)) for n in sorted(wanted)))
        )
    found: list[Rollout] = []
    for item in session.exec(query):
        parts = components_of(item)
        things = target_things(session, item.target_arn, item.use_case)
        if wanted is not None and not wanted & set(parts):
            continue
        if thing is not None and thing not in things:
            continue
        ran = {
            row.thing_name: row
            for row in executions(session, [item.deployment_id], [item.use_case]).get(item.deployment_id, [])
        }
        found.append(Rollout(item, parts, {t: ran.get(t) for t in things}, previous_revision(session, item)))
        if len(found) >= limit:
            break
    return found


def previous_revision(session: Session, item: Deployment) -> Deployment | None:
    """The target's deployment just before this one, when stored (one the portal just created has no
    revision yet until the refresh lists it: it comes after every stored one)."""
    query = select(Deployment).where(
        Deployment.use_case == item.use_case,
        Deployment.target_arn == item.target_arn,
        Deployment.deployment_id != item.deployment_id,
    )
    mine = _revision(item.revision_id) if item.revision_id else 1 << 62
    earlier = [d for d in session.exec(query) if d.revision_id and _revision(d.revision_id) < mine]
    return max(earlier, key=lambda d: _revision(d.revision_id), default=None)


def _revision(value: str) -> int:
    return int(value) if value.isdigit() else 0


def record_deployment(session: Session, created: Deployment) -> Changed:
    """A deployment this portal just created: the target's earlier ones are no longer latest (write)."""
    created.use_case = place_of(session)
    same_target = select(Deployment).where(
        here(Deployment.use_case, session), Deployment.target_arn == created.target_arn
    )
    for row in session.exec(same_target):
        if row.deployment_id != created.deployment_id and row.is_latest:
            row.is_latest = False
            session.add(row)
    session.merge(created)
    return Changed(deployments=frozenset({created.deployment_id}))


def write_rollouts(session: Session, facts: RolloutFacts, now: datetime | None = None) -> Changed:
    """Thing groups (when read), listed deployments, devices' executions; then which rollouts are settled."""
    place = place_of(session)
    if facts.thing_groups is not None:
        session.execute(delete(ThingGroupMember).where(here(ThingGroupMember.use_case, session)))
        for name, (arn, members) in facts.thing_groups.items():
            for thing in members or ['']:
                session.add(
                    ThingGroupMember(use_case=place, group_name=name, thing_name=thing, group_arn=arn)
                )
        session.flush()
    changed = _write_listed(session, facts.deployments) if facts.deployments is not None else set()
    devices: set[str] = set()
    for execution in facts.effective:
        if _write_execution(session, execution):
            changed.add(execution.deployment_id)
            devices.add(execution.thing_name)
    session.flush()
    changed |= settle(session, now or utcnow())
    return Changed(devices=frozenset(devices), deployments=frozenset(changed))


def _write_listed(session: Session, listed: list[Deployment]) -> set[str]:
    """The latest deployment of each target as listed; a stored latest one of a listed target that is no
    longer listed was superseded."""
    changed: set[str] = set()
    targets = {d.target_arn: d.deployment_id for d in listed}
    latest = select(Deployment).where(here(Deployment.use_case, session), col(Deployment.is_latest).is_(True))
    for row in session.exec(latest):
        if targets.get(row.target_arn, row.deployment_id) != row.deployment_id:
            row.is_latest = False
            row.status = 'INACTIVE' if row.status in ('ACTIVE', 'COMPLETED') else row.status
            session.add(row)
            changed.add(row.deployment_id)
    for item in listed:
        item.use_case = place_of(session)
        stored = session.get(Deployment, (item.use_case, item.deployment_id))
        if stored is None:
            session.add(item)
            changed.add(item.deployment_id)
        elif (stored.status, stored.is_latest, stored.revision_id) != (
            item.status,
            item.is_latest,
            item.revision_id,
        ):
            stored.status, stored.is_latest, stored.revision_id = (
                item.status,
                item.is_latest,
                item.revision_id,
            )
            session.add(stored)
            changed.add(stored.deployment_id)
    return changed


def _write_execution(session: Session, execution: EffectiveDeployment) -> bool:
    """Whether the device's execution is new or changed."""
    execution.use_case = place_of(session)
    row = session.get(
        EffectiveDeployment, (execution.use_case, execution.thing_name, execution.deployment_id)
    )
    if row is None:
        session.add(execution)
        return True
    if (row.status, row.reason, row.error_types) == (
        execution.status,
        execution.reason,
        execution.error_types,
    ):
        return False
    row.status, row.reason, row.error_types = execution.status, execution.reason, execution.error_types
    row.updated_at = execution.updated_at
    session.add(row)
    return True


def settle(session: Session, now: datetime) -> set[str]:
    """Mark settled the rollouts the refresh need not follow any longer; their ids."""
    done: set[str] = set()
    for row in unsettled(session):
        things = target_things(session, row.target_arn)
        ran = {
            e.thing_name: e.status
            for e in executions(session, [row.deployment_id], [row.use_case]).get(row.deployment_id, [])
        }
        created = as_utc(row.created_at)
        finished = all(ran.get(t) in FINAL_EXECUTIONS for t in things)
        too_old = created is not None and now - created > FOLLOW_FOR
        if row.status in ENDED or finished or too_old:
            row.settled = True
            session.add(row)
            done.add(row.deployment_id)
    return done
