"""Greengrass v2 state and rules: components, core devices, installed components, deployments. No HTTP here.

Times are aware UTC datetimes. Every public method takes the backend's lock, because the HTTP server's threads
and the demo simulator use one backend at the same time.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

import yaml

DEFAULT_ACCOUNT_ID = '123456789012'  # moto's default account, so ARNs match the demo's other services
RECIPE_FORMAT_VERSION = '2020-01-25'  # the only recipe format Greengrass v2 knows
ARTIFACT_INACCESSIBLE = 'Specified artifact resource cannot be accessed'  # AWS's words
STALE_AFTER = timedelta(hours=24)  # core devices report at least this often by default
DEFAULT_PAGE_SIZE = (
    50  # the emulator's choice when a list call gives no maxResults (AWS does not document it)
)

FINAL_STATES = frozenset({'DEPLOYABLE', 'FAILED', 'DEPRECATED'})
DEVICE_STATUSES = ('HEALTHY', 'UNHEALTHY')
LIFECYCLE_STATES = ('NEW', 'INSTALLED', 'STARTING', 'RUNNING', 'STOPPING', 'ERRORED', 'BROKEN', 'FINISHED')

# semver 2.0.0 (https://semver.org), which Greengrass uses for component versions
_SEMVER = re.compile(
    r'^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)'
    r'(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?'
    r'(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$'
)
_COMPONENT_NAME = re.compile(r'^[A-Za-z0-9._-]{1,128}$')

ArtifactExists = Callable[[str], bool]
T = TypeVar('T')


# ---- errors (code, HTTP status and body members as botocore's greengrassv2 model defines them) ------------


class GreengrassError(Exception):
    code: ClassVar[str] = 'InternalServerException'
    status: ClassVar[int] = 500

    def __init__(self, message: str, **members: Any) -> None:
        super().__init__(message)
        self.message = message
        self.members = members

    def body(self) -> dict[str, Any]:
        return {'message': self.message, **{k: v for k, v in self.members.items() if v is not None}}


class ResourceNotFoundException(GreengrassError):
    code = 'ResourceNotFoundException'
    status = 404

    def __init__(self, message: str, resource_id: str, resource_type: str) -> None:
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class ConflictException(GreengrassError):
    code = 'ConflictException'
    status = 409

    def __init__(self, message: str, resource_id: str, resource_type: str) -> None:
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class ValidationException(GreengrassError):
    code = 'ValidationException'
    status = 400

    def __init__(
        self, message: str, reason: str = 'FIELD_VALIDATION_FAILED', fields: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(
            message,
            reason=reason,
            fields=[{'name': name, 'message': text} for name, text in fields] or None,
        )


class InternalServerException(GreengrassError):
    pass


class UnknownOperationException(GreengrassError):
    """What AWS answers for a path or method no operation has (not part of the service model)."""

    code = 'UnknownOperationException'
    status = 404


# ---- versions and times -------------------------------------------------------------------------------


def is_semver(version: str) -> bool:
    return bool(_SEMVER.match(version))


def version_key(version: str) -> tuple[Any, ...]:
    """Sort key for semantic versions: release after its pre-releases, numeric identifiers below text ones."""
    match = _SEMVER.match(version)
    if not match:
        return (-1, -1, -1, 0, ())
    major, minor, patch, pre = int(match[1]), int(match[2]), int(match[3]), match[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    parts = tuple((0, int(p), '') if p.isdigit() else (1, 0, p) for p in pre.split('.'))
    return (major, minor, patch, 0, parts)


def utc(value: datetime | None) -> datetime:
    """An aware UTC datetime with millisecond precision (naive values are taken as UTC, like moto's)."""
    value = value or datetime.now(UTC)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


# ---- state --------------------------------------------------------------------------------------------


@dataclass
class ComponentVersion:
    name: str
    version: str
    arn: str
    component_arn: str
    recipe: dict[str, Any]
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)
    state: str = 'REQUESTED'
    message: str = 'NONE'
    errors: dict[str, str] = field(default_factory=dict)
    state_changed_at: datetime | None = None
    public: bool = False
    rolled_out: bool = False  # `install_latest_deployable` has installed it somewhere (or must leave it)

    @property
    def publisher(self) -> str | None:
        return _text(self.recipe.get('ComponentPublisher'))

    @property
    def description(self) -> str | None:
        return _text(self.recipe.get('ComponentDescription'))

    @property
    def platforms(self) -> list[dict[str, Any]]:
        """ComponentPlatform values: one per manifest, named after its Name or its os and architecture."""
        platforms = []
        for manifest in _manifests(self.recipe):
            attributes = {
                str(k): str(v) for k, v in (manifest.get('Platform') or {}).items() if str(k) and str(v)
            }
            name = _text(manifest.get('Name')) or ' '.join(
                attributes[k] for k in ('os', 'architecture') if k in attributes
            )
            platforms.append({'name': name or None, 'attributes': attributes})
        return platforms

    @property
    def artifact_uris(self) -> list[str]:
        return [
            str(artifact['Uri'])
            for manifest in _manifests(self.recipe)
            for artifact in manifest.get('Artifacts') or []
            if isinstance(artifact, dict) and artifact.get('Uri')
        ]

    def runs_on(self, device: CoreDevice) -> bool:
        """Whether one of the recipe's manifests selects this device (no manifests: any device)."""
        manifests = _manifests(self.recipe)
        if not manifests:
            return True
        wanted = {'os': device.platform, 'architecture': device.architecture}
        for manifest in manifests:
            platform = manifest.get('Platform') or {}
            if all(_platform_value_matches(platform.get(key), value) for key, value in wanted.items()):
                return True
        return False


