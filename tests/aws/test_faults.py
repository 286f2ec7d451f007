"""AWS faults during a refresh: throttling, one API denied, an unreachable endpoint, timeouts, statuses the
portal does not know, and a portal restarted in the middle of a cycle.

Faults are injected with botocore event hooks on the portal's real clients, against moto; a failed refresh
must change nothing but its own failure record, and the next good one must bring everything in.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from moto.server import ThreadedMotoServer
from sqlalchemy import update
from sqlmodel import select

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.greengrass import GreengrassBackend
from dda_portal.domain.attempts import check_inputs
from dda_portal.domain.changes import Changed
from dda_portal.domain.clock import utcnow
from dda_portal.domain.problems import Invalid
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import build
from dda_portal.services.sync import COMPILATION_WATERMARK, TRAINING_WATERMARK, Sync
from dda_portal.store import Store
from dda_portal.tables import (
    CompilationAttempt,
    ComponentVersion,
    CoreDevice,
    InstalledComponent,
    SyncFollowUp,
    SyncState,
    TrainingJob,
)
from tests.factories import (
    DENIED,
    ROLE,
    UNTAR,
    backend,
    change_everything_meanwhile,
    create_compilation_job,
    create_training_job,
    seed_glass_cracks,
    set_compilation_status,
    set_training_status,
)

INPUTS = check_inputs('PYTORCH', '1.8', '[1,3,224,224]')


class PortalKilled(BaseException):
    """The process dying at this point: nothing after it runs (not even `except Exception` blocks)."""


def make_sync(database_url: str, **settings: Any) -> Sync:
    """A portal as the app builds it (a new one on the same file is a restart)."""
    config = Settings(database_url=database_url, sync_enabled=False, sagemaker_role_arn=ROLE, **settings)
    store, clients, catalog = Store(database_url), AwsClients(), TargetCatalog.load()
    return build(config, store, clients, catalog).sync


def snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Everything a refresh may write, except the record of the refresh itself."""
    tables = (
        TrainingJob,
        CompilationAttempt,
        ComponentVersion,
        CoreDevice,
        InstalledComponent,
        SyncState,
        SyncFollowUp,
    )
    with store.session() as session:
        return {
            table.__tablename__: sorted(  # type: ignore[attr-defined]
                (row.model_dump() for row in session.exec(select(table))), key=repr
            )
            for table in tables
        }


class _Body:
    """The raw body of a fake HTTP response, as botocore reads it."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def aws_answers(status: int, headers: dict[str, str], body: dict[str, Any]) -> Callable[..., AWSResponse]:
    """A before-send hook: AWS answered this HTTP response (botocore parses it and retries as usual)."""

    def send(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, headers, _Body(json.dumps(body).encode()))  # type: ignore[arg-type]

    return send


def retries_exhausted(code: str, message: str) -> Callable[..., tuple[AWSResponse, dict[str, Any]]]:
    """A before-call hook: the answer botocore gives up with once every adaptive retry was throttled too
    (real retries back off for up to half a minute, which a test should not wait for)."""

    def call(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        parsed = {
            'Error': {'Code': code, 'Message': message},
            'ResponseMetadata': {'HTTPStatusCode': 400, 'MaxAttemptsReached': True, 'RetryAttempts': 5},
        }
        return AWSResponse(params['url'], 400, {}, None), parsed  # type: ignore[arg-type]

    return call


def raises(
    error: Callable[[str], Exception], times: int | None = None
) -> tuple[Callable[..., None], list[int]]:
    """A before-send hook raising `error` (all the time, or the first `times` sends); and its send count."""
    sends: list[int] = []

    def send(request: Any, **_: Any) -> None:
        sends.append(1)
        if times is None or len(sends) <= times:
            raise error(request.url)

    return send, sends


def register(client: Any, event: str, hook: Callable[..., Any]) -> Callable[[], None]:
    client.meta.events.register(event, hook)
    return lambda: client.meta.events.unregister(event, hook)


def assert_meanwhile_changes_applied(store: Store) -> None:
    attempt = store.read(queries.jobs.latest_attempts, 'glass-cracks')[0]
    assert (attempt.status, attempt.failure_reason) == ('Failed', UNTAR)
    assert store.read(queries.jobs.training_job, 'glass-cracks').status == 'Completed'  # type: ignore[union-attr]
    assert store.read(queries.jobs.training_job, 'new-arrival') is not None


async def assert_failed_cycle_wrote_nothing(sync: Sync, code: str, message: str) -> None:
    """Runs one refresh under the fault: AWS's code and message come back and only the failure is recorded."""
    before = snapshot(sync.store)
    watermarks = [
        sync.store.read(queries.refresh.watermark, key) for key in (TRAINING_WATERMARK, COMPILATION_WATERMARK)
    ]
    last_success = sync.store.freshness().last_success
    assert last_success is not None

    problem = await sync.run_once()

    assert problem is not None and (problem.code, problem.message) == (code, message)
    # the next cycle asks again for everything modified since the last good one
    assert [
        sync.store.read(queries.refresh.watermark, key) for key in (TRAINING_WATERMARK, COMPILATION_WATERMARK)
    ] == watermarks
    assert snapshot(sync.store) == before  # no row, rollup or follow-up moved either
    freshness = sync.store.freshness()
    assert freshness.last_success == last_success  # the banner's "Showing data from …"
    assert freshness.last_failure is not None
    # the banner names the call that failed when AWS's answer says which
    assert (freshness.last_failure.error_code, freshness.last_failure.error_message) == (code, problem.where)
    assert problem.where == (f'{message} (in {problem.operation})' if problem.operation else message)


