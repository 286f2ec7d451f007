"""`main.py` as a process of its own on a free loopback port, and the flags headless Chromium runs with here:
what the end-to-end tests, the benchmarks and the pictures script share (from a checkout of the project)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]  # the checkout: main.py's folder

# headless Chromium as root on this kind of machine: no sandbox, no GPU, nothing fetched in the background
CHROMIUM_FLAGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
]

# what a portal started here must not inherit from the shell or the test run (unless given again): another
# endpoint or profile, NiceGUI's screen-test mode (PYTEST_CURRENT_TEST makes ui.run believe it is one)
NOT_INHERITED = (
    'AWS_ENDPOINT_URL',
    'AWS_PROFILE',
    'AWS_REGION',
    'NICEGUI_USER_SIMULATION',
    'PYTEST_CURRENT_TEST',
    'DDA_HOST',
)


class DidNotStart(RuntimeError):
    """The portal exited before it was ready, or was not ready in time (the message has its log)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def environment(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without what must not be inherited, then `overrides`."""
    env = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    return {**env, 'PYTHONUNBUFFERED': '1', **(overrides or {})}


def answers(path: str) -> Callable[[str], bool]:
    """Whether `path` answers 200 at a URL."""

    def ok(url: str) -> bool:
        return httpx.get(f'{url}{path}', timeout=2).status_code == 200

    return ok


@contextmanager
def launched(
    args: list[str],
    env: Mapping[str, str],
    log_path: Path,
    *,
    ready: str | Callable[[str], bool] = '/readyz',
    within: float = 90,
    script: str = 'main.py',
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python SCRIPT ARGS --port N` (the portal) on 127.0.0.1 with its output in `log_path`; yields its URL
    and process once `ready` answers 200 (/readyz: the first refresh landed; /healthz: it serves), or holds
    for its URL. Raises DidNotStart (with the log) when it exits or is not ready `within` seconds; stopped
    (terminated, then killed) after."""
    is_ready = answers(ready) if isinstance(ready, str) else ready
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    with log_path.open('w') as log:
        process = subprocess.Popen(
            [sys.executable, script, *args, '--port', str(port)],
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + within
            while True:
                if process.poll() is not None:
                    raise DidNotStart(f'portal exited with {process.returncode}:\n{log_path.read_text()}')
                try:
                    if is_ready(url):
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise DidNotStart(f'portal not ready within {within:.0f} s:\n{log_path.read_text()}')
                time.sleep(0.2)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
