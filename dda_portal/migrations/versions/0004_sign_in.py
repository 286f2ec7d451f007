"""sign_in: the browsers signed in with a password, shared by every replica on the same database.

Revision ID: 0004_sign_in
Revises: 0003_sync_part
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_sign_in'
down_revision = '0003_sync_part'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sign_in',
        sa.Column('session_hash', sa.String(), primary_key=True),
        sa.Column('name', sa.String(), nullable=False),
        sa.Column('since', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_sign_in_since', 'sign_in', ['since'])


def downgrade() -> None:
    op.drop_index('ix_sign_in_since', table_name='sign_in')
    op.drop_table('sign_in')
