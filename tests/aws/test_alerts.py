"""Alerts through Apprise's own JSON web hook type at a receiver on 127.0.0.1: one message per transition,
recorded with the refresh that saw it, never twice (a restart, a job read again, two senders), retried when
the channel fails, and nothing for the history the first refresh loads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.greengrass import GreengrassBackend
from dda_portal.domain import alerts
from dda_portal.domain.alerts import AlertDraft, AlertState
from dda_portal.domain.clock import as_utc, utcnow
from dda_portal.domain.guidance import GuidanceBook
from dda_portal.domain.targets import TargetCatalog
from dda_portal.services import Services, build
from dda_portal.services.alerts import AlertSender, alert_policy
from dda_portal.store import Store
from dda_portal.tables import Alert
from tests.aws.test_sync_parts import new_component
from tests.factories import (
    CATALOG,
    ROLE,
    UNTAR,
    backend,
    create_compilation_job,
    create_training_job,
    set_compilation_status,
)
from tests.receivers import Receiver

PUBLIC = 'https://portal.example.com'
ARTIFACT = 's3://dda-models/compiled/weld-jetson-xavier-1/model.tar.gz'


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def portal(database_url: str, url: str, **settings: Any) -> Services:
    """A portal's services as the app builds them (a new one on the same database is a restart)."""
    config = Settings(
        database_url=database_url,
        sync_enabled=False,
        sagemaker_role_arn=ROLE,
        alert_urls=url,
        public_url=PUBLIC,
        alert_retry_seconds=0,
        **settings,
    )
    return build(config, Store(database_url), AwsClients(), TargetCatalog.load())


def outbox(store: Store) -> list[Alert]:
    with store.session() as session:
        return list(session.exec(select(Alert).order_by(Alert.id)))  # type: ignore[arg-type]


async def test_a_failed_compilation_sends_one_message_even_after_a_restart_that_reads_it_again(
    aws: GreengrassBackend, database_url: str, receiver: Receiver
) -> None:
    create_training_job('weld')
    create_compilation_job('weld-x86-64-cpu-1', 'weld', 'x86_64-cpu', 'INPROGRESS')
    first = portal(database_url, receiver.url)
    assert await first.sync.run_once() is None  # the first refresh: compiling, nothing to tell

    set_compilation_status('weld-x86-64-cpu-1', 'FAILED', UNTAR + '\nmore detail on a second line')
    assert await first.sync.run_once() is None
    assert first.alerts.send_due() == 1

    [message] = receiver.accepted
    label = CATALOG['x86_64-cpu'].display_name
    advice = GuidanceBook.load().for_failure(UNTAR)
    assert advice.matched
    assert message['title'] == f'Compilation failed: weld for {label}'
    body = message['message']
    assert 'Training job: weld' in body and f'Target: {label} (attempt 1)' in body
    assert 'State: Failed' in body
    assert f'Reason: {UNTAR}' in body and 'second line' not in body  # the reason's first line
    assert f'Guidance: {advice.title}' in body
    assert f'Open: {PUBLIC}/training-jobs/weld' in body

    # a restart: a new portal on the same database; SageMaker touches the job, so it is read again
    again = portal(database_url, receiver.url)
    set_compilation_status('weld-x86-64-cpu-1', 'FAILED', UNTAR)
    assert await again.sync.run_once() is None
    assert again.alerts.send_due() == 0
    assert first.alerts.send_due() == 0
    assert len(receiver.accepted) == 1
    [row] = outbox(again.sync.store)
    assert (row.key, row.state, row.attempts) == ('compilation-failed:weld-x86-64-cpu-1', AlertState.SENT, 1)


async def test_the_same_transition_recorded_twice_is_one_row(database_url: str) -> None:
    store = Store(database_url)
    draft = AlertDraft('compilation-failed:x', alerts.COMPILATION_FAILED, 'title', 'body', 'link')
    store.write(queries.alerts.record, draft)
    store.write(queries.alerts.record, draft)
    assert [row.key for row in outbox(store)] == ['compilation-failed:x']


async def test_a_channel_that_fails_twice_then_accepts_gets_the_message_once(
    aws: GreengrassBackend, database_url: str
) -> None:
    with Receiver([500, 500]) as failing:
        services = portal(database_url, failing.url, alert_tries=5)
        store = services.sync.store
        draft = alerts.compilation_failed(
            store.alert_policy,  # type: ignore[arg-type]
            'weld-x86-64-cpu-1',
            'weld',
            'x86',
            1,
            UNTAR,
        )
        store.write(queries.alerts.record, draft)

        assert services.alerts.send_due() == 1
        [row] = outbox(store)
        assert (row.state, row.attempts) == (AlertState.WAITING, 1)
        assert row.last_error and '500' in row.last_error and row.last_error.startswith('json://127.0.0.1')
        assert services.alerts.send_due() == 1
        assert services.alerts.send_due() == 1
        assert services.alerts.send_due() == 0

        assert failing.requests == 3
        assert len(failing.accepted) == 1
        [row] = outbox(store)
        assert (row.state, row.attempts, row.last_error) == (AlertState.SENT, 3, None)


