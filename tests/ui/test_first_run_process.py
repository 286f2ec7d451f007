"""The real portal process started with no AWS set-up at all (no AWS_* variable, no ~/.aws): it starts,
does not crash, and `/` explains what to set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dda_portal.launch import ROOT, DidNotStart, free_port, launched


def test_a_portal_without_credentials_or_region_starts_and_explains(tmp_path: Path) -> None:
    home = tmp_path / 'home'
    home.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith(('AWS_', 'DDA_'))}
    for name in ('NICEGUI_USER_SIMULATION', 'PYTEST_CURRENT_TEST'):  # not a screen test: a real process
        env.pop(name, None)
    env.update(
        HOME=str(home),
        AWS_EC2_METADATA_DISABLED='true',  # no instance role to look for on a machine that is not EC2
        DDA_DATABASE_URL=f'sqlite:///{tmp_path / "portal.db"}',
        PYTHONUNBUFFERED='1',
    )
    log_path = tmp_path / 'portal.log'

    def explains(url: str) -> bool:  # `/` says what is missing
        return 'No AWS region set' in httpx.get(f'{url}/', timeout=5).text

    try:
        with launched([], env, log_path, ready=explains) as (url, process):
            html = httpx.get(f'{url}/', timeout=5).text
            assert 'AWS_DEFAULT_REGION' in html and 'NoRegionError' in html and 'Try again' in html
            ready = httpx.get(f'{url}/readyz', timeout=5)
            assert ready.status_code == 503 and ready.json()['last_aws_error'] == 'NoRegionError'
            assert process.poll() is None  # still serving
    except DidNotStart as error:
        pytest.fail(f'no explanation: {error}')
    output = log_path.read_text()
    assert 'Traceback' not in output, output


def test_a_profile_that_does_not_exist_stops_the_portal_with_one_line(tmp_path: Path) -> None:
    home = tmp_path / 'home'
    home.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith(('AWS_', 'DDA_'))}
    for name in ('NICEGUI_USER_SIMULATION', 'PYTEST_CURRENT_TEST'):
        env.pop(name, None)
    env.update(
        HOME=str(home), AWS_PROFILE='no-such-profile', DDA_DATABASE_URL=f'sqlite:///{tmp_path / "p.db"}'
    )
    done = subprocess.run(
        [sys.executable, 'main.py', '--port', str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert 'Traceback' not in done.stderr + done.stdout
    assert done.stderr.strip().splitlines()[-1] == (
        'Invalid AWS_PROFILE: The config profile (no-such-profile) could not be found (in ~/.aws/config or '
        '~/.aws/credentials); name one of yours, or unset it'
    )
