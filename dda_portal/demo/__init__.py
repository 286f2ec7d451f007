"""Demo mode: moto's server on 127.0.0.1 with a defect-detection team's jobs, and a simulator moving them.

moto has no Greengrass v2, so a second local server emulates it: a fleet of core devices and the model
components packaged from the seeded compilation jobs. The portal itself has no demo branches: `start_demo`
only points boto3's standard environment variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_GREENGRASSV2,
credentials, region) at the local servers. Never imported in production paths.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from moto.core.base_backend import BackendDict
from moto.server import ThreadedMotoServer

from ..config import Settings
from ..domain.naming import compilation_job_name
from ..domain.targets import TargetCatalog
from . import moto_patches
from .alert_log import AlertLog
from .common import NEO_FAILURES, NEO_OUTPUT, ROLE_ARN, client
from .greengrass import (
    FleetInventory,
    GreengrassBackend,
    GreengrassServer,
    packages_from_moto,
    s3_artifact_exists,
    seed_fleet,
    seed_thing_groups,
    seed_things,
)
from .second_use_case import (
    SECOND_ACCOUNT,
    SECOND_REGION,
    SecondUseCase,
    greengrass_backend,
    seed_second_use_case,
    write_use_cases_file,
)
from .seed import DemoInventory, seed
from .simulator import DemoSimulator, install_delay_for

__all__ = [
    'DEMO_DATABASE_URL',
    'DemoEnvironment',
    'DemoInventory',
    'DemoSimulator',
    'FleetInventory',
    'start_demo',
]

log = logging.getLogger(__name__)

DEMO_DATABASE_URL = 'sqlite:///data/demo.db'

# variables that would send boto3 elsewhere than the local server, or make it ignore AWS_ENDPOINT_URL
_CLEARED = (
    'AWS_PROFILE',
    'AWS_DEFAULT_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_SECURITY_TOKEN',
    'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
    'AWS_ENDPOINT_URL_SAGEMAKER',
    'AWS_ENDPOINT_URL_S3',
    'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS',
)
_SET = ('AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_DEFAULT_REGION', 'AWS_REGION')
GREENGRASS_ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL_GREENGRASSV2'  # boto3's own, for the service id GreengrassV2


@dataclass
class DemoEnvironment:
    """A running demo: where its AWS endpoints are, what was seeded, and the simulator to step."""

    endpoint: str
    simulator: DemoSimulator
    inventory: DemoInventory
    greengrass_endpoint: str = ''  # the Greengrass v2 emulator (moto has no Greengrass)
    fleet: FleetInventory = field(default_factory=FleetInventory)  # its seeded core devices and components
    database_url: str = DEMO_DATABASE_URL
    region: str = 'us-east-1'
    role_arn: str = ROLE_ARN  # an execution role for CreateCompilationJob (moto accepts any)
    compile_output_s3: str = f'{NEO_OUTPUT}/'  # a bucket prefix the demo's S3 has
    patches: list[str] = field(default_factory=list)
    _server: ThreadedMotoServer | None = field(default=None, repr=False)
    _greengrass_server: GreengrassServer | None = field(default=None, repr=False)
    alert_log: AlertLog | None = None  # the channel the demo's alerts go to (it logs each one)
    second: SecondUseCase | None = None  # line-2: another account and region, reached through AssumeRole
    use_cases_file: Path | None = None  # line-1 (this account and region) and line-2
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)

    def settings_overrides(self, settings: Settings) -> dict[str, object]:
        """Settings the demo needs: its database, and a role and output prefix unless the user set them."""
        overrides: dict[str, object] = {'database_url': self.database_url}
        if getattr(settings, 'sagemaker_role_arn', '') is None:
            overrides['sagemaker_role_arn'] = self.role_arn
        if getattr(settings, 'compile_output_s3', '') is None:
            overrides['compile_output_s3'] = self.compile_output_s3
        if not settings.auto_compile_targets:  # the demo shows automatic compilation at work
            overrides['auto_compile_targets'] = 'jetson-xavier,x86_64-cpu'
        overrides['auto_package'] = True  # … and automatic packaging as Greengrass components
        if not settings.alert_urls and self.alert_log is not None:  # … and alerts, to a channel that logs
            overrides['alert_urls'] = self.alert_log.url
        if settings.use_cases_file is None and self.use_cases_file is not None:
            overrides['use_cases_file'] = self.use_cases_file  # … and two use cases
        return overrides

    @property
    def greengrass(self) -> GreengrassBackend | None:
        """The Greengrass emulator's state (None once stopped), for tests and for poking at the demo."""
        return self._greengrass_server.backend if self._greengrass_server is not None else None

    def stop(self) -> None:
        """Stop the simulator and the servers and give the environment variables back. Idempotent."""
        self.simulator.uninstall()
        if self.alert_log is not None:
            self.alert_log.stop()
            self.alert_log = None
        if self._greengrass_server is not None:
            self._greengrass_server.stop()
            self._greengrass_server = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self.use_cases_file is not None:
            shutil.rmtree(self.use_cases_file.parent, ignore_errors=True)
        _restore(self._saved_env)
        self._saved_env = {}


