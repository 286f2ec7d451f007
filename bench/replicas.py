"""One portal, then two replicas, on one PostgreSQL database and one emulated AWS (moto, seeded like the
demo): refreshes per interval, AWS calls per quiet refresh, and the lead moving when the leader is killed.

Real portals (`main.py` subprocesses on loopback, refresh every second, leader retry every 0.3 s) on a
throwaway PostgreSQL cluster (tests/backends.py). For each phase, the refreshes the store recorded in that
time (`sync_cycle`, one row per refresh, written by whoever refreshed) and the AWS calls of those that changed
nothing; each replica's own count from `/readyz` (`refreshes_here`). Then kill -9 of the leader: seconds until
the other replica's `/readyz` says it leads, and its refreshes afterwards.

    .venv/bin/python bench/replicas.py [SECONDS per phase, default 10]
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dda_portal.config import Settings  # noqa: E402
from dda_portal.demo import start_demo  # noqa: E402
from tests.backends import Cluster  # noqa: E402
from tests.e2e.conftest import running_portal  # noqa: E402


def ready(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f'{url}/readyz', timeout=5).json()
    return body


def cycles(database_url: str, after: int) -> list[tuple[int, int, int]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            query = 'SELECT id, aws_calls, changed_training_jobs FROM sync_cycle WHERE id > :a ORDER BY id'
            return [tuple(row) for row in connection.execute(text(query), {'a': after}).all()]  # type: ignore[misc]
    finally:
        engine.dispose()


def phase(name: str, database_url: str, urls: list[str], seconds: float) -> None:
    start = max((c[0] for c in cycles(database_url, 0)), default=0)
    before = [ready(url)['refreshes_here'] for url in urls]
    time.sleep(seconds)
    rows = cycles(database_url, start)
    here = [ready(url)['refreshes_here'] - b for url, b in zip(urls, before, strict=True)]
    quiet = [calls for _, calls, changed in rows if changed == 0]
    median = statistics.median(quiet) if quiet else float('nan')
    print(
        f'{name:>22} | {len(rows) / seconds:>13.2f} | {median:>21.0f} | {", ".join(map(str, here)):>20}',
        flush=True,
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    cluster = Cluster()
    cluster.start()
    demo = start_demo(Settings(refresh_seconds=1.0))
    try:
        database_url = cluster.create_database()
        env = {
            'DDA_DATABASE_URL': database_url,
            'DDA_REFRESH_SECONDS': '1',
            'DDA_LEADER_RETRY_SECONDS': '0.3',
            'DDA_GREENGRASS_ENABLED': 'false',
            'DDA_SAGEMAKER_ROLE_ARN': demo.role_arn,
            'AWS_ENDPOINT_URL': demo.endpoint,
            'AWS_ACCESS_KEY_ID': 'testing',
            'AWS_SECRET_ACCESS_KEY': 'testing',
            'AWS_DEFAULT_REGION': demo.region,
        }
        with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
            work = Path(folder)
            (work / 'a').mkdir()
            (work / 'b').mkdir()
            print(
                f'{"phase":>22} | {"refreshes / s":>13} | {"AWS calls / quiet one":>21} | '
                f'{"refreshes per replica":>20}'
            )
            print('-' * 86)
            first = stack.enter_context(running_portal(work / 'a', [], env))
            time.sleep(3)  # past the first refreshes, which bring everything in
            phase('one portal', database_url, [first], seconds)
            second = stack.enter_context(running_portal(work / 'b', [], env))
            phase('two replicas', database_url, [first, second], seconds)
            leader, other = (first, second) if ready(first)['leading'] else (second, first)
            os.kill(int(ready(leader)['replica'].rpartition(':')[2]), signal.SIGKILL)
            killed = time.monotonic()
            while not ready(other)['leading']:
                time.sleep(0.05)
            print(f'(kill -9 of the leader: the other replica led {time.monotonic() - killed:.2f} s later)')
            phase('after the takeover', database_url, [other], seconds)
    finally:
        demo.stop()
        cluster.stop()


if __name__ == '__main__':
    main()
