"""Databases written by earlier releases (statuses kept as plain words) open with their history, and every
status reads back as the domain's enum; a word this code does not know reads as Unknown."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from dda_portal import queries
from dda_portal.domain.greengrass import ComponentState
from dda_portal.domain.status import CompilationStatus, Rollup, TrainingStatus
from dda_portal.store import Store
from tests.store.databases import FIXTURES, RELEASES, rows


@pytest.mark.parametrize('release', RELEASES)
def test_an_earlier_release_opens_with_its_history_and_statuses_as_enums(
    release: str, tmp_path: Path
) -> None:
    path = Path(shutil.copy(FIXTURES / release, tmp_path / release))
    before = rows(path)
    store = Store(f'sqlite:///{path}')
    jobs = store.read(queries.jobs.training_jobs)
    assert sorted(j.name for j in jobs) == sorted(str(r['name']) for r in before['training_job'])
    for job in jobs:
        assert isinstance(job.status, TrainingStatus) and isinstance(job.rollup, Rollup)
        assert isinstance(job.first_seen_status, TrainingStatus)
        attempts = store.read(queries.jobs.attempts_for, job.name)
        assert all(isinstance(a.status, CompilationStatus) for a in attempts)
    stored = {str(r['job_name']): str(r['status']) for r in before['compilation_attempt']}
    for job in jobs:
        for attempt in store.read(queries.jobs.attempts_for, job.name):
            assert attempt.status.value == stored[attempt.job_name]  # the same words, now typed
    assert all(isinstance(c.state, ComponentState) for c in store.read(queries.fleet.components))
    assert len(store.read(queries.refresh.last_cycles, 10_000)) == len(before['sync_cycle'])
    store.engine.dispose()


def test_a_status_word_this_code_does_not_know_reads_as_unknown(tmp_path: Path) -> None:
    path = Path(shutil.copy(FIXTURES / RELEASES[0], tmp_path / 'odd.db'))
    Store(f'sqlite:///{path}').engine.dispose()
    with sqlite3.connect(path) as connection:
        name = connection.execute('SELECT name FROM training_job LIMIT 1').fetchone()[0]
        connection.execute("UPDATE training_job SET status = 'Hibernating' WHERE name = ?", (name,))
        connection.execute(
            "UPDATE compilation_attempt SET status = 'Teleporting' WHERE training_job_name = ?", (name,)
        )
    store = Store(f'sqlite:///{path}')
    job = store.read(queries.jobs.training_job, name)
    assert job is not None and job.status is TrainingStatus.UNKNOWN
    assert {a.status for a in store.read(queries.jobs.attempts_for, name)} == {CompilationStatus.UNKNOWN}
    store.engine.dispose()
