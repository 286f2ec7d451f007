"""How long the lead takes to move when the leader dies (kill -9), on a throwaway PostgreSQL cluster.

A child process holds the leader lock the way a portal does (Leadership on a connection of its own), then
is killed with SIGKILL; a Leadership in this process tries at its interval (DDA_LEADER_RETRY_SECONDS) and
the time from the kill to its lead is measured. Each row: the retry interval, the takeover times (median,
worst) over ROUNDS kills. What matters against the issue's bound: below two refresh intervals.

    .venv/bin/python bench/takeover.py [ROUNDS]
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dda_portal.leadership import Leadership  # noqa: E402
from tests.backends import Cluster  # noqa: E402

HOLDER = """
import sys, time
from sqlalchemy.engine import make_url
from dda_portal.leadership import Leadership
leadership = Leadership(make_url(sys.argv[1]), 'doomed')
assert leadership.try_to_lead()
print('leading', flush=True)
time.sleep(600)
"""


def takeover_seconds(url: str, retry: float) -> float:
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    child = subprocess.Popen([sys.executable, '-c', HOLDER, url], stdout=subprocess.PIPE, text=True, env=env)
    heir = Leadership(make_url(url), 'heir', retry_seconds=retry)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == 'leading'
        assert not heir.try_to_lead()
        time.sleep(retry * 0.37)  # the kill falls anywhere in the heir's interval
        os.kill(child.pid, signal.SIGKILL)
        killed = time.monotonic()
        while not heir.try_to_lead():
            time.sleep(retry)
        return time.monotonic() - killed
    finally:
        heir.stop()
        child.kill()
        child.wait()


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    cluster = Cluster()
    cluster.start()
    try:
        url = cluster.create_database()
        print(
            f'{"retry s":>8} {"median s":>9} {"worst s":>8}  '
            f'(kill -9 of the leader → another leads; {rounds} kills)'
        )
        for retry in (0.3, 1.0, 5.0):
            times = [takeover_seconds(url, retry) for _ in range(rounds)]
            print(f'{retry:8.1f} {statistics.median(times):9.2f} {max(times):8.2f}')
    finally:
        cluster.stop()


if __name__ == '__main__':
    main()
