"""What a refresh reads of Greengrass: new component versions and those still being settled, and the fleet's
inventory on its own slower cadence. Each fills a CycleResult that the refresh commits as one part."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from .. import queries
from ..aws.clients import AwsClients, problem_from
from ..aws.greengrass import GreengrassGateway
from ..aws.iot import IotGateway
from ..config import Settings
from ..domain.clock import as_utc
from ..domain.deploy import thing_of_target
from ..queries.deployments import RolloutFacts
from ..queries.refresh import CycleResult
from ..store import Store
from ..tables import CoreDevice, Deployment, EffectiveDeployment, InstalledComponent
from .facts import artifact_uris, component_facts, recipe_platforms

log = logging.getLogger(__name__)

# when the last device inventory ran: a local timer, so the portal's clock (no AWS time is compared with it)
DEVICES_WATERMARK = 'core_devices'
# versions stored before the portal kept recipe platforms, read once each, at most this many a refresh
PLATFORMS_PER_REFRESH = 100


class GreengrassPull:
    """Reads Greengrass into a refresh's result (blocking; runs in the refresh's worker thread)."""

    def __init__(self, settings: Settings, store: Store, clients: AwsClients) -> None:
        self.settings = settings
        self.store = store
        self.greengrass = GreengrassGateway(clients)
        self.iot = IotGateway(clients)

    def components(self, result: CycleResult) -> bool:
        """New component versions and those Greengrass is still working on; settled ones are not re-read."""
        known = {c.arn for c in self.store.read(queries.fleet.components, None, [self.store.place])}
        wanted: list[str] = []
        for component in self.greengrass.components():
            if (component.get('latestVersion') or {}).get('arn') in known:
                continue
            wanted += [
                v['arn']
                for v in self.greengrass.component_versions(component['arn'])
                if v['arn'] not in known
            ]
        wanted += self.store.read(queries.fleet.unsettled_component_arns)
        for arn in dict.fromkeys(wanted):
            described = self.greengrass.describe_component(arn)
            if described is None:
                continue
            # a new version's recipe (read once: versions never change) tells which compiled model it ships
            # (recipes spell it URI) and the platforms it runs on
            recipe = None if arn in known else self.greengrass.recipe(arn)
            artifact = next(iter(artifact_uris(recipe)), None) if recipe is not None else None
            platforms = recipe_platforms(recipe) if recipe is not None else None
            result.component_versions.append(component_facts(described, artifact, platforms))
            result.component_tags[arn] = dict(described.get('tags') or {})
        for arn in self.store.read(queries.matrix.without_platforms, PLATFORMS_PER_REFRESH):
            result.component_platforms[arn] = recipe_platforms(self.greengrass.recipe_if_any(arn))
        return True

    def devices(self, result: CycleResult) -> bool:
        """The whole fleet, on its own slower cadence (a large fleet costs one call per device), with the
        thing groups and the latest deployments; while a rollout is followed, on every refresh, the devices
        it targets only, with their executions. False when neither is due (a failed one is due again at the
        next refresh)."""
        last = self.store.read(queries.refresh.watermark, DEVICES_WATERMARK)
        followed = self.store.read(queries.deployments.unsettled)
        due = (
            last is None or (result.started_at - last).total_seconds() >= self.settings.device_refresh_seconds
        )
        if not due and not followed:
            return False
        result.devices, result.installed = [], []
        targeted = None if due else self._targeted(followed)
        result.partial_inventory = targeted is not None
        known: set[str] = set()
        things = ThingReads(self.iot, self.store.read(queries.matrix.thing_reads))
        for device in self.greengrass.core_devices():
            name = device['coreDeviceThingName']
            known.add(name)
            if targeted is not None and name not in targeted:
                continue
            reported = as_utc(device.get('lastStatusUpdateTimestamp'))
            attributes, read_for = things.attributes(name, reported)
            result.devices.append(
                CoreDevice(
                    thing_name=name,
                    status=device.get('status'),
                    architecture=device.get('architecture'),
                    platform=device.get('platform'),
                    last_status_update=reported,
                    refreshed_at=result.started_at,
                    thing_attributes=attributes,
                    thing_read_for=read_for,
                )
            )
            result.installed += [
                InstalledComponent(
                    thing_name=name,
                    component_name=i['componentName'],
                    component_version=i['componentVersion'],
                    lifecycle_state=i.get('lifecycleState'),
                    last_status_change=as_utc(i.get('lastStatusChangeTimestamp')),
                    last_reported=as_utc(i.get('lastReportedTimestamp')),
                )
                for i in self.greengrass.installed_components(name)
            ]
        result.rollouts = self._rollouts(due, followed, known)
        if due:
            result.watermarks[DEVICES_WATERMARK] = result.started_at
        return True

    def _targeted(self, followed: list[Deployment]) -> set[str]:
        """The things the followed rollouts target (as the store knows the thing groups)."""
        return {t for d in followed for t in self.store.read(queries.deployments.target_things, d.target_arn)}

    def _rollouts(self, due: bool, followed: list[Deployment], devices: set[str]) -> RolloutFacts:
        """Thing groups (when the inventory is due), the latest deployment of each target (ListDeployments
        LATEST_ONLY; GetDeployment once per deployment not seen before, for its components), and
        ListEffectiveDeployments for each core device a followed or new unfinished rollout targets."""
        facts = RolloutFacts(deployments=[])
        if due:
            facts.thing_groups = {
                name: (arn, self.iot.things_in_group(name)) for name, arn in self.iot.thing_groups()
            }
        groups = facts.thing_groups or self.store.read(queries.deployments.thing_groups)
        members = {arn: things for arn, things in groups.values()}
        here = [self.store.place]
        known = {d.deployment_id: d for d in self.store.read(queries.deployments.deployments, None, here)}
        watch: dict[str, str] = {d.deployment_id: d.target_arn for d in followed}
        assert facts.deployments is not None
        for listed in self.greengrass.deployments():
            row = _deployment_row(listed)
            if row.deployment_id not in known:
                described = self.greengrass.deployment(row.deployment_id) or {}
                row.components = json.dumps(
                    {n: s.get('componentVersion') for n, s in (described.get('components') or {}).items()},
                    sort_keys=True,
                )
                watch[row.deployment_id] = row.target_arn
            facts.deployments.append(row)
        things: set[str] = set()
        for target in watch.values():
            thing = thing_of_target(target)
            things |= {thing} if thing else set(members.get(target, []))
        for thing in sorted(things & devices):
            for item in self.greengrass.effective_deployments(thing):
                facts.effective.append(_execution(thing, item))
        return facts


def _deployment_row(listed: dict[str, Any]) -> Deployment:
    return Deployment(
        deployment_id=listed['deploymentId'],
        target_arn=listed.get('targetArn', ''),
        revision_id=str(listed.get('revisionId') or ''),
        name=listed.get('deploymentName') or '',
        status=listed.get('deploymentStatus') or '',
        is_latest=bool(listed.get('isLatestForTarget', True)),
        created_at=as_utc(listed.get('creationTimestamp')),
        settled=listed.get('deploymentStatus') not in ('ACTIVE', None),
    )


def _execution(thing: str, item: dict[str, Any]) -> EffectiveDeployment:
    details = item.get('statusDetails') or {}
    status = str(item.get('coreDeviceExecutionStatus') or '')
    return EffectiveDeployment(
        thing_name=thing,
        deployment_id=str(item.get('deploymentId') or ''),
        target_arn=str(item.get('targetArn') or ''),
        status=status,
        reason=item.get('reason') or None,
        error_types=', '.join(details.get('errorTypes') or []) or None,
        updated_at=as_utc(item.get('modifiedTimestamp')),
    )


class ThingReads:
    """A device's IoT thing attributes, read (DescribeThing) only for a device that is new or has reported
    since they were last read: a quiet fleet costs no IoT call, and a device that reports a change (a new
    JetPack comes with a restart) is read again. When IoT refuses (no iot:DescribeThing permission), the
    devices keep what was read before and the rest of this inventory makes no more IoT calls."""

    def __init__(self, iot: IotGateway | None, stored: dict[str, tuple[str | None, datetime | None]]) -> None:
        self.iot = iot
        self.stored = stored
        self.refused = False

    def attributes(self, name: str, reported: datetime | None) -> tuple[str | None, datetime | None]:
        """The thing's attributes as JSON ('{}': no thing or none) and the report they were read for."""
        attributes, read_for = self.stored.get(name, (None, None))
        if self.iot is None or self.refused or (attributes is not None and as_utc(read_for) == reported):
            return attributes, read_for
        try:
            found = self.iot.thing_attributes(name)
        except Exception as error:  # the inventory goes on; the cells say the attributes are not read
            log.warning('Reading IoT thing %s failed: %s; not reading others now', name, problem_from(error))
            self.refused = True
            return attributes, read_for
        return json.dumps(found or {}, sort_keys=True), reported
