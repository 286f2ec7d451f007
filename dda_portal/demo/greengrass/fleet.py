"""The demo's Greengrass v2 account: a small defect-detection fleet, its model components, and their life.

`seed_fleet` fills a backend; `packages_from_moto` turns the SageMaker seed's completed compilation jobs into
model components so the portal can link them; `step_fleet` is what the demo simulator calls each step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ...domain import linking
from ..common import NEO_OUTPUT, backend, split_s3
from .models import RECIPE_FORMAT_VERSION, ArtifactExists, GreengrassBackend, utc

if TYPE_CHECKING:
    from ...domain.targets import TargetCatalog
    from ..seed import DemoInventory

TAG_COMPILATION_JOB = 'dda-portal:compilation-job'  # DESIGN.md: a component version names its compilation job
PUBLISHER = 'DDA Portal'
NUCLEUS = 'aws.greengrass.Nucleus'
BROKEN_DETAILS = (
    "Script exited with code 1: ModuleNotFoundError: No module named 'dlr' "
    '(the DLR runtime for this model is not installed on the device)'
)


@dataclass(frozen=True)
class ModelPackage:
    """A compiled model to publish as a Greengrass component version."""

    component_name: str
    version: str
    artifact_uri: str
    architecture: str  # Greengrass platform architecture: aarch64 | amd64
    created_at: datetime
    description: str = ''
    tags: Mapping[str, str] = field(default_factory=dict)
    settled: bool = True  # False: left REQUESTED for `advance` (the simulator) to move on
    accelerator: str | None = None  # the recipe's `accelerator` platform attribute, as the portal writes it


@dataclass(frozen=True)
class _Device:
    thing_name: str
    architecture: str
    core_version: str
    status: str
    reported_ago: timedelta
    components: Mapping[str, tuple[str, bool]]  # aws.greengrass.* name -> (version, is root)


_TOKEN_EXCHANGE = ('2.0.3', False)
_LOG_MANAGER = ('2.3.7', True)
_FLEET: tuple[_Device, ...] = (
    _Device(
        'dda-line1-jetson-01',
        'aarch64',
        '2.12.0',
        'HEALTHY',
        timedelta(minutes=12),
        {
            'aws.greengrass.TokenExchangeService': _TOKEN_EXCHANGE,
            'aws.greengrass.LogManager': _LOG_MANAGER,
            'aws.greengrass.Cli': ('2.12.0', True),
            'aws.greengrass.DockerApplicationManager': ('2.0.11', False),
        },
    ),
    _Device(
        'dda-line1-jetson-02',
        'aarch64',
        '2.12.0',
        'HEALTHY',
        timedelta(hours=2, minutes=5),
        {
            'aws.greengrass.TokenExchangeService': _TOKEN_EXCHANGE,
            'aws.greengrass.LogManager': _LOG_MANAGER,
            'aws.greengrass.DockerApplicationManager': ('2.0.11', False),
        },
    ),
    _Device(
        'dda-line2-ipc-01',
        'amd64',
        '2.12.0',
        'HEALTHY',
        timedelta(minutes=41),
        {
            'aws.greengrass.TokenExchangeService': _TOKEN_EXCHANGE,
            'aws.greengrass.LogManager': _LOG_MANAGER,
            'aws.greengrass.StreamManager': ('2.1.11', True),
        },
    ),
    # a model component on it is BROKEN, so the device reports UNHEALTHY
    _Device(
        'dda-line2-ipc-02',
        'amd64',
        '2.11.3',
        'UNHEALTHY',
        timedelta(hours=3, minutes=20),
        {
            'aws.greengrass.TokenExchangeService': _TOKEN_EXCHANGE,
            'aws.greengrass.LogManager': ('2.3.5', True),
            'aws.greengrass.StreamManager': ('2.1.9', True),
        },
    ),
    # powered off on the line: its last report is over a day old
    _Device(
        'dda-line3-jetson-03',
        'aarch64',
        '2.11.3',
        'HEALTHY',
        timedelta(hours=31),
        {
            'aws.greengrass.TokenExchangeService': _TOKEN_EXCHANGE,
            'aws.greengrass.LogManager': ('2.3.5', True),
        },
    ),
)
# the second use case's own devices (another account and region): one IPC and one Jetson in cell 2
LINE_2_FLEET: tuple[_Device, ...] = (
    _Device(
        'dda-cell2-ipc-01',
        'amd64',
        '2.12.0',
        'HEALTHY',
        timedelta(minutes=4),
        {'aws.greengrass.TokenExchangeService': _TOKEN_EXCHANGE, 'aws.greengrass.LogManager': _LOG_MANAGER},
    ),
    _Device(
        'dda-cell2-jetson-01',
        'aarch64',
        '2.12.0',
        'HEALTHY',
        timedelta(minutes=9),
        {'aws.greengrass.TokenExchangeService': _TOKEN_EXCHANGE, 'aws.greengrass.LogManager': _LOG_MANAGER},
    ),
)
LINE_2_THING_ATTRIBUTES: dict[str, dict[str, str] | None] = {
    'dda-cell2-ipc-01': {'accelerator': 'none'},
    'dda-cell2-jetson-01': {'accelerator': 'nvidia', 'jetpack': '5.1.2', 'cuda': '11.4'},
}
# joins line 1 after the others: every deployment to it fails (its camera driver does not load)
FAILING_DEVICE = 'dda-line1-jetson-04'
FAILING_REASON = (
    'Component install script exited with code 1: nvargus-daemon is not running '
    '(the camera driver on this device does not load).'
)
# thing groups (IoT) and their members: line 1 takes a rollout on two devices and fails it on one; the plant
# group mixes architectures and holds the device that has not reported for a day
THING_GROUPS: dict[str, tuple[str, ...]] = {
    'line-1': ('dda-line1-jetson-01', 'dda-line1-jetson-02', FAILING_DEVICE),
    'line-2': ('dda-line2-ipc-01', 'dda-line2-ipc-02'),
    'plant-1': ('dda-line1-jetson-01', 'dda-line2-ipc-01', 'dda-line3-jetson-03'),
}
# IoT thing attributes (README "Compatibility matrix"): what Greengrass does not report of a platform.
# One Jetson was moved to JetPack 6 (beyond what Neo compiles for), one IPC's thing has no attributes, and the
# powered-off Jetson's thing (made only as a member of its thing group) says nothing of its accelerator.
THING_ATTRIBUTES: dict[str, dict[str, str] | None] = {
    'dda-line1-jetson-01': {'accelerator': 'nvidia', 'jetpack': '5.1.2', 'cuda': '11.4'},
    'dda-line1-jetson-02': {'accelerator': 'nvidia', 'jetpack': '6.0', 'cuda': '12.2'},
    'dda-line2-ipc-01': {'accelerator': 'none'},
    'dda-line2-ipc-02': {},
    'dda-line3-jetson-03': None,
    FAILING_DEVICE: {'accelerator': 'nvidia', 'jetpack': '4.6.4', 'cuda': '10.2'},
}
_SET_UP_AGO = timedelta(days=12)  # when the devices were provisioned (their first deployment)
_INSTALL_AFTER = timedelta(minutes=10)  # a new model reaches a device this long after it was packaged


@dataclass
class FleetInventory:
    """What `seed_fleet` created, for tests and for the demo's own bookkeeping."""

    core_devices: dict[str, str] = field(default_factory=dict)  # thing name -> status
    unhealthy: str = ''
    stale: str = ''
    broken: tuple[str, str] = ('', '')  # (thing name, component name) in lifecycle state BROKEN
    component_versions: dict[str, str] = field(default_factory=dict)  # version ARN -> componentState
    models_installed: dict[str, list[str]] = field(default_factory=dict)  # thing name -> model components


