"""The services, and `build`: the one place that wires them over one store and one set of AWS clients.

- `compiler`: starts and stops SageMaker Neo compilation jobs;
- `packager`: makes a Greengrass component version of a completed compilation;
- `sync`: the refresh (each part pulled from AWS and committed on its own), then acting on what changed;
- `places`: each use-case place's own clients, settings, refresh, compiler and packager; `Refreshes` runs
  the places' refreshes together, each bounded;
- `actions`: what pages ask for, each checked against who asks and awaited off NiceGUI's loop;
- `alerts`: sends the alerts the store recorded (its outbox) through Apprise, from the leader.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..auth import Gate
from ..aws.clients import AwsClients
from ..config import Settings
from ..domain.targets import TargetCatalog
from ..store import Store
from ..workers import PageReads
from .actions import Actions
from .alerts import AlertSender, alert_policy
from .compiler import Compiler
from .packager import Packager
from .places import PlaceServices, Refreshes, build_places
from .sync import Sync


@dataclass(frozen=True)
class Services:
    compiler: Compiler
    packager: Packager
    sync: Sync
    actions: Actions
    alerts: AlertSender
    places: tuple[PlaceServices, ...]  # every use-case place's (the first: `compiler`, `packager`, `sync`)
    refreshes: Refreshes  # every place's refresh, together

    @property
    def gate(self) -> Gate:
        return self.actions.gate

    @property
    def reads(self) -> PageReads:
        return self.actions.reads


def build(
    settings: Settings,
    store: Store,
    clients: AwsClients,
    catalog: TargetCatalog,
    *,
    gate: Gate | None = None,
    reads: PageReads | None = None,
) -> Services:
    """Every service, each given the others it uses. `gate`: who asks (one per portal; a new one from the
    settings when not given); `reads`: the pages' reads of AWS (their own threads and short-timeout clients,
    never behind the refresh or sign-in; made from `clients` when not given)."""
    store.alert_policy = alert_policy(settings)  # what each write records in the outbox
    places = build_places(settings, store, clients, catalog)
    first = places[0]
    refreshes = Refreshes(store, places, settings.refresh_seconds)
    reads = reads or PageReads(clients.interactive())
    actions = Actions(refreshes, places, gate or Gate(settings, store), reads)
    alerts = AlertSender(settings, store)
    return Services(first.compiler, first.packager, first.sync, actions, alerts, tuple(places), refreshes)


__all__ = [
    'Actions',
    'AlertSender',
    'Compiler',
    'Packager',
    'PlaceServices',
    'Refreshes',
    'Services',
    'Sync',
    'build',
]