@dataclass
class InstalledComponent:
    component_name: str
    component_version: str
    lifecycle_state: str
    is_root: bool
    last_status_change: datetime
    last_reported: datetime
    last_installation_source: str | None = None
    lifecycle_state_details: str | None = None
    lifecycle_status_codes: list[str] = field(default_factory=list)


@dataclass
class CoreDevice:
    thing_name: str
    arn: str
    thing_arn: str
    architecture: str
    platform: str
    core_version: str
    status: str
    last_status_update: datetime
    runtime: str = 'aws_nucleus_classic'
    tags: dict[str, str] = field(default_factory=dict)
    thing_groups: set[str] = field(default_factory=set)  # thing group ARNs
    installed: dict[str, InstalledComponent] = field(default_factory=dict)  # by component name
    # the reason every deployment of a component of this account fails with on it (a demo device that breaks)
    fails_with: str | None = None
    hangs: bool = False  # its deployments never finish: they time out after the job's in-progress timeout

    def is_stale(self, now: datetime) -> bool:
        return now - self.last_status_update > STALE_AFTER


@dataclass
class Deployment:
    deployment_id: str
    arn: str
    deployment_name: str
    target_arn: str
    revision_id: str
    created_at: datetime
    status: str
    is_latest_for_target: bool
    components: dict[str, str]  # root component name -> version
    parent_target_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    iot_job_id: str = ''
    iot_job_arn: str = ''
    policies: dict[str, Any] = field(default_factory=dict)  # deploymentPolicies as sent
    job_configuration: dict[str, Any] = field(default_factory=dict)  # iotJobConfiguration as sent
    executions: dict[str, Execution] = field(default_factory=dict)  # by thing name


