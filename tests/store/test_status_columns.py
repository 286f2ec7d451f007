"""Databases written by earlier releases (statuses kept as plain words) open with their history, and every
status reads back as the domain's enum; a word this code does not know reads as Unknown (on every backend)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

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
    assert len(store.read(queries.freshness.last_cycles, 10_000)) == len(before['sync_cycle'])
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


def test_a_status_word_written_by_someone_else_reads_as_unknown_on_every_backend(database_url: str) -> None:
    store = Store(database_url)
    with store.engine.begin() as connection:
        connection.execute(
            text(
                'INSERT INTO training_job (name, arn, status, created_at, last_modified, first_seen_at, '
                'first_seen_status, rollup, targets_compiled, targets_total) VALUES '
                "('odd', '', 'Hibernating', :at, :at, :at, 'Completed', 'Compiled', 0, 0)"
            ),
            {'at': datetime(2026, 11, 30, 12, 0)},
        )
        connection.execute(
            text(
                'INSERT INTO compilation_attempt (job_name, arn, training_job_name, target_id, target_label, '
                'attempt, status, created_at, last_modified, origin, reserved, in_aws) VALUES '
                "('odd-1', '', 'odd', 'jetson_nano', 'Jetson Nano', 1, 'Teleporting', :at, :at, 'external', "
                ':no, :yes)'
            ),
            {'at': datetime(2026, 11, 30, 12, 0), 'no': False, 'yes': True},
        )
    job = store.read(queries.jobs.training_job, 'odd')
    assert job is not None and job.status is TrainingStatus.UNKNOWN and job.rollup is Rollup.COMPILED
    assert job.first_seen_status is TrainingStatus.COMPLETED
    assert job.created_at == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # stored as UTC, read as aware UTC
    assert [a.status for a in store.read(queries.jobs.attempts_for, 'odd')] == [CompilationStatus.UNKNOWN]
    store.engine.dispose()
