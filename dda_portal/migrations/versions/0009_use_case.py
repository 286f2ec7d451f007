"""use_case: every AWS object, and the refresh's bookkeeping, keyed by the place (use case, and region when it
has several) it was read from; the rows already there belong to the default use case.

Revision ID: 0009_use_case
Revises: 0008_deployment
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_use_case'
down_revision = '0008_deployment'
branch_labels = None
depends_on = None

DEFAULT = 'default'
LIVE = "'Starting', 'In progress', 'Stopping', 'Completed'"

# table → its key after the place (None: the table keeps its own id and gets an index on use_case)
KEYS: dict[str, tuple[str, ...] | None] = {
    'training_job': ('name',),
    'compilation_attempt': None,
    'component_version': ('arn',),
    'core_device': ('thing_name',),
    'installed_component': None,
    'deployment': ('deployment_id',),
    'effective_deployment': ('thing_name', 'deployment_id'),
    'thing_group_member': ('group_name', 'thing_name'),
    'sync_part': ('part',),
    'sync_state': ('key',),
    'sync_follow_up': ('training_job_name',),
}

# SQLite does not name a column's UNIQUE: the batch copy names it by this convention to drop it
NAMING = {'uq': '%(table_name)s_%(column_0_name)s_key', 'pk': '%(table_name)s_pkey'}


def upgrade() -> None:
    op.drop_index('one_live_attempt_per_target', table_name='compilation_attempt')
    op.drop_index('one_package_per_attempt', table_name='component_version')
    for table, key in KEYS.items():
        with op.batch_alter_table(table, naming_convention=NAMING) as batch:
            batch.add_column(
                sa.Column('use_case', sa.String(), nullable=False, server_default=sa.text(f"'{DEFAULT}'"))
            )
            if key is None:
                batch.create_index(f'ix_{table}_use_case', ['use_case'])
            else:
                batch.drop_constraint(f'{table}_pkey', type_='primary')
                batch.create_primary_key(f'{table}_pkey', ['use_case', *key])
        if table == 'compilation_attempt':
            with op.batch_alter_table(table, naming_convention=NAMING) as batch:
                batch.drop_constraint('compilation_attempt_job_name_key', type_='unique')
                batch.create_unique_constraint('one_attempt_per_job_name', ['use_case', 'job_name'])
    op.create_index(
        'one_live_attempt_per_target',
        'compilation_attempt',
        ['use_case', 'training_job_name', 'target_id'],
        unique=True,
        sqlite_where=sa.text(f'reserved AND status IN ({LIVE})'),
        postgresql_where=sa.text(f'reserved AND status IN ({LIVE})'),
    )
    op.create_index(
        'one_package_per_attempt',
        'component_version',
        ['use_case', 'compilation_job_name'],
        unique=True,
        sqlite_where=sa.text("origin = 'portal'"),
        postgresql_where=sa.text("origin = 'portal'"),
    )


def downgrade() -> None:
    raise NotImplementedError('Objects of several use cases cannot share one key again; restore a backup.')
