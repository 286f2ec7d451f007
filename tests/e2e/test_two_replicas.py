"""Two portals (replicas) on loopback sharing one PostgreSQL database and one emulated AWS: one leads and
refreshes, the other serves pages and refreshes nothing; kill -9 the leader and the other leads and keeps
refreshing, with as many AWS calls per refresh as one portal makes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from dda_portal.config import Settings
from dda_portal.demo import DemoEnvironment, start_demo
from tests.e2e.conftest import running_portal

REFRESH_SECONDS = 1.0


@pytest.fixture
def emulated_aws() -> Iterator[DemoEnvironment]:
    demo = start_demo(Settings(refresh_seconds=REFRESH_SECONDS))  # moto and the Greengrass emulator, seeded
    try:
        yield demo
    finally:
        demo.stop()


def ready(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f'{url}/readyz', timeout=5).json()
    return body


def wait(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f'{what}: not within {seconds} s')
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
    env = {
        'DDA_DATABASE_URL': postgresql_url,
        'DDA_REFRESH_SECONDS': str(REFRESH_SECONDS),
        'DDA_LEADER_RETRY_SECONDS': '0.3',
        'DDA_GREENGRASS_ENABLED': 'false',
        'DDA_SAGEMAKER_ROLE_ARN': emulated_aws.role_arn,
        'AWS_ENDPOINT_URL': emulated_aws.endpoint,
        'AWS_ACCESS_KEY_ID': 'testing',
        'AWS_SECRET_ACCESS_KEY': 'testing',
        'AWS_DEFAULT_REGION': emulated_aws.region,
    }
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