def model_recipe(
    component_name: str,
    version: str,
    artifact_uri: str,
    architecture: str,
    description: str = '',
    accelerator: str | None = None,
) -> dict[str, Any]:
    """A recipe that installs a compiled model archive into the component's work folder."""
    archive = artifact_uri.rsplit('/', 1)[-1]
    platform = {'os': 'linux', 'architecture': architecture}
    if accelerator:
        platform['accelerator'] = accelerator
    return {
        'RecipeFormatVersion': RECIPE_FORMAT_VERSION,
        'ComponentName': component_name,
        'ComponentVersion': version,
        'ComponentType': 'aws.greengrass.generic',
        'ComponentDescription': description or f'Compiled model {component_name}',
        'ComponentPublisher': PUBLISHER,
        'Manifests': [
            {
                'Platform': platform,
                'Lifecycle': {
                    'Install': {
                        'Script': f'mkdir -p {{work:path}}/model && '
                        f'tar -xzf {{artifacts:path}}/{archive} -C {{work:path}}/model',
                        'RequiresPrivilege': False,
                    }
                },
                'Artifacts': [{'Uri': artifact_uri, 'Unarchive': 'NONE', 'Permission': {'Read': 'OWNER'}}],
            }
        ],
    }


def default_packages(now: datetime) -> list[ModelPackage]:
    """Model components for a fleet seeded without the SageMaker seed (artifact URIs under NEO_OUTPUT)."""
    now = utc(now)
    rows = (
        ('bottle-cap-defects', 'jetson-xavier', 'aarch64', '1.0.0', 160),
        ('bottle-cap-defects', 'jetson-xavier', 'aarch64', '1.1.0', 70),
        ('bottle-cap-defects', 'x86_64-cpu', 'amd64', '1.0.0', 160),
        ('pcb-solder-joints', 'jetson-xavier', 'aarch64', '1.0.0', 135),
        ('pcb-solder-joints', 'x86_64-cpu', 'amd64', '1.0.0', 140),
        ('weld-seam-cracks', 'jetson-xavier', 'aarch64', '1.0.0', 100),
    )
    return [
        ModelPackage(
            component_name=f'model-{use_case}-{target}',
            version=version,
            artifact_uri=f'{NEO_OUTPUT}/dda-{use_case}-{target}/model-{target}.tar.gz',
            architecture=architecture,
            created_at=now - timedelta(hours=hours_ago),
            description=f'{use_case} defect-detection model compiled by SageMaker Neo for {target}',
            tags={linking.TAG_TARGET: target, linking.TAG_ORIGIN: 'auto'},
        )
        for use_case, target, architecture, version, hours_ago in rows
    ]


