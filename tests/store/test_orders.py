"""Reads come in the same order on every backend (SQLite and PostgreSQL disagree where NULLs sort)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from dda_portal import queries
from dda_portal.domain.greengrass import ComponentState
from dda_portal.domain.status import TrainingStatus
from dda_portal.queries import job_page
from dda_portal.store import Store
from dda_portal.tables import ComponentVersion, TrainingJob


def version(arn: str, created_at: datetime | None) -> ComponentVersion:
    return ComponentVersion(
        arn=arn,
        component_name='cracks',
        component_version=arn,
        state=ComponentState.DEPLOYABLE,
        created_at=created_at,
        training_job_name='cracks',
    )


def test_component_versions_not_dated_yet_come_last(database_url: str) -> None:
    store = Store(database_url)

    def add(session: Session) -> None:
        noon = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
        job = TrainingJob(name='cracks', status=TrainingStatus.COMPLETED, created_at=noon, last_modified=noon)
        session.add_all(
            [
                job,
                version('1.0.0', datetime(2026, 11, 1, tzinfo=UTC)),
                version('pending', None),
                version('1.0.1', datetime(2026, 11, 2, tzinfo=UTC)),
            ]
        )

    store.write(add)
    assert [v.arn for v in store.read(queries.fleet.components)] == ['1.0.1', '1.0.0', 'pending']
    snapshot = store.read(job_page.job_pages, frozenset({'cracks'}))
    assert [v.arn for v in snapshot['cracks'].components] == ['1.0.1', '1.0.0', 'pending']
    store.engine.dispose()
