"""Greengrass components made from compiled models, and the fleet that runs them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

RECIPE_FORMAT = '2020-01-25'
MAX_COMPONENT_NAME = 128
# Greengrass core devices report their status on changes and at least once a day by default
STALE_AFTER = timedelta(hours=25)
TAG_COMPILATION_JOB = 'dda-portal:compilation-job'


class ComponentState(StrEnum):
    REQUESTED = 'Requested'
    INITIATED = 'Initiated'
    DEPLOYABLE = 'Deployable'
    FAILED = 'Failed'
    DEPRECATED = 'Deprecated'
    UNKNOWN = 'Unknown'

    @property
    def is_final(self) -> bool:
        return self in (ComponentState.DEPLOYABLE, ComponentState.FAILED, ComponentState.DEPRECATED)


def component_state_from_aws(raw: object) -> ComponentState:
    """Greengrass v2 componentState (REQUESTED, INITIATED, DEPLOYABLE, FAILED, DEPRECATED)."""
    if isinstance(raw, str) and raw.upper() in ComponentState.__members__:
        return ComponentState[raw.upper()]
    return ComponentState.UNKNOWN


_NAME_INVALID = re.compile(r'[^a-zA-Z0-9._-]+')


def component_name(template: str, model: str, target_id: str) -> str:
    """`model-<name>-<target>` by default; only characters Greengrass accepts, at most 128."""
    name = template.format(name=model, target=target_id)
    return _NAME_INVALID.sub('-', name).strip('-.')[:MAX_COMPONENT_NAME]


def next_version(existing: Iterable[str]) -> str:
    """Versions count up as x.0.0: one more than the highest major version that exists."""
    majors = [int(m.group(1)) for v in existing if (m := re.match(r'^(\d+)\.', v))]
    return f'{max(majors, default=0) + 1}.0.0'


def model_recipe(
    name: str, version: str, artifact_uri: str, platform: str | dict[str, str], description: str
) -> dict[str, Any]:
    """A recipe that ships the compiled model archive to devices of one platform: the target's Greengrass
    platform attributes (os, architecture, accelerator…), or an architecture alone."""
    attributes = {'os': 'linux', 'architecture': platform} if isinstance(platform, str) else dict(platform)
    return {
        'RecipeFormatVersion': RECIPE_FORMAT,
        'ComponentName': name,
        'ComponentVersion': version,
        'ComponentDescription': description,
        'ComponentPublisher': 'DDA Portal',
        'Manifests': [
            {
                'Platform': attributes,
                'Artifacts': [{'URI': artifact_uri, 'Unarchive': 'NONE', 'Permission': {'Read': 'ALL'}}],
                'Lifecycle': {},
            }
        ],
    }


@dataclass(frozen=True)
class DeviceHealth:
    word: str  # what the user reads: Healthy, Unhealthy, Unknown
    stale: bool  # the last report is older than Greengrass's daily report


def device_health(status: str | None, last_report: datetime | None, now: datetime) -> DeviceHealth:
    word = {'HEALTHY': 'Healthy', 'UNHEALTHY': 'Unhealthy'}.get((status or '').upper(), 'Unknown')
    stale = last_report is None or now - last_report > STALE_AFTER
    return DeviceHealth(word, stale)


def missing_architectures(fleet: Iterable[str], compiled: Iterable[str]) -> list[str]:
    """Fleet architectures (aarch64, amd64…) that no completed compilation covers yet."""
    have = set(compiled)
    return sorted({arch for arch in fleet if arch} - have)
