"""Starts and stops SageMaker Neo compilation jobs: never two live ones for one (training job, target)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

from .. import queries
from ..aws.clients import AwsClients, problem_from
from ..aws.sagemaker import SageMakerGateway
from ..config import Settings
from ..domain import linking
from ..domain.attempts import CompileInputs, StartDecision
from ..domain.naming import compilation_job_name
from ..domain.problems import AwsProblem, Invalid, Problem
from ..domain.status import CompilationStatus, TrainingStatus, training_status_from_aws
from ..domain.targets import TargetCatalog
from ..store import Store
from ..tables import CompilationAttempt

log = logging.getLogger(__name__)

# Tags on a training job that override the compile defaults for that job.
TAG_FRAMEWORK = 'dda-portal:framework'
TAG_FRAMEWORK_VERSION = 'dda-portal:framework-version'
TAG_INPUT_SHAPE = 'dda-portal:input-shape'


@dataclass
class StartOutcome:
    """What happened to each requested target."""

    started: list[str] = field(default_factory=list)  # compilation job names
    refused: dict[str, Problem] = field(default_factory=dict)  # target id → why it did not start

    @property
    def retry_later(self) -> set[str]:
        """Refused targets that were only told "not now" (AWS throttled or failing)."""
        return {target for target, problem in self.refused.items() if problem.transient}

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
        job = self.store.read(queries.jobs.training_job, training_job)
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
        setup = self.setup_problem()
        unknown = [t for t in target_ids if t not in self.catalog]
        for target_id in unknown:
            outcome.refused[target_id] = Invalid('Not a target of the catalogue.', 'unknown_target')
        target_ids = [t for t in target_ids if t in self.catalog]
        if setup:
            outcome.refused.update(dict.fromkeys(target_ids, Invalid(setup, 'not_configured')))
            return outcome
        try:
            described = self.sagemaker.describe_training_job(training_job)
            inputs = inputs or self.defaults_for(training_job)
        except Exception as error:  # AWS's refusal, shown as code: message
            outcome.refused.update(dict.fromkeys(target_ids, problem_from(error)))
            return outcome
        status = training_status_from_aws(described.get('TrainingJobStatus'))
        model = (described.get('ModelArtifacts') or {}).get('S3ModelArtifacts')
        if status is not TrainingStatus.COMPLETED or not model:
            reason = f'SageMaker reports the training job as {status}; only a Completed job can be compiled.'
            outcome.refused.update(dict.fromkeys(target_ids, Invalid(reason, 'training_not_completed')))
            return outcome
        for target_id in target_ids:
            reserved = self.store.write(
                queries.attempts.reserve_attempt,
                training_job,
                target_id,
                self.catalog.display_name(target_id),
                partial(compilation_job_name, training_job, target_id),
                origin,
            )
            if isinstance(reserved, StartDecision):
                outcome.refused[target_id] = Invalid(reserved.reason, reserved.kind)
                continue
            refusal = self._create(reserved, model, inputs, origin)
            if refusal:
                outcome.refused[target_id] = refusal
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
            self.store.write(queries.attempts.release_attempt, attempt.job_name)
            return problem
        self.store.write(
            queries.attempts.confirm_attempt,
            attempt.job_name,
            arn,
            inputs.framework,
            self.settings.compile_max_runtime_seconds,
        )
        return None

    def stop(self, job_name: str) -> str | None:
        """Blocking: ask SageMaker to stop; the training job whose attempt now stops. Raises AwsProblem when
        SageMaker refuses."""
        try:
            self.sagemaker.stop_compilation_job(job_name)
        except Exception as error:
            raise problem_from(error) from error
        return self.store.write(queries.attempts.set_attempt_status, job_name, CompilationStatus.STOPPING)