def packages_from_moto(
    inventory: DemoInventory, catalog: TargetCatalog, training_jobs: int = 3
) -> list[ModelPackage]:
    """Model components for the SageMaker seed's completed compilation jobs, read from moto's backend.

    Every completed compilation of the oldest `training_jobs` training jobs is packaged (tagged with its
    compilation job, training job and target). Of the later ones, the first gets a hand-made, untagged package
    whose artifact URI has a typo (it FAILS once its artifacts are checked), and the second a package left
    REQUESTED, for the simulator to walk to DEPLOYABLE and install. The rest stay unpackaged.
    """
    sagemaker = backend()
    completed = [
        sagemaker.compilation_jobs[name]
        for name, status in inventory.compilation_jobs.items()
        if status == 'COMPLETED' and name in sagemaker.compilation_jobs
    ]
    owners = sorted(
        {inventory.compilation_owners[job.compilation_job_name] for job in completed},
        key=lambda name: sagemaker.training_jobs[name].creation_time,
    )
    packaged, later = owners[:training_jobs], owners[training_jobs:]
    completed.sort(
        key=lambda job: (
            owners.index(inventory.compilation_owners[job.compilation_job_name]),
            job.compilation_end_time,
            job.compilation_job_name,
        )
    )
    versions: dict[str, int] = {}
    packages: list[ModelPackage] = []
    extras = 0
    for job in completed:
        name = job.compilation_job_name
        owner = inventory.compilation_owners[name]
        if owner not in packaged and extras >= 2:
            continue
        target = catalog[inventory.compilation_targets[name]]
        use_case = _use_case(owner)
        component = f'model-{use_case}-{target.id}'
        minor = versions.get(component, 0)
        versions[component] = minor + 1
        artifact = str(job.model_artifacts['S3ModelArtifacts'])  # what DescribeCompilationJob reports
        tags = {
            TAG_COMPILATION_JOB: name,
            linking.TAG_TRAINING_JOB: owner,
            linking.TAG_TARGET: target.id,
            linking.TAG_ORIGIN: 'auto',
        }
        settled = True
        if owner in later:
            if extras == 0:  # packaged by hand from the console: no tags, and a mistyped artifact key
                artifact, tags = artifact.removesuffix('.tar.gz') + '.tgz', {}
            else:
                settled = False
            extras += 1
        packages.append(
            ModelPackage(
                component_name=component,
                version=f'1.{minor}.0',
                artifact_uri=artifact,
                architecture=target.greengrass_architecture,
                created_at=utc(job.compilation_end_time) + timedelta(minutes=4),
                description=f'{use_case} defect-detection model compiled by SageMaker Neo for '
                f'{target.display_name}',
                tags=tags,
                settled=settled,
                accelerator=target.greengrass_accelerator,
            )
        )
    return packages


