"""What one write to the store changed, by key: the unit every page's feed reads and hands on."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from .places import object_key

# PostgreSQL takes a NOTIFY payload shorter than 8000 bytes; a change with more keys goes in several
PAYLOAD_BYTES = 7000


@dataclass(frozen=True)
class Changed:
    """The keys a commit touched: training jobs and core devices by object key (domain.places.object_key: the
    bare name in the default place, `place|name` in another), component version ARNs; and
    whether the set of architectures the fleet's devices run on changed (every training job page names the
    fleet architectures its compiled models do not cover yet); whether the alerts outbox changed.
    `everything`: anything may have changed (a replica that missed other replicas' notices while its
    listening connection was down). `deployments`: Greengrass deployment ids whose state or devices'
    executions changed."""

    training_jobs: frozenset[str] = frozenset()
    components: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    fleet_architectures: bool = False
    everything: bool = False
    alerts: bool = False  # the alerts outbox changed (an alert was sent, failed or given up)
    deployments: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(
            self.training_jobs
            or self.components
            or self.devices
            or self.fleet_architectures
            or self.everything
            or self.alerts
            or self.deployments
        )

    def __or__(self, other: Changed) -> Changed:
        return Changed(
            self.training_jobs | other.training_jobs,
            self.components | other.components,
            self.devices | other.devices,
            self.fleet_architectures or other.fleet_architectures,
            self.everything or other.everything,
            self.alerts or other.alerts,
            self.deployments | other.deployments,
        )

    def placed(self, place: str) -> Changed:
        """This change as written in one place (its jobs and devices by bare name, as the queries of that
        place see them) with keys that say the place: how it leaves the place for pages and other replicas.
        ARNs and deployment ids name their account and region already."""
        return replace(
            self,
            training_jobs=frozenset(object_key(place, name) for name in self.training_jobs),
            devices=frozenset(object_key(place, name) for name in self.devices),
        )

    @staticmethod
    def jobs(*names: str | None) -> Changed:
        """A change of these training jobs only (None entries are ignored)."""
        return Changed(training_jobs=frozenset(n for n in names if n))


NOTHING = Changed()
EVERYTHING = Changed(everything=True)


@dataclass(frozen=True)
class Notice:
    """What one replica tells the others after a commit: who sent it, the keys that changed, whether the
    refresh's record (the freshness pages show) changed and whether a refresh cycle ended; or (`refresh`) a
    request that the leader refresh now."""

    sender: str
    changed: Changed
    fresh: bool = False
    cycle: bool = False
    refresh: bool = False


def payloads(notice: Notice, limit: int = PAYLOAD_BYTES) -> list[str]:
    """The notice as JSON payloads of at most `limit` bytes each: its keys spread over as many as needed
    (a receiver takes each as a change of its own), at least one."""
    head: dict[str, Any] = {'from': notice.sender}
    for flag in ('fresh', 'cycle', 'refresh'):
        if getattr(notice, flag):
            head[flag] = True
    if notice.changed.fleet_architectures:
        head['arch'] = True
    if notice.changed.everything:
        head['all'] = True
    if notice.changed.alerts:
        head['alerts'] = True
    found: list[str] = []
    body: dict[str, list[str]] = {}
    size = len(_encode(head).encode())
    for field, keys in (
        ('jobs', notice.changed.training_jobs),
        ('components', notice.changed.components),
        ('devices', notice.changed.devices),
        ('deployments', notice.changed.deployments),
    ):
        for key in sorted(keys):
            cost = len(json.dumps(key, ensure_ascii=False).encode()) + len(field) + 8
            if cost + len(_encode(head).encode()) > limit:
                raise ValueError(f'a key of {cost} bytes does not fit in a notice')
            if size + cost > limit and body:
                found.append(_encode({**head, **body}))
                body, size = {}, len(_encode(head).encode())
            body.setdefault(field, []).append(key)
            size += cost
    found.append(_encode({**head, **body}))
    return found


def read_payload(payload: str) -> Notice | None:
    """A payload `payloads` made, or None when it is not one (another program's, or garbled)."""
    try:
        data = json.loads(payload)
        sender = data['from']
        changed = Changed(
            frozenset(_strings(data.get('jobs'))),
            frozenset(_strings(data.get('components'))),
            frozenset(_strings(data.get('devices'))),
            data.get('arch') is True,
            data.get('all') is True,
            data.get('alerts') is True,
            frozenset(_strings(data.get('deployments'))),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(sender, str):
        return None
    flags = (data.get(flag) is True for flag in ('fresh', 'cycle', 'refresh'))
    return Notice(sender, changed, *flags)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError('keys are a list of strings')
    return value


def _encode(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(',', ':'))