async def assert_recovers(sync: Sync) -> None:
    assert await sync.run_once() is None
    assert sync.store.freshness().last_failure is None  # the banner goes
    assert_meanwhile_changes_applied(sync.store)


@pytest.mark.usefixtures('aws')
async def test_a_throttled_refresh_keeps_the_last_good_data_and_the_next_good_one_brings_what_changed(
    database_url: str,
) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    change_everything_meanwhile()
    allow = register(
        sync.clients.sagemaker,
        'before-call.sagemaker.DescribeCompilationJob',
        retries_exhausted('ThrottlingException', 'Rate exceeded'),
    )

    # the training jobs were described successfully in the same cycle, and still nothing of it is kept
    await assert_failed_cycle_wrote_nothing(sync, 'ThrottlingException', 'Rate exceeded')
    calls_before = sync.clients.counter.total
    await assert_failed_cycle_wrote_nothing(sync, 'ThrottlingException', 'Rate exceeded')
    assert sync.clients.counter.total > calls_before  # the next cycle ran in full, it was not skipped

    allow()
    await assert_recovers(sync)


@pytest.mark.usefixtures('aws')
async def test_the_schedule_keeps_refreshing_while_aws_throttles_and_recovers_on_its_own(
    database_url: str,
) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    change_everything_meanwhile()
    allow = register(
        sync.clients.sagemaker,
        'before-call.sagemaker.DescribeCompilationJob',
        retries_exhausted('ThrottlingException', 'Rate exceeded'),
    )
    scheduler = AsyncIOScheduler()
    # as the app schedules the refresh, only much more often
    scheduler.add_job(sync.run_once, 'interval', seconds=0.05, max_instances=1, coalesce=True)
    scheduler.start()
    try:

        async def cycles_until(done: Callable[[list[bool]], bool]) -> list[bool]:
            # a generous limit: a loaded machine (2 cores, PostgreSQL, moto) makes each cycle slow
            for _ in range(2400):
                outcomes = [
                    cycle.ok for cycle in reversed(sync.store.read(queries.freshness.last_cycles, 1000))
                ]
                if done(outcomes):
                    return outcomes
                await asyncio.sleep(0.05)
            raise AssertionError(f'the schedule stopped refreshing: {outcomes}')

        await cycles_until(lambda outcomes: outcomes[1:].count(False) >= 3)
        allow()
        outcomes = await cycles_until(lambda outcomes: outcomes[-1])
    finally:
        scheduler.shutdown(wait=False)
        await sync.run_once()  # waits for a cycle the scheduler may have under way

    assert outcomes[0] and False in outcomes[1:]
    assert sync.store.freshness().last_failure is None
    assert_meanwhile_changes_applied(sync.store)


@pytest.mark.usefixtures('aws')
async def test_access_denied_on_describe_compilation_job_alone_fails_the_whole_cycle_until_it_is_granted(
    database_url: str,
) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    change_everything_meanwhile()
    grant = register(
        sync.clients.sagemaker,
        'before-send.sagemaker.DescribeCompilationJob',
        aws_answers(
            400,
            {'x-amzn-RequestId': 'a1b2', 'Content-Type': 'application/x-amz-json-1.1'},
            {'__type': 'AccessDeniedException', 'Message': DENIED},
        ),
    )

    await assert_failed_cycle_wrote_nothing(sync, 'AccessDeniedException', DENIED)

    grant()
    await assert_recovers(sync)


