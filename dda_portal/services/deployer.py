"""Deploying a component version to a thing group or a core device, and rolling a target back.

`prepare` reads what the pre-flight judges (the target's latest deployment, recipes, artifacts, published
versions of dependencies, the target's devices as the store knows them) and judges it; `deploy` prepares again
on the server, refuses on a blocking finding, and calls CreateDeployment with a client token derived from the
plan (two clicks, tabs or replicas get one deployment); `roll_back` deploys the target's previous revision's
components again."""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy.exc import IntegrityError

from .. import queries
from ..aws.artifacts import S3Gateway
from ..aws.clients import AwsClients
from ..aws.greengrass import GreengrassGateway
from ..domain import deploy
from ..domain.clock import utcnow
from ..domain.deploy import DeviceFacts, Finding, Plan, PreflightInputs, Severity
from ..domain.problems import Invalid
from ..store import Store
from ..tables import Deployment


@dataclass(frozen=True)
class Prepared:
    plan: Plan
    findings: list[Finding]
    devices: list[str]

    @property
    def blocked(self) -> bool:
        return any(f.severity is Severity.BLOCKS for f in self.findings)


class Deployer:
    """Blocking; `clients` for what changes AWS, `reads` for what a person waits on (the pre-flight)."""

    def __init__(self, store: Store, clients: AwsClients, reads: AwsClients | None = None) -> None:
        self.store = store
        self.greengrass = GreengrassGateway(clients)
        self.read_greengrass = GreengrassGateway(reads or clients)
        self.s3 = S3Gateway(reads or clients)

    # ---- reading -----------------------------------------------------------------------------------------

    def current(
        self, target_arn: str, greengrass: GreengrassGateway | None = None
    ) -> tuple[str | None, dict[str, str]]:
        """The target's latest deployment id and its components (None, {} when it has none)."""
        gateway = greengrass or self.read_greengrass
        latest = next(iter(gateway.deployments(target_arn)), None)
        if latest is None:
            return None, {}
        return latest['deploymentId'], _components(gateway.deployment(latest['deploymentId']))

    def prepare(
        self, target_arn: str, component: str, version: str, remove: tuple[str, ...] = ()
    ) -> Prepared:
        """The plan and every finding of the pre-flight."""
        chosen = self.store.read(queries.fleet.components_named, component, version)
        if chosen is None:
            raise Invalid(f'The portal does not know {component} {version}.')
        base, current = self.current(target_arn)
        plan = deploy.plan(target_arn, current, component, version, base, remove)
        prefix = chosen.arn.split(':components:', 1)[0]
        recipes: dict[tuple[str, str], dict[str, Any]] = {}
        wanted = [(n, v) for n, v in plan.after.items() if plan.before.get(n) != v or plan.removed]
        for name, ver in wanted:
            if name.startswith('aws.'):
                continue
            recipe = self._recipe(f'{prefix}:components:{name}:versions:{ver}')
            if recipe is not None:
                recipes[(name, ver)] = recipe
        artifacts = {
            uri: self._artifact_problem(uri)
            for (name, ver), recipe in recipes.items()
            if plan.before.get(name) != ver
            for uri in deploy.artifact_uris(recipe)
        }
        published = {
            dependency: self._versions(_component_arn(prefix, dependency))
            for recipe in recipes.values()
            for dependency in deploy.dependencies(recipe)
            if dependency not in plan.after
        }
        things = self.store.read(queries.deployments.target_things, target_arn)
        known = {d.thing_name: d for d in self.store.read(queries.fleet.devices, things, [self.store.place])}
        devices = [
            DeviceFacts(
                d.thing_name,
                d.architecture,
                d.platform,
                d.status,
                d.last_status_update,
                queries.matrix.parse_attributes(d.thing_attributes),
            )
            for d in (known[t] for t in things if t in known)
        ]
        inputs = PreflightInputs(
            plan=plan,
            recipes=recipes,
            artifacts=artifacts,
            devices=devices,
            published=published,
            now=utcnow(),
            missing_devices=[t for t in things if t not in known],
        )
        return Prepared(plan, deploy.preflight(inputs), things)

    def _recipe(self, arn: str) -> dict[str, Any] | None:
        try:
            return self.read_greengrass.recipe(arn)
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
                return None
            raise

    def _versions(self, component_arn: str) -> list[str]:
        try:
            return [v['componentVersion'] for v in self.read_greengrass.component_versions(component_arn)]
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
                return []
            raise

    def _artifact_problem(self, uri: str) -> str | None:
        """None when the object exists and can be read (HeadObject), else why not."""
        try:
            size = self.s3.object_size(uri)
        except ClientError as error:
            code = str(error.response.get('Error', {}).get('Code'))
            if code in ('403', 'AccessDenied', 'Forbidden'):
                return 'access denied'
            raise
        return None if size is not None else 'there is no object there'

    # ---- changing ----------------------------------------------------------------------------------------

    def deploy(self, target_arn: str, component: str, version: str, who: str) -> str:
        """The new deployment's id (or the one an identical click created). Raises Invalid listing the
        blocking findings."""
        prepared = self.prepare(target_arn, component, version)
        blocking = [f.what for f in prepared.findings if f.severity is Severity.BLOCKS]
        if blocking:
            raise Invalid('Not deployed: ' + ' '.join(blocking))
        name = f'{component} {version} to {deploy.target_label(target_arn)}'
        return self._create(prepared.plan, name, who)

    def roll_back(self, target_arn: str, who: str) -> str:
        """Deploy the target's previous revision's components again; the new deployment's id."""
        history = self.greengrass.deployments(target_arn, history='ALL')
        if len(history) < 2:
            raise Invalid(f'The {deploy.target_label(target_arn)} has no earlier deployment to roll back to.')
        ordered = sorted(history, key=lambda d: int(d.get('revisionId') or 0), reverse=True)
        latest, previous = ordered[0], ordered[1]
        components = _components(self.greengrass.deployment(previous['deploymentId']))
        before = _components(self.greengrass.deployment(latest['deploymentId']))
        plan = Plan(target_arn, latest['deploymentId'], before, components)
        name = f'Roll back {deploy.target_label(target_arn)} to revision {previous.get("revisionId")}'
        return self._create(plan, name, who)

    def _create(self, plan: Plan, name: str, who: str) -> str:
        created = self.greengrass.create_deployment(
            plan.target_arn,
            name[:256],
            plan.after,
            rollout_per_minute=deploy.ROLLOUT_PER_MINUTE,
            timeout_minutes=deploy.TIMEOUT_MINUTES,
            client_token=deploy.client_token(plan),
            tags={'dda-portal:deployed-by': who[:256] or 'unknown'},
        )
        deployment_id = str(created['deploymentId'])
        row = Deployment(
            deployment_id=deployment_id,
            target_arn=plan.target_arn,
            name=name[:256],
            status='ACTIVE',
            is_latest=True,
            components=json.dumps(plan.after, sort_keys=True),
            created_at=utcnow(),
            origin='portal',
            created_by=who,
            settled=False,
        )
        if self.store.read(queries.deployments.deployment, deployment_id) is None:
            with suppress(IntegrityError):  # another replica recorded the same deployment first
                self.store.write(queries.deployments.record_deployment, row)
        return deployment_id


def _components(described: dict[str, Any] | None) -> dict[str, str]:
    found = (described or {}).get('components') or {}
    return {str(n): str(s.get('componentVersion')) for n, s in found.items() if s.get('componentVersion')}


def _component_arn(prefix: str, name: str) -> str:
    if name.startswith('aws.'):
        region = prefix.split(':')[3]
        return f'arn:aws:greengrass:{region}:aws:components:{name}'
    return f'{prefix}:components:{name}'
