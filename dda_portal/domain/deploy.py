"""Deploying a component version to a thing group or a core device: the plan (the target's current set with
the chosen version in it), the pre-flight that names every fault at once, and the words of a rollout."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from . import compat
from .semver import is_requirement, satisfies

STALE_AFTER = timedelta(hours=24)  # a core device reports at least once a day
ROLLOUT_PER_MINUTE = 50  # devices the IoT job starts per minute
TIMEOUT_MINUTES = 60  # a device still in progress after this fails (TIMED_OUT) and rolls back
FINAL_EXECUTIONS = frozenset({'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'CANCELED', 'COMPLETED'})
EXECUTION_WORDS = {
    'QUEUED': 'Queued',
    'IN_PROGRESS': 'In progress',
    'SUCCEEDED': 'Succeeded',
    'COMPLETED': 'Succeeded',
    'FAILED': 'Failed',
    'TIMED_OUT': 'Timed out',
    'REJECTED': 'Rejected',
    'CANCELED': 'Canceled',
}
_TARGET = re.compile(r'^arn:[^:]*:iot:[^:]*:\d+:(thing|thinggroup)/(.+)$')


class Severity(StrEnum):
    BLOCKS = 'blocks'
    WARNS = 'warns'


@dataclass(frozen=True)
class Finding:
    severity: Severity
    what: str
    todo: str  # what to do about it


@dataclass(frozen=True)
class DeviceFacts:
    thing_name: str
    architecture: str | None
    platform: str | None
    status: str | None
    last_status_update: datetime | None
    attributes: Mapping[str, str] | None = None  # the IoT thing's (accelerator, JetPack …); None: not read


@dataclass(frozen=True)
class Plan:
    """What the target runs now (`before`, its latest deployment) and what it will run (`after`)."""

    target_arn: str
    base_deployment_id: str | None
    before: dict[str, str]
    after: dict[str, str]

    @property
    def removed(self) -> dict[str, str]:
        return {n: v for n, v in self.before.items() if n not in self.after}

    @property
    def changes(self) -> list[tuple[str, str | None, str | None]]:
        """(component, version before, version after) of every component the deployment changes."""
        names = sorted(set(self.before) | set(self.after))
        return [
            (n, self.before.get(n), self.after.get(n))
            for n in names
            if self.before.get(n) != self.after.get(n)
        ]


@dataclass
class PreflightInputs:
    """Everything the pre-flight judges, read beforehand (no AWS call here)."""

    plan: Plan
    recipes: dict[tuple[str, str], dict[str, Any]]  # (name, version) → recipe, for the components after
    artifacts: dict[str, str | None]  # s3 URI → None when readable, else why not
    devices: list[DeviceFacts]
    published: dict[str, list[str]]  # component name → its published versions
    now: datetime
    missing_devices: list[str] = field(default_factory=list)  # group members with no core device


def thing_of_target(target_arn: str) -> str | None:
    found = _TARGET.match(target_arn)
    return found[2] if found and found[1] == 'thing' else None


def target_label(target_arn: str) -> str:
    found = _TARGET.match(target_arn)
    if not found:
        return target_arn
    return f'thing group {found[2]}' if found[1] == 'thinggroup' else f'core device {found[2]}'


def plan(
    target_arn: str,
    current: Mapping[str, str],
    component: str,
    version: str,
    base_deployment_id: str | None,
    remove: Iterable[str] = (),
) -> Plan:
    """The target's current components with `component` at `version` (replacing any other version of it),
    less `remove`."""
    after = {n: v for n, v in current.items() if n not in set(remove)}
    after[component] = version
    return Plan(target_arn, base_deployment_id, dict(current), after)


def client_token(plan: Plan) -> str:
    """The same plan from the same base revision gives the same token: a second click, tab or replica gets the
    deployment the first one created instead of a second one."""
    key = json.dumps([plan.target_arn, plan.base_deployment_id, sorted(plan.after.items())])
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def manifests(recipe: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = recipe.get('Manifests') or []
    return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []


def platform_fit(recipe: Mapping[str, Any], device: DeviceFacts) -> compat.Cell:
    """Whether a manifest of the recipe selects the device, judged as the compatibility matrix judges it
    (domain/compat.py: every Platform key, `*` and `/regex/` values, the thing's attributes)."""
    platforms = [m.get('Platform') or {} for m in manifests(recipe)]
    facts = compat.DeviceFacts(device.platform, device.architecture, device.attributes)
    return compat.judge([p for p in platforms if isinstance(p, dict)], facts)


def platform_mismatch(recipe: Mapping[str, Any], device: DeviceFacts) -> str | None:
    """Why no manifest of the recipe selects the device, or None when one does (or may)."""
    cell = platform_fit(recipe, device)
    return cell.text if cell.fit is compat.Fit.INCOMPATIBLE else None


def dependencies(recipe: Mapping[str, Any]) -> dict[str, str]:
    """ComponentDependencies: name → VersionRequirement ('*' when not given)."""
    found = recipe.get('ComponentDependencies') or {}
    if not isinstance(found, dict):
        return {}
    return {
        str(name): str((spec or {}).get('VersionRequirement') or '*') if isinstance(spec, dict) else '*'
        for name, spec in found.items()
    }


def artifact_uris(recipe: Mapping[str, Any]) -> list[str]:
    """The s3:// artifacts of every manifest (recipes spell the key Uri or URI)."""
    uris = (
        str(a.get('Uri') or a.get('URI') or '')
        for m in manifests(recipe)
        for a in m.get('Artifacts') or []
        if isinstance(a, dict)
    )
    return list(dict.fromkeys(uri for uri in uris if uri.startswith('s3://')))


def preflight(inputs: PreflightInputs) -> list[Finding]:
    """Every fault of the deployment at once: blocking ones first, then warnings."""
    p = inputs.plan
    found: list[Finding] = []
    for name, version in sorted(p.after.items()):
        if p.before.get(name) == version:
            continue  # already deployed: its artifacts and platforms were judged then
        recipe = inputs.recipes.get((name, version))
        if recipe is None:
            if not name.startswith('aws.'):
                found.append(
                    Finding(
                        Severity.BLOCKS,
                        f'{name} {version} is not a published component version.',
                        'Pick a version Greengrass lists as Deployable.',
                    )
                )
            continue
        found += _artifact_findings(name, version, recipe, inputs.artifacts)
        found += _platform_findings(name, version, recipe, inputs.devices)
    found += _dependency_findings(inputs)
    found += _device_findings(inputs)
    return sorted(found, key=lambda f: f.severity is not Severity.BLOCKS)


def _artifact_findings(
    name: str, version: str, recipe: Mapping[str, Any], artifacts: Mapping[str, str | None]
) -> list[Finding]:
    return [
        Finding(
            Severity.BLOCKS,
            f'The artifact {uri} of {name} {version} cannot be read: {artifacts[uri]}.',
            'Put the compiled model back at that S3 key (or package the compilation again), and check the '
            'Greengrass device role may read the bucket.',
        )
        for uri in artifact_uris(recipe)
        if artifacts.get(uri, 'it was not checked')
    ]


def _platform_findings(
    name: str, version: str, recipe: Mapping[str, Any], devices: list[DeviceFacts]
) -> list[Finding]:
    found = []
    for device in devices:
        cell = platform_fit(recipe, device)
        if cell.fit is compat.Fit.INCOMPATIBLE:
            found.append(
                Finding(
                    Severity.BLOCKS,
                    f'{name} {version} cannot run on {device.thing_name}: {cell.text}.',
                    f'Deploy the version compiled for {device.architecture or "its architecture"} to this '
                    'device, or deploy to a group without it.',
                )
            )
        elif cell.fit is compat.Fit.UNKNOWN:
            found.append(
                Finding(
                    Severity.WARNS,
                    f'Whether {name} {version} runs on {device.thing_name} is not known: {cell.text}.',
                    "State the device's platform in its IoT thing attributes (README, Compatibility matrix), "
                    'or check the device by hand before deploying.',
                )
            )
    return found


def _dependency_findings(inputs: PreflightInputs) -> list[Finding]:
    p = inputs.plan
    found = []
    for (name, version), recipe in sorted(inputs.recipes.items()):
        if p.after.get(name) != version:
            continue
        for dependency, requirement in sorted(dependencies(recipe).items()):
            if not is_requirement(requirement):
                found.append(
                    Finding(
                        Severity.BLOCKS,
                        f'{name} {version} requires {dependency} "{requirement}", which is not a version '
                        'requirement Greengrass reads.',
                        'Fix the VersionRequirement in the recipe (e.g. ">=1.0.0 <2.0.0") and publish a new '
                        'version.',
                    )
                )
            elif dependency in p.removed and dependency not in p.after:
                found.append(
                    Finding(
                        Severity.BLOCKS,
                        f'{name} {version} stays and depends on {dependency}, which this deployment removes: '
                        'Greengrass keeps it running for the dependant.',
                        f'Keep {dependency} in the deployment, or remove {name} as well.',
                    )
                )
            elif dependency in p.after:
                if not satisfies(p.after[dependency], requirement):
                    found.append(
                        Finding(
                            Severity.BLOCKS,
                            f'{name} {version} requires {dependency} {requirement}; the deployment has '
                            f'{p.after[dependency]}.',
                            f'Deploy a version of {dependency} that satisfies {requirement}.',
                        )
                    )
            elif not any(satisfies(v, requirement) for v in inputs.published.get(dependency, [])):
                have = ', '.join(sorted(inputs.published.get(dependency, []))) or 'none'
                found.append(
                    Finding(
                        Severity.BLOCKS,
                        f'{name} {version} requires {dependency} {requirement}, and no published version '
                        f'satisfies it (published: {have}).',
                        f'Publish a version of {dependency} within {requirement}, or a version of {name} '
                        'that accepts a published one.',
                    )
                )
    return found


def _device_findings(inputs: PreflightInputs) -> list[Finding]:
    found = []
    if not inputs.devices:
        found.append(
            Finding(
                Severity.BLOCKS,
                f'The {target_label(inputs.plan.target_arn)} has no Greengrass core device.',
                'Add core devices to the thing group, or pick another target.',
            )
        )
    for thing in inputs.missing_devices:
        found.append(
            Finding(
                Severity.WARNS,
                f'{thing} is in the group but is not a Greengrass core device the portal knows.',
                'It receives nothing; remove it from the group or set Greengrass up on it.',
            )
        )
    for device in inputs.devices:
        if device.status and device.status != 'HEALTHY':
            found.append(
                Finding(
                    Severity.WARNS,
                    f'{device.thing_name} reports {device.status.lower()}.',
                    'Look at its components on /devices first; a deployment may not fix it.',
                )
            )
        if device.last_status_update is None or inputs.now - device.last_status_update > STALE_AFTER:
            when = (
                device.last_status_update.strftime('%Y-%m-%d %H:%M UTC')
                if device.last_status_update
                else 'never'
            )
            found.append(
                Finding(
                    Severity.WARNS,
                    f'{device.thing_name} has not reported for a day (last: {when}).',
                    'It gets the deployment when it is back online; until then its rollout stays queued.',
                )
            )
    return found
