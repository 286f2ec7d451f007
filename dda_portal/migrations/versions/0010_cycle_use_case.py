"""sync_cycle.use_case: each place records its own refreshes, so the last failure and the last full refresh
are those of each place (one place's good refresh no longer hides another's failure); the refreshes already
recorded belong to the default use case.

Revision ID: 0010_cycle_use_case
Revises: 0009_use_case
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_cycle_use_case'
down_revision = '0009_use_case'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sync_cycle') as batch:
        batch.add_column(
            sa.Column('use_case', sa.String(), nullable=False, server_default=sa.text("'default'"))
        )
        batch.create_index('ix_sync_cycle_use_case', ['use_case'])


def downgrade() -> None:
    with op.batch_alter_table('sync_cycle') as batch:
        batch.drop_index('ix_sync_cycle_use_case')
        batch.drop_column('use_case')
