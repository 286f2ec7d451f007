"""The compatibility matrix's shared facts: read once for every open `/fleet` tab, then kept current by the
feed pattern (pages/feeds.py) from the component versions and devices each change names."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from nicegui import background_tasks

from ... import queries
from ...domain.changes import EVERYTHING, Changed
from ...queries.matrix import DeviceColumn, MatrixRead, Release, VersionRow
from ...store import Store
from ..feeds import EVERY_KEY, Feed

log = logging.getLogger(__name__)

Key = tuple[str, str]  # ('component', arn) or ('device', object key: domain.places.object_key)


def keys_of(changed: Changed) -> frozenset[Key]:
    return frozenset(('component', arn) for arn in changed.components) | frozenset(
        ('device', name) for name in changed.devices
    )


@dataclass
class MatrixFacts:
    """Every version row and device column the matrix can show, and what each device runs."""

    versions: dict[str, VersionRow] = field(default_factory=dict)
    devices: dict[str, DeviceColumn] = field(default_factory=dict)
    running: dict[str, frozenset[Release]] = field(default_factory=dict)
    deployed: dict[str, frozenset[Release]] = field(default_factory=dict)
    groups: dict[str, frozenset[str]] = field(default_factory=dict)

    def apply(self, read: MatrixRead) -> None:
        if read.complete:
            self.versions, self.devices, self.running, self.deployed, self.groups = {}, {}, {}, {}, {}
        for arn, version in read.versions.items():
            if version is None:
                self.versions.pop(arn, None)
            else:
                self.versions[arn] = version
        for name, device in read.devices.items():
            if device is None:
                for known in (self.devices, self.running, self.deployed, self.groups):
                    known.pop(name, None)
            else:
                self.devices[name] = device
                self.running[name] = read.running.get(name, frozenset())
                self.deployed[name] = read.deployed.get(name, frozenset())
                self.groups[name] = read.groups.get(name, frozenset())


class MatrixFeed(Feed[Key, MatrixRead]):
    """One feed for every `/fleet` tab: a change is read once, for the versions and devices it names, and
    applied to the shared facts before the tabs redraw. With no tab open the facts are dropped (the next tab
    reads them anew), so no change is read for nobody."""

    def __init__(self, store: Store) -> None:
        super().__init__(
            store,
            'matrix',
            keys_of,
            queries.matrix.matrix,
            lambda session: (frozenset(), queries.matrix.matrix(session)),
        )
        self.facts: MatrixFacts | None = None
        self._loading: asyncio.Task[None] | None = None
        self._early: list[MatrixRead] = []

    def _viewers(self) -> bool:
        event = self._tabs.get(EVERY_KEY)
        return event is not None and bool(event.callbacks)

    def _follow(self, changed: Changed) -> None:
        if not self._viewers() and self._loading is None:
            self.facts = None
            return
        if changed.deployments:  # a deployment reaches whole thing groups: the matrix is read again
            changed = changed | EVERYTHING
        super()._follow(changed)

    async def current(self) -> MatrixFacts | None:
        """The shared facts (read once, off the loop, by the first tab that asks); None when the store could
        not be read (logged; the next tab tries again)."""
        if self.facts is None and self._loading is None:
            self._loading = background_tasks.create(self._load(), name='matrix facts')
        if self._loading is not None:
            await asyncio.shield(self._loading)
        return self.facts

    async def _load(self) -> None:
        try:
            read = await self.store.fetch(queries.matrix.matrix)
            facts = MatrixFacts()
            facts.apply(read)
            for later in self._early:  # changes read while the whole matrix was being read
                facts.apply(later)
            self.facts = facts
        except Exception as error:
            log.warning('Reading the compatibility matrix failed: %s', error)
        finally:
            self._early = []
            self._loading = None

    def _hand_out(self, keys: frozenset[Key], data: MatrixRead) -> None:
        if self._loading is not None:
            self._early.append(data)
        elif self.facts is not None:
            self.facts.apply(data)
        super()._hand_out(keys, data)
