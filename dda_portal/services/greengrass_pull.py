"""What a refresh reads of Greengrass: new component versions and those still being settled, and the fleet's
inventory on its own slower cadence. Each fills a CycleResult that the refresh commits as one part."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from .. import queries
from ..aws.clients import AwsClients, problem_from
from ..aws.greengrass import GreengrassGateway
from ..aws.iot import IotGateway
from ..config import Settings
from ..domain.clock import as_utc
from ..queries.refresh import CycleResult
from ..store import Store
from ..tables import CoreDevice, InstalledComponent
from .facts import artifact_uris, component_facts, recipe_platforms

log = logging.getLogger(__name__)

# when the last device inventory ran: a local timer, so the portal's clock (no AWS time is compared with it)
DEVICES_WATERMARK = 'core_devices'
# versions stored before the portal kept recipe platforms, read once each, at most this many a refresh
PLATFORMS_PER_REFRESH = 100


class GreengrassPull:
    """Reads Greengrass into a refresh's result (blocking; runs in the refresh's worker thread)."""

    def __init__(
        self, settings: Settings, store: Store, greengrass: GreengrassGateway, iot: IotGateway | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.greengrass = greengrass
        self.iot = iot

    @classmethod
    def of(cls, settings: Settings, store: Store, clients: AwsClients) -> GreengrassPull:
        return cls(settings, store, GreengrassGateway(clients), IotGateway(clients))

    def components(self, result: CycleResult) -> bool:
        """New component versions and those Greengrass is still working on; settled ones are not re-read."""
        known = {c.arn for c in self.store.read(queries.fleet.components)}
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
        """The whole fleet, on its own slower cadence (a large fleet costs one call per device); False when
        the inventory is not due (a failed one is due again at the next refresh)."""
        last = self.store.read(queries.refresh.watermark, DEVICES_WATERMARK)
        if (
            last is not None
            and (result.started_at - last).total_seconds() < self.settings.device_refresh_seconds
        ):
            return False
        result.devices, result.installed = [], []
        things = ThingReads(self.iot, self.store.read(queries.matrix.thing_reads))
        for device in self.greengrass.core_devices():
            name = device['coreDeviceThingName']
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
        result.watermarks[DEVICES_WATERMARK] = result.started_at
        return True


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