# a core device's execution of a deployment; the final ones never change again
EXECUTION_STATES = (
    'QUEUED',
    'IN_PROGRESS',
    'SUCCEEDED',
    'FAILED',
    'TIMED_OUT',
    'REJECTED',
    'CANCELED',
    'COMPLETED',
)
FINAL_EXECUTIONS = frozenset({'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'CANCELED', 'COMPLETED'})


@dataclass
class Execution:
    """One core device's effective deployment (ListEffectiveDeployments)."""

    thing_name: str
    status: str
    created_at: datetime
    modified_at: datetime
    reason: str | None = None
    error_stack: list[str] = field(default_factory=list)
    error_types: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Transition:
    """One component version changing state in `advance`."""

    arn: str
    component_name: str
    component_version: str
    before: str
    after: str

    def __str__(self) -> str:
        return f'{self.component_name} {self.component_version}: {self.before} → {self.after}'


@dataclass(frozen=True)
class Installation:
    """One component version installed on one core device by `install_latest_deployable`."""

    thing_name: str
    component_name: str
    component_version: str
    deployment_id: str

    def __str__(self) -> str:
        return f'{self.component_name} {self.component_version} installed on {self.thing_name}'


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


class GreengrassBackend:
    """One account and region of Greengrass v2.

    `artifact_exists(uri)` decides whether an s3:// artifact of a recipe can be accessed (None: every one
    can). AWS usually checks artifacts while creating the version and answers ValidationException; it also
    fails versions asynchronously (state FAILED, `errors` keyed by artifact URI). The emulator does the latter
    in `advance`, or the former when `check_artifacts_on_create` is set.
    """

    def __init__(
        self,
        region: str = 'us-east-1',
        account_id: str = DEFAULT_ACCOUNT_ID,
        artifact_exists: ArtifactExists | None = None,
        *,
        check_artifacts_on_create: bool = False,
        default_page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.artifact_exists = artifact_exists
        self.check_artifacts_on_create = check_artifacts_on_create
        self.default_page_size = default_page_size
        self.lock = threading.RLock()
        self.versions: dict[str, ComponentVersion] = {}  # by version ARN
        self.component_tags: dict[str, dict[str, str]] = {}  # by component ARN
        self.core_devices: dict[str, CoreDevice] = {}  # by thing name
        self.deployments: dict[str, Deployment] = {}  # by deployment id
        self._client_tokens: dict[str, tuple[str, str]] = {}  # token -> (request fingerprint, version ARN)
        self._deployment_tokens: dict[str, tuple[str, str]] = {}  # token -> (fingerprint, deployment id)

    # ---- ARNs -----------------------------------------------------------------------------------------

    def component_arn(self, name: str, public: bool = False) -> str:
        owner = 'aws' if public else self.account_id
        return f'arn:aws:greengrass:{self.region}:{owner}:components:{name}'

    def version_arn(self, name: str, version: str, public: bool = False) -> str:
        return f'{self.component_arn(name, public)}:versions:{version}'

    def core_device_arn(self, thing_name: str) -> str:
        return f'arn:aws:greengrass:{self.region}:{self.account_id}:coreDevices:{thing_name}'

    def thing_arn(self, thing_name: str) -> str:
        return f'arn:aws:iot:{self.region}:{self.account_id}:thing/{thing_name}'

    def thing_group_arn(self, group_name: str) -> str:
        return f'arn:aws:iot:{self.region}:{self.account_id}:thinggroup/{group_name}'

    def job_arn(self, job_id: str) -> str:
        return f'arn:aws:iot:{self.region}:{self.account_id}:job/{job_id}'

    def deployment_arn(self, deployment_id: str) -> str:
        return f'arn:aws:greengrass:{self.region}:{self.account_id}:deployments:{deployment_id}'

    # ---- components -----------------------------------------------------------------------------------

    def create_component_version(
        self,
        inline_recipe: bytes | None,
        tags: Mapping[str, str] | None = None,
        client_token: str | None = None,
        now: datetime | None = None,
    ) -> ComponentVersion:
        """CreateComponentVersion from an inline recipe (JSON or YAML); the version starts REQUESTED."""
        if inline_recipe is None:
            raise ValidationException(
                'The emulator creates components from inlineRecipe only (lambdaFunction is not supported).',
                fields=[('inlineRecipe', 'required')],
            )
        tags = dict(tags or {})
        _check_tags(tags)
        with self.lock:
            fingerprint = json.dumps(
                [base64.b64encode(inline_recipe).decode(), sorted(tags.items())], sort_keys=True
            )
            if client_token and client_token in self._client_tokens:
                seen, arn = self._client_tokens[client_token]
                if seen != fingerprint:
                    raise ConflictException(
                        f'The client token {client_token} was already used for a different request.',
                        client_token,
                        'clientToken',
                    )
                return self.versions[arn]  # a retried request gets the version its first attempt created
            recipe = parse_recipe(inline_recipe)
            name, version = recipe['ComponentName'], recipe['ComponentVersion']
            arn = self.version_arn(name, version)
            if arn in self.versions:
                raise ConflictException(
                    f'Component {name} version {version} already exists.', arn, 'componentVersion'
                )
            if self.check_artifacts_on_create:
                errors = self._inaccessible_artifacts(recipe)
                if errors:
                    raise ValidationException(f'Invalid Input: {_artifact_errors_text(errors)}')
            at = utc(now)
            created = ComponentVersion(
                name=name,
                version=version,
                arn=arn,
                component_arn=self.component_arn(name),
                recipe=recipe,
                created_at=at,
                tags=tags,
                state_changed_at=at,
            )
            self.versions[arn] = created
            if client_token:
                self._client_tokens[client_token] = (fingerprint, arn)
            return created

    def list_components(
        self, scope: str | None = None, max_results: int | None = None, next_token: str | None = None
    ) -> Page[tuple[str, ComponentVersion]]:
        """(component ARN, its greatest version) per component of the scope (default PRIVATE), by name."""
        public = (scope or 'PRIVATE') == 'PUBLIC'
        with self.lock:
            latest: dict[str, ComponentVersion] = {}
            for item in self.versions.values():
                if item.public == public:
                    best = latest.get(item.component_arn)
                    if best is None or version_key(item.version) > version_key(best.version):
                        latest[item.component_arn] = item
            rows = sorted(latest.items(), key=lambda row: row[1].name)
            return self._page('ListComponents', rows, max_results, next_token)

    def list_component_versions(
        self, component_arn: str, max_results: int | None = None, next_token: str | None = None
    ) -> Page[ComponentVersion]:
        """The component's versions, greater versions first (as the API documents)."""
        with self.lock:
            versions = [v for v in self.versions.values() if v.component_arn == component_arn]
            if not versions:
                raise ResourceNotFoundException(
                    f'Component {component_arn} not found.', component_arn, 'component'
                )
            versions.sort(key=lambda v: version_key(v.version), reverse=True)
            return self._page('ListComponentVersions', versions, max_results, next_token)

    def describe_component(self, arn: str) -> ComponentVersion:
        with self.lock:
            found = self.versions.get(arn)
            if found is None:
                raise ResourceNotFoundException(
                    f'Component version {arn} not found.', arn, 'componentVersion'
                )
            return found

    def get_component(self, arn: str, recipe_output_format: str | None = None) -> tuple[str, bytes]:
        """(format, recipe bytes) of a component version, JSON unless YAML is asked for."""
        found = self.describe_component(arn)
        output = recipe_output_format or 'JSON'
        if output == 'YAML':
            return output, yaml.safe_dump(found.recipe, sort_keys=False).encode()
        return output, json.dumps(found.recipe, indent=2).encode()

    def advance(self, now: datetime | None = None) -> list[Transition]:
        """Move every unfinished component version one state on: REQUESTED → INITIATED → DEPLOYABLE/FAILED.

        A version FAILS when an s3:// artifact of its recipe cannot be accessed (`artifact_exists`), checked
        on the INITIATED → final step. Deterministic: the same state always gives the same steps.
        """
        at = utc(now)
        changes: list[Transition] = []
        with self.lock:
            for item in sorted(self.versions.values(), key=lambda v: (v.created_at, v.arn)):
                before = item.state
                if before == 'REQUESTED':
                    self._set_state(item, 'INITIATED', at)
                elif before == 'INITIATED':
                    self._resolve(item, at)
                else:
                    continue
                changes.append(Transition(item.arn, item.name, item.version, before, item.state))
        return changes

    def settle(self, arn: str, now: datetime | None = None) -> ComponentVersion:
        """Run the remaining `advance` steps of one version at once (for seeding)."""
        with self.lock:
            item = self.describe_component(arn)
            if item.state not in FINAL_STATES:
                self._resolve(item, utc(now))
            return item

    def _resolve(self, item: ComponentVersion, at: datetime) -> None:
        errors = self._inaccessible_artifacts(item.recipe)
        if errors:
            item.errors = errors
            self._set_state(item, 'FAILED', at, _artifact_errors_text(errors))
        else:
            self._set_state(item, 'DEPLOYABLE', at)

    @staticmethod
    def _set_state(item: ComponentVersion, state: str, at: datetime, message: str = 'NONE') -> None:
        item.state, item.message, item.state_changed_at = state, message, at

    def _inaccessible_artifacts(self, recipe: dict[str, Any]) -> dict[str, str]:
        if self.artifact_exists is None:
            return {}
        uris = dict.fromkeys(
            str(artifact['Uri'])
            for manifest in _manifests(recipe)
            for artifact in manifest.get('Artifacts') or []
            if isinstance(artifact, dict) and str(artifact.get('Uri', '')).startswith('s3://')
        )
        return {uri: ARTIFACT_INACCESSIBLE for uri in uris if not self.artifact_exists(uri)}

    def _public_version(self, name: str, version: str, at: datetime) -> ComponentVersion:
        """An AWS-published component (aws.greengrass.*) known once a device runs it."""
        arn = self.version_arn(name, version, public=True)
        if arn not in self.versions:
            self.versions[arn] = ComponentVersion(
                name=name,
                version=version,
                arn=arn,
                component_arn=self.component_arn(name, public=True),
                recipe={
                    'RecipeFormatVersion': RECIPE_FORMAT_VERSION,
                    'ComponentName': name,
                    'ComponentVersion': version,
                    'ComponentPublisher': 'AWS',
                    'ComponentDescription': f'{name} published by AWS.',
                    'Manifests': [{'Platform': {'os': 'linux'}}],
                },
                created_at=at,
                state='DEPLOYABLE',
                state_changed_at=at,
                public=True,
                rolled_out=True,
            )
        return self.versions[arn]

    # ---- core devices and what they run ---------------------------------------------------------------

    def add_core_device(  # noqa: PLR0913 (one keyword per field of a core device, all but the name defaulted)
        self,
        thing_name: str,
        architecture: str = 'aarch64',
        platform: str = 'linux',
        core_version: str = '2.12.0',
        status: str = 'HEALTHY',
        last_status_update: datetime | None = None,
        *,
        runtime: str = 'aws_nucleus_classic',
        tags: Mapping[str, str] | None = None,
        thing_groups: Iterable[str] = (),
    ) -> CoreDevice:
        if status not in DEVICE_STATUSES:
            raise ValueError(f'core device status must be one of {DEVICE_STATUSES}, not {status!r}')
        with self.lock:
            device = CoreDevice(
                thing_name=thing_name,
                arn=self.core_device_arn(thing_name),
                thing_arn=self.thing_arn(thing_name),
                architecture=architecture,
                platform=platform,
                core_version=core_version,
                status=status,
                last_status_update=utc(last_status_update),
                runtime=runtime,
                tags=dict(tags or {}),
                thing_groups=set(thing_groups),
            )
            self.core_devices[thing_name] = device
            return device

    def report_status(self, thing_name: str, status: str | None = None, at: datetime | None = None) -> None:
        """The device reports in (optionally with a new health status)."""
        with self.lock:
            device = self.get_core_device(thing_name)
            if status is not None:
                if status not in DEVICE_STATUSES:
                    raise ValueError(f'core device status must be one of {DEVICE_STATUSES}')
                device.status = status
            device.last_status_update = utc(at)

    def install(  # noqa: PLR0913 (one keyword per field of an installed component, all but three defaulted)
        self,
        thing_name: str,
        component_name: str,
        version: str,
        lifecycle_state: str = 'RUNNING',
        reported_at: datetime | None = None,
        *,
        is_root: bool = True,
        source: str | None = None,
        details: str | None = None,
        status_codes: Sequence[str] = (),
        status_changed_at: datetime | None = None,
    ) -> InstalledComponent:
        """Record that the device runs this component version (replacing any other version of it).

        `aws.*` components become AWS-published component versions; any other name must be a private component
        version created before. `source` defaults to the device's latest deployment, else LOCAL.
        """
        if lifecycle_state not in LIFECYCLE_STATES:
            raise ValueError(f'lifecycle state must be one of {LIFECYCLE_STATES}, not {lifecycle_state!r}')
        with self.lock:
            device = self.get_core_device(thing_name)
            at = utc(reported_at)
            if component_name.startswith('aws.'):
                self._public_version(component_name, version, at)
            elif self.version_arn(component_name, version) not in self.versions:
                raise ValueError(f'create component {component_name} {version} before installing it')
            latest = self._latest_deployment(device.thing_arn)
            installed = InstalledComponent(
                component_name=component_name,
                component_version=version,
                lifecycle_state=lifecycle_state,
                is_root=is_root,
                last_status_change=utc(status_changed_at) if status_changed_at else at,
                last_reported=at,
                last_installation_source=source or (latest.deployment_id if latest else 'LOCAL'),
                lifecycle_state_details=details,
                lifecycle_status_codes=list(status_codes),
            )
            device.installed[component_name] = installed
            return installed

    def deploy(
        self,
        thing_name: str,
        components: Mapping[str, str],
        at: datetime | None = None,
        name: str | None = None,
    ) -> Deployment:
        """A completed thing deployment of these root components; the device runs them and reports in."""
        with self.lock:
            device = self.get_core_device(thing_name)
            when = utc(at)
            previous = self._latest_deployment(device.thing_arn)
            revision = int(previous.revision_id) + 1 if previous else 1
            if previous:
                previous.is_latest_for_target, previous.status = False, 'INACTIVE'
            # deterministic ids: the same seed gives the same deployments
            deployment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f'{device.thing_arn}#{revision}'))
            deployment = Deployment(
                deployment_id=deployment_id,
                arn=f'arn:aws:greengrass:{self.region}:{self.account_id}:deployments:{deployment_id}',
                deployment_name=name or f'Deployment for {thing_name}',
                target_arn=device.thing_arn,
                revision_id=str(revision),
                created_at=when,
                status='COMPLETED',
                is_latest_for_target=True,
                components=dict(components),
                iot_job_id=_job_id(deployment_id),
                iot_job_arn=self.job_arn(_job_id(deployment_id)),
            )
            deployment.executions[thing_name] = Execution(thing_name, 'SUCCEEDED', when, when)
            self.deployments[deployment_id] = deployment
            for component_name, version in components.items():
                self.install(thing_name, component_name, version, 'RUNNING', when, source=deployment_id)
            device.last_status_update = when
            return deployment

    def install_latest_deployable(
        self, now: datetime | None = None, *, delay: timedelta = timedelta(minutes=1), prefix: str = 'model-'
    ) -> list[Installation]:
        """Roll out component versions that became DEPLOYABLE at least `delay` ago, as an operator would.

        For each private component named `prefix…`, its greatest DEPLOYABLE version not rolled out yet goes,
        by a new thing deployment, to every HEALTHY, non-stale core device whose platform the recipe supports
        and that runs an older version of that component (an upgrade); when no device runs the component yet,
        to the one such device running the fewest `prefix…` components (ties: by thing name). A version with
        no eligible device waits for a later call; older versions of the component are never rolled out.
        """
        at = utc(now)
        done: list[Installation] = []
        with self.lock:
            greatest: dict[str, ComponentVersion] = {}
            for item in self.versions.values():
                if not item.public and item.name.startswith(prefix) and item.state == 'DEPLOYABLE':
                    best = greatest.get(item.name)
                    if best is None or version_key(item.version) > version_key(best.version):
                        greatest[item.name] = item
            for item in sorted(greatest.values(), key=lambda v: v.name):
                if item.rolled_out or (item.state_changed_at or item.created_at) + delay > at:
                    continue
                eligible = sorted(
                    (
                        d
                        for d in self.core_devices.values()
                        if d.status == 'HEALTHY' and not d.is_stale(at) and item.runs_on(d)
                    ),
                    key=lambda d: d.thing_name,
                )
                upgrades = [
                    d
                    for d in eligible
                    if item.name in d.installed
                    and version_key(d.installed[item.name].component_version) < version_key(item.version)
                ]
                running = [d for d in self.core_devices.values() if item.name in d.installed]
                outdated = [
                    d
                    for d in running
                    if version_key(d.installed[item.name].component_version) < version_key(item.version)
                ]
                if upgrades:
                    targets = upgrades
                elif not running and eligible:
                    targets = [min(eligible, key=lambda d: (_count_prefixed(d, prefix), d.thing_name))]
                else:
                    # done when nothing older runs anywhere; otherwise wait for those devices to be eligible
                    item.rolled_out = not outdated and bool(running)
                    continue
                for device in targets:
                    roots = {n: c.component_version for n, c in device.installed.items() if c.is_root}
                    roots[item.name] = item.version
                    deployment = self.deploy(device.thing_name, roots, at)
                    done.append(
                        Installation(device.thing_name, item.name, item.version, deployment.deployment_id)
                    )
                item.rolled_out = True
        return done

    def get_core_device(self, thing_name: str) -> CoreDevice:
        with self.lock:
            device = self.core_devices.get(thing_name)
            if device is None:
                raise ResourceNotFoundException(
                    f'Core device {thing_name} not found.', thing_name, 'coreDevice'
                )
            return device

    def list_core_devices(
        self,
        thing_group_arn: str | None = None,
        status: str | None = None,
        runtime: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[CoreDevice]:
        with self.lock:
            devices = [
                d
                for d in sorted(self.core_devices.values(), key=lambda d: d.thing_name)
                if (status is None or d.status == status)
                and (runtime is None or d.runtime == runtime)
                and (thing_group_arn is None or thing_group_arn in d.thing_groups)
            ]
            return self._page('ListCoreDevices', devices, max_results, next_token)

    def list_installed_components(
        self,
        thing_name: str,
        topology_filter: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[InstalledComponent]:
        """Root components only unless `topology_filter` is ALL (the API's default is ROOT)."""
        with self.lock:
            device = self.get_core_device(thing_name)
            everything = (topology_filter or 'ROOT') == 'ALL'
            installed = [
                c
                for c in sorted(device.installed.values(), key=lambda c: c.component_name)
                if everything or c.is_root
            ]
            return self._page('ListInstalledComponents', installed, max_results, next_token)

    # ---- deployments ----------------------------------------------------------------------------------

    def _latest_deployment(self, target_arn: str) -> Deployment | None:
        return next(
            (d for d in self.deployments.values() if d.target_arn == target_arn and d.is_latest_for_target),
            None,
        )

    def list_deployments(
        self,
        target_arn: str | None = None,
        history_filter: str | None = None,
        parent_target_arn: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[Deployment]:
        """Newest first; only the latest revision per target unless `history_filter` is ALL."""
        with self.lock:
            everything = (history_filter or 'LATEST_ONLY') == 'ALL'
            deployments = [
                d
                for d in sorted(
                    self.deployments.values(), key=lambda d: (d.created_at, int(d.revision_id)), reverse=True
                )
                if (target_arn is None or d.target_arn == target_arn)
                and (parent_target_arn is None or d.parent_target_arn == parent_target_arn)
                and (everything or d.is_latest_for_target)
            ]
            return self._page('ListDeployments', deployments, max_results, next_token)

    def create_deployment(  # noqa: PLR0913 (one keyword per member of CreateDeployment)
        self,
        target_arn: str,
        components: Mapping[str, str],
        name: str | None = None,
        *,
        policies: Mapping[str, Any] | None = None,
        job_configuration: Mapping[str, Any] | None = None,
        parent_target_arn: str | None = None,
        tags: Mapping[str, str] | None = None,
        client_token: str | None = None,
        now: datetime | None = None,
    ) -> Deployment:
        """CreateDeployment: a new revision for the target (the previous one becomes INACTIVE); each core
        device of the target (a thing, or the members of a thing group) gets a QUEUED execution that
        `advance_deployments` moves on. A client token answers a retried request with its first deployment."""
        tags = dict(tags or {})
        _check_tags(tags)
        fingerprint = json.dumps(
            [target_arn, sorted(components.items()), name, sorted(tags.items())], sort_keys=True, default=str
        )
        with self.lock:
            if client_token and client_token in self._deployment_tokens:
                seen, deployment_id = self._deployment_tokens[client_token]
                if seen != fingerprint:
                    raise ConflictException(
                        f'The client token {client_token} was already used for a different request.',
                        client_token,
                        'clientToken',
                    )
                return self.deployments[deployment_id]
            at = utc(now)
            for component, version in components.items():
                if component.startswith('aws.'):
                    self._public_version(component, version, at)
                elif self.version_arn(component, version) not in self.versions:
                    raise ValidationException(
                        f'Component {component} version {version} does not exist.',
                        fields=[(f'components.{component}', 'no such component version')],
                    )
            previous = self._latest_deployment(target_arn)
            revision = int(previous.revision_id) + 1 if previous else 1
            if previous:
                previous.is_latest_for_target = False
                if previous.status == 'ACTIVE' or previous.status == 'COMPLETED':
                    previous.status = 'INACTIVE'
                for execution in previous.executions.values():
                    if execution.status not in FINAL_EXECUTIONS:
                        execution.status, execution.modified_at = 'CANCELED', at
            deployment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f'{target_arn}#{revision}#{at.isoformat()}'))
            job_id = _job_id(deployment_id)
            deployment = Deployment(
                deployment_id=deployment_id,
                arn=self.deployment_arn(deployment_id),
                deployment_name=name or f'Deployment for {target_arn.rsplit("/", 1)[-1]}',
                target_arn=target_arn,
                revision_id=str(revision),
                created_at=at,
                status='ACTIVE',
                is_latest_for_target=True,
                components=dict(components),
                parent_target_arn=parent_target_arn,
                tags=tags,
                iot_job_id=job_id,
                iot_job_arn=self.job_arn(job_id),
                policies=dict(policies or {}),
                job_configuration=dict(job_configuration or {}),
            )
            for device in self.target_devices(target_arn):
                deployment.executions[device.thing_name] = Execution(device.thing_name, 'QUEUED', at, at)
            self.deployments[deployment_id] = deployment
            if client_token:
                self._deployment_tokens[client_token] = (fingerprint, deployment_id)
            return deployment

    def target_devices(self, target_arn: str) -> list[CoreDevice]:
        """The core devices a deployment target reaches: the thing, or the thing group's members."""
        with self.lock:
            return sorted(
                (d for d in self.core_devices.values() if target_arn in (d.thing_arn, *d.thing_groups)),
                key=lambda d: d.thing_name,
            )

    def get_deployment(self, deployment_id: str) -> Deployment:
        with self.lock:
            found = self.deployments.get(deployment_id)
            if found is None:
                raise ResourceNotFoundException(
                    f'Deployment {deployment_id} not found.', deployment_id, 'deployment'
                )
            return found

    def cancel_deployment(self, deployment_id: str, now: datetime | None = None) -> str:
        """CancelDeployment: executions not finished are CANCELED, the deployment too."""
        with self.lock:
            deployment = self.get_deployment(deployment_id)
            if deployment.status != 'ACTIVE':
                raise ConflictException(
                    f'Deployment {deployment_id} is {deployment.status}, not ACTIVE.',
                    deployment_id,
                    'deployment',
                )
            at = utc(now)
            deployment.status = 'CANCELED'
            for execution in deployment.executions.values():
                if execution.status not in FINAL_EXECUTIONS:
                    execution.status, execution.modified_at = 'CANCELED', at
            return f'Deployment {deployment_id} is canceled.'

    def list_effective_deployments(
        self, thing_name: str, max_results: int | None = None, next_token: str | None = None
    ) -> Page[tuple[Deployment, Execution]]:
        """The device's executions of deployments, newest first."""
        with self.lock:
            self.get_core_device(thing_name)
            found = sorted(
                (
                    (d, d.executions[thing_name])
                    for d in self.deployments.values()
                    if thing_name in d.executions
                ),
                key=lambda pair: (pair[1].created_at, int(pair[0].revision_id)),
                reverse=True,
            )
            return self._page('ListEffectiveDeployments', found, max_results, next_token)

    def advance_deployments(self, now: datetime | None = None) -> list[str]:
        """Move each execution of the ACTIVE deployments one state on: QUEUED → IN_PROGRESS → SUCCEEDED, or
        FAILED with a reason when a component has no manifest for the device's platform or the device is
        marked to fail; a device that has not reported for a day stays QUEUED. A success installs the
        deployment's components (and drops the ones the target's previous revision deployed and this one
        does not); a failure with ROLLBACK leaves the device as it
        was, DO_NOTHING leaves the failing component BROKEN. A thing deployment ends COMPLETED or FAILED; a
        thing group deployment stays ACTIVE (for devices that join the group later), as on AWS."""
        at = utc(now)
        changes: list[str] = []
        with self.lock:
            for deployment in sorted(self.deployments.values(), key=lambda d: d.created_at):
                if deployment.status != 'ACTIVE':
                    continue
                for thing, execution in sorted(deployment.executions.items()):
                    before = execution.status
                    if self.core_devices[thing].is_stale(at):
                        continue  # a device that does not report does not take deployments either
                    if before == 'QUEUED':
                        execution.status = 'IN_PROGRESS'
                    elif before == 'IN_PROGRESS' and self.core_devices[thing].hangs:
                        if not self._timed_out(deployment, execution, at):
                            continue
                    elif before == 'IN_PROGRESS':
                        self._finish(deployment, execution, at)
                    else:
                        continue
                    execution.modified_at = at
                    changes.append(f'{deployment.deployment_name} on {thing}: {before} → {execution.status}')
                finished = all(e.status in FINAL_EXECUTIONS for e in deployment.executions.values())
                if deployment.executions and finished and ':thing/' in deployment.target_arn:
                    failed = any(e.status != 'SUCCEEDED' for e in deployment.executions.values())
                    deployment.status = 'FAILED' if failed else 'COMPLETED'
        return changes

    @staticmethod
    def _timed_out(deployment: Deployment, execution: Execution, at: datetime) -> bool:
        """A hanging device's execution fails TIMED_OUT once the job's in-progress timeout has passed."""
        timeout = (deployment.job_configuration.get('timeoutConfig') or {}).get('inProgressTimeoutInMinutes')
        if not timeout or at - execution.modified_at < timedelta(minutes=int(timeout)):
            return False
        execution.status = 'TIMED_OUT'
        execution.reason = f'The deployment did not finish on the device within {timeout} minutes.'
        execution.error_stack, execution.error_types = (
            ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_TIMED_OUT'],
            ['DEVICE_ERROR'],
        )
        return True

    def _finish(self, deployment: Deployment, execution: Execution, at: datetime) -> None:
        device = self.core_devices[execution.thing_name]
        failure = self._failure_on(device, deployment)
        rollback = deployment.policies.get('failureHandlingPolicy', 'ROLLBACK') == 'ROLLBACK'
        if failure is None or not rollback:
            self._apply(device, deployment, at, broken=failure[0] if failure else None)
        if failure is None:
            execution.status = 'SUCCEEDED'
            return
        reason, stack, types = failure
        execution.status = 'FAILED'
        execution.reason = reason + (
            ' The device rolled back to its previous components.' if rollback else ''
        )
        execution.error_stack, execution.error_types = stack, types

    def _failure_on(
        self, device: CoreDevice, deployment: Deployment
    ) -> tuple[str, list[str], list[str]] | None:
        for name, version in sorted(deployment.components.items()):
            item = self.versions.get(self.version_arn(name, version, public=name.startswith('aws.')))
            if item is not None and not item.runs_on(device):
                return (
                    f'Component {name} version {version} has no recipe manifest for the device platform '
                    f'(os {device.platform}, architecture {device.architecture}).',
                    [
                        'DEPLOYMENT_FAILURE',
                        'NO_AVAILABLE_COMPONENT_VERSION',
                        'COMPONENT_VERSION_REQUIREMENTS_NOT_MET',
                    ],
                    ['REQUEST_ERROR'],
                )
        if device.fails_with and any(not n.startswith('aws.') for n in deployment.components):
            return (
                device.fails_with,
                [
                    'DEPLOYMENT_FAILURE',
                    'COMPONENT_UPDATE_ERROR',
                    'COMPONENT_BROKEN',
                    'INSTALL_COMPONENT_ERROR',
                ],
                ['COMPONENT_ERROR'],
            )
        return None

    def _apply(self, device: CoreDevice, deployment: Deployment, at: datetime, broken: str | None) -> None:
        """The device runs the deployment's components; those only the target's previous revision brought
        go."""
        earlier = [
            d
            for d in self.deployments.values()
            if d.target_arn == deployment.target_arn
            and d is not deployment
            and device.thing_name in d.executions
            and d.executions[device.thing_name].status in ('SUCCEEDED', 'COMPLETED')
        ]
        previous = max(earlier, key=lambda d: int(d.revision_id), default=None)
        for name in previous.components if previous else {}:
            if name not in deployment.components and name in device.installed:
                del device.installed[name]
        for name, version in deployment.components.items():
            installed = self.install(
                device.thing_name, name, version, 'RUNNING', at, source=deployment.deployment_id
            )
            if broken and not name.startswith('aws.'):
                installed.lifecycle_state, installed.lifecycle_state_details = 'BROKEN', broken
        device.last_status_update = at

    # ---- tags -----------------------------------------------------------------------------------------

    def _tags_of(self, arn: str) -> dict[str, str]:
        if arn in self.versions:
            return self.versions[arn].tags
        if any(v.component_arn == arn for v in self.versions.values()):
            return self.component_tags.setdefault(arn, {})
        for device in self.core_devices.values():
            if device.arn == arn:
                return device.tags
        for deployment in self.deployments.values():
            if deployment.arn == arn:
                return deployment.tags
        raise ResourceNotFoundException(f'Resource {arn} not found.', arn, 'resource')

    def list_tags_for_resource(self, arn: str) -> dict[str, str]:
        with self.lock:
            return dict(self._tags_of(arn))

    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        _check_tags(dict(tags))
        with self.lock:
            current = self._tags_of(arn)
            if len({**current, **tags}) > 200:
                raise ValidationException(
                    'A resource can have at most 200 tags.', fields=[('tags', 'max 200')]
                )
            current.update(tags)

    # ---- pagination -----------------------------------------------------------------------------------

    def _page(
        self, operation: str, items: Sequence[T], max_results: int | None, next_token: str | None
    ) -> Page[T]:
        """One page and an opaque token for the next, bound to the operation that issued it."""
        size = max_results or self.default_page_size
        start = _token_offset(operation, next_token) if next_token else 0
        end = start + size
        following = (
            base64.urlsafe_b64encode(json.dumps({'operation': operation, 'offset': end}).encode()).decode()
            if end < len(items)
            else None
        )
        return Page(list(items[start:end]), following)


# ---- recipes ------------------------------------------------------------------------------------------


def parse_recipe(inline_recipe: bytes) -> dict[str, Any]:
    """The recipe as a dict, or ValidationException saying what is wrong with it."""
    recipe = _recipe_object(inline_recipe)
    problems = _recipe_problems(recipe)
    if problems:
        raise ValidationException(
            'Invalid recipe: ' + ' '.join(text for _, text in problems),
            fields=[(f'inlineRecipe.{k}', t) for k, t in problems],
        )
    return recipe


def _recipe_object(inline_recipe: bytes) -> dict[str, Any]:
    """The recipe's JSON or YAML object, or ValidationException (CANNOT_PARSE)."""
    try:
        text = inline_recipe.decode('utf-8')
    except UnicodeDecodeError as error:
        raise ValidationException(
            'The recipe is not UTF-8 text.', 'CANNOT_PARSE', [('inlineRecipe', str(error))]
        ) from error
    try:
        recipe = json.loads(text)
    except json.JSONDecodeError:
        try:  # Greengrass takes YAML recipes too
            recipe = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValidationException(
                'The recipe is neither valid JSON nor valid YAML.',
                'CANNOT_PARSE',
                [('inlineRecipe', str(error))],
            ) from error
    if not isinstance(recipe, dict):
        raise ValidationException(
            'The recipe must be a JSON or YAML object.', 'CANNOT_PARSE', [('inlineRecipe', 'not an object')]
        )
    return recipe


def _recipe_problems(recipe: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, what is wrong) for each field of the recipe Greengrass would refuse."""
    problems = []
    for key in ('RecipeFormatVersion', 'ComponentName', 'ComponentVersion'):
        if not isinstance(recipe.get(key), str) or not recipe[key]:
            problems.append((key, f'{key} is required and must be a string.'))
    if not problems:
        if recipe['RecipeFormatVersion'] != RECIPE_FORMAT_VERSION:
            problems.append(('RecipeFormatVersion', f'RecipeFormatVersion must be {RECIPE_FORMAT_VERSION}.'))
        if not _COMPONENT_NAME.match(recipe['ComponentName']):
            problems.append(
                (
                    'ComponentName',
                    'ComponentName must be 1-128 letters, digits, periods, hyphens or underscores.',
                )
            )
        if not is_semver(recipe['ComponentVersion']) or len(recipe['ComponentVersion']) > 64:
            problems.append(
                (
                    'ComponentVersion',
                    'ComponentVersion must be a semantic version such as 1.0.0 (MAJOR.MINOR.PATCH).',
                )
            )
    manifests = recipe.get('Manifests', [])
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        problems.append(('Manifests', 'Manifests must be a list of objects.'))
    return problems


def _job_id(deployment_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, deployment_id))


def _count_prefixed(device: CoreDevice, prefix: str) -> int:
    return sum(name.startswith(prefix) for name in device.installed)


def _manifests(recipe: Mapping[str, Any]) -> list[dict[str, Any]]:
    manifests = recipe.get('Manifests') or []
    return [m for m in manifests if isinstance(m, dict)] if isinstance(manifests, list) else []


def _platform_value_matches(pattern: Any, value: str) -> bool:
    """Recipe platform values: absent or '*' match anything, '/regex/' a regular expression, else equality."""
    if pattern is None or pattern == '*':
        return True
    text = str(pattern)
    if len(text) > 1 and text.startswith('/') and text.endswith('/'):
        return re.fullmatch(text[1:-1], value) is not None
    return text == value


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, '') else None


def _artifact_errors_text(errors: Mapping[str, str]) -> str:
    inner = ', '.join(f'{uri} = {reason}' for uri, reason in errors.items())
    return f'Encountered following errors in Artifacts: {{{inner}}}'


def _check_tags(tags: Mapping[str, str]) -> None:
    if len(tags) > 200:
        raise ValidationException('A resource can have at most 200 tags.', fields=[('tags', 'max 200')])
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise ValidationException(
                f'Tag {key!r}: keys have 1-128 characters, values at most 256.', fields=[('tags', key)]
            )
        if key.lower().startswith('aws:'):
            raise ValidationException(
                f'Tag key {key!r}: the aws: prefix is reserved.', fields=[('tags', key)]
            )


def _token_offset(operation: str, token: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = decoded['offset']
        if decoded['operation'] != operation or not isinstance(offset, int) or offset < 0:
            raise ValueError(token)
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise ValidationException('The nextToken is not valid.', fields=[('nextToken', 'invalid')]) from error
    return offset