async def test_access_denied_on_greengrass_list_components_alone_keeps_sagemaker_updating(
    aws: GreengrassBackend, database_url: str
) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    change_everything_meanwhile()
    message = 'User is not authorized to perform: greengrass:ListComponents'
    grant = register(
        sync.clients.greengrass,
        'before-send.greengrassv2.ListComponents',
        aws_answers(
            403,
            {'x-amzn-ErrorType': 'AccessDeniedException', 'Content-Type': 'application/json'},
            {'message': message},
        ),
    )

    problem = await sync.run_once()

    assert problem is not None and (problem.code, problem.message) == ('AccessDeniedException', message)
    assert problem.operation == 'ListComponents'
    assert_meanwhile_changes_applied(sync.store)  # SageMaker's part was committed all the same
    components = sync.store.freshness().parts['components']
    assert (components.error_code, components.error_call) == ('AccessDeniedException', 'ListComponents')

    grant()
    await assert_recovers(sync)
    assert sync.store.freshness().parts['components'].failed_at is None


@pytest.mark.usefixtures('aws')
@pytest.mark.parametrize(
    ('event', 'error', 'code'),
    [
        ('before-send.sagemaker.DescribeTrainingJob', ReadTimeoutError, 'ReadTimeoutError'),
        ('before-send.sagemaker.ListCompilationJobs', ConnectTimeoutError, 'ConnectTimeoutError'),
    ],
)
async def test_a_call_that_times_out_on_every_retry_fails_the_refresh_without_writing_anything(
    database_url: str, event: str, error: Callable[..., Exception], code: str
) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    change_everything_meanwhile()
    hook, sends = raises(lambda url: error(endpoint_url=url))
    answer_again = register(sync.clients.sagemaker, event, hook)
    url = 'https://api.sagemaker.us-east-1.amazonaws.com/'
    expected = str(error(endpoint_url=url))

    await assert_failed_cycle_wrote_nothing(sync, code, expected)
    assert len(sends) > 1  # retried before giving up

    answer_again()
    await assert_recovers(sync)


@pytest.mark.usefixtures('aws')
async def test_a_single_read_timeout_is_retried_and_the_refresh_succeeds(database_url: str) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    change_everything_meanwhile()
    hook, sends = raises(lambda url: ReadTimeoutError(endpoint_url=url), times=1)
    register(sync.clients.sagemaker, 'before-send.sagemaker.DescribeCompilationJob', hook)

    await assert_recovers(sync)
    assert len(sends) == 2


async def test_an_endpoint_that_goes_away_mid_cycle_fails_the_refresh_and_its_return_recovers_it(
    database_url: str, sagemaker_server: ThreadedMotoServer
) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    change_everything_meanwhile()
    host, port = sagemaker_server.get_host_and_port()

    def go_away(**_: Any) -> None:
        sagemaker_server.stop()  # after the training jobs were listed, before they are described

    stay = register(sync.clients.sagemaker, 'after-call.sagemaker.ListTrainingJobs', go_away)
    message = f'Could not connect to the endpoint URL: "http://{host}:{port}/"'
    await assert_failed_cycle_wrote_nothing(sync, 'EndpointConnectionError', message)
    stay()
    await assert_failed_cycle_wrote_nothing(sync, 'EndpointConnectionError', message)  # still away

    returned = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    returned.start()
    try:
        await assert_recovers(sync)
    finally:
        returned.stop()


@pytest.mark.usefixtures('aws')
async def test_an_unknown_compilation_status_is_shown_as_unknown_and_blocks_a_second_attempt(
    database_url: str,
) -> None:
    create_training_job('odd-one')
    create_compilation_job('odd-one-x86-64-cpu-1', 'odd-one', 'x86_64-cpu', 'INPROGRESS')
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    set_compilation_status('odd-one-x86-64-cpu-1', 'EXPLODED')

    assert await sync.run_once() is None

    attempt = sync.store.read(queries.jobs.latest_attempts, 'odd-one')[0]
    assert attempt.status == 'Unknown'
    # it may still be running in AWS: no second job for the same target while its state is unknown
    outcome = sync.compiler.start('odd-one', ['x86_64-cpu'], INPUTS, 'manual')
    assert outcome.refused == {'x86_64-cpu': Invalid('The state of attempt 1 is unknown; refresh first.')}
    assert set(backend().compilation_jobs) == {'odd-one-x86-64-cpu-1'}

    set_compilation_status('odd-one-x86-64-cpu-1', 'COMPLETED')
    assert await sync.run_once() is None
    assert sync.store.read(queries.jobs.latest_attempts, 'odd-one')[0].status == 'Completed'


