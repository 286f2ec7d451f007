"""Every use-case place (an account-region pair of a use case) with services of its own: AWS clients from its
session (the home credential chain, or AssumeRole into its account), the use case's settings over the
portal's, and its own refresh, compiler and packager over the one store (each working in its place's rows).

`Refreshes` runs the places' refreshes together: each bounded, so a slow or failing account never delays or
fails another; a place that fails (an AssumeRole denied, an expired token) records its failure on its own
parts while the others refresh. Without DDA_USE_CASES_FILE there is one place, the default one, with the
portal's own clients and settings: everything is as it was."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from nicegui import run

from ..aws.clients import AwsClients
from ..config import Settings
from ..domain.clock import as_utc, utcnow
from ..domain.problems import AwsProblem
from ..domain.targets import TargetCatalog
from ..store import Store
from ..use_cases import Place, UseCase, places_of, session_for
from .compiler import Compiler
from .packager import Packager
from .sync import Sync

log = logging.getLogger(__name__)

TIMED_OUT = 'RefreshTimedOut'
# a place's refresh may take this long before it counts as failed (a first history load, a slow account)
MIN_BOUND_SECONDS = 30.0


@dataclass(frozen=True)
class PlaceServices:
    """What works in one place: its clients, its settings, its refresh, compiler and packager."""

    place: Place
    settings: Settings
    clients: AwsClients
    compiler: Compiler
    packager: Packager
    sync: Sync

    @property
    def key(self) -> str:
        return self.place.key


def settings_for(settings: Settings, use_case: UseCase) -> Settings:
    """The portal's settings with the use case's own (those it sets) in their place."""
    update: dict[str, object] = {}
    if use_case.sagemaker_role_arn is not None:
        update['sagemaker_role_arn'] = use_case.sagemaker_role_arn
    if use_case.compile_output_s3 is not None:
        update['compile_output_s3'] = use_case.compile_output_s3
    if use_case.auto_compile_targets is not None:
        update['auto_compile_targets'] = ','.join(use_case.auto_compile_targets)
    if use_case.greengrass_enabled is not None:
        update['greengrass_enabled'] = use_case.greengrass_enabled
    return settings.model_copy(update=update) if update else settings


def clients_for(place: Place, home: AwsClients) -> AwsClients:
    """The place's clients: the home ones when the place is the home session itself, else clients of its own
    session, with a call counter of their own (each place's refresh records its own calls)."""
    session = session_for(place, home.session)
    if session is home.session:
        return home
    return AwsClients(session=session)


def build_places(
    settings: Settings, store: Store, home: AwsClients, catalog: TargetCatalog
) -> list[PlaceServices]:
    """One PlaceServices per place of Settings.use_cases, in the file's order."""
    built: list[PlaceServices] = []
    for place in places_of(settings.use_cases):
        own = settings_for(settings, place.use_case)
        clients = clients_for(place, home)
        compiler = Compiler(own, store, clients, catalog)
        packager = Packager(own, store, clients, catalog)
        sync = Sync(own, store, clients, catalog, compiler, packager, place.key)
        built.append(PlaceServices(place, own, clients, compiler, packager, sync))
    return built


class Refreshes:
    """The refreshes of every place, run together (the schedule's, and "Refresh now")."""

    def __init__(self, store: Store, places: list[PlaceServices], bound_seconds: float) -> None:
        self.store = store
        self.places = places
        # one place alone waits for its own refresh, as the portal always did; several are each bounded
        self.bound_seconds: float | None = max(bound_seconds, MIN_BOUND_SECONDS) if len(places) > 1 else None

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts any place reads, in refresh order."""
        found: dict[str, None] = {}
        for place in self.places:
            found.update(dict.fromkeys(place.sync.parts))
        return tuple(found)

    @property
    def aws_calls(self) -> int:
        """AWS calls every place made so far (each counter once: places may share the home clients)."""
        counters = {id(place.clients.counter): place.clients.counter for place in self.places}
        return sum(counter.total for counter in counters.values())

    @property
    def cycles(self) -> int:
        return sum(place.sync.cycles for place in self.places)

    async def run_scheduled(self) -> AwsProblem | None:
        """The schedule's refresh of every place: only the leader's runs."""
        if not self.store.leadership.leading:
            return None
        try:
            return await self.run_once()
        except asyncio.CancelledError:  # the portal stops: each place's thread ends its own refresh
            log.info('Refresh of every use case cancelled: the portal is stopping')
            return None

    async def refresh_now(self) -> AwsProblem | None:
        """Every place refreshed now (this replica's when it leads, else the leader's); the first failure."""
        if not self.store.leadership.leading:
            return await self.places[0].sync.refresh_now()  # the leader refreshes every place when asked
        return await self.run_once()

    async def run_once(self) -> AwsProblem | None:
        """One refresh of every place, together; the first place's failure in the file's order, else None."""
        problems = await asyncio.gather(*(self._bounded(place) for place in self.places))
        return next((problem for problem in problems if problem is not None), None)

    async def _bounded(self, place: PlaceServices) -> AwsProblem | None:
        started = utcnow()
        refresh = asyncio.ensure_future(place.sync.run_once())
        if self.bound_seconds is None:
            return await refresh
        try:
            problem = await asyncio.wait_for(asyncio.shield(refresh), self.bound_seconds)
        except TimeoutError:  # it goes on in its thread; the next refresh of this place waits for it
            problem = AwsProblem(
                TIMED_OUT, f'{place.key}: no refresh within {self.bound_seconds:g} seconds; still trying'
            )
            log.warning('Refresh of use case %s: %s', place.key, problem.message)
            await run.io_bound(self._record_timeout, place, started, problem)
            return problem
        if problem is None:
            return None
        # several places: the problem names whose it is ("Refresh now" shows it)
        return AwsProblem(problem.code, f'{place.key}: {problem.message}', problem.operation)

    def _record_timeout(self, place: PlaceServices, started: datetime, problem: AwsProblem) -> None:
        """Each of the place's parts not refreshed since `started` records the timeout (blocking)."""
        rows = self.store.freshness().places.get(place.key, {})
        try:
            with self.store.as_leader(), self.store.at(place.key):
                for part in place.sync.parts:
                    success = as_utc(rows[part].last_success) if part in rows else None
                    if success is None or success < started:
                        self.store.record_part_failure(part, utcnow(), problem.code, problem.message, '')
        except Exception as error:  # never fatal to the other places' refresh
            log.warning('Could not record the timeout of use case %s: %s', place.key, error)
