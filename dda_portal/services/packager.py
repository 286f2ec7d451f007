"""Packages a completed compilation as an AWS IoT Greengrass v2 component version, once per attempt."""

from __future__ import annotations

from sqlmodel import Session

from .. import queries
from ..aws.clients import AwsClients, problem_from
from ..aws.greengrass import GreengrassGateway
from ..config import Settings
from ..domain import linking
from ..domain.clock import as_utc, utcnow
from ..domain.greengrass import (
    TAG_COMPILATION_JOB,
    ComponentState,
    component_name,
    component_state_from_aws,
    model_recipe,
    next_version,
)
from ..domain.problems import Invalid
from ..domain.status import CompilationStatus
from ..domain.targets import TargetCatalog
from ..store import Store
from ..tables import ComponentVersion
from .facts import recipe_platforms


class Packager:
    """Makes a Greengrass component version from a completed compilation attempt, once per attempt."""

    def __init__(self, settings: Settings, store: Store, clients: AwsClients, catalog: TargetCatalog) -> None:
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.greengrass = GreengrassGateway(clients)

    def setup_problem(self) -> str | None:
        """Why nothing can be packaged here: Greengrass is off for this use case."""
        if not self.settings.greengrass_enabled:
            return (
                'Greengrass is off for this use case (DDA_GREENGRASS_ENABLED=false, or greengrass_enabled = '
                'false in the use cases file): the portal neither reads nor makes components here.'
            )
        return None

    def package(self, job_name: str, origin: str) -> str:
        """Blocking; the training job whose compiled model now has a component version. Raises Invalid when
        the attempt cannot be packaged (or is already), AwsProblem when Greengrass refuses."""
        if blocked := self.setup_problem():
            raise Invalid(blocked)
        attempt = self.store.read(queries.jobs.attempt, job_name)
        if attempt is None or attempt.status != CompilationStatus.COMPLETED or not attempt.artifact:
            raise Invalid('Only a completed compilation with a compiled model can be packaged.')
        if attempt.target_id not in self.catalog or not attempt.training_job_name:
            raise Invalid('The target of this compilation is not in the catalogue.')
        existing = self.store.read(queries.fleet.component_for_attempt, job_name)
        if existing is not None:
            raise Invalid(f'Already packaged as {existing.component_name} {existing.component_version}.')
        target = self.catalog[attempt.target_id]
        name = component_name(self.settings.component_name_template, attempt.training_job_name, target.id)
        version = next_version(
            c.component_version
            for c in self.store.read(queries.fleet.components, None, [self.store.place])
            if c.component_name == name
        )
        pending = ComponentVersion(
            arn=f'pending:{job_name}',
            component_name=name,
            component_version=version,
            state=ComponentState.REQUESTED,
            created_at=utcnow(),
            compilation_job_name=job_name,
            training_job_name=attempt.training_job_name,
            target_id=target.id,
            architecture=target.greengrass_architecture,
            artifact_uri=attempt.artifact,
            origin='portal',
        )
        if not self.store.write(queries.fleet.reserve_component, pending):
            raise Invalid('This compilation is being packaged already.')
        recipe = model_recipe(
            name,
            version,
            attempt.artifact,
            target.platform_attributes(),
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
            problem = problem_from(error)
            self.store.write(_refused, pending, str(problem))
            raise problem from error
        status = created.get('status') or {}
        self.store.write(
            queries.fleet.settle_component,
            pending.arn,
            ComponentVersion(
                arn=created['arn'],
                component_name=name,
                component_version=version,
                state=component_state_from_aws(status.get('componentState')),
                message=status.get('message'),
                created_at=as_utc(created.get('creationTimestamp')),
                compilation_job_name=job_name,
                training_job_name=attempt.training_job_name,
                target_id=target.id,
                architecture=target.greengrass_architecture,
                artifact_uri=attempt.artifact,
                origin='portal',
                platforms=recipe_platforms(recipe),
            ),
        )
        return attempt.training_job_name


def _refused(session: Session, pending: ComponentVersion, reason: str) -> None:
    """Greengrass refused: the reservation goes, and the failure is recorded for the alerts (write)."""
    queries.fleet.settle_component(session, pending.arn, None)
    queries.alerts.packaging_refused(session, pending, reason)