@pytest.mark.usefixtures('aws')
async def test_missing_status_fields_from_aws_are_stored_as_unknown_without_failing_the_cycle(
    database_url: str,
) -> None:
    create_training_job('bare-facts')
    create_compilation_job('bare-facts-arm64-cpu-1', 'bare-facts', 'arm64-cpu')
    sync = make_sync(database_url)

    def drop(*fields: str) -> Callable[..., None]:
        def after_call(parsed: dict[str, Any], **_: Any) -> None:
            for name in fields:
                parsed.pop(name, None)

        return after_call

    events = sync.clients.sagemaker.meta.events
    events.register('after-call.sagemaker.DescribeTrainingJob', drop('TrainingJobStatus'))
    events.register(
        'after-call.sagemaker.DescribeCompilationJob',
        drop('CompilationJobStatus', 'OutputConfig', 'CompilationStartTime', 'ModelArtifacts'),
    )

    assert await sync.run_once() is None

    job = sync.store.read(queries.jobs.training_job, 'bare-facts')
    assert job is not None and (job.status, job.rollup) == ('Unknown', 'Not compiled')
    [attempt] = sync.store.read(queries.jobs.attempts_for, 'bare-facts')
    assert (attempt.status, attempt.target_id, attempt.artifact) == ('Unknown', 'unknown', None)


@pytest.mark.usefixtures('aws')
async def test_an_unknown_training_status_is_not_compiled_automatically_until_aws_says_completed(
    database_url: str,
) -> None:
    create_training_job('mystery', status='InProgress')
    sync = make_sync(database_url, auto_compile_targets='x86_64-cpu')
    assert await sync.run_once() is None
    set_training_status('mystery', 'Exploding')

    assert await sync.run_once() is None

    assert sync.store.read(queries.jobs.training_job, 'mystery').status == 'Unknown'  # type: ignore[union-attr]
    assert backend().compilation_jobs == {}
    set_training_status('mystery', 'Completed')
    assert await sync.run_once() is None
    assert set(backend().compilation_jobs) == {'mystery-x86-64-cpu-1'}


def age_reservations(store: Store, minutes: int = 5) -> None:
    """Reservations written `minutes` ago, as after a portal that stayed down a while."""
    with store.session() as session, session.begin():
        session.exec(  # type: ignore[call-overload]
            update(CompilationAttempt).values(created_at=utcnow() - timedelta(minutes=minutes))
        )


def sagemaker_jobs() -> set[str]:
    return set(backend().compilation_jobs)


@pytest.mark.usefixtures('aws')
def test_a_restart_after_sagemaker_accepted_but_before_the_store_confirmed_starts_no_second_job(
    database_url: str,
) -> None:
    create_training_job('cracks', status='InProgress')
    targets = 'jetson-xavier,x86_64-cpu'
    sync = make_sync(database_url, auto_compile_targets=targets)
    sync.cycle(utcnow())
    set_training_status('cracks', 'Completed')

    def die(**_: Any) -> None:
        raise PortalKilled

    sync.clients.sagemaker.meta.events.register('after-call.sagemaker.CreateCompilationJob', die)
    with pytest.raises(PortalKilled):
        sync.cycle(utcnow())
    assert sagemaker_jobs() == {'cracks-jetson-xavier-1'}  # accepted, but the store never heard back

    restarted = make_sync(database_url, auto_compile_targets=targets)
    age_reservations(restarted.store)
    restarted.cycle(utcnow())
    restarted.cycle(utcnow())

    # the accepted job is adopted, not duplicated; the target the crash never reached is compiled now
    assert sagemaker_jobs() == {'cracks-jetson-xavier-1', 'cracks-x86-64-cpu-1'}
    attempts = {a.target_id: a for a in restarted.store.read(queries.jobs.attempts_for, 'cracks')}
    assert {t: (a.job_name, a.status) for t, a in attempts.items()} == {
        'jetson-xavier': ('cracks-jetson-xavier-1', 'Completed'),
        'x86_64-cpu': ('cracks-x86-64-cpu-1', 'Completed'),
    }
    assert attempts['jetson-xavier'].arn == backend().compilation_jobs['cracks-jetson-xavier-1'].arn
    assert restarted.compiler.start('cracks', ['jetson-xavier'], INPUTS, 'manual').started == []
    assert sagemaker_jobs() == {'cracks-jetson-xavier-1', 'cracks-x86-64-cpu-1'}


