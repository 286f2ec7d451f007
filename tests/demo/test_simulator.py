"""The demo simulator, stepped directly: transitions, clocks, artifacts, logs, the Greengrass fleet, and the
portal seeing them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.common import COMPILATION_LOG_GROUP, NEO_FAILURES, TRAINING_LOG_GROUP, backend, split_s3
from dda_portal.demo.greengrass import (
    GreengrassBackend,
    packages_from_moto,
    s3_artifact_exists,
    seed_fleet,
)
from dda_portal.demo.greengrass.models import utc
from dda_portal.demo.seed import DemoInventory
from dda_portal.demo.simulator import DEFAULT_INSTALL_DELAY, DemoSimulator, install_delay_for
from dda_portal.domain import linking
from dda_portal.domain.clock import utcnow
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import build
from dda_portal.store import Store


def client(service: str) -> Any:
    return boto3.client(service, region_name='us-east-1')


def starting_job(inventory: DemoInventory) -> str:
    return next(name for name, status in inventory.compilation_jobs.items() if status == 'STARTING')


def modification_times() -> dict[str, datetime]:
    jobs = {j.compilation_job_name: j.last_modified_time for j in backend().compilation_jobs.values()}
    jobs.update({j.training_job_name: j.last_modified_time for j in backend().training_jobs.values()})
    return jobs


def messages(group: str, prefix: str) -> list[str]:
    logs = client('logs')
    streams = [
        s['logStreamName']
        for s in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=prefix)['logStreams']
    ]
    events = [e for s in streams for e in logs.get_log_events(logGroupName=group, logStreamName=s)['events']]
    return [e['message'] for e in sorted(events, key=lambda e: e['timestamp'])]


@pytest.fixture
def simulator(inventory: DemoInventory) -> Iterator[DemoSimulator]:
    simulator = DemoSimulator(max_in_progress_steps=1, training_steps=2, new_job_every=100)
    yield simulator
    simulator.uninstall()


def test_starting_job_goes_in_progress_then_finishes(
    inventory: DemoInventory, simulator: DemoSimulator
) -> None:
    name = starting_job(inventory)
    sagemaker = client('sagemaker')

    assert f'{name}: STARTING → INPROGRESS' in simulator.step()
    running = sagemaker.describe_compilation_job(CompilationJobName=name)
    assert running['CompilationJobStatus'] == 'INPROGRESS'
    assert 'CompilationStartTime' in running and 'CompilationEndTime' not in running

    changes = simulator.step()
    final = sagemaker.describe_compilation_job(CompilationJobName=name)
    status, failure = simulator.outcome(name)
    assert final['CompilationJobStatus'] == status
    assert any(change.startswith(f'{name}: INPROGRESS → {status}') for change in changes)
    assert final['CompilationStartTime'] <= final['CompilationEndTime'] == final['LastModifiedTime']
    log = messages(COMPILATION_LOG_GROUP, f'{name}/')
    if status == 'COMPLETED':
        bucket, key = split_s3(final['ModelArtifacts']['S3ModelArtifacts'])
        assert client('s3').head_object(Bucket=bucket, Key=key)['ContentLength'] > 0
        assert log[-1] == 'Compilation completed successfully'
    else:
        assert final['FailureReason'] == failure and failure in NEO_FAILURES
        assert log[-1] == failure


def test_every_active_job_reaches_a_final_state(inventory: DemoInventory) -> None:
    planned = dict(inventory.planned_outcomes)
    assert {status for status, _ in planned.values()} == {'COMPLETED'}  # the demo's live job ends well
    planned[starting_job(inventory)] = ('FAILED', NEO_FAILURES[3])
    simulator = DemoSimulator(
        max_in_progress_steps=3, training_steps=2, new_job_every=100, planned_outcomes=planned
    )
    active = [n for n, s in inventory.compilation_jobs.items() if s in ('STARTING', 'INPROGRESS', 'STOPPING')]
    for _ in range(5):  # STARTING → INPROGRESS, then at most three steps in progress
        simulator.step()
    final = {n: backend().compilation_jobs[n].compilation_job_status for n in active}
    assert set(final.values()) <= {'COMPLETED', 'FAILED', 'STOPPED'}
    for name, (status, failure) in planned.items():
        assert (final[name], backend().compilation_jobs[name].failure_reason) == (status, failure or '')
    assert [n for n in active if inventory.compilation_jobs[n] == 'STOPPING'] == [
        n for n in active if final[n] == 'STOPPED'
    ]
    assert simulator.step() == []  # nothing left to move


def test_last_modified_time_strictly_increases(inventory: DemoInventory) -> None:
    simulator = DemoSimulator(max_in_progress_steps=2, training_steps=3, new_job_every=2)
    changed_total = 0
    clock = [inventory.seeded_at - timedelta(days=1), None, None, inventory.seeded_at, None, None]
    for now in clock:  # a caller's clock running late must not move LastModifiedTime backwards
        before = modification_times()
        changes = simulator.step(now)
        after = modification_times()
        changed = sorted(t for name, t in after.items() if before.get(name) != t)
        assert len(changed) == len(set(changed)), 'two changes share a LastModifiedTime'
        if changed:
            assert changed[0] > max(before.values())
            assert all(t.tzinfo is None for t in changed)
        assert len(changed) >= len([c for c in changes if 'training InProgress' in c or '→' in c])
        changed_total += len(changed)
    assert changed_total >= 5


def test_running_training_job_completes_with_artifact_and_logs(
    inventory: DemoInventory, simulator: DemoSimulator
) -> None:
    name = inventory.in_progress_training_job
    sagemaker = client('sagemaker')
    changes = simulator.step() + simulator.step()

    assert f'{name}: training InProgress → Completed' in changes
    job = sagemaker.describe_training_job(TrainingJobName=name)
    assert job['TrainingJobStatus'] == 'Completed' and job['SecondaryStatus'] == 'Completed'
    assert job['TrainingEndTime'] == job['LastModifiedTime']
    assert job['BillableTimeInSeconds'] == job['TrainingTimeInSeconds'] > 0
    assert [t['Status'] for t in job['SecondaryStatusTransitions']][-2:] == ['Uploading', 'Completed']
    bucket, key = split_s3(job['ModelArtifacts']['S3ModelArtifacts'])
    assert client('s3').head_object(Bucket=bucket, Key=key)['ContentLength'] > 0
    log = messages(TRAINING_LOG_GROUP, f'{name}/')
    epochs = int(job['HyperParameters']['epochs'])
    assert [line.split(' - ')[0] for line in log if line.startswith('Epoch ')] == [
        f'Epoch {n}/{epochs}' for n in range(1, epochs + 1)
    ]
    assert log[-1].endswith('Reporting training SUCCESS')


def test_new_compilation_jobs_start_at_starting(inventory: DemoInventory) -> None:
    simulator = DemoSimulator(max_in_progress_steps=1, training_steps=1, new_job_every=1)
    created: list[str] = []
    for _ in range(6):
        created += [c.split(':')[0] for c in simulator.step() if 'created (STARTING)' in c]

    assert len(created) == 6
    assert len(set(created)) == 6
    # the training job the simulator just finished is compiled first; never-compiled ones are left alone
    assert created[0].startswith(f'{inventory.in_progress_training_job}-')
    assert not any(name.startswith(inventory.not_compiled) for name in created)
    sagemaker = client('sagemaker')
    newest = sagemaker.describe_compilation_job(CompilationJobName=created[-1])
    assert newest['CompilationJobStatus'] == 'STARTING'
    assert 'CompilationStartTime' not in newest
    tags = {
        t['Key']: t['Value'] for t in sagemaker.list_tags(ResourceArn=newest['CompilationJobArn'])['Tags']
    }
    assert tags[linking.TAG_ORIGIN] == 'auto'
    assert created[-1].startswith(f'{tags[linking.TAG_TRAINING_JOB]}-')
    # a target a training job already has is never compiled again
    owned = [(tags_of(n)[linking.TAG_TRAINING_JOB], tags_of(n)[linking.TAG_TARGET]) for n in created]
    assert len(set(owned)) == len(owned)
    for training_job, target in owned:
        assert not any(
            inventory.compilation_owners[n] == training_job and inventory.compilation_targets[n] == target
            for n in inventory.compilation_jobs
        )


def tags_of(name: str) -> dict[str, str]:
    job = backend().compilation_jobs[name]
    return {t['Key']: t['Value'] for t in job.tags or []}


def test_jobs_created_through_the_api_start_and_stop_like_on_aws(
    inventory: DemoInventory, simulator: DemoSimulator
) -> None:
    simulator.intercept_new_compilation_jobs()
    simulator.install_stop_compilation_job()
    sagemaker = client('sagemaker')
    training_job = inventory.not_compiled
    artifact = backend().training_jobs[training_job].model_artifacts['S3ModelArtifacts']
    catalog = TargetCatalog.load()
    for target in ('x86_64-cpu', 'arm64-cpu'):
        sagemaker.create_compilation_job(
            CompilationJobName=f'{training_job}-{target.replace("_", "-")}-1',
            RoleArn='arn:aws:iam::123456789012:role/r',
            InputConfig={
                'S3Uri': artifact,
                'Framework': 'PYTORCH',
                'DataInputConfig': '{"input0":[1,3,224,224]}',
            },
            OutputConfig=catalog[target].output_config('s3://dda-demo-models/neo-output/manual/'),
            StoppingCondition={'MaxRuntimeInSeconds': 900},
        )
    cpu, arm = f'{training_job}-x86-64-cpu-1', f'{training_job}-arm64-cpu-1'
    assert sagemaker.describe_compilation_job(CompilationJobName=cpu)['CompilationJobStatus'] == 'STARTING'

    sagemaker.stop_compilation_job(CompilationJobName=arm)
    assert sagemaker.describe_compilation_job(CompilationJobName=arm)['CompilationJobStatus'] == 'STOPPING'
    changes = simulator.step()
    assert f'{arm}: STOPPING → STOPPED' in changes and f'{cpu}: STARTING → INPROGRESS' in changes
    assert messages(COMPILATION_LOG_GROUP, f'{arm}/')[-1] == 'Compilation stopped'

    with pytest.raises(ClientError) as refused:
        sagemaker.stop_compilation_job(CompilationJobName=arm)
    assert refused.value.response['Error']['Code'] == 'ValidationException'
    with pytest.raises(ClientError) as missing:
        sagemaker.stop_compilation_job(CompilationJobName='no-such-job')
    assert missing.value.response['Error']['Code'] == 'ResourceNotFound'


def test_outcomes_are_deterministic_and_mostly_completed() -> None:
    names = [f'dda-job-{i}-x86-64-cpu-1' for i in range(200)]
    first = [DemoSimulator.outcome.__get__(_Probe())(n) for n in names]
    second = [DemoSimulator.outcome.__get__(_Probe())(n) for n in names]
    assert first == second
    failed = [reason for status, reason in first if status == 'FAILED']
    assert 0 < len(failed) < len(names) / 3
    assert set(failed) == set(NEO_FAILURES)


class _Probe:
    failure_one_in = 5
    planned_outcomes: dict[str, tuple[str, str | None]] = {}  # noqa: RUF012


def test_portal_sync_picks_up_each_transition(inventory: DemoInventory, tmp_path: Path) -> None:
    url = f'sqlite:///{tmp_path / "portal.db"}'
    store = Store(url)
    sync = build(
        Settings(database_url=url, sync_enabled=False, greengrass_enabled=False),
        store,
        AwsClients(),
        TargetCatalog.load(),
    ).sync
    simulator = DemoSimulator(max_in_progress_steps=1, training_steps=2, new_job_every=100)
    name = starting_job(inventory)
    owner = inventory.compilation_owners[name]
    training_job = inventory.in_progress_training_job

    def status() -> str:
        sync.pull_and_apply(utcnow())
        return next(a.status for a in store.read(queries.jobs.attempts_for, owner) if a.job_name == name)

    assert status() == 'Starting'
    assert store.read(queries.jobs.training_job, training_job).status == 'In progress'  # type: ignore[union-attr]
    simulator.step()
    assert status() == 'In progress'
    assert store.read(queries.jobs.training_job, owner).rollup == 'Compiling'  # type: ignore[union-attr]
    simulator.step()
    assert status() == {'COMPLETED': 'Completed', 'FAILED': 'Failed'}[simulator.outcome(name)[0]]
    assert store.read(queries.jobs.training_job, owner).rollup != 'Compiling'  # type: ignore[union-attr]
    assert store.read(queries.jobs.training_job, training_job).status == 'Completed'  # type: ignore[union-attr]


# ---- the Greengrass fleet --------------------------------------------------------------------------------


@pytest.fixture
def greengrass(inventory: DemoInventory) -> GreengrassBackend:
    """The demo's fleet, seeded from the SageMaker seed with artifacts checked against moto's S3."""
    fleet = GreengrassBackend(artifact_exists=s3_artifact_exists(client('s3')))
    seed_fleet(fleet, inventory.seeded_at, packages_from_moto(inventory, TargetCatalog.load()))
    return fleet


def states(fleet: GreengrassBackend) -> dict[str, str]:
    return {arn: version.state for arn, version in fleet.versions.items() if not version.public}


def test_install_delay_is_about_two_steps() -> None:
    assert install_delay_for(8) == DEFAULT_INSTALL_DELAY == timedelta(seconds=12)
    assert timedelta(seconds=5) < install_delay_for(5) <= timedelta(seconds=10)


def test_steps_move_a_requested_model_to_deployable_then_install_it(
    inventory: DemoInventory, greengrass: GreengrassBackend
) -> None:
    simulator = DemoSimulator(
        max_in_progress_steps=1,
        training_steps=2,
        new_job_every=100,
        greengrass=greengrass,
        install_delay=timedelta(seconds=30),
    )
    requested = [arn for arn, state in states(greengrass).items() if state == 'REQUESTED']
    assert len(requested) == 1
    item = greengrass.versions[requested[0]]
    label = f'{item.name} {item.version}'
    architecture = item.recipe['Manifests'][0]['Platform']['architecture']
    running_before = {thing: dict(device.installed) for thing, device in greengrass.core_devices.items()}
    clock = [inventory.seeded_at + timedelta(seconds=20 * step) for step in range(1, 6)]

    assert f'{label}: REQUESTED → INITIATED' in simulator.step(clock[0])
    assert f'{label}: INITIATED → DEPLOYABLE' in simulator.step(clock[1])
    assert item.state == 'DEPLOYABLE'
    # DEPLOYABLE for 20 s of the 30 s delay: not rolled out yet
    assert not [change for change in simulator.step(clock[2]) if 'installed on' in change]
    installed = [change for change in simulator.step(clock[3]) if 'installed on' in change]
    assert len(installed) == 1 and installed[0].startswith(f'{label} installed on ')
    thing = installed[0].rsplit(' ', 1)[1]
    device = greengrass.core_devices[thing]
    assert device.architecture == architecture
    assert device.status == 'HEALTHY' and not device.is_stale(utc(clock[3]))
    running = device.installed[item.name]
    assert (running.component_version, running.lifecycle_state, running.is_root) == (
        item.version,
        'RUNNING',
        True,
    )
    assert item.name not in running_before[thing]
    # the device keeps what it ran; the version is not rolled out again
    assert set(running_before[thing]) <= set(device.installed)
    assert not [change for change in simulator.step(clock[4]) if item.name in change]
    assert sum(item.name in d.installed for d in greengrass.core_devices.values()) == 1


def test_fleet_steps_are_deterministic(inventory: DemoInventory) -> None:
    def run() -> list[str]:
        fleet = GreengrassBackend(artifact_exists=s3_artifact_exists(client('s3')))
        seed_fleet(fleet, inventory.seeded_at, packages_from_moto(inventory, TargetCatalog.load()))
        simulator = DemoSimulator(new_job_every=100, greengrass=fleet, install_delay=timedelta(seconds=1))
        changes = [
            c
            for step in range(1, 5)
            for c in simulator.step(inventory.seeded_at + timedelta(minutes=step))
            if 'model-' in c
        ]
        return changes

    first = run()
    assert first and first == run()
