"""sync_part: how each part of the refresh (SageMaker, Greengrass components, devices) last went.

Revision ID: 0003_sync_part
Revises: 0002_health_probe
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_sync_part'
down_revision = '0002_health_probe'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sync_part',
        sa.Column('part', sa.String(), primary_key=True),
        sa.Column('last_success', sa.DateTime()),
        sa.Column('failed_at', sa.DateTime()),
        sa.Column('error_code', sa.String()),
        sa.Column('error_message', sa.String()),
        sa.Column('error_call', sa.String()),
    )


def downgrade() -> None:
    op.drop_table('sync_part')
