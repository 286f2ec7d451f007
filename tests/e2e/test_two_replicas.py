"""Two portals (replicas) on loopback sharing one PostgreSQL database and one emulated AWS: one leads and
refreshes, the other serves pages and refreshes nothing; kill -9 the leader and the other leads and keeps
refreshing, with as many AWS calls per refresh as one portal makes; a change in AWS reaches open tabs of both
replicas, and compile clicks on both at once start one compilation job."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, text

from dda_portal.config import Settings
from dda_portal.demo import DemoEnvironment, start_demo
from tests.e2e.conftest import running_portal

# the refused click's words: the other replica's attempt was seen (Already compiling …), or both wrote at once
# and the database's one-live-attempt index refused the second (domain/attempts.py, queries/attempts.py)
REFUSED = re.compile(r'x86_64 CPU: (Already compiling|Another request started this target a moment ago)')

REFRESH_SECONDS = 1.0


@pytest.fixture
def emulated_aws() -> Iterator[DemoEnvironment]:
    demo = start_demo(Settings(refresh_seconds=REFRESH_SECONDS))  # moto and the Greengrass emulator, seeded
    try:
        yield demo
    finally:
        demo.stop()


def replica_env(database_url: str, aws: DemoEnvironment) -> dict[str, str]:
    """What every replica is started with: the shared database, a refresh every second, the emulated AWS."""
    return {
        'DDA_DATABASE_URL': database_url,
        'DDA_REFRESH_SECONDS': str(REFRESH_SECONDS),
        'DDA_LEADER_RETRY_SECONDS': '0.3',
        'DDA_GREENGRASS_ENABLED': 'false',
        'DDA_SAGEMAKER_ROLE_ARN': aws.role_arn,
        'AWS_ENDPOINT_URL': aws.endpoint,
        'AWS_ACCESS_KEY_ID': 'testing',
        'AWS_SECRET_ACCESS_KEY': 'testing',
        'AWS_DEFAULT_REGION': aws.region,
    }


def ready(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f'{url}/readyz', timeout=5).json()
    return body


def wait(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f'{what() if callable(what) else what}: not within {seconds} s')
        time.sleep(0.2)


def aws_calls_of_quiet_refreshes(database_url: str, after_id: int = 0) -> list[int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    'SELECT id, aws_calls, changed_training_jobs FROM sync_cycle '
                    'WHERE id > :after ORDER BY id'
                ),
                {'after': after_id},
            ).all()
    finally:
        engine.dispose()
    return [calls for _, calls, changed in rows if changed == 0]


def last_cycle(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text('SELECT coalesce(max(id), 0) FROM sync_cycle')).scalar_one())
    finally:
        engine.dispose()


def test_one_replica_refreshes_and_another_takes_over_when_it_is_killed(
    postgresql_url: str, emulated_aws: DemoEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = replica_env(postgresql_url, emulated_aws)
    with ExitStack() as stack:
        first = stack.enter_context(running_portal(tmp_path_factory.mktemp('a'), [], env))
        second = stack.enter_context(running_portal(tmp_path_factory.mktemp('b'), [], env))
        wait(lambda: ready(first)['refreshes_here'] >= 3, 30, 'the first replica refreshes')
        a, b = ready(first), ready(second)
        assert a['leading'] and not b['leading'], (a, b)
        assert a['leader'] == b['leader'] == a['replica'] != b['replica']  # ids: host:pid by default
        assert b['refreshes_here'] == 0  # the other serves pages and asks nothing of AWS
        assert b['status'] == 'ready', b  # its freshness is the leader's
        one_portal = aws_calls_of_quiet_refreshes(postgresql_url)
        assert one_portal

        os.kill(int(a['replica'].rpartition(':')[2]), signal.SIGKILL)
        before = last_cycle(postgresql_url)
        wait(lambda: ready(second)['leading'], 2 * REFRESH_SECONDS + 5, 'the other replica leads')
        wait(lambda: ready(second)['refreshes_here'] >= 3, 30, 'the new leader refreshes')
        taken = ready(second)
        assert taken['leader'] == b['replica'] and taken['status'] == 'ready', taken
        after = aws_calls_of_quiet_refreshes(postgresql_url, before)
        assert after and set(after) == set(one_portal[-1:]), (one_portal, after)


def test_a_change_in_aws_reaches_tabs_on_both_replicas_and_clicks_on_both_start_one_job(
    postgresql_url: str,
    emulated_aws: DemoEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
    browser: Browser,
) -> None:
    env = replica_env(postgresql_url, emulated_aws)
    with ExitStack() as stack:
        urls = [
            stack.enter_context(running_portal(tmp_path_factory.mktemp(name), [], env)) for name in ('a', 'b')
        ]
        assert [ready(url)['leading'] for url in urls].count(True) == 1
        pages = []
        for url in urls:
            page = browser.new_context().new_page()
            stack.callback(page.context.close)
            page.goto(f'{url}/')
            expect(page.locator('tbody tr').first).to_be_visible()
            page.evaluate('window.__not_reloaded = true')
            pages.append(page)

        # a training job appears in AWS: the leader's refresh brings it in, and the open list of every replica
        # shows it without a reload (LISTEN/NOTIFY carries the change to the replica that did not refresh)
        sagemaker = boto3.client(
            'sagemaker',
            endpoint_url=emulated_aws.endpoint,
            region_name=emulated_aws.region,
            aws_access_key_id='testing',
            aws_secret_access_key='testing',
        )
        sagemaker.create_training_job(
            TrainingJobName='two-replicas-proof',
            AlgorithmSpecification={'TrainingImage': 'dda/train:1', 'TrainingInputMode': 'File'},
            RoleArn=emulated_aws.role_arn,
            OutputDataConfig={'S3OutputPath': 's3://dda-demo-models/training-output'},
            ResourceConfig={'InstanceType': 'ml.g4dn.xlarge', 'InstanceCount': 1, 'VolumeSizeInGB': 30},
            StoppingCondition={'MaxRuntimeInSeconds': 7200},
        )
        for page in pages:
            expect(page.locator('tbody tr', has_text='two-replicas-proof')).to_be_visible(timeout=30_000)
            assert page.evaluate('window.__not_reloaded') is True

        # the same target compiled from both replicas at once: one compilation job, the other click refused
        dialogs = []
        for url, page in zip(urls, pages, strict=True):
            page.goto(f'{url}/training-jobs/two-replicas-proof?tab=compilation')
            page.get_by_role('button', name='Compile for more targets').click()
            dialog = page.get_by_role('dialog')
            dialog.get_by_role('checkbox', name='x86_64 CPU').click()
            dialogs.append(dialog)
        for dialog in dialogs:
            dialog.get_by_role('button', name='Start compilation').click(no_wait_after=True)
        for page in pages:
            table = page.get_by_test_id('compilation-table')
            expect(table.locator('tbody tr', has_text='x86_64 CPU')).to_be_visible(timeout=30_000)
        jobs = sagemaker.list_compilation_jobs(NameContains='two-replicas-proof')['CompilationJobSummaries']
        assert [job['CompilationJobName'] for job in jobs] == ['two-replicas-proof-x86-64-cpu-1']

        def outcomes() -> list[tuple[int, int]]:  # per dialog: (still open, says it is already compiling)
            return sorted((d.count(), d.get_by_text(REFUSED).count()) for d in dialogs)

        # one dialog closes on its start; the other stays open and says why it did not start (either answer
        # may come after the other replica's row has reached the pages)
        # (the refused answer comes after a write that waits on the other replica's: up to a minute on a busy
        # machine)
        wait(
            lambda: outcomes() == [(0, 0), (1, 1)],
            60,
            lambda: (
                f'one click started the job, the other was refused (dialogs: {outcomes()}, '
                f'open: {[d.inner_text() for d in dialogs if d.count()]})'
            ),
        )
