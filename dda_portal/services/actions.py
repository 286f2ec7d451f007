"""What a user asks for from a page, each checked against who asks and awaited off NiceGUI's loop.

Each goes domain rule → AWS gateway → store → event, the same road the refresh takes. Every action on an AWS
object takes its place (`use_case`: a use_cases.Place key; None: the first place, the only one without
DDA_USE_CASES_FILE) and works there: that place's clients, settings and rows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, TypeVarTuple

from botocore.exceptions import BotoCoreError, ClientError
from nicegui import run

from .. import queries
from ..auth import Gate
from ..aws.artifacts import COMPILATION_LOG_GROUP, TRAINING_LOG_GROUP, LogsGateway, S3Gateway
from ..aws.clients import AwsClients, problem_from
from ..aws.sagemaker import SageMakerGateway
from ..domain.access import refusal
from ..domain.attempts import CompileInputs, check_inputs
from ..domain.changes import Changed
from ..domain.console import ConsoleLinks
from ..domain.logs import LogRead, log_text
from ..domain.places import use_case_name
from ..domain.problems import AwsProblem, Invalid, NotAllowed, Problem, Unavailable
from ..domain.status import CompilationStatus
from ..tables import CompilationAttempt
from ..workers import PageReads
from .compiler import Compiler, StartOutcome
from .deployer import Deployer, Prepared
from .packager import Packager
from .places import PlaceServices, Refreshes

log = logging.getLogger(__name__)
T = TypeVar('T')
Ts = TypeVarTuple('Ts')

DOWNLOAD_URL_SECONDS = 300


@dataclass(frozen=True)
class PlaceActions:
    """What actions use in one place: its services, and gateways over its short-timeout clients."""

    key: str
    compiler: Compiler
    packager: Packager
    logs: LogsGateway
    s3: S3Gateway
    sagemaker: SageMakerGateway
    console: ConsoleLinks
    deployer: Deployer

    @classmethod
    def of(cls, place: PlaceServices, interactive: AwsClients) -> PlaceActions:
        store = place.compiler.store
        return cls(
            place.key,
            place.compiler,
            place.packager,
            LogsGateway(interactive),
            S3Gateway(interactive),
            SageMakerGateway(interactive),
            ConsoleLinks(place.clients.region),
            Deployer(store, place.clients, interactive),
        )


class Actions:
    """The user's requests from the pages, each awaited off NiceGUI's loop."""

    def __init__(
        self, sync: Refreshes, places: Sequence[PlaceServices], gate: Gate, reads: PageReads
    ) -> None:
        self.gate = gate  # who asks: changes to AWS are checked here, whatever the page shows
        self.sync = sync  # every place's refresh
        # page reads of AWS: their own pool and short-timeout clients, never behind the refresh or sign-in
        self.reads = reads
        self.places = {p.key: PlaceActions.of(p, _interactive(p.clients, reads)) for p in places}
        first = self.place(None)
        self.compiler, self.packager, self.store = first.compiler, first.packager, first.compiler.store
        self.logs, self.s3, self.sagemaker = first.logs, first.s3, first.sagemaker
        self.console, self.deployer = first.console, first.deployer

    def place(self, use_case: str | None) -> PlaceActions:
        """The place an object is in (None: the first); Invalid for a place this portal does not read."""
        if use_case is None:
            return next(iter(self.places.values()))
        found = self.places.get(use_case)
        if found is None:
            raise Invalid(f'The portal reads no use case {use_case!r}.')
        return found

    def _at(self, use_case: str, call: Callable[[*Ts], T], *args: *Ts) -> T:
        """`call(*args)` (blocking) with the store working in the place `use_case`."""
        with self.store.at(use_case):
            return call(*args)

    async def refresh_now(self) -> None:
        """Run a refresh cycle now (or wait for the one under way); on a replica that does not lead, the
        leader's. Raises the AwsProblem it failed with."""
        problem = await self.sync.refresh_now()
        if problem is not None:
            raise problem

    def check_signed_in(self, use_case: str | None = None) -> None:
        """Every read of AWS data checks the person at the moment it runs, like every action; with a use case
        (a place key), that they may see it."""
        person = self.gate.current()
        if person is None:
            raise NotAllowed('Your session has ended; sign in again.')
        if use_case is not None and not person.may_see(use_case):
            raise NotAllowed(f'{person.name} has no role in use case {use_case_name(use_case)}.')

    def check_allowed(self, doing: str, use_case: str) -> None:
        """Raises NotAllowed when the person on whose page this runs may not `doing` in `use_case` (the place
        key of the object acted on)."""
        if reason := refusal(self.gate.current(), doing, use_case):
            raise NotAllowed(reason)

    async def check(self, doing: str | None = None, use_case: str | None = None) -> None:
        """check_signed_in (in `use_case` when given), or check_allowed(doing) in the use case of the object
        acted on (None: the first place), with the sign-in read off the event loop when the gate's cached one
        has aged (what handlers await)."""
        await self.gate.load_current()
        if doing is None:
            self.check_signed_in(use_case)
        else:
            self.check_allowed(doing, use_case if use_case is not None else self.place(None).key)

    def refusal(self, doing: str, use_case: str) -> str | None:
        """Why the person on whose page this runs may not `doing` to an object of `use_case` (a place key), or
        None when they may (pages show it)."""
        return refusal(self.gate.current(), doing, use_case)

    def without_greengrass(self, use_case: str | None) -> str | None:
        """Why nothing is packaged or deployed in `use_case` (its Greengrass is off), or None."""
        return self.place(use_case).packager.setup_problem()

    def _greengrass_place(self, use_case: str | None) -> PlaceActions:
        """The place of a deployment action; Invalid when its Greengrass is off."""
        if blocked := self.without_greengrass(use_case):
            raise Invalid(blocked)
        return self.place(use_case)

    async def _attempt_on_page(
        self, job_name: str, training_job: str, use_case: str | None = None
    ) -> CompilationAttempt:
        """The attempt, only when it belongs to the training job the page is about (a crafted event may name
        any job) in its place; read in the store's read threads. Raises Invalid otherwise."""
        attempt = await self.store.fetch(queries.jobs.attempt, job_name, self.place(use_case).key)
        if attempt is None or attempt.training_job_name != training_job:
            raise Invalid(f'{job_name} is not a compilation of {training_job}.')
        return attempt

    async def training_logs(self, training_job: str, use_case: str | None = None) -> LogRead:
        return await self._logs(TRAINING_LOG_GROUP, training_job, 5000, use_case)

    async def compilation_logs(self, job_name: str, use_case: str | None = None) -> LogRead:
        """The attempt's CloudWatch Logs (model-info-extraction, compilation …), first 5,000 events."""
        return await self._logs(COMPILATION_LOG_GROUP, job_name, 5000, use_case)

    async def compilation_log_file(self, job_name: str, use_case: str | None = None) -> str:
        """Every event of the attempt's logs (all pages) as a text file."""
        result = await self._logs(COMPILATION_LOG_GROUP, job_name, None, use_case)
        return log_text(result) if result.events else f'# {result.missing or "No log events."}\n'

    async def _logs(self, group: str, job_name: str, limit: int | None, use_case: str | None) -> LogRead:
        await self.check(None, use_case)
        logs = self.place(use_case).logs
        try:
            return await self.reads.read(logs.job_events, group, job_name, limit)
        except Problem as problem:  # shown to the user with AWS's code and message
            log.info('Reading logs of %s failed: %s', job_name, problem)
            raise

    async def object_sizes(self, uris: list[str], use_case: str | None = None) -> dict[str, int | None]:
        """Size in bytes of each S3 object of the place (None where there is no object)."""
        await self.check(None, use_case)
        s3 = self.place(use_case).s3

        def sizes() -> dict[str, int | None]:
            return {uri: s3.object_size(uri) for uri in uris}

        return await self.reads.read(sizes)

    async def artifact_download_url(
        self, job_name: str, training_job: str, use_case: str | None = None
    ) -> str:
        """A presigned URL for the compiled model of an attempt of `training_job`, made now and valid for
        five minutes."""
        await self.check(None, use_case)
        attempt = await self._attempt_on_page(job_name, training_job, use_case)
        if attempt.status != CompilationStatus.COMPLETED or not attempt.artifact:
            raise Invalid('This attempt has no compiled model to download.')
        uri, s3 = attempt.artifact, self.place(use_case).s3

        def presign() -> str:
            if s3.object_size(uri) is None:  # Neo writes one archive; a bare prefix has nothing to fetch
                raise AwsProblem('NoSuchKey', f'There is no object at {uri}.')
            return s3.presigned_download(uri, DOWNLOAD_URL_SECONDS)

        return await self.reads.read(presign)

    async def package(self, job_name: str, training_job: str, use_case: str | None = None) -> None:
        """Package a completed compilation of `training_job` as a Greengrass component. Raises the Problem
        when it cannot."""
        await self.check('package models', use_case)
        await self._attempt_on_page(job_name, training_job, use_case)
        place = self.place(use_case)
        owner = await run.io_bound(self._at, place.key, place.packager.package, job_name, 'manual')
        if owner is None:
            raise Unavailable('The portal is shutting down.')
        # the new version shows on /components and on the job's page at once
        changed = await self.store.fetch(queries.fleet.changed_with_components, {owner}, place.key)
        self.store.publish(changed.placed(place.key))

    async def retry_compilation(
        self, training_job: str, target_id: str, use_case: str | None = None
    ) -> StartOutcome:
        """Start the next attempt of a Failed or Stopped target with the job's compile defaults."""
        await self.check('retry compilations', use_case)
        return await self._start(training_job, [target_id], None, use_case)

    async def compile_defaults(self, training_job: str, use_case: str | None = None) -> CompileInputs:
        """The compile dialog's defaults: the training job's tags read as a page read of AWS."""
        await self.check(None, use_case)
        place = self.place(use_case)
        return await self.reads.read(
            self._at, place.key, place.compiler.defaults_for, training_job, place.sagemaker
        )

    async def start_compilation(
        self,
        training_job: str,
        target_ids: list[str],
        framework: str,
        framework_version: str,
        input_shape: str,
        use_case: str | None = None,
    ) -> StartOutcome:
        """Validate what the user typed, then start one job per target; rows appear at once. Raises the
        Problem that stops the whole request; each target's own refusal is in the outcome."""
        await self.check('start compilations', use_case)
        inputs = check_inputs(framework, framework_version, input_shape)  # raises InvalidInput
        return await self._start(training_job, target_ids, inputs, use_case)

    async def start_compilation_with_defaults(
        self, training_job: str, target_ids: list[str], use_case: str | None = None
    ) -> StartOutcome:
        """Start one job per target with the training job's compile defaults (its tags, else the settings),
        as the JSON API does when it is given no inputs."""
        await self.check('start compilations', use_case)
        return await self._start(training_job, target_ids, None, use_case)

    async def _start(
        self, training_job: str, target_ids: list[str], inputs: CompileInputs | None, use_case: str | None
    ) -> StartOutcome:
        place = self.place(use_case)
        outcome = await run.io_bound(
            self._at, place.key, place.compiler.start, training_job, target_ids, inputs, 'manual'
        )
        if outcome is None:
            raise Unavailable('The portal is shutting down.')
        self.store.publish(Changed.jobs(training_job).placed(place.key))
        return outcome

    async def stop_compilation(self, job_name: str, training_job: str, use_case: str | None = None) -> None:
        """Stop a running attempt of `training_job`. Raises the Problem (AWS's code and message when SageMaker
        refuses)."""
        await self.check('stop compilations', use_case)
        await self._attempt_on_page(job_name, training_job, use_case)
        place = self.place(use_case)
        owner = await run.io_bound(self._at, place.key, place.compiler.stop, job_name)
        if owner:
            self.store.publish(Changed.jobs(owner).placed(place.key))

    # ---- deployments ---------------------------------------------------------------------------------------

    async def deploy_plan(
        self, target_arn: str, component: str, version: str, use_case: str | None = None
    ) -> Prepared:
        """The before/after set and every pre-flight finding of deploying the version to the target."""
        await self.check(None, use_case)
        place = self._greengrass_place(use_case)

        def prepare() -> Prepared:
            return place.deployer.prepare(target_arn, component, version)

        return await self.reads.read(self._at, place.key, prepare)

    async def deploy(self, target_arn: str, component: str, version: str, use_case: str | None = None) -> str:
        """Deploy (the pre-flight runs again here; a blocking finding refuses). The deployment's id."""
        await self.check('deploy components', use_case)
        who, place = self._who(), self._greengrass_place(use_case)
        deployment_id = await run.io_bound(
            self._at, place.key, _aws_problems, place.deployer.deploy, target_arn, component, version, who
        )
        if deployment_id is None:
            raise Unavailable('The portal is shutting down.')
        self.store.publish(Changed(deployments=frozenset({deployment_id})))
        return deployment_id

    async def roll_back(self, target_arn: str, use_case: str | None = None) -> str:
        """Redeploy the target's previous revision. The new deployment's id."""
        await self.check('roll back deployments', use_case)
        place = self._greengrass_place(use_case)
        deployment_id = await run.io_bound(
            self._at, place.key, _aws_problems, place.deployer.roll_back, target_arn, self._who()
        )
        if deployment_id is None:
            raise Unavailable('The portal is shutting down.')
        self.store.publish(Changed(deployments=frozenset({deployment_id})))
        return deployment_id

    def _who(self) -> str:
        person = self.gate.current()
        return person.name if person is not None else 'unknown'


def _interactive(clients: AwsClients, reads: PageReads) -> AwsClients:
    """The short-timeout clients of a place: the pages' own for the home session, else the place's."""
    return reads.clients if clients.session is reads.clients.session else clients.interactive()


def _aws_problems(call: Callable[[*Ts], T], *args: *Ts) -> T:
    """`call(*args)`, an AWS failure raised as the AwsProblem pages show."""
    try:
        return call(*args)
    except (ClientError, BotoCoreError) as error:
        raise problem_from(error) from error
