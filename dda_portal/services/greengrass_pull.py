"""What a refresh reads of Greengrass: new component versions and those still being settled, and the fleet's
inventory on its own slower cadence. Each fills a CycleResult that the refresh commits as one part."""

from __future__ import annotations

from .. import queries
from ..aws.greengrass import GreengrassGateway
from ..config import Settings
from ..domain.clock import as_utc
from ..queries.refresh import CycleResult
from ..store import Store
from ..tables import CoreDevice, InstalledComponent
from .facts import artifact_uris, component_facts

# when the last device inventory ran: a local timer, so the portal's clock (no AWS time is compared with it)
DEVICES_WATERMARK = 'core_devices'


class GreengrassPull:
    """Reads Greengrass into a refresh's result (blocking; runs in the refresh's worker thread)."""

    def __init__(self, settings: Settings, store: Store, greengrass: GreengrassGateway) -> None:
        self.settings = settings
        self.store = store
        self.greengrass = greengrass

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
            # a new version's recipe tells which compiled model it ships (recipes spell it URI)
            artifact = None if arn in known else next(iter(artifact_uris(self.greengrass.recipe(arn))), None)
            version = component_facts(described, artifact)
            result.component_versions.append(version)
            result.component_tags[arn] = dict(described.get('tags') or {})
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
        for device in self.greengrass.core_devices():
            name = device['coreDeviceThingName']
            result.devices.append(
                CoreDevice(
                    thing_name=name,
                    status=device.get('status'),
                    architecture=device.get('architecture'),
                    platform=device.get('platform'),
                    last_status_update=as_utc(device.get('lastStatusUpdateTimestamp')),
                    refreshed_at=result.started_at,
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
