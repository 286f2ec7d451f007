"""What the benchmarks that run the portal share: a free port, `main.py` as a subprocess, moto hosted in the
bench process, the portal's CPU time and memory from /proc, and how a list page's table update looks."""

from __future__ import annotations

import itertools
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dda_portal import launch  # noqa: E402
from dda_portal.launch import CHROMIUM_FLAGS as CHROMIUM_FLAGS  # noqa: E402  (the benches' Chromium)
from dda_portal.launch import free_port as free_port  # noqa: E402

if TYPE_CHECKING:
    from dda_portal.queries.refresh import TrainingJobFacts

AWS_TEST_ENV = {
    'AWS_ACCESS_KEY_ID': 'testing',
    'AWS_SECRET_ACCESS_KEY': 'testing',
    'AWS_DEFAULT_REGION': 'us-east-1',
}


_PORTALS = itertools.count(1)


@contextmanager
def portal(
    database_url: str,
    aws_endpoint: str,
    work: Path,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> Iterator[tuple[str, int]]:
    """`main.py` on a free 127.0.0.1 port (no sign-in on loopback); yields its URL and process id.

    The refresh is off unless `env` turns it on (`DDA_SYNC_ENABLED`); its output goes to `log_path`
    (default: a file in `work`).
    """
    environment = launch.environment(
        {
            'DDA_DATABASE_URL': database_url,
            'DDA_SYNC_ENABLED': 'false',
            'DDA_GREENGRASS_ENABLED': 'false',  # moto has no Greengrass; the live benches refresh from moto
            'AWS_ENDPOINT_URL': aws_endpoint,
            **AWS_TEST_ENV,
            **(env or {}),
        }
    )
    log_path = log_path or work / f'portal-{next(_PORTALS)}.log'
    with launch.launched(['--host', '127.0.0.1'], environment, log_path, ready='/healthz', within=60) as (
        url,
        process,
    ):
        yield url, process.pid


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in a thread of this process (SageMaker, S3, CloudWatch Logs); yields its endpoint.

    Its backends are this process's `moto.*.models` objects, so the bench can change jobs in place. moto's
    known bugs are patched first (`dda_portal.demo.moto_patches`).
    """
    from moto.server import ThreadedMotoServer

    from dda_portal.demo import moto_patches

    os.environ.update(AWS_TEST_ENV)
    logging.getLogger('werkzeug').setLevel(logging.WARNING)  # moto's server logs every request
    moto_patches.apply()
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f'http://{host}:{port}'
    finally:
        server.stop()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process, all its threads (10 ms ticks)."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def memory_kb(pid: int, field: str) -> int:
    """A memory figure of /proc/<pid>/status in KiB: `VmRSS` (now) or `VmHWM` (peak resident)."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith(f'{field}:'):
            return int(line.split()[1])
    raise KeyError(field)


def has_table(data: dict[str, Any]) -> bool:
    """Whether an `update` message carries the list's table (its pagination has `rowsNumber`)."""
    return any(
        isinstance(element, dict) and 'rowsNumber' in ((element.get('props') or {}).get('pagination') or {})
        for element in data.values()
    )


def completed_training_job(name: str, now: datetime, bucket: str) -> TrainingJobFacts:
    """A training job that completed a day ago, as a refresh would hand it to the store (store benches)."""
    from dda_portal.queries.refresh import TrainingJobFacts

    created = now - timedelta(days=1)
    return TrainingJobFacts(
        name,
        f'arn:{name}',
        'Completed',
        'Completed',
        None,
        created,
        created,
        created,
        now,
        'ml.g4dn.xlarge',
        1,
        f's3://{bucket}/{name}/model.tar.gz',
        f's3://{bucket}/{name}/',
        60,
        60,
    )