@pytest.mark.usefixtures('aws')
def test_an_accepted_job_not_yet_listed_after_a_restart_is_not_marked_failed(database_url: str) -> None:
    create_training_job('cracks')
    sync = make_sync(database_url)
    sync.cycle(utcnow())

    def die(**_: Any) -> None:
        raise PortalKilled

    sync.clients.sagemaker.meta.events.register('after-call.sagemaker.CreateCompilationJob', die)
    with pytest.raises(PortalKilled):
        sync.compiler.start('cracks', ['arm64-cpu'], INPUTS, 'manual')

    restarted = make_sync(database_url)
    age_reservations(restarted.store)

    def not_listed_yet(parsed: dict[str, Any], **_: Any) -> None:  # AWS's lists are eventually consistent
        parsed['CompilationJobSummaries'] = []

    hide = register(restarted.clients.sagemaker, 'after-call.sagemaker.ListCompilationJobs', not_listed_yet)
    restarted.cycle(utcnow())
    assert (
        restarted.store.read(queries.jobs.latest_attempts, 'cracks')[0].status == 'Starting'
    )  # SageMaker has it: kept

    hide()
    restarted.cycle(utcnow())
    assert restarted.store.read(queries.jobs.latest_attempts, 'cracks')[0].status == 'Completed'
    assert sagemaker_jobs() == {'cracks-arm64-cpu-1'}


@pytest.mark.usefixtures('aws')
def test_a_restart_before_sagemaker_accepted_marks_the_reservation_failed_and_creates_nothing(
    database_url: str,
) -> None:
    create_training_job('cracks', status='InProgress')
    sync = make_sync(database_url, auto_compile_targets='x86_64-cpu')
    sync.cycle(utcnow())
    set_training_status('cracks', 'Completed')

    def die(**_: Any) -> None:
        raise PortalKilled

    sync.clients.sagemaker.meta.events.register('before-call.sagemaker.CreateCompilationJob', die)
    with pytest.raises(PortalKilled):
        sync.cycle(utcnow())

    restarted = make_sync(database_url, auto_compile_targets='x86_64-cpu')
    restarted.cycle(utcnow())
    # too recent to tell a crash from a slow answer: left as it is, and nothing is started twice
    assert restarted.store.read(queries.jobs.latest_attempts, 'cracks')[0].status == 'Starting'
    assert sagemaker_jobs() == set()

    age_reservations(restarted.store)
    restarted.cycle(utcnow())
    attempt = restarted.store.read(queries.jobs.latest_attempts, 'cracks')[0]
    assert (attempt.job_name, attempt.status) == ('cracks-x86-64-cpu-1', 'Failed')
    assert 'stopped before SageMaker accepted' in (attempt.failure_reason or '')
    assert sagemaker_jobs() == set()
    assert restarted.compiler.start('cracks', ['x86_64-cpu'], INPUTS, 'manual').started == [
        'cracks-x86-64-cpu-2'
    ]
    assert sagemaker_jobs() == {'cracks-x86-64-cpu-2'}


@pytest.mark.usefixtures('aws')
def test_a_restart_between_commit_and_automatic_compilation_still_compiles_the_job(
    database_url: str,
) -> None:
    create_training_job('cracks', status='InProgress')
    sync = make_sync(database_url, auto_compile_targets='x86_64-cpu')
    sync.cycle(utcnow())
    set_training_status('cracks', 'Completed')
    sync.pull_and_apply(utcnow())  # committed as Completed; the process dies before acting on it

    restarted = make_sync(database_url, auto_compile_targets='x86_64-cpu')
    restarted.cycle(utcnow())
    restarted.cycle(utcnow())

    assert sagemaker_jobs() == {'cracks-x86-64-cpu-1'}