async def test_a_failed_try_is_not_tried_again_before_its_delay(
    aws: GreengrassBackend, database_url: str
) -> None:
    with Receiver([500] * 10) as failing:
        services = portal(database_url, failing.url, alert_tries=3)
        services.sync.settings.alert_retry_seconds = 3600  # the next try is an hour away
        store = services.sync.store
        store.write(queries.alerts.record, AlertDraft('k', alerts.COMPILATION_FAILED, 't', 'b', 'l'))
        assert services.alerts.send_due() == 1
        assert services.alerts.send_due() == 0  # not due yet
        [row] = outbox(store)
        assert row.attempts == 1 and (as_utc(row.next_try_at) - utcnow()).total_seconds() > 3000  # type: ignore[operator]
        assert failing.requests == 1


async def test_the_history_the_first_refresh_loads_sends_nothing_but_a_failure_between_two_refreshes_does(
    aws: GreengrassBackend, database_url: str, receiver: Receiver
) -> None:
    create_training_job('old-failure')
    create_compilation_job('old-failure-x86-64-cpu-1', 'old-failure', 'x86_64-cpu', 'FAILED', UNTAR)
    create_training_job('old-success')
    create_compilation_job('old-success-x86-64-cpu-1', 'old-success', 'x86_64-cpu')
    services = portal(database_url, receiver.url)

    assert await services.sync.run_once() is None  # the backfill
    assert outbox(services.sync.store) == []
    assert services.alerts.send_due() == 0

    # started and failed between two refreshes: first seen already Failed, yet a transition after the backfill
    create_training_job('new-job')
    create_compilation_job('new-job-x86-64-cpu-1', 'new-job', 'x86_64-cpu', 'FAILED', UNTAR)
    assert await services.sync.run_once() is None
    assert services.alerts.send_due() == 1
    assert receiver.titles == [f'Compilation failed: new-job for {CATALOG["x86_64-cpu"].display_name}']


async def test_every_target_compiled_is_told_once_when_the_last_target_completes(
    aws: GreengrassBackend, database_url: str, receiver: Receiver
) -> None:
    create_training_job('paint')
    create_compilation_job('paint-x86-64-cpu-1', 'paint', 'x86_64-cpu', 'INPROGRESS')
    create_compilation_job('paint-jetson-xavier-1', 'paint', 'jetson-xavier', 'INPROGRESS')
    services = portal(database_url, receiver.url)
    assert await services.sync.run_once() is None

    set_compilation_status('paint-x86-64-cpu-1', 'COMPLETED')
    assert await services.sync.run_once() is None
    assert services.alerts.send_due() == 0  # one target still compiling

    set_compilation_status('paint-jetson-xavier-1', 'COMPLETED')
    assert await services.sync.run_once() is None
    set_compilation_status('paint-jetson-xavier-1', 'COMPLETED')  # read again
    assert await services.sync.run_once() is None
    assert services.alerts.send_due() == 1
    assert services.alerts.send_due() == 0

    [message] = receiver.accepted
    assert message['title'] == 'Compiled for every target: paint'
    jetson, x86 = CATALOG['jetson-xavier'].display_name, CATALOG['x86_64-cpu'].display_name
    assert f'{jetson} (attempt 1)' in message['message'] and f'{x86} (attempt 1)' in message['message']
    assert 'State: Completed (2/2 compiled)' in message['message']
    assert [row.kind for row in outbox(services.sync.store)] == ['all-targets-compiled']


async def test_rules_leave_out_the_transitions_they_do_not_name(
    aws: GreengrassBackend, database_url: str, receiver: Receiver
) -> None:
    create_training_job('weld')
    create_compilation_job('weld-x86-64-cpu-1', 'weld', 'x86_64-cpu', 'INPROGRESS')
    services = portal(database_url, receiver.url, alert_rules='all-targets-compiled')
    assert await services.sync.run_once() is None
    set_compilation_status('weld-x86-64-cpu-1', 'FAILED', UNTAR)
    assert await services.sync.run_once() is None
    assert outbox(services.sync.store) == []


