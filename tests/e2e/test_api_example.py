"""The README's pipeline step (examples/wait_for_compilation.py) against `main.py --demo` over real HTTP: a
token made with the command line, a compilation started with a POST, and the script's verdict agreeing with
what the API says at its end; a revoked token, the browser's pages and the docs as a pipeline meets them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dda_portal.launch import ROOT
from tests.e2e.conftest import running_portal

EXAMPLE = ROOT / 'examples' / 'wait_for_compilation.py'


@pytest.fixture(scope='module')
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    work = tmp_path_factory.mktemp('api-demo')
    fast = {'DDA_REFRESH_SECONDS': '1', 'DDA_DEMO_STEP_SECONDS': '1'}
    with running_portal(work, ['--demo'], fast) as url:
        yield url, work


def main_py(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(('DDA_', 'NICEGUI_', 'PYTEST_'))}
    env['DDA_DATABASE_URL'] = f'sqlite:///{work / "portal.db"}'
    return subprocess.run(
        [sys.executable, 'main.py', *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_for(url: str, token: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        'DDA_PORTAL_URL': url,
        'DDA_API_TOKEN': token,
        'WAIT_FIRST_SECONDS': '0.5',
        'WAIT_TIMEOUT_SECONDS': str(timeout),
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=False,
    )


def test_the_example_waits_for_a_compilation_started_through_the_api(portal: tuple[str, Path]) -> None:
    url, work = portal
    made = main_py(work, '--create-token', 'pipeline', '--role', 'data-scientist')
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith('dda_') and '\n' not in token
    auth = {'Authorization': f'Bearer {token}'}

    listed = httpx.get(
        f'{url}/api/v1/training-jobs', params={'status': 'Completed', 'limit': 500}, headers=auth
    )
    assert listed.status_code == 200, listed.text
    candidates = [
        j for j in listed.json()['items'] if not any(t['target_id'] == 'arm64-cpu' for t in j['targets'])
    ]
    assert candidates, listed.text
    for job in candidates:  # the demo's simulator may start arm64 for one of them meanwhile: the next one
        started = httpx.post(
            f'{url}/api/v1/training-jobs/{job["name"]}/compilations',
            json={'targets': ['arm64-cpu']},
            headers=auth,
        )
        if (
            started.status_code != 409
            or started.json()['refused']['arm64-cpu']['code'] != 'already_compiling'
        ):
            break
    assert started.status_code == 202, started.text
    again = httpx.post(
        f'{url}/api/v1/training-jobs/{job["name"]}/compilations',
        json={'targets': ['arm64-cpu']},
        headers=auth,
    )
    assert again.status_code == 409 and again.json()['refused']['arm64-cpu']['code'] == 'already_compiling'

    result = wait_for(url, token, job['name'], 'arm64-cpu')
    final = httpx.get(f'{url}/api/v1/training-jobs/{job["name"]}', headers=auth).json()
    status = {t['target_id']: t['status'] for t in final['targets']}['arm64-cpu']
    assert status in ('Completed', 'Failed'), final
    assert result.returncode == (0 if status == 'Completed' else 1), (result.stdout, result.stderr)
    assert 'waiting:' in result.stdout  # it polled while the compilation ran


def test_the_example_reports_a_failed_target_and_a_refused_token(portal: tuple[str, Path]) -> None:
    url, work = portal
    made = main_py(work, '--create-token', 'watcher', '--role', 'operator')
    token = made.stdout.strip()
    auth = {'Authorization': f'Bearer {token}'}
    deadline = time.monotonic() + 60
    failed = None
    while failed is None and time.monotonic() < deadline:  # the demo's history has failed compilations
        jobs = httpx.get(f'{url}/api/v1/training-jobs', params={'rollup': 'Compilation failed'}, headers=auth)
        failed = next(iter(jobs.json()['items']), None)
        time.sleep(0.5)
    assert failed is not None
    result = wait_for(url, token, failed['name'])
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert ': Failed: ' in result.stderr

    revoked = main_py(work, '--revoke-token', 'watcher')
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + 30  # the portal trusts what it read of a token for 5 s
    while httpx.get(f'{url}/api/v1/devices', headers=auth).status_code != 401 and time.monotonic() < deadline:
        time.sleep(0.5)
    refused = wait_for(url, token, failed['name'])
    assert refused.returncode == 2 and 'token_invalid' in refused.stderr

    listing = main_py(work, '--list-tokens')
    assert 'watcher' in listing.stdout and token not in listing.stdout
    assert httpx.get(f'{url}/api/docs').status_code == 200
    page = httpx.get(f'{url}/', headers=auth)  # a loopback demo without sign-in: the page is open anyway
    assert page.status_code == 200 and 'text/html' in page.headers['content-type']
