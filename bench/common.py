"""What the benchmarks that run the portal share: a free port, `main.py` as a subprocess, moto hosted in the
bench process, the portal's CPU time and memory from /proc, and how a list page's table update looks."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from dda_portal.queries.refresh import TrainingJobFacts

# headless Chromium as root on this kind of machine: no sandbox, no GPU, nothing fetched in the background
CHROMIUM_FLAGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
]

ROOT = Path(__file__).resolve().parents[1]
AWS_TEST_ENV = {
    'AWS_ACCESS_KEY_ID': 'testing',
    'AWS_SECRET_ACCESS_KEY': 'testing',
    'AWS_DEFAULT_REGION': 'us-east-1',
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


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
    port = free_port()
    environment = {
        **os.environ,
        'DDA_DATABASE_URL': database_url,
        'DDA_SYNC_ENABLED': 'false',
        'DDA_GREENGRASS_ENABLED': 'false',  # moto has no Greengrass; the live benches refresh from moto
        'AWS_ENDPOINT_URL': aws_endpoint,
        **AWS_TEST_ENV,
        'PYTHONUNBUFFERED': '1',
        **(env or {}),
    }
    for name in ('AWS_PROFILE', 'NICEGUI_USER_SIMULATION', 'PYTEST_CURRENT_TEST', 'DDA_HOST'):
        environment.pop(name, None)
    log_path = log_path or work / f'portal-{port}.log'
    with log_path.open('w') as log:
        process = subprocess.Popen(
            [sys.executable, 'main.py', '--host', '127.0.0.1', '--port', str(port)],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=log,
        )
        url = f'http://127.0.0.1:{port}'
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f'portal exited:\n{log_path.read_text()}')
                try:
                    if httpx.get(f'{url}/healthz', timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f'portal not up within 60 s:\n{log_path.read_text()}')
                time.sleep(0.2)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


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