def _use_case(training_job: str) -> str:
    """`dda-<use case>-<YYYY-mm-dd-HHMM>` → the use case (other names are kept whole)."""
    found = re.fullmatch(r'dda-(.+)-\d{4}-\d{2}-\d{2}-\d{4}', training_job)
    return found[1] if found else training_job


def seed_fleet(
    backend: GreengrassBackend,
    now: datetime,
    packages: Sequence[ModelPackage] | None = None,
    fleet: Sequence[_Device] = _FLEET,
) -> FleetInventory:
    """Five core devices on three lines (Jetson aarch64 and x86 IPC amd64) and the model components they run.

    Each device runs the nucleus and some aws.greengrass.* components. `packages` (default:
    `default_packages`) become component versions, settled through the backend's artifact check unless marked
    otherwise. Each DEPLOYABLE model goes by a thing deployment to one device of its architecture (round robin
    by thing name, among devices that reported after it was packaged); a newer version of a component follows
    it there. One model on the UNHEALTHY device is BROKEN.
    """
    now = utc(now)
    inventory = FleetInventory()
    _add_devices(backend, now, inventory, fleet)
    chosen = _package_models(
        backend, now, packages if packages is not None else default_packages(now), inventory, fleet
    )
    for spec in fleet:
        _install(backend, now, spec, chosen, inventory)
    return inventory


def seed_things(iot: Any, things: Mapping[str, dict[str, str] | None] = THING_ATTRIBUTES) -> None:
    """The fleet's IoT things, with the attributes `things` gives (through IoT's own API)."""
    for name, attributes in things.items():
        if attributes is None:
            continue
        try:
            iot.create_thing(thingName=name, attributePayload={'attributes': attributes})
        except ClientError as error:  # a demo seeded again into the same account
            if error.response.get('Error', {}).get('Code') != 'ResourceAlreadyExistsException':
                raise


