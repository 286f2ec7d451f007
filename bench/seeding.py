"""Seeding and reading back for bench/scale.py and bench/fleet_pages.py, in one place.

Every touch of the store's Python API (`dda_portal.store`, `queries`: Store, CycleResult, TrainingJobFacts,
CompilationJobFacts) by these benches is in the first section of this file, so that a change of that API
means adapting these few functions only:

- `seed_training_jobs(database_url, count)`: synthetic training jobs with 3 compilation targets each,
  written by `Store.apply(CycleResult(...))`, the road a refresh takes;
  (then the database file is complete on its own: it can be copied);
- `last_refresh_end(database_url)`: when the newest recorded refresh ended (its `SyncCycle.finished_at`,
  written right before the refresh tells the pages), to time a live update from the refresh's commit.

The second section seeds outside the store: moto's SageMaker backend (one training job the portal's own
refresh brings in, `probe_compilation_job` / `flip`) and the Greengrass v2 emulator's backend (`seed_fleet`,
`change_one_device`), which the portal reads through its real refresh.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

# ---- the store's Python API (adapt here when it changes) ---------------------------------------------

SYNTHETIC_TARGETS = {
    'jetson-xavier': 'NVIDIA Jetson Xavier',
    'x86_64-cpu': 'x86_64 CPU',
    'arm64-cpu': 'ARM64 CPU',
}
UNTAR = (
    'ClientError: InputConfiguration: Unable to untar input model. Please confirm the model is a tar.gz file'
)


@cache
def _store(database_url: str) -> Any:
    from dda_portal.store import Store

    return Store(database_url)


def seed_training_jobs(database_url: str, count: int, seed: int = 7) -> None:
    """`count` training jobs an hour apart (the newest still training), each with an attempt for every
    target in a random state (mostly completed), in one `Store.apply(CycleResult(...))`."""
    from dda_portal.domain.clock import utcnow
    from dda_portal.domain.status import CompilationStatus
    from dda_portal.queries.refresh import CompilationJobFacts, CycleResult, TrainingJobFacts

    states = [CompilationStatus.COMPLETED] * 6 + [
        CompilationStatus.FAILED,
        CompilationStatus.IN_PROGRESS,
        CompilationStatus.STARTING,
        CompilationStatus.STOPPED,
    ]
    rnd = random.Random(seed)
    now = utcnow()
    training: list[Any] = []
    compiling: list[Any] = []
    for i in range(count):
        name = f'synthetic-{rnd.choice(["bottle", "pcb", "weave", "glass"])}-{i:05d}'
        created = now - timedelta(hours=count - i + 3)
        still_training = i == count - 1
        training.append(
            TrainingJobFacts(
                name=name,
                arn=f'arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}',
                status='In progress' if still_training else 'Completed',
                secondary_status=None,
                failure_reason=None,
                created_at=created,
                started_at=created,
                ended_at=None if still_training else created + timedelta(minutes=rnd.randint(20, 90)),
                last_modified=created,
                instance_type='ml.g4dn.xlarge',
                instance_count=1,
                model_artifact=f's3://bench/out/{name}/output/model.tar.gz',
                output_prefix=f's3://bench/out/{name}/',
                billable_seconds=1800,
                training_seconds=1800,
            )
        )
        if still_training:
            continue
        for target, label in SYNTHETIC_TARGETS.items():
            status = rnd.choice(states)
            started = created + timedelta(hours=2)
            job = f'{name}-{target.replace("_", "-")}-1'
            compiling.append(
                CompilationJobFacts(
                    name=job,
                    arn=f'arn:aws:sagemaker:us-east-1:123456789012:compilation-job/{job}',
                    status=status,
                    failure_reason=UNTAR if status is CompilationStatus.FAILED else None,
                    created_at=started,
                    started_at=None if status is CompilationStatus.STARTING else started,
                    ended_at=started + timedelta(seconds=rnd.randint(120, 900)) if status.is_final else None,
                    last_modified=started,
                    artifact=None,
                    input_uri=f's3://bench/out/{name}/output/model.tar.gz',
                    framework='PYTORCH',
                    max_runtime_seconds=900,
                    target_id=target,
                    target_label=label,
                    tags={'dda-portal:training-job': name},
                )
            )
    store = _store(database_url)
    store.apply(CycleResult(started_at=now, aws_calls=0, training_jobs=training, compilation_jobs=compiling))
    store.engine.dispose()  # the last connection closes: SQLite folds its WAL in, the file can be copied


def last_refresh_end(database_url: str) -> datetime | None:
    """When the newest refresh recorded in the store ended (aware UTC), None before any."""
    from dda_portal import queries

    cycles = _store(database_url).read(queries.freshness.last_cycles, 1)
    if not cycles:
        return None
    end = cycles[0].finished_at
    return end.replace(tzinfo=UTC) if end.tzinfo is None else end


# ---- moto and the Greengrass emulator (the portal's refresh reads them) ------------------------------

PROBE = 'bench-00000'  # the training job bench/sync_cost.py's seed creates in moto


def seed_probe() -> Any:
    """One training job with three compilation jobs in moto's SageMaker backend (this process's moto);
    returns its x86_64-cpu compilation job, which `flip` changes."""
    from moto.sagemaker.models import sagemaker_backends
    from sync_cost import seed

    from dda_portal.domain.naming import compilation_job_name

    seed(1)
    backend = sagemaker_backends['123456789012']['us-east-1']
    return backend.compilation_jobs[compilation_job_name(PROBE, 'x86_64-cpu', 1)]


def flip(probe: Any) -> str:
    """The probe compilation job goes COMPLETED ↔ FAILED in moto; returns its new status."""
    probe.compilation_job_status = 'COMPLETED' if probe.compilation_job_status == 'FAILED' else 'FAILED'
    probe.last_modified_time = datetime.now(UTC).replace(tzinfo=None)
    return str(probe.compilation_job_status)


FLEET_ARCHITECTURES = ('aarch64', 'amd64')


def seed_fleet(backend: Any, devices: int, per_device: int, components: int = 50) -> None:
    """`components` model components (one version each, DEPLOYABLE, not linked to a training job) and
    `devices` core devices, each running `per_device` of them (RUNNING), straight into the emulator."""

    now = datetime.now(UTC) - timedelta(hours=1)
    names = [f'model-bench-{i:03d}' for i in range(components)]
    for name in names:
        recipe = json.dumps(
            {
                'RecipeFormatVersion': '2020-01-25',
                'ComponentName': name,
                'ComponentVersion': '1.0.0',
                'ComponentPublisher': 'bench',
                'Manifests': [{'Platform': {'os': 'linux'}}],
            }
        ).encode()
        version = backend.create_component_version(recipe, now=now)
        backend.settle(version.arn, now=now)
    for d in range(devices):
        thing = f'bench-device-{d:05d}'
        backend.add_core_device(thing, architecture=FLEET_ARCHITECTURES[d % 2], last_status_update=now)
        for k in range(per_device):
            backend.install(thing, names[(d + k) % components], '1.0.0', 'RUNNING', now, source='LOCAL')


def change_one_device(backend: Any, step: int) -> str:
    """One installed component of the first device changes lifecycle state (RUNNING ↔ BROKEN) and the
    device reports in; returns the new state."""
    device = backend.get_core_device('bench-device-00000')
    installed = sorted(device.installed.values(), key=lambda c: c.component_name)[0]
    state = 'BROKEN' if step % 2 == 0 else 'RUNNING'
    now = datetime.now(UTC)
    backend.install(
        device.thing_name, installed.component_name, installed.component_version, state, now, source='LOCAL'
    )
    backend.report_status(device.thing_name, 'UNHEALTHY' if state == 'BROKEN' else 'HEALTHY', now)
    return state
