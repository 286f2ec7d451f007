"""Baseline: the schema of the last release before Alembic owned it (e668a93).

A fresh database gets these tables exactly as that release created them. A database an earlier release made
(no alembic_version table, portal tables present) is completed instead: tables it lacks are created, columns
are added with the value they stand for in old rows, and indexes it lacks (the partial unique ones included)
are created. Nothing is dropped or rewritten, so no row is lost.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001_baseline'
down_revision = None
branch_labels = None
depends_on = None

LIVE = "'Starting', 'In progress', 'Stopping', 'Completed'"

metadata = sa.MetaData()

sa.Table(
    'training_job',
    metadata,
    sa.Column('name', sa.String(), primary_key=True),
    sa.Column('arn', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False, index=True),
    sa.Column('secondary_status', sa.String()),
    sa.Column('failure_reason', sa.String()),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime()),
    sa.Column('ended_at', sa.DateTime()),
    sa.Column('last_modified', sa.DateTime(), nullable=False),
    sa.Column('instance_type', sa.String()),
    sa.Column('instance_count', sa.Integer()),
    sa.Column('model_artifact', sa.String(), index=True),
    sa.Column('output_prefix', sa.String(), index=True),
    sa.Column('billable_seconds', sa.Integer()),
    sa.Column('training_seconds', sa.Integer()),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('first_seen_status', sa.String(), nullable=False),
    sa.Column('rollup', sa.String(), nullable=False, index=True),
    sa.Column('targets_compiled', sa.Integer(), nullable=False),
    sa.Column('targets_total', sa.Integer(), nullable=False),
    sa.Column('auto_compiled_at', sa.DateTime()),
)

sa.Table(
    'compilation_attempt',
    metadata,
    sa.Column('id', sa.Integer(), primary_key=True),
    sa.Column('job_name', sa.String(), nullable=False, unique=True),
    sa.Column('arn', sa.String(), nullable=False),
    sa.Column('training_job_name', sa.String(), index=True),
    sa.Column('target_id', sa.String(), nullable=False, index=True),
    sa.Column('target_label', sa.String(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('failure_reason', sa.String()),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime()),
    sa.Column('ended_at', sa.DateTime()),
    sa.Column('last_modified', sa.DateTime(), nullable=False),
    sa.Column('artifact', sa.String()),
    sa.Column('input_uri', sa.String()),
    sa.Column('framework', sa.String()),
    sa.Column('max_runtime_seconds', sa.Integer()),
    sa.Column('origin', sa.String(), nullable=False),
    sa.Column('reserved', sa.Boolean(), nullable=False),
    sa.Column('in_aws', sa.Boolean(), nullable=False),
    sa.Index(
        'one_live_attempt_per_target',
        'training_job_name',
        'target_id',
        unique=True,
        sqlite_where=sa.text(f'reserved AND status IN ({LIVE})'),
        postgresql_where=sa.text(f'reserved AND status IN ({LIVE})'),
    ),
)

sa.Table(
    'component_version',
    metadata,
    sa.Column('arn', sa.String(), primary_key=True),
    sa.Column('component_name', sa.String(), nullable=False, index=True),
    sa.Column('component_version', sa.String(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('message', sa.String()),
    sa.Column('errors', sa.String()),
    sa.Column('created_at', sa.DateTime()),
    sa.Column('compilation_job_name', sa.String(), index=True),
    sa.Column('training_job_name', sa.String(), index=True),
    sa.Column('target_id', sa.String()),
    sa.Column('architecture', sa.String()),
    sa.Column('artifact_uri', sa.String()),
    sa.Column('origin', sa.String(), nullable=False),
    sa.Index(
        'one_package_per_attempt',
        'compilation_job_name',
        unique=True,
        sqlite_where=sa.text("origin = 'portal'"),
        postgresql_where=sa.text("origin = 'portal'"),
    ),
)

sa.Table(
    'core_device',
    metadata,
    sa.Column('thing_name', sa.String(), primary_key=True),
    sa.Column('status', sa.String()),
    sa.Column('architecture', sa.String()),
    sa.Column('platform', sa.String()),
    sa.Column('last_status_update', sa.DateTime()),
    sa.Column('refreshed_at', sa.DateTime(), nullable=False),
)

sa.Table(
    'installed_component',
    metadata,
    sa.Column('id', sa.Integer(), primary_key=True),
    sa.Column('thing_name', sa.String(), nullable=False, index=True),
    sa.Column('component_name', sa.String(), nullable=False, index=True),
    sa.Column('component_version', sa.String(), nullable=False),
    sa.Column('lifecycle_state', sa.String()),
    sa.Column('last_status_change', sa.DateTime()),
    sa.Column('last_reported', sa.DateTime()),
)

sa.Table(
    'sync_cycle',
    metadata,
    sa.Column('id', sa.Integer(), primary_key=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('aws_calls', sa.Integer(), nullable=False),
    sa.Column('changed_training_jobs', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.String()),
    sa.Column('error_message', sa.String()),
)

sa.Table(
    'sync_state',
    metadata,
    sa.Column('key', sa.String(), primary_key=True),
    sa.Column('value', sa.DateTime(), nullable=False),
)

sa.Table(
    'sync_follow_up',
    metadata,
    sa.Column('training_job_name', sa.String(), primary_key=True),
    sa.Column('queued_at', sa.DateTime(), nullable=False),
)

# what a column added to an existing table holds in the rows written before it existed (SQLite needs a
# default to add a NOT NULL column); only `reserved` ever came later: no earlier release started attempts
BACKFILL: dict[tuple[str, str], str] = {('compilation_attempt', 'reserved'): '0'}

PARTIAL = frozenset({'one_live_attempt_per_target', 'one_package_per_attempt'})


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing:
            table.create(bind)  # with its indexes
            continue
        have = {c['name'] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            default = BACKFILL.get((table.name, column.name))
            if not column.nullable and default is None:
                raise RuntimeError(f'{table.name}.{column.name}: no value for the rows already there')
            added = sa.Column(
                column.name,
                column.type,
                nullable=column.nullable,
                server_default=sa.text(default) if default is not None else None,
            )
            op.add_column(table.name, added)
        indexes = {i['name'] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name in indexes and index.name in PARTIAL:
                # earlier releases wrote the same WHERE clause with its statuses in any order: one text now
                op.drop_index(index.name, table_name=table.name)
                indexes.discard(index.name)
            if index.name not in indexes:
                index.create(bind)


def downgrade() -> None:
    raise NotImplementedError('The baseline is the oldest schema the portal knows; restore a backup instead.')
