"""kill -9 at random moments while the store writes: nothing committed is lost, no guard is broken.

A child process opens the portal's real Store on one SQLite file (migrations, WAL, synchronous=FULL) and
writes through the Store's own API as fast as it can, the way the portal does:

  * `apply`: a refresh that moves every confirmed attempt along (Starting → In progress → Completed or
    Failed) and rewrites the training jobs, in one transaction, with its refresh record;
  * `reserve_attempt` + `confirm_attempt`: Compile or Retry on a random (training job, target), under the
    lock and the partial unique index, then the ARN SageMaker would answer;
  * `record_failure`: now and then a failed refresh.

It prints a line after each commit returned. The parent kills it with SIGKILL after a random delay, then
checks the file: `PRAGMA integrity_check` is ok; every attempt row that existed before the round is still
there with the same training job, target and attempt number (history is never lost); every commit the child
reported is there; no (training job, target) has two live attempts the portal reserved; no (training job,
target, attempt) has two compilation jobs. AWS is not involved (the refresh's facts are made up from the
store itself), so this proves what the store and SQLite guarantee across a crash, not the sync's reading of
AWS. A power cut is stronger than kill -9 (the OS page cache is lost too); synchronous=FULL is what covers it.

    .venv/bin/python bench/kill9.py [ROUNDS] [SEED]
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dda_portal import queries

ROOT = Path(__file__).resolve().parents[1]
TRAINING_JOBS = [f'line{i}-defects' for i in range(8)]
TARGETS = ['jetson-xavier', 'x86_64-cpu', 'x86_64-cuda', 'arm64-cpu']
LIVE = ('Starting', 'In progress', 'Stopping', 'Completed')


def worker(path: str, seed: int) -> None:
    """The child: writes through the Store until it is killed."""
    sys.path.insert(0, str(ROOT))
    from bench.common import completed_training_job
    from dda_portal.domain.clock import utcnow
    from dda_portal.domain.status import CompilationStatus
    from dda_portal.queries.refresh import CompilationJobFacts, CycleResult
    from dda_portal.store import Store
    from dda_portal.tables import CompilationAttempt

    chance = random.Random(seed)
    store = Store(f'sqlite:///{path}')
    print('ready', flush=True)
    step = 0
    while True:
        step += 1
        now = utcnow()
        cycle = CycleResult(started_at=now, aws_calls=0)
        for name in TRAINING_JOBS:
            cycle.training_jobs.append(completed_training_job(name, now, 'models'))
        with store.session() as session:
            attempts = list(session.exec(CompilationAttempt.__table__.select()))  # type: ignore[attr-defined]
        for row in attempts:
            if not row.arn or row.status not in ('Starting', 'In progress'):
                continue
            moved = {'Starting': CompilationStatus.IN_PROGRESS}.get(row.status) or chance.choice(
                [CompilationStatus.COMPLETED, CompilationStatus.FAILED]
            )
            cycle.compilation_jobs.append(
                CompilationJobFacts(
                    row.job_name,
                    row.arn,
                    moved,
                    'ClientError: bench' if moved == 'Failed' else None,
                    row.created_at,
                    row.created_at,
                    None,
                    now,
                    None,
                    None,
                    'PYTORCH',
                    900,
                    row.target_id,
                    row.target_label,
                )
            )
        store.apply(cycle)
        print('applied', step, flush=True)
        for _ in range(3):
            job, target = chance.choice(TRAINING_JOBS), chance.choice(TARGETS)
            reserved = store.write(
                queries.attempts.reserve_attempt,
                job,
                target,
                target,
                lambda n, j=job, t=target: f'{j}-{t}-{n}',
                'portal',
            )
            if isinstance(reserved, CompilationAttempt):
                print('reserved', reserved.job_name, flush=True)
                store.write(
                    queries.attempts.confirm_attempt,
                    reserved.job_name,
                    f'arn:aws:sagemaker:::{reserved.job_name}',
                    'PYTORCH',
                    900,
                )
                print('confirmed', reserved.job_name, flush=True)
        if step % 5 == 0:
            store.record_failure(now, 1, 'ThrottlingException', 'ListCompilationJobs')


@dataclass
class Round:
    delay_ms: int
    before: int
    after: int
    acknowledged: int
    integrity: str
    lost: int
    unacknowledged_missing: int
    duplicate_live: int
    duplicate_jobs: int

    @property
    def ok(self) -> bool:
        return (
            self.integrity == 'ok'
            and self.lost == self.unacknowledged_missing == self.duplicate_live == self.duplicate_jobs == 0
        )


def attempts(path: Path) -> dict[str, tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        query = (
            'SELECT job_name, id, training_job_name, target_id, attempt, created_at FROM compilation_attempt'
        )
        return {row[0]: row[1:] for row in db.execute(query)}
    finally:
        db.close()


def check(path: Path, before: dict[str, tuple[object, ...]], acknowledged: set[str], delay_ms: int) -> Round:
    db = sqlite3.connect(path)
    try:
        integrity = db.execute('PRAGMA integrity_check').fetchone()[0]
        duplicate_live = db.execute(
            'SELECT count(*) FROM (SELECT 1 FROM compilation_attempt WHERE reserved AND status IN '
            f'({", ".join("?" * len(LIVE))}) GROUP BY training_job_name, target_id HAVING count(*) > 1)',
            LIVE,
        ).fetchone()[0]
        duplicate_jobs = db.execute(
            'SELECT count(*) FROM (SELECT 1 FROM compilation_attempt '
            'GROUP BY training_job_name, target_id, attempt HAVING count(*) > 1)'
        ).fetchone()[0]
    finally:
        db.close()
    after = attempts(path)
    lost = sum(1 for name, row in before.items() if after.get(name) != row)
    return Round(
        delay_ms,
        len(before),
        len(after),
        len(acknowledged),
        integrity,
        lost,
        len(acknowledged - set(after)),
        duplicate_live,
        duplicate_jobs,
    )


def run(path: Path, rounds: int, seed: int, max_delay: float = 0.4) -> list[Round]:
    """Start, kill -9 and check `rounds` times on one database file."""
    chance = random.Random(seed)
    results = []
    for number in range(rounds):
        before = attempts(path) if path.exists() else {}
        child = subprocess.Popen(
            [sys.executable, __file__, '--worker', str(path), str(seed * 1000 + number)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        ready = child.stdout.readline().strip()
        assert ready == 'ready', f'the worker did not start: {ready!r}'
        delay = chance.uniform(0, max_delay)
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        output = child.stdout.read()
        child.wait()
        committed = {
            line.split()[1] for line in output.splitlines() if line.startswith(('reserved', 'confirmed'))
        }
        if not before:
            before = {}
        results.append(check(path, before, committed, round(delay * 1000)))
    return results


def table(results: list[Round]) -> str:
    lines = [
        f'{"round":>5} {"kill after ms":>13} {"attempts before":>15} {"after":>6} {"acked":>6} '
        f'{"integrity":>9} {"lost":>5} {"acked missing":>13} {"2 live":>7} {"2 jobs":>7}'
    ]
    for number, r in enumerate(results, 1):
        lines.append(
            f'{number:>5} {r.delay_ms:>13} {r.before:>15} {r.after:>6} {r.acknowledged:>6} {r.integrity:>9} '
            f'{r.lost:>5} {r.unacknowledged_missing:>13} {r.duplicate_live:>7} {r.duplicate_jobs:>7}'
        )
    return '\n'.join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == '--worker':
        worker(sys.argv[2], int(sys.argv[3]))
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    import tempfile

    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as folder:
        results = run(Path(folder) / 'portal.db', rounds, seed)
    print(table(results))
    failed = [n for n, r in enumerate(results, 1) if not r.ok]
    print(
        f'{rounds} kills, {len(failed)} with a broken invariant{": rounds " + str(failed) if failed else ""}'
    )
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
