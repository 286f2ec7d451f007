"""alert: the alerts outbox (one row per transition worth telling, sent after commit, retried with backoff).

Revision ID: 0006_alert
Revises: 0005_api_token
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_alert'
down_revision = '0005_api_token'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'alert',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('key', sa.String(), nullable=False),
        sa.Column('kind', sa.String(), nullable=False),
        sa.Column('title', sa.String(), nullable=False),
        sa.Column('body', sa.String(), nullable=False),
        sa.Column('link', sa.String(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('state', sa.String(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_try_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('delivered_to', sa.String(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(), nullable=True),
        sa.UniqueConstraint('key'),
    )
    op.create_index('ix_alert_created_at', 'alert', ['created_at'])
    op.create_index('ix_alert_state', 'alert', ['state'])


def downgrade() -> None:
    op.drop_index('ix_alert_state', table_name='alert')
    op.drop_index('ix_alert_created_at', table_name='alert')
    op.drop_table('alert')