async def test_a_device_running_a_model_that_turns_unhealthy_is_told_once(
    aws: GreengrassBackend, database_url: str, receiver: Receiver
) -> None:
    create_training_job('weld')
    create_compilation_job('weld-jetson-xavier-1', 'weld', 'jetson-xavier')
    backend().compilation_jobs['weld-jetson-xavier-1'].model_artifacts = {'S3ModelArtifacts': ARTIFACT}
    new_component('model-weld-jetson-xavier', '1.0.0', ARTIFACT)
    aws.advance()
    aws.advance()
    now = utcnow()
    for name in ('line1-jetson', 'line2-empty'):
        aws.add_core_device(name, last_status_update=now)
    aws.add_core_device('line3-jetson', status='UNHEALTHY', last_status_update=now)  # so at the first look
    for name in ('line1-jetson', 'line3-jetson'):
        aws.install(name, 'model-weld-jetson-xavier', '1.0.0', reported_at=now)
    services = portal(database_url, receiver.url, device_refresh_seconds=0.001)
    assert await services.sync.run_once() is None  # the first inventory: history, nothing to tell

    aws.report_status('line1-jetson', 'UNHEALTHY')
    aws.report_status('line2-empty', 'UNHEALTHY')  # runs no model
    assert await services.sync.run_once() is None
    assert await services.sync.run_once() is None
    assert services.alerts.send_due() == 1

    [message] = receiver.accepted
    assert message['title'] == 'Device unhealthy: line1-jetson'
    assert 'Training job: weld' in message['message']
    label = CATALOG['jetson-xavier'].display_name
    assert f'Runs: model-weld-jetson-xavier 1.0.0 (target {label})' in message['message']
    assert f'Open: {PUBLIC}/devices' in message['message']


async def test_two_senders_on_postgresql_send_each_alert_once(
    aws: GreengrassBackend, postgresql_url: str
) -> None:
    with Receiver(delay=0.02) as slow:
        replicas = [portal(postgresql_url, slow.url) for _ in range(2)]
        for number in range(12):
            replicas[0].sync.store.write(
                queries.alerts.record,
                AlertDraft(f'k{number}', alerts.COMPILATION_FAILED, f't{number}', 'b', 'l'),
            )
        start = threading.Barrier(2)
        claimed: list[int] = []

        def send(sender: AlertSender) -> None:
            start.wait()
            while (count := sender.send_due()) > 0:
                claimed.append(count)

        threads = [threading.Thread(target=send, args=(r.alerts,)) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert sorted(slow.titles) == sorted(f't{n}' for n in range(12))
        assert sum(claimed) == 12
        assert {row.state for row in outbox(replicas[1].sync.store)} == {AlertState.SENT}


def test_no_channel_records_nothing(database_url: str) -> None:
    settings = Settings(database_url=database_url, sync_enabled=False)
    assert alert_policy(settings) is None


async def test_a_package_greengrass_fails_is_told_once(
    aws: GreengrassBackend, database_url: str, receiver: Receiver
) -> None:
    create_training_job('weld')
    create_compilation_job('weld-jetson-xavier-1', 'weld', 'jetson-xavier')
    backend().compilation_jobs['weld-jetson-xavier-1'].model_artifacts = {'S3ModelArtifacts': ARTIFACT}
    services = portal(database_url, receiver.url)
    assert await services.sync.run_once() is None

    assert services.packager.package('weld-jetson-xavier-1', 'manual') == 'weld'
    [version] = aws.versions.values()
    version.state, version.message = 'FAILED', 'The artifact could not be read.\nDetails follow'
    assert await services.sync.run_once() is None
    assert await services.sync.run_once() is None
    assert services.alerts.send_due() == 1

    [message] = receiver.accepted
    label = CATALOG['jetson-xavier'].display_name
    assert message['title'] == f'Packaging failed: weld for {label}'
    assert 'Component: model-weld-jetson-xavier 1.0.0' in message['message']
    assert 'Reason: The artifact could not be read.' in message['message']
    assert f'Open: {PUBLIC}/training-jobs/weld?tab=components' in message['message']
    assert [row.key for row in outbox(services.sync.store)] == ['packaging-failed:weld-jetson-xavier-1']


async def test_greengrass_refusing_a_package_is_told_once(
    aws: GreengrassBackend, database_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from dda_portal.domain.problems import AwsProblem

    create_training_job('weld')
    create_compilation_job('weld-jetson-xavier-1', 'weld', 'jetson-xavier')
    backend().compilation_jobs['weld-jetson-xavier-1'].model_artifacts = {'S3ModelArtifacts': ARTIFACT}
    services = portal(database_url, receiver.url)
    assert await services.sync.run_once() is None

    def refuse(*args: object, **kwargs: object) -> dict:
        raise ClientError({'Error': {'Code': 'AccessDeniedException', 'Message': 'not allowed'}}, 'Create')

    monkeypatch.setattr(services.packager.greengrass, 'create_component_version', refuse)
    for _ in range(2):
        with pytest.raises(AwsProblem):
            services.packager.package('weld-jetson-xavier-1', 'auto')
    assert services.alerts.send_due() == 1
    [message] = receiver.accepted
    assert 'Reason: AccessDeniedException: not allowed' in message['message']