def start_demo(settings: Settings) -> DemoEnvironment:
    """Start moto's server and the Greengrass emulator on free 127.0.0.1 ports, point boto3 at them, patch
    moto, seed both, and set up the simulator (the caller steps it every `settings.demo_step_seconds`)."""
    # moto keeps its state per process: a second demo (or a test) in the same process starts empty
    BackendDict.reset()
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f'http://{host}:{port}'
    saved = {key: os.environ.get(key) for key in (*_CLEARED, *_SET, GREENGRASS_ENDPOINT_VARIABLE)}
    region = os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1'
    for key in (*_CLEARED, GREENGRASS_ENDPOINT_VARIABLE):
        os.environ.pop(key, None)
    os.environ.update(
        {
            'AWS_ENDPOINT_URL': endpoint,
            'AWS_ACCESS_KEY_ID': 'testing',
            'AWS_SECRET_ACCESS_KEY': 'testing',
            'AWS_DEFAULT_REGION': region,
            'AWS_REGION': region,  # read before AWS_DEFAULT_REGION by the portal (aws/clients.env_region)
        }
    )
    # one INFO line per request from moto's web server would drown the portal's own log
    logging.getLogger('werkzeug').setLevel(logging.WARNING)
    greengrass: GreengrassServer | None = None
    simulator: DemoSimulator | None = None
    try:
        patches = moto_patches.apply()
        inventory = seed()
        catalog = TargetCatalog.load(settings.targets_file)
        backend = GreengrassBackend(region=region, artifact_exists=s3_artifact_exists(client('s3')))
        greengrass = GreengrassServer('127.0.0.1', 0, backend, make=greengrass_backend)
        greengrass_endpoint = greengrass.start()
        os.environ[GREENGRASS_ENDPOINT_VARIABLE] = greengrass_endpoint
        fleet = seed_fleet(backend, inventory.seeded_at, packages_from_moto(inventory, catalog))
        seed_things(client('iot'))
        seed_thing_groups(backend, inventory.seeded_at, client('iot'), fleet)
        second = seed_second_use_case(inventory.seeded_at, catalog, greengrass.accounts)
        use_cases_file = write_use_cases_file(Path(tempfile.mkdtemp(prefix='dda-demo-')), region)
        simulator = DemoSimulator(
            catalog,
            planned_outcomes={**inventory.planned_outcomes, **_live_failure(inventory)},
            greengrass=backend,
            install_delay=install_delay_for(settings.demo_step_seconds),
        )
        simulator.intercept_new_compilation_jobs()
        simulator.install_stop_compilation_job()
    except BaseException:
        if simulator is not None:
            simulator.uninstall()
        if greengrass is not None:
            greengrass.stop()
        server.stop()
        _restore(saved)
        raise
    log.info(
        'Demo AWS endpoint %s: %d training jobs, %d compilation jobs; moto patches: %s',
        endpoint,
        len(inventory.training_jobs),
        len(inventory.compilation_jobs),
        ', '.join(patches) or 'none',
    )
    log.info(
        'Demo Greengrass v2 endpoint %s: %d core devices, %d model component versions',
        greengrass_endpoint,
        len(fleet.core_devices),
        len(fleet.component_versions),
    )
    log.info(
        'Demo use case line-2 (account %s in %s, through AssumeRole): %d training jobs, %d core devices; '
        'use cases file %s',
        SECOND_ACCOUNT,
        SECOND_REGION,
        len(second.inventory.training_jobs),
        len(second.fleet.core_devices),
        use_cases_file,
    )
    alert_log = AlertLog().start()
    log.info('Demo alert channel %s: each alert the portal sends is logged here', alert_log.url)
    return DemoEnvironment(
        endpoint=endpoint,
        alert_log=alert_log,
        simulator=simulator,
        inventory=inventory,
        greengrass_endpoint=greengrass_endpoint,
        fleet=fleet,
        database_url=_demo_database(settings),
        region=region,
        patches=patches,
        second=second,
        use_cases_file=use_cases_file,
        _server=server,
        _greengrass_server=greengrass,
        _saved_env=saved,
    )


def _live_failure(inventory: DemoInventory) -> dict[str, tuple[str, str | None]]:
    """The training job still running finishes during the demo and is compiled automatically: its x86
    compilation fails, so that the demo shows a failure arriving live (and its alert)."""
    running = inventory.in_progress_training_job
    if not running:
        return {}
    return {compilation_job_name(running, 'x86_64-cpu', 1): ('FAILED', NEO_FAILURES[0])}


def _demo_database(settings: Settings) -> str:
    """The demo's own SQLite file, fresh like moto's state, unless the user named a database."""
    if settings.database_url != Settings.model_fields['database_url'].default:
        return settings.database_url
    path = Path(DEMO_DATABASE_URL.removeprefix('sqlite:///'))
    for stale in (path, path.with_name(path.name + '-wal'), path.with_name(path.name + '-shm')):
        stale.unlink(missing_ok=True)
    return DEMO_DATABASE_URL


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
