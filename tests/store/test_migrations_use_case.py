"""The upgrades that key every AWS object and every recorded refresh by its use case (0009, 0010) keep every
row, as the default use case's, on SQLite and PostgreSQL; afterwards the same names may be stored for another
use case beside them."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from dda_portal import migrations, queries
from dda_portal.store import Store
from dda_portal.tables import TrainingJob
from tests.store.test_migrations import all_rows, connected

ROWS = [
    'INSERT INTO training_job (name, arn, status, created_at, last_modified, first_seen_at, '
    'first_seen_status, rollup, targets_compiled, targets_total) '
    "VALUES ('cracks', 'arn:tj', 'Completed', '2026-11-30', '2026-11-30', '2026-11-30', 'Completed', "
    "'Compiled', 1, 1)",
    'INSERT INTO compilation_attempt (job_name, arn, training_job_name, target_id, target_label, attempt, '
    "status, created_at, last_modified, origin, reserved, in_aws) VALUES ('cracks-nano-1', 'arn:cj', "
    "'cracks', 'jetson_nano', 'Jetson Nano', 1, 'Completed', '2026-11-30', '2026-11-30', 'portal', true, "
    'true)',
    'INSERT INTO component_version (arn, component_name, component_version, state, compilation_job_name, '
    "origin) VALUES ('arn:cv', 'cracks', '1.0.0', 'DEPLOYABLE', 'cracks-nano-1', 'portal')",
    "INSERT INTO core_device (thing_name, refreshed_at) VALUES ('line-1-cam', '2026-11-30')",
    'INSERT INTO installed_component (thing_name, component_name, component_version) '
    "VALUES ('line-1-cam', 'cracks', '1.0.0')",
    'INSERT INTO deployment (deployment_id, target_arn, revision_id, name, status, is_latest, components, '
    "origin, settled) VALUES ('d-1', 'arn:thing/line-1-cam', '1', 'd', 'ACTIVE', true, '{}', 'portal', "
    'false)',
    "INSERT INTO effective_deployment (thing_name, deployment_id, target_arn, status) VALUES ('line-1-cam', "
    "'d-1', 'arn:thing/line-1-cam', 'SUCCEEDED')",
    'INSERT INTO thing_group_member (group_name, thing_name, group_arn) '
    "VALUES ('line-1', 'line-1-cam', 'arn:g')",
    "INSERT INTO sync_part (part) VALUES ('sagemaker')",
    "INSERT INTO sync_state (key, value) VALUES ('training_jobs_modified', '2026-11-30')",
    "INSERT INTO sync_follow_up (training_job_name, queued_at) VALUES ('cracks', '2026-11-30')",
    # 0010: each place records its own refreshes
    'INSERT INTO sync_cycle (started_at, finished_at, ok, aws_calls, changed_training_jobs, error_code) '
    "VALUES ('2026-11-30', '2026-11-30', false, 1, 0, 'AccessDenied')",
]
KEYED = [statement.split()[2] for statement in ROWS]


def at_0008(database_url: str) -> None:
    """A database as the release before use cases left it."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            cfg = migrations.config()
            cfg.attributes['connection'] = connection
            command.upgrade(cfg, '0008_deployment')
    finally:
        engine.dispose()


def test_upgrade_keeps_every_row_as_the_default_use_case(database_url: str) -> None:
    at_0008(database_url)
    with connected(database_url) as connection:
        for statement in ROWS:
            connection.execute(text(statement))
    before = all_rows(database_url)
    Store(database_url).engine.dispose()
    after = all_rows(database_url)
    for table in KEYED:
        assert len(after[table]) == len(before[table]) == 1, table
        assert set(before[table][0]) <= set(after[table][0]), table  # every old value kept
        assert after[table][0][-1] == 'default', table  # the new column, last, says whose
    with connected(database_url) as connection:
        places = {
            table: connection.execute(text(f'SELECT DISTINCT use_case FROM {table}')).scalars().all()
            for table in KEYED
        }
    assert all(found == ['default'] for found in places.values()), places


def test_after_the_upgrade_another_use_case_may_reuse_every_name(database_url: str) -> None:
    at_0008(database_url)
    with connected(database_url) as connection:
        for statement in ROWS:
            connection.execute(text(statement))
    store = Store(database_url)
    with connected(database_url) as connection:
        for statement in ROWS:
            table = statement.split()[2]
            columns = statement[statement.index('(') + 1 : statement.index(')')]
            values = statement[statement.index('VALUES (') + len('VALUES (') : -1]
            connection.execute(text(f"INSERT INTO {table} ({columns}, use_case) VALUES ({values}, 'line-2')"))
    with store.at('line-2'):
        job = store.read(queries.jobs.training_job, 'cracks')
        assert job is not None and job.use_case == 'line-2'
    default = store.read(queries.jobs.training_job, 'cracks')
    assert isinstance(default, TrainingJob) and default.use_case == 'default'
    assert {j.use_case for j in store.read(queries.jobs.training_jobs)} == {'default', 'line-2'}
    assert [j.use_case for j in store.read(queries.jobs.training_jobs, ['line-2'])] == ['line-2']
    store.engine.dispose()
