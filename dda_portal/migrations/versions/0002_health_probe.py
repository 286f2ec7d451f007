"""health_probe: one row /readyz rewrites to prove the database file takes writes.

Revision ID: 0002_health_probe
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_health_probe'
down_revision = '0001_baseline'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'health_probe',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('checked_at', sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('health_probe')
