"""Commit latency of the store with PRAGMA synchronous=NORMAL and =FULL (both in WAL mode).

What a power cut can cost: with NORMAL, WAL commits are not fsynced, so the transactions committed since the
last checkpoint may roll back (the file stays consistent); with FULL, every commit is fsynced before it
returns. The refresh commits a few times per cycle, a click once, so what matters is one commit's latency:

  * small commit: one SyncCycle row through the Store (what every refresh writes)
  * refresh of 100 jobs: Store.apply of a cycle in which 100 training jobs and 300 attempts changed
  * reserve: Store.reserve_attempt (what Compile / Retry writes before SageMaker is asked)

The database lives in a temporary folder on the same file system as this checkout (not tmpfs: an fsync there
costs nothing). Prints a table of median and 95th-percentile milliseconds.

    .venv/bin/python bench/durability.py [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event

from bench.common import completed_training_job
from dda_portal import queries
from dda_portal.domain.clock import utcnow
from dda_portal.domain.status import CompilationStatus
from dda_portal.queries.refresh import CompilationJobFacts, CycleResult
from dda_portal.store import Store
from dda_portal.tables import CompilationAttempt


def store_with(path: Path, synchronous: str) -> Store:
    store = Store(f'sqlite:///{path}')

    @event.listens_for(store.engine, 'connect')
    def _synchronous(dbapi_connection: Any, _record: Any) -> None:  # after the store's own PRAGMAs
        dbapi_connection.execute(f'PRAGMA synchronous={synchronous}')

    store.engine.dispose()  # connections made from now on get the setting
    with store.engine.connect() as connection:
        mode = connection.exec_driver_sql('PRAGMA synchronous').scalar()
    assert mode == {'NORMAL': 1, 'FULL': 2}[synchronous], mode
    return store


def cycle(round_: int, jobs: int) -> CycleResult:
    now = utcnow()
    result = CycleResult(started_at=now, aws_calls=0)
    status = [CompilationStatus.STARTING, CompilationStatus.IN_PROGRESS, CompilationStatus.COMPLETED][
        round_ % 3
    ]
    for i in range(jobs):
        name = f'bench-{i:04d}'
        created = now - timedelta(days=1)
        result.training_jobs.append(completed_training_job(name, now, 'b'))
        for target in ('jetson-xavier', 'x86_64-cpu', 'arm64-cpu'):
            job = f'{name}-{target}-1'
            result.compilation_jobs.append(
                CompilationJobFacts(
                    job,
                    f'arn:{job}',
                    status,
                    None,
                    created,
                    created,
                    None,
                    now,
                    None,
                    f's3://b/{name}/model.tar.gz',
                    'PYTORCH',
                    900,
                    target,
                    target,
                    {'dda-portal:training-job': name},
                )
            )
    return result


def timed(action: Callable[[int], object], rounds: int) -> list[float]:
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(store: Store, rounds: int) -> list[tuple[str, list[float]]]:
    small = timed(lambda _: store.record_cycle(utcnow(), 1, 0), rounds)
    big = timed(lambda i: store.apply(cycle(i, 100)), max(rounds // 5, 5))
    jobs = [j.name for j in store.read(queries.jobs.training_jobs)]

    def reserve(i: int) -> None:
        decision = store.write(
            queries.attempts.reserve_attempt,
            jobs[i % len(jobs)],
            f'bench-{i}',
            'bench',
            lambda n: f'r-{i}-{n}',
            'portal',
        )
        assert isinstance(decision, CompilationAttempt), decision

    return [
        ('small commit (one refresh record)', small),
        ('refresh of 100 jobs / 300 attempts', big),
        ('reserve an attempt (Compile)', timed(reserve, rounds)),
    ]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rows: list[tuple[str, str, list[float]]] = []
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as folder:
        for synchronous in ('NORMAL', 'FULL'):
            store = store_with(Path(folder) / f'{synchronous}.db', synchronous)
            rows += [(synchronous, what, times) for what, times in measure(store, rounds)]
            store.engine.dispose()
    print(f'{"synchronous":<12} {"commit":<38} {"n":>4} {"median ms":>10} {"p95 ms":>8}')
    for synchronous, what, times in rows:
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f'{synchronous:<12} {what:<38} {len(times):>4} {statistics.median(times):>10.2f} {p95:>8.2f}')


if __name__ == '__main__':
    main()
