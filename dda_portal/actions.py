"""What a user (or the sync, for automatic compilation) can ask for.

Each goes domain rule → AWS gateway → store → event, the same road the refresh takes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from nicegui import run

from .aws.artifacts import COMPILATION_LOG_GROUP, TRAINING_LOG_GROUP, LogsGateway, S3Gateway
from .aws.clients import AwsClients, problem_from
from .aws.greengrass import GreengrassGateway
from .aws.sagemaker import SageMakerGateway
from .config import Settings
from .domain import linking
from .domain.access import refusal
from .domain.attempts import CompileInputs, InvalidInput, StartDecision, check_inputs
from .domain.console import ConsoleLinks
from .domain.greengrass import (
    TAG_COMPILATION_JOB,
    component_name,
    component_state_from_aws,
    model_recipe,
    next_version,
)
from .domain.logs import LogRead, log_text
from .domain.naming import compilation_job_name
from .domain.problems import AwsProblem
from .domain.status import CompilationStatus, TrainingStatus, training_status_from_aws
from .domain.targets import TargetCatalog
from .store import CompilationAttempt, ComponentVersion, Store, as_utc, utcnow
from .workers import PageReads

if TYPE_CHECKING:
    from .auth import Gate
    from .sync import Sync

log = logging.getLogger(__name__)

DOWNLOAD_URL_SECONDS = 300

# Tags on a training job that override the compile defaults for that job.
TAG_FRAMEWORK = 'dda-portal:framework'
TAG_FRAMEWORK_VERSION = 'dda-portal:framework-version'
TAG_INPUT_SHAPE = 'dda-portal:input-shape'


@dataclass
class StartOutcome:
    """What happened to each requested target."""

    started: list[str] = field(default_factory=list)  # compilation job names
    refused: dict[str, str] = field(default_factory=dict)  # target id → reason (ours or AWS's code: message)
    retry_later: set[str] = field(default_factory=set)  # refused targets AWS only said "not now" for

    @property
    def changed(self) -> bool:
        return bool(self.started)


class Compiler:
    """Starts SageMaker Neo compilation jobs, never two live ones for the same (training job, target)."""

    def __init__(self, settings: Settings, store: Store, clients: AwsClients, catalog: TargetCatalog) -> None:
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.sagemaker = SageMakerGateway(clients)

    def setup_problem(self) -> str | None:
        """Why nothing can be compiled with this configuration, in words the user can act on."""
        if not self.settings.sagemaker_role_arn:
            return (
                'Set DDA_SAGEMAKER_ROLE_ARN to the IAM role SageMaker assumes for compilation '
                '(it needs read access to the model and write access to the output location), '
                'then restart the portal.'
            )
        return None

    def configured_defaults(self) -> CompileInputs:
        return CompileInputs(
            self.settings.framework, self.settings.framework_version, self.settings.input_shape
        )

    def defaults_for(self, training_job: str, sagemaker: SageMakerGateway | None = None) -> CompileInputs:
        """Configured defaults, overridden by the training job's `dda-portal:*` tags (one AWS call, through
        `sagemaker` when given)."""
        job = self.store.training_job(training_job)
        tags = (sagemaker or self.sagemaker).tags(job.arn) if job and job.arn else {}
        return CompileInputs(
            framework=tags.get(TAG_FRAMEWORK, self.settings.framework),
            framework_version=tags.get(TAG_FRAMEWORK_VERSION, self.settings.framework_version),
            input_shape=tags.get(TAG_INPUT_SHAPE, self.settings.input_shape),
        )

    def output_location(self, training_job: str, job_name: str, model_artifact: str) -> str:
        if self.settings.compile_output_s3:
            return f'{self.settings.compile_output_s3.rstrip("/")}/{job_name}/'
        # beside the training output: s3://bucket/out/<training job>/compiled/<compilation job>/
        prefix = (
            model_artifact.rsplit('/output/', 1)[0]
            if '/output/' in model_artifact
            else model_artifact.rsplit('/', 1)[0]
        )
        return f'{prefix}/compiled/{job_name}/'

    def start(
        self, training_job: str, target_ids: list[str], inputs: CompileInputs | None, origin: str
    ) -> StartOutcome:
        """Blocking: re-check with SageMaker, reserve each target, create its job; refusals are reported."""
        outcome = StartOutcome()
        problem = self.setup_problem()
        unknown = [t for t in target_ids if t not in self.catalog]
        for target_id in unknown:
            outcome.refused[target_id] = 'Not a target of the catalogue.'
        target_ids = [t for t in target_ids if t in self.catalog]
        if problem:
            outcome.refused.update(dict.fromkeys(target_ids, problem))
            return outcome
        try:
            described = self.sagemaker.describe_training_job(training_job)
            inputs = inputs or self.defaults_for(training_job)
        except Exception as error:  # AWS's refusal, shown as code: message
            aws_problem = problem_from(error)
            outcome.refused.update(dict.fromkeys(target_ids, str(aws_problem)))
            if aws_problem.transient:
                outcome.retry_later.update(target_ids)
            return outcome
        status = training_status_from_aws(described.get('TrainingJobStatus'))
        model = (described.get('ModelArtifacts') or {}).get('S3ModelArtifacts')
        if status is not TrainingStatus.COMPLETED or not model:
            reason = f'SageMaker reports the training job as {status}; only a Completed job can be compiled.'
            outcome.refused.update(dict.fromkeys(target_ids, reason))
            return outcome
        for target_id in target_ids:
            reserved = self.store.reserve_attempt(
                training_job,
                target_id,
                self.catalog.display_name(target_id),
                partial(compilation_job_name, training_job, target_id),
                origin,
            )
            if isinstance(reserved, StartDecision):
                outcome.refused[target_id] = reserved.reason
                continue
            refusal = self._create(reserved, model, inputs, origin)
            if refusal:
                outcome.refused[target_id] = str(refusal)
                if refusal.transient:
                    outcome.retry_later.add(target_id)
            else:
                outcome.started.append(reserved.job_name)
        return outcome

    def _create(
        self, attempt: CompilationAttempt, model: str, inputs: CompileInputs, origin: str
    ) -> AwsProblem | None:
        assert attempt.training_job_name is not None and self.settings.sagemaker_role_arn is not None
        target = self.catalog[attempt.target_id]
        input_config = {'S3Uri': model, 'DataInputConfig': inputs.input_shape, 'Framework': inputs.framework}
        if inputs.framework_version:
            input_config['FrameworkVersion'] = inputs.framework_version
        output = target.output_config(
            self.output_location(attempt.training_job_name, attempt.job_name, model)
        )
        tags = {
            linking.TAG_TRAINING_JOB: attempt.training_job_name,
            linking.TAG_TARGET: target.id,
            linking.TAG_ORIGIN: origin,
        }
        try:
            arn = self.sagemaker.create_compilation_job(
                attempt.job_name,
                self.settings.sagemaker_role_arn,
                input_config,
                output,
                self.settings.compile_max_runtime_seconds,
                tags,
            )
        except Exception as error:
            problem = problem_from(error)
            if problem.code == 'ResourceInUse':  # the same deterministic name exists: it is this attempt
                log.info('Compilation job %s already exists; keeping it', attempt.job_name)
                return None
            log.info('SageMaker refused %s: %s', attempt.job_name, problem)
            self.store.release_attempt(attempt.job_name)
            return problem
        self.store.confirm_attempt(
            attempt.job_name, arn, inputs.framework, self.settings.compile_max_runtime_seconds
        )
        return None

    def stop(self, job_name: str) -> tuple[str | None, str | None]:
        """Blocking: ask SageMaker to stop; (training job, None) or (None, AWS's code: message)."""
        try:
            self.sagemaker.stop_compilation_job(job_name)
        except Exception as error:
            return None, str(problem_from(error))
        return self.store.set_attempt_status(job_name, CompilationStatus.STOPPING), None


class Packager:
    """Makes a Greengrass component version from a completed compilation attempt, once per attempt."""

    def __init__(self, settings: Settings, store: Store, clients: AwsClients, catalog: TargetCatalog) -> None:
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.greengrass = GreengrassGateway(clients)

    def package(self, job_name: str, origin: str) -> tuple[str | None, str | None]:
        """Blocking; (training job, None) when a version was created, else (None, why not)."""
        attempt = self.store.attempt(job_name)
        if attempt is None or attempt.status != CompilationStatus.COMPLETED or not attempt.artifact:
            return None, 'Only a completed compilation with a compiled model can be packaged.'
        if attempt.target_id not in self.catalog or not attempt.training_job_name:
            return None, 'The target of this compilation is not in the catalogue.'
        existing = self.store.component_for_attempt(job_name)
        if existing is not None:
            return None, f'Already packaged as {existing.component_name} {existing.component_version}.'
        target = self.catalog[attempt.target_id]
        name = component_name(self.settings.component_name_template, attempt.training_job_name, target.id)
        version = next_version(
            c.component_version for c in self.store.components() if c.component_name == name
        )
        pending = ComponentVersion(
            arn=f'pending:{job_name}',
            component_name=name,
            component_version=version,
            state='Requested',
            created_at=utcnow(),
            compilation_job_name=job_name,
            training_job_name=attempt.training_job_name,
            target_id=target.id,
            architecture=target.greengrass_architecture,
            artifact_uri=attempt.artifact,
            origin='portal',
        )
        if not self.store.reserve_component(pending):
            return None, 'This compilation is being packaged already.'
        recipe = model_recipe(
            name,
            version,
            attempt.artifact,
            target.greengrass_architecture,
            f'{target.display_name} model compiled by {job_name}',
        )
        tags = {
            TAG_COMPILATION_JOB: job_name,
            linking.TAG_TRAINING_JOB: attempt.training_job_name,
            linking.TAG_TARGET: target.id,
            linking.TAG_ORIGIN: origin,
        }
        try:
            created = self.greengrass.create_component_version(recipe, tags)
        except Exception as error:
            self.store.settle_component(pending.arn, None)
            return None, str(problem_from(error))
        status = created.get('status') or {}
        self.store.settle_component(
            pending.arn,
            ComponentVersion(
                arn=created['arn'],
                component_name=name,
                component_version=version,
                state=component_state_from_aws(status.get('componentState')).value,
                message=status.get('message'),
                created_at=as_utc(created.get('creationTimestamp')),
                compilation_job_name=job_name,
                training_job_name=attempt.training_job_name,
                target_id=target.id,
                architecture=target.greengrass_architecture,
                artifact_uri=attempt.artifact,
                origin='portal',
            ),
        )
        return attempt.training_job_name, None


class Actions:
    """The user's requests from the pages, each awaited off NiceGUI's loop."""

    def __init__(
        self,
        clients: AwsClients,
        sync: Sync,
        compiler: Compiler,
        packager: Packager,
        gate: Gate,
        reads: PageReads | None = None,
    ) -> None:
        self.gate = gate  # who asks: changes to AWS are checked here, whatever the page shows
        self.sync = sync
        self.compiler = compiler
        self.packager = packager
        self.store = compiler.store
        # page reads of AWS: their own pool and short-timeout clients, never behind the refresh or sign-in
        self.reads = reads or PageReads(clients.interactive())
        self.logs = LogsGateway(self.reads.clients)
        self.s3 = S3Gateway(self.reads.clients)
        self.sagemaker = SageMakerGateway(self.reads.clients)
        self.console = ConsoleLinks(clients.region)

    async def refresh_now(self) -> AwsProblem | None:
        """Run a refresh cycle now (or wait for the one under way); the AWS problem if it failed."""
        return await self.sync.run_once()

    def signed_out(self) -> AwsProblem | None:
        """Every read of AWS data checks the person at the moment it runs, like every action."""
        if self.gate.current() is None:
            return AwsProblem('SignedOut', 'Your session has ended; sign in again.')
        return None

    def _attempt_on_page(self, job_name: str, training_job: str) -> CompilationAttempt | None:
        """The attempt, only when it belongs to the training job the page is about (a crafted event may name
        any job)."""
        attempt = self.store.attempt(job_name)
        return attempt if attempt is not None and attempt.training_job_name == training_job else None

    async def training_logs(self, training_job: str) -> LogRead | AwsProblem:
        return await self._logs(TRAINING_LOG_GROUP, training_job, 5000)

    async def compilation_logs(self, job_name: str) -> LogRead | AwsProblem:
        """The attempt's CloudWatch Logs (model-info-extraction, compilation …), first 5,000 events."""
        return await self._logs(COMPILATION_LOG_GROUP, job_name, 5000)

    async def compilation_log_file(self, job_name: str) -> str | AwsProblem:
        """Every event of the attempt's logs (all pages) as a text file."""
        result = await self._logs(COMPILATION_LOG_GROUP, job_name, None)
        if isinstance(result, AwsProblem):
            return result
        return log_text(result) if result.events else f'# {result.missing or "No log events."}\n'

    async def _logs(self, group: str, job_name: str, limit: int | None) -> LogRead | AwsProblem:
        if signed_out := self.signed_out():
            return signed_out
        result = await self.reads.read(self.logs.job_events, group, job_name, limit)
        if isinstance(result, AwsProblem):  # shown to the user with AWS's code and message
            log.info('Reading logs of %s failed: %s', job_name, result)
        return result

    async def object_sizes(self, uris: list[str]) -> dict[str, int | None] | AwsProblem:
        """Size in bytes of each S3 object (None where there is no object)."""
        if signed_out := self.signed_out():
            return signed_out

        def sizes() -> dict[str, int | None]:
            return {uri: self.s3.object_size(uri) for uri in uris}

        return await self.reads.read(sizes)

    async def artifact_download_url(self, job_name: str, training_job: str) -> str | AwsProblem:
        """A presigned URL for the compiled model of an attempt of `training_job`, made now and valid for
        five minutes."""
        if signed_out := self.signed_out():
            return signed_out
        attempt = self._attempt_on_page(job_name, training_job)
        if attempt is None or attempt.status != CompilationStatus.COMPLETED or not attempt.artifact:
            return AwsProblem('NotCompiled', 'This attempt has no compiled model to download.')
        uri = attempt.artifact

        def presign() -> str | AwsProblem:
            if self.s3.object_size(uri) is None:  # Neo writes one archive; a bare prefix has nothing to fetch
                return AwsProblem('NoSuchKey', f'There is no object at {uri}.')
            return self.s3.presigned_download(uri, DOWNLOAD_URL_SECONDS)

        return await self.reads.read(presign)

    def refusal(self, doing: str) -> str | None:
        """Why the person on whose page this runs may not `doing`, or None when they may."""
        return refusal(self.gate.current(), doing)

    async def package(self, job_name: str, training_job: str) -> str | None:
        """Package a completed compilation of `training_job` as a Greengrass component; why not, when it
        cannot."""
        if refused := self.refusal('package models'):
            return refused
        if self._attempt_on_page(job_name, training_job) is None:
            return f'{job_name} is not a compilation of {training_job}.'
        result = await run.io_bound(self.packager.package, job_name, 'manual')
        owner, problem = result or (None, 'The portal is shutting down.')
        if owner:
            self.store.changed.emit(frozenset({owner}))
        return problem

    async def retry_compilation(self, training_job: str, target_id: str) -> StartOutcome:
        """Start the next attempt of a Failed or Stopped target with the job's compile defaults."""
        if refused := self.refusal('retry compilations'):
            return StartOutcome(refused={target_id: refused})
        outcome = await run.io_bound(self.compiler.start, training_job, [target_id], None, 'manual')
        outcome = outcome or StartOutcome(refused={target_id: 'The portal is shutting down.'})
        self.store.changed.emit(frozenset({training_job}))
        return outcome

    async def compile_defaults(self, training_job: str) -> CompileInputs | AwsProblem:
        """The compile dialog's defaults: the training job's tags read as a page read of AWS."""
        return await self.reads.read(self.compiler.defaults_for, training_job, self.sagemaker)

    async def start_compilation(
        self,
        training_job: str,
        target_ids: list[str],
        framework: str,
        framework_version: str,
        input_shape: str,
    ) -> StartOutcome:
        """Validate what the user typed, then start one job per target; rows appear at once."""
        if refused := self.refusal('start compilations'):
            return StartOutcome(refused=dict.fromkeys(target_ids, refused))
        try:
            inputs = check_inputs(framework, framework_version, input_shape)
        except InvalidInput as error:
            return StartOutcome(refused=dict.fromkeys(target_ids, str(error)))
        outcome = await run.io_bound(self.compiler.start, training_job, target_ids, inputs, 'manual')
        outcome = outcome or StartOutcome(refused=dict.fromkeys(target_ids, 'The portal is shutting down.'))
        self.store.changed.emit(frozenset({training_job}))
        return outcome

    async def stop_compilation(self, job_name: str, training_job: str) -> str | None:
        """Stop a running attempt of `training_job`; AWS's code and message when it refuses."""
        if refused := self.refusal('stop compilations'):
            return refused
        if self._attempt_on_page(job_name, training_job) is None:
            return f'{job_name} is not a compilation of {training_job}.'
        result = await run.io_bound(self.compiler.stop, job_name)
        owner, problem = result or (None, 'The portal is shutting down.')
        if owner:
            self.store.changed.emit(frozenset({owner}))
        return problem