@pytest.mark.usefixtures('aws')
async def test_a_failure_after_the_commit_still_tells_the_pages_what_changed(database_url: str) -> None:
    create_training_job('cracks', status='InProgress')
    create_training_job('crashed-once')
    sync = make_sync(database_url)
    assert await sync.run_once() is None
    reserved = sync.store.write(
        queries.attempts.reserve_attempt,
        'crashed-once',
        'x86_64-cpu',
        'x86_64 CPU',
        lambda n: f'crashed-once-x86-64-cpu-{n}',
        'manual',
    )
    assert isinstance(reserved, CompilationAttempt)
    age_reservations(sync.store)  # left unconfirmed by an earlier crash: the cycle asks SageMaker about it
    register(
        sync.clients.sagemaker,
        'before-call.sagemaker.DescribeCompilationJob',
        retries_exhausted('ThrottlingException', 'Rate exceeded'),
    )
    set_training_status('cracks', 'Completed')
    told: list[Changed] = []
    sync.store.changed.subscribe(told.append)

    problem = await sync.run_once()

    assert problem is not None and problem.code == 'ThrottlingException'
    assert sync.store.read(queries.jobs.training_job, 'cracks').status == 'Completed'  # type: ignore[union-attr]
    assert any('cracks' in changed.training_jobs for changed in told)  # open pages see what the store holds


@pytest.mark.usefixtures('aws')
async def test_refresh_now_during_a_failing_cycle_reports_that_cycles_problem(database_url: str) -> None:
    seed_glass_cracks()
    sync = make_sync(database_url)
    register(
        sync.clients.sagemaker,
        'before-call.sagemaker.ListTrainingJobs',
        retries_exhausted('ThrottlingException', 'Rate exceeded'),
    )

    scheduled, clicked = await asyncio.gather(sync.run_once(), sync.run_once())

    assert scheduled is not None and scheduled.code == 'ThrottlingException'
    assert clicked == scheduled  # not "Refreshed from AWS" while the banner says it failed


@pytest.mark.usefixtures('aws')
def test_automatic_compilation_throttled_by_aws_is_tried_again_at_the_next_refresh(database_url: str) -> None:
    create_training_job('cracks', status='InProgress')
    sync = make_sync(database_url, auto_compile_targets='jetson-xavier,x86_64-cpu')
    sync.cycle(utcnow())
    set_training_status('cracks', 'Completed')
    allow = register(
        sync.clients.sagemaker,
        'before-call.sagemaker.CreateCompilationJob',
        throttle_once_for('cracks-x86-64-cpu-1'),
    )

    sync.cycle(utcnow())
    assert sagemaker_jobs() == {'cracks-jetson-xavier-1'}  # x86_64 was throttled
    assert sync.store.read(queries.refresh.follow_ups) == {'cracks'}  # so the job is not done with

    allow()
    sync.cycle(utcnow())
    assert sagemaker_jobs() == {'cracks-jetson-xavier-1', 'cracks-x86-64-cpu-1'}
    assert sync.store.read(queries.refresh.follow_ups) == set()
    sync.cycle(utcnow())
    assert sagemaker_jobs() == {'cracks-jetson-xavier-1', 'cracks-x86-64-cpu-1'}  # and only once


@pytest.mark.usefixtures('aws')
def test_automatic_compilation_refused_for_good_is_not_tried_again(database_url: str) -> None:
    create_training_job('cracks', status='InProgress')
    sync = make_sync(database_url, auto_compile_targets='x86_64-cpu')
    sync.cycle(utcnow())
    set_training_status('cracks', 'Completed')
    register(
        sync.clients.sagemaker,
        'before-call.sagemaker.CreateCompilationJob',
        retries_exhausted('ValidationException', 'Framework version 9.9 is not supported'),
    )
    sync.cycle(utcnow())
    sync.cycle(utcnow())
    assert sagemaker_jobs() == set() and sync.store.read(queries.refresh.follow_ups) == set()
    assert (
        sync.store.read(queries.jobs.latest_attempts, 'cracks') == []
    )  # the refused reservation left nothing behind


def throttle_once_for(job_name: str) -> Callable[..., tuple[AWSResponse, dict[str, Any]] | None]:
    throttled = retries_exhausted('ThrottlingException', 'Rate exceeded')

    def call(params: dict[str, Any], **kwargs: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if json.loads(params['body'])['CompilationJobName'] == job_name:
            return throttled(params, **kwargs)
        return None

    return call