def seed_thing_groups(
    backend: GreengrassBackend,
    now: datetime,
    iot: Any | None = None,
    inventory: FleetInventory | None = None,
) -> dict[str, list[str]]:
    """The failing line-1 device and the thing groups: in the emulator (each device's groups) and, given an
    IoT client (moto's in the demo), as IoT things and thing groups the portal lists. Group → members."""
    now = utc(now)
    if FAILING_DEVICE not in backend.core_devices:
        device = backend.add_core_device(
            FAILING_DEVICE,
            architecture='aarch64',
            core_version='2.12.0',
            last_status_update=now - timedelta(minutes=7),
            tags={'line': 'line1', 'site': 'plant-1'},
        )
        device.fails_with = FAILING_REASON
        backend.deploy(
            FAILING_DEVICE, {'aws.greengrass.LogManager': _LOG_MANAGER[0]}, now - timedelta(days=3)
        )
        backend.install(
            FAILING_DEVICE, NUCLEUS, '2.12.0', reported_at=now - timedelta(minutes=7), is_root=False
        )
        backend.report_status(FAILING_DEVICE, 'HEALTHY', now - timedelta(minutes=7))
    if inventory is not None:
        inventory.core_devices[FAILING_DEVICE] = 'HEALTHY'
    for group, members in THING_GROUPS.items():
        arn = backend.thing_group_arn(group)
        for thing in members:
            backend.core_devices[thing].thing_groups.add(arn)
    line = backend.thing_group_arn('line-1')
    if not any(d.target_arn == line for d in backend.deployments.values()):
        # line 1's base deployment, done long ago: what a rollout to the group keeps, and rolls back to
        at = now - timedelta(days=2)
        base = backend.create_deployment(
            line, {'aws.greengrass.LogManager': _LOG_MANAGER[0]}, 'line-1 base', now=at
        )
        base.policies = {'failureHandlingPolicy': 'ROLLBACK'}
        for execution in base.executions.values():
            execution.status, execution.modified_at = 'SUCCEEDED', at + timedelta(minutes=2)
    if iot is not None:
        for thing in sorted({t for members in THING_GROUPS.values() for t in members}):
            _create_thing(iot, thing)
        for group, members in THING_GROUPS.items():
            iot.create_thing_group(thingGroupName=group)
            for thing in members:
                iot.add_thing_to_thing_group(thingGroupName=group, thingName=thing)
    return {group: list(members) for group, members in THING_GROUPS.items()}


def _create_thing(iot: Any, name: str) -> None:
    """A thing without attributes, unless seed_things made it already (moto's CreateThing would replace its
    attributes)."""
    try:
        iot.describe_thing(thingName=name)
    except ClientError as error:
        if error.response.get('Error', {}).get('Code') != 'ResourceNotFoundException':
            raise
        iot.create_thing(thingName=name)


def _add_devices(
    backend: GreengrassBackend, now: datetime, inventory: FleetInventory, fleet: Sequence[_Device]
) -> None:
    """The fleet's devices, each deployed its base components."""
    for spec in fleet:
        backend.add_core_device(
            spec.thing_name,
            architecture=spec.architecture,
            core_version=spec.core_version,
            status=spec.status,
            last_status_update=now - spec.reported_ago,
            tags={'line': spec.thing_name.split('-')[1], 'site': 'plant-1'},
        )
        roots = {name: version for name, (version, root) in spec.components.items() if root}
        backend.deploy(spec.thing_name, roots, now - _SET_UP_AGO, name=f'{spec.thing_name} base')
        inventory.core_devices[spec.thing_name] = spec.status
        if spec.status == 'UNHEALTHY':
            inventory.unhealthy = spec.thing_name
        if spec.reported_ago > timedelta(hours=24):
            inventory.stale = spec.thing_name


