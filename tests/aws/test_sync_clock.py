"""The refresh goes by AWS's clock, not the portal's: with the portal's clock 10 minutes ahead of or behind
AWS's (moto keeps real time), no change is missed and a quiet account is not listed again and again.

The portal's clock is what `services.sync.utcnow` and `queries.refresh.utcnow` say; moto's job times and
its HTTP `Date` are real time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from dda_portal import queries
from dda_portal.domain.clock import utcnow
from dda_portal.queries import refresh as store_module
from dda_portal.services import sync as sync_module
from dda_portal.services.sync import Sync
from tests.aws.test_faults import make_sync
from tests.factories import backend, create_training_job, naive_utc, set_training_status


@pytest.fixture
def portal_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[timedelta], None]]:
    """Sets how far the portal's clock is off AWS's."""

    def shift(by: timedelta) -> None:
        def skewed() -> datetime:
            return utcnow() + by

        monkeypatch.setattr(sync_module, 'utcnow', skewed)
        monkeypatch.setattr(store_module, 'utcnow', skewed)

    yield shift


def listed(sync: Sync) -> list[int]:
    """How many jobs each ListTrainingJobs / ListCompilationJobs page returned, from now on."""
    counts: list[int] = []

    def count(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        counts.append(len(parsed.get('TrainingJobSummaries') or parsed.get('CompilationJobSummaries') or []))

    sync.clients.sagemaker.meta.events.register('after-call.sagemaker.ListTrainingJobs', count)
    sync.clients.sagemaker.meta.events.register('after-call.sagemaker.ListCompilationJobs', count)
    return counts


def operations(sync: Sync, refresh: Callable[[], object]) -> dict[str, int]:
    sync.clients.counter.by_operation.clear()
    refresh()
    return dict(sync.clients.counter.by_operation)


@pytest.mark.usefixtures('aws')
def test_portal_clock_ten_minutes_ahead_still_sees_a_training_job_complete_and_compiles_it(
    database_url: str, portal_clock: Callable[[timedelta], None]
) -> None:
    portal_clock(timedelta(minutes=10))
    create_training_job('cracks', status='InProgress')
    sync = make_sync(database_url, auto_compile_targets='x86_64-cpu')  # overlap: the default 300 s
    sync.cycle(sync_module.utcnow())
    assert sync.store.read(queries.jobs.training_job, 'cracks').status == 'In progress'  # type: ignore[union-attr]

    set_training_status('cracks', 'Completed')  # a moment later by AWS's clock, 10 min before the portal's
    sync.cycle(sync_module.utcnow())

    assert sync.store.read(queries.jobs.training_job, 'cracks').status == 'Completed'  # type: ignore[union-attr]
    assert set(backend().compilation_jobs) == {'cracks-x86-64-cpu-1'}  # automatic compilation triggered
    sync.cycle(sync_module.utcnow())
    steady = operations(sync, lambda: sync.pull_and_apply(sync_module.utcnow()))
    assert steady == {'ListTrainingJobs': 1, 'ListCompilationJobs': 1, 'ListComponents': 1}


@pytest.mark.usefixtures('aws')
def test_portal_clock_ten_minutes_behind_misses_nothing_and_lists_a_quiet_account_as_empty(
    database_url: str, portal_clock: Callable[[timedelta], None]
) -> None:
    portal_clock(-timedelta(minutes=10))
    create_training_job('seams', status='InProgress')
    backend().training_jobs['seams'].last_modified_time = naive_utc() - timedelta(minutes=2)
    sync = make_sync(database_url, sync_overlap_seconds=60)
    sync.pull_and_apply(sync_module.utcnow())  # the first look back (DDA_HISTORY_DAYS) finds it
    assert sync.store.read(queries.jobs.training_job, 'seams') is not None
    pages = listed(sync)

    quiet = operations(sync, lambda: sync.pull_and_apply(sync_module.utcnow()))

    assert quiet == {'ListTrainingJobs': 1, 'ListCompilationJobs': 1, 'ListComponents': 1}
    assert pages == [0, 0]  # asked from AWS's last answer minus the overlap, not from 11 minutes ago
    set_training_status('seams', 'Completed')
    moved = operations(sync, lambda: sync.pull_and_apply(sync_module.utcnow()))
    assert moved.get('DescribeTrainingJob') == 1
    assert sync.store.read(queries.jobs.training_job, 'seams').status == 'Completed'  # type: ignore[union-attr]
    again = operations(sync, lambda: sync.pull_and_apply(sync_module.utcnow()))
    assert 'DescribeTrainingJob' not in again  # described once, not at every refresh


@pytest.mark.usefixtures('aws')
def test_a_listing_without_anything_new_keeps_the_watermark(database_url: str) -> None:
    sync = make_sync(database_url)
    sync.pull_and_apply(utcnow())  # an empty account: AWS's Date is still the watermark
    first = sync.store.read(queries.refresh.watermark, sync_module.TRAINING_WATERMARK)
    assert first is not None

    def no_date(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        parsed['ResponseMetadata']['HTTPHeaders'].pop('date', None)

    sync.clients.sagemaker.meta.events.register('after-call.sagemaker.ListTrainingJobs', no_date)
    sync.pull_and_apply(utcnow() + timedelta(hours=1))  # no Date, nothing listed: nothing to go by
    assert sync.store.read(queries.refresh.watermark, sync_module.TRAINING_WATERMARK) == first
    create_training_job('late')
    sync.pull_and_apply(utcnow())
    newest = backend().training_jobs['late'].last_modified_time  # AWS's answer has it to the millisecond
    watermark = sync.store.read(queries.refresh.watermark, sync_module.TRAINING_WATERMARK)
    assert watermark is not None
    assert watermark.replace(tzinfo=None) == newest.replace(microsecond=newest.microsecond // 1000 * 1000)
