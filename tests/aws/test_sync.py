"""The refresh cycle against moto: backfill, incremental cost, state changes, linking, failures."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.domain.clock import utcnow
from dda_portal.domain.linking import TAG_ORIGIN, TAG_TARGET, TAG_TRAINING_JOB
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import Sync, build
from dda_portal.store import Store
from tests.factories import (
    backend,
    create_compilation_job,
    create_training_job,
    naive_utc,
    set_compilation_status,
    set_training_status,
)

TARGETS = ['jetson-xavier', 'x86_64-cpu', 'arm64-cpu']
# nothing changed: one listing of each kind (devices have their own, slower cadence)
STEADY_STATE = {'ListTrainingJobs': 1, 'ListCompilationJobs': 1, 'ListComponents': 1}
UNTAR = (
    'ClientError: InputConfiguration: Unable to untar input model. Please confirm the model is a tar.gz file'
)


def make_sync(database_url: str) -> Sync:
    settings = Settings(database_url=database_url, sync_enabled=False)
    return build(settings, Store(database_url), AwsClients(), TargetCatalog.load()).sync


def age_everything(hours: int = 2) -> None:
    """Jobs last touched long ago, as most jobs in a real account are."""
    then = naive_utc() - timedelta(hours=hours)
    for job in backend().training_jobs.values():
        job.creation_time = job.last_modified_time = then
    for job in backend().compilation_jobs.values():
        job.creation_time = job.last_modified_time = then


def seed_jobs(count: int, targets: list[str]) -> None:
    for i in range(count):
        name = f'tj-{i:05d}'
        create_training_job(name)
        for target in targets:
            create_compilation_job(
                f'{name}-{target.replace("_", "-")}-1',
                name,
                target,
                tags={TAG_TRAINING_JOB: name, TAG_TARGET: target, TAG_ORIGIN: 'auto'},
            )
    age_everything()


def cycle(sync: Sync) -> tuple[frozenset[str], int, dict[str, int]]:
    sync.clients.counter.by_operation.clear()
    before = sync.clients.counter.total
    changed = sync.pull_and_apply(utcnow())
    return changed, sync.clients.counter.total - before, dict(sync.clients.counter.by_operation)


@pytest.mark.usefixtures('aws')
def test_backfill_links_every_compilation_job_and_rolls_up(database_url: str) -> None:
    create_training_job('bottle-caps')
    create_compilation_job('bottle-caps-jetson-xavier-1', 'bottle-caps', 'jetson-xavier')
    create_compilation_job('bottle-caps-x86-64-cpu-1', 'bottle-caps', 'x86_64-cpu', 'FAILED', UNTAR)
    create_compilation_job('bottle-caps-arm64-cpu-1', 'bottle-caps', 'arm64-cpu', 'INPROGRESS')
    sync = make_sync(database_url)

    changed, _, _ = cycle(sync)

    assert changed == {'bottle-caps'}
    job = sync.store.read(queries.jobs.training_job, 'bottle-caps')
    assert job is not None
    assert (job.rollup, job.targets_compiled, job.targets_total) == ('Compiling', 1, 3)
    latest = {a.target_id: a for a in sync.store.read(queries.jobs.latest_attempts, 'bottle-caps')}
    assert latest['x86_64-cpu'].status == 'Failed'
    assert latest['x86_64-cpu'].failure_reason == UNTAR
    assert latest['jetson-xavier'].artifact == 's3://dda-models/compiled/bottle-caps-jetson-xavier-1/'
    assert latest['arm64-cpu'].artifact is None  # not written until the job completes
    assert latest['jetson-xavier'].target_label == 'NVIDIA Jetson Xavier'


@pytest.mark.usefixtures('aws')
def test_state_change_in_aws_appears_after_next_cycle(database_url: str) -> None:
    create_training_job('weld-seams')
    create_compilation_job('weld-seams-x86-64-cpu-1', 'weld-seams', 'x86_64-cpu', 'INPROGRESS')
    sync = make_sync(database_url)
    cycle(sync)
    assert sync.store.read(queries.jobs.latest_attempts, 'weld-seams')[0].status == 'In progress'

    set_compilation_status('weld-seams-x86-64-cpu-1', 'FAILED', UNTAR)
    changed, _, operations = cycle(sync)

    assert changed == {'weld-seams'}
    attempt = sync.store.read(queries.jobs.latest_attempts, 'weld-seams')[0]
    assert (attempt.status, attempt.failure_reason) == ('Failed', UNTAR)
    assert sync.store.read(queries.jobs.training_job, 'weld-seams').rollup == 'Compilation failed'  # type: ignore[union-attr]
    assert operations.get('DescribeCompilationJob') == 1
    assert 'DescribeTrainingJob' not in operations


@pytest.mark.usefixtures('aws')
def test_training_job_reaching_completed_is_picked_up(database_url: str) -> None:
    create_training_job('paint-drips', status='InProgress')
    sync = make_sync(database_url)
    cycle(sync)
    assert sync.store.read(queries.jobs.training_job, 'paint-drips').status == 'In progress'  # type: ignore[union-attr]
    set_training_status('paint-drips', 'Completed')
    changed, _, _ = cycle(sync)
    assert changed == {'paint-drips'}
    assert sync.store.read(queries.jobs.training_job, 'paint-drips').status == 'Completed'  # type: ignore[union-attr]


@pytest.mark.usefixtures('aws')
def test_jobs_the_portal_did_not_create_are_linked_by_uri_and_name(database_url: str) -> None:
    create_training_job('scratch-detector')
    create_compilation_job('scratch-detector-nano', 'scratch-detector', 'arm64-cpu')  # name prefix only
    create_compilation_job('nightly-build-77', 'scratch-detector', 'x86_64-cpu')  # input URI only
    create_compilation_job('orphan-model', 'nobody', 'x86_64-cpu', input_uri='s3://else/where/model.tar.gz')
    sync = make_sync(database_url)
    cycle(sync)
    linked = {a.job_name for a in sync.store.read(queries.jobs.attempts_for, 'scratch-detector')}
    assert linked == {'scratch-detector-nano', 'nightly-build-77'}
    assert all(a.origin == 'external' for a in sync.store.read(queries.jobs.attempts_for, 'scratch-detector'))


@pytest.mark.usefixtures('aws')
def test_compilation_job_seen_before_its_training_job_is_linked_later(database_url: str) -> None:
    create_training_job('late-arrival')
    create_compilation_job('late-arrival-x86-64-cpu-1', 'late-arrival', 'x86_64-cpu')
    age_everything(hours=24 * 60)  # training job outside the first backfill window
    backend().compilation_jobs['late-arrival-x86-64-cpu-1'].last_modified_time = naive_utc()
    sync = make_sync(database_url)
    cycle(sync)
    assert sync.store.read(queries.jobs.training_job, 'late-arrival') is None
    set_training_status('late-arrival', 'Completed')  # touched again: now inside the window
    changed, _, _ = cycle(sync)
    assert 'late-arrival' in changed
    assert [a.job_name for a in sync.store.read(queries.jobs.attempts_for, 'late-arrival')] == [
        'late-arrival-x86-64-cpu-1'
    ]


def steady_state_calls(database_url: str, jobs: int) -> dict[str, int]:
    seed_jobs(jobs, TARGETS[:1])  # one target each keeps the 500-job backfill quick
    sync = make_sync(database_url)
    _, backfill_calls, _ = cycle(sync)
    assert backfill_calls >= jobs  # the backfill describes every job once
    changed, _calls, operations = cycle(sync)
    assert changed == frozenset()
    return operations


@pytest.mark.usefixtures('aws')
def test_steady_state_cost_with_10_jobs(database_url: str) -> None:
    assert steady_state_calls(database_url, 10) == STEADY_STATE


@pytest.mark.usefixtures('aws')
def test_steady_state_cost_with_500_jobs_is_the_same(database_url: str) -> None:
    assert steady_state_calls(database_url, 500) == STEADY_STATE


@pytest.mark.usefixtures('aws')
async def test_failed_cycle_changes_nothing_and_is_recorded(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_training_job('glass-cracks')
    create_compilation_job('glass-cracks-x86-64-cpu-1', 'glass-cracks', 'x86_64-cpu', 'INPROGRESS')
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    set_compilation_status('glass-cracks-x86-64-cpu-1', 'COMPLETED')
    set_training_status('glass-cracks', 'Completed')

    def throttled(name: str) -> None:
        raise ClientError(
            {'Error': {'Code': 'ThrottlingException', 'Message': 'Rate exceeded'}}, 'DescribeCompilationJob'
        )

    monkeypatch.setattr(sync.sagemaker, 'describe_compilation_job', throttled)
    problem = await sync.run_once()

    assert problem is not None and (problem.code, problem.message) == ('ThrottlingException', 'Rate exceeded')
    assert sync.store.read(queries.jobs.latest_attempts, 'glass-cracks')[0].status == 'In progress'
    freshness = sync.store.freshness()
    assert freshness.last_failure is not None
    assert freshness.last_failure.error_code == 'ThrottlingException'
    assert freshness.last_success is not None

    monkeypatch.undo()
    assert await sync.run_once() is None  # recovers by itself once AWS answers again
    assert sync.store.read(queries.jobs.latest_attempts, 'glass-cracks')[0].status == 'Completed'
    assert sync.store.freshness().last_failure is None


@pytest.mark.usefixtures('aws')
def test_store_survives_a_restart(database_url: str) -> None:
    create_training_job('restart-me')
    create_compilation_job('restart-me-arm64-cpu-1', 'restart-me', 'arm64-cpu')
    cycle(make_sync(database_url))
    reopened = Store(database_url)
    assert reopened.read(queries.jobs.training_job, 'restart-me') is not None
    assert reopened.freshness().last_success is not None
    assert [a.job_name for a in reopened.read(queries.jobs.attempts_for, 'restart-me')] == [
        'restart-me-arm64-cpu-1'
    ]


@pytest.mark.usefixtures('aws')
def test_history_is_kept_when_aws_forgets_a_job(database_url: str) -> None:
    create_training_job('forgetful')
    create_compilation_job('forgetful-x86-64-cpu-1', 'forgetful', 'x86_64-cpu', 'FAILED', UNTAR)
    sync = make_sync(database_url)
    cycle(sync)
    del backend().compilation_jobs['forgetful-x86-64-cpu-1']
    cycle(sync)
    attempts = sync.store.read(queries.jobs.attempts_for, 'forgetful')
    assert [(a.job_name, a.status) for a in attempts] == [('forgetful-x86-64-cpu-1', 'Failed')]


class Answered:
    def __init__(self, status: int) -> None:
        self.status_code = status


@pytest.mark.usefixtures('aws')
@pytest.mark.parametrize(
    ('code', 'status'), [('AccessDeniedException', 400), ('InternalFailure', 500)], ids=['denied', 'failing']
)
def test_a_compilation_job_whose_tags_cannot_be_read_is_kept_without_them(
    database_url: str, code: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    """ListTags refused (a policy without sagemaker:ListTags), or failing for a job created without tags
    (moto 5.2's server answers 500 there): the job is linked by its model's S3 location and the refresh
    goes on; before, the whole SageMaker part failed and the list stayed empty."""
    create_training_job('scratch-detector')
    create_compilation_job('nightly-build-77', 'scratch-detector', 'x86_64-cpu')
    session = boto3.session.Session()

    def answer(**_: object) -> tuple[Answered, dict[str, object]]:
        error = {'Code': code, 'Message': 'ListTags is not for you'}
        return Answered(status), {'Error': error, 'ResponseMetadata': {'HTTPStatusCode': status}}

    session.events.register('before-call.sagemaker.ListTags', answer)  # for every client of the portal
    clients = AwsClients(session=session)
    settings = Settings(database_url=database_url, sync_enabled=False)
    sync = build(settings, Store(database_url), clients, TargetCatalog.load()).sync

    cycle(sync)

    [attempt] = sync.store.read(queries.jobs.attempts_for, 'scratch-detector')
    assert (attempt.job_name, attempt.target_id, attempt.origin) == (
        'nightly-build-77',
        'x86_64-cpu',
        'external',
    )
    assert sync.store.freshness().failed_places() == {}
    assert f'Tags of nightly-build-77 not read, kept without them: {code}' in caplog.text