def _package_models(
    backend: GreengrassBackend,
    now: datetime,
    packages: Sequence[ModelPackage],
    inventory: FleetInventory,
    fleet: Sequence[_Device],
) -> dict[str, tuple[ModelPackage, str]]:
    """Each package as a component version; component name → (its greatest deployable package, the thing
    name it goes to)."""
    chosen: dict[str, tuple[ModelPackage, str]] = {}
    turns: dict[str, int] = {}
    for package in sorted(packages, key=lambda p: p.created_at):
        created = backend.create_component_version(
            _recipe_bytes(package), dict(package.tags), now=package.created_at
        )
        if package.settled:
            backend.settle(created.arn, package.created_at + timedelta(minutes=1))
        created.rolled_out = package.settled  # the simulator rolls out only what becomes DEPLOYABLE later
        inventory.component_versions[created.arn] = created.state
        if created.state != 'DEPLOYABLE':
            continue
        installed_at = package.created_at + _INSTALL_AFTER
        devices = [
            s
            for s in fleet
            if s.architecture == package.architecture and now - s.reported_ago >= installed_at
        ]
        if not devices:
            continue
        previous = chosen.get(package.component_name)
        if previous is not None:
            # a newer version follows the component to its device, if that device reported since
            if previous[1] in {s.thing_name for s in devices}:
                chosen[package.component_name] = (package, previous[1])
            continue
        turn = turns.get(package.architecture, 0)
        turns[package.architecture] = turn + 1
        chosen[package.component_name] = (package, devices[turn % len(devices)].thing_name)
    return chosen


def _install(
    backend: GreengrassBackend,
    now: datetime,
    spec: _Device,
    chosen: dict[str, tuple[ModelPackage, str]],
    inventory: FleetInventory,
) -> None:
    """The models chosen for one device deployed to it, its dependencies installed, and its report."""
    models = {p.component_name: p for p, thing in chosen.values() if thing == spec.thing_name}
    if models:
        at = max(p.created_at for p in models.values()) + _INSTALL_AFTER
        roots = {name: version for name, (version, root) in spec.components.items() if root}
        roots.update({name: p.version for name, p in models.items()})
        backend.deploy(spec.thing_name, roots, at, name=f'{spec.thing_name} models')
        inventory.models_installed[spec.thing_name] = sorted(models)
    reported = now - spec.reported_ago
    dependencies = {NUCLEUS: spec.core_version}
    dependencies.update({name: version for name, (version, root) in spec.components.items() if not root})
    for name, version in dependencies.items():
        backend.install(
            spec.thing_name,
            name,
            version,
            reported_at=reported,
            is_root=False,
            status_changed_at=now - _SET_UP_AGO,
        )
    latest = backend.get_core_device(spec.thing_name).installed
    for component in latest.values():
        component.last_reported = reported
    if spec.status == 'UNHEALTHY' and models:
        name = sorted(models)[0]
        broken = latest[name]
        broken.lifecycle_state = 'BROKEN'
        broken.lifecycle_state_details = BROKEN_DETAILS
        broken.lifecycle_status_codes = ['RUN_ERROR']
        broken.last_status_change = reported - timedelta(minutes=2)
        inventory.broken = (spec.thing_name, name)
    backend.report_status(spec.thing_name, spec.status, reported)


def _recipe_bytes(package: ModelPackage) -> bytes:
    recipe = model_recipe(
        package.component_name,
        package.version,
        package.artifact_uri,
        package.architecture,
        package.description,
        package.accelerator,
    )
    return json.dumps(recipe).encode()


def s3_artifact_exists(s3: Any) -> ArtifactExists:
    """`artifact_exists` for the backend: whether an s3:// object can be read, asked with HeadObject."""

    def exists(uri: str) -> bool:
        bucket, key = split_s3(uri)
        if not bucket or not key or key.endswith('/'):
            return False
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            code = str(error.response.get('Error', {}).get('Code'))
            if code in ('404', '403', 'NoSuchKey', 'NotFound', 'NoSuchBucket', 'AccessDenied', 'Forbidden'):
                return False
            raise
        return True

    return exists


def step_fleet(
    backend: GreengrassBackend,
    now: datetime | None = None,
    *,
    install_delay: timedelta = timedelta(minutes=1),
) -> list[str]:
    """One simulator step: component versions move one state on, then ready model versions are rolled out."""
    changes = [str(change) for change in backend.advance(now)]
    changes += backend.advance_deployments(now)
    changes += [str(done) for done in backend.install_latest_deployable(now, delay=install_delay)]
    return changes
